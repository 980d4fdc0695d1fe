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
	users := fs.Int("users", 0, "instead of the standard run: enroll N users with token keys, then N with wrapped keys, and report the token's object count and the approve latency of each")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "bench [--quick] [--json] [--cpuprofile FILE] [--users N]"); err != nil {
		return err
	}
	if *users < 0 {
		return usageError{"bench: --users must be a positive number"}
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
	if *users > 0 {
		ur, err := bench.RunUsers(ctx, *users, os.Stderr)
		if err != nil {
			return err
		}
		return printJSON(ur)
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
