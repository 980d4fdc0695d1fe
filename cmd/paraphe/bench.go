package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/paraphe/paraphe/bench"
)

// cmdBench measures Paraphe against its raw parts in one run:
// paraphe bench [--quick] [--json] [--cpuprofile FILE]. The table (or, with --json,
// one JSON object) goes to stdout, progress to stderr. Targets are reported, never
// failed: the exit code is 0 whenever the measurements could be made.
func cmdBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "short run (under a minute on two cores): shorter windows, 1,000 pending requests")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of the table")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and clients) to FILE")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "bench [--quick] [--json] [--cpuprofile FILE]"); err != nil {
		return err
	}
	plan := bench.FullPlan()
	if *quick {
		plan = bench.QuickPlan()
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.Run(ctx, plan, os.Stderr)
	if err != nil {
		return err
	}
	if *jsonOut {
		return printJSON(rep)
	}
	return rep.WriteTable(os.Stdout)
}
