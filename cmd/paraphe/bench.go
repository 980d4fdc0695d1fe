package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/paraphe/paraphe/bench"
	"github.com/paraphe/paraphe/hsm"
)

// cmdBench measures Paraphe against its raw parts in one run:
// paraphe bench [--quick] [--json] [--cpuprofile FILE]. The table (or, with --json,
// one JSON object) goes to stdout, progress to stderr. Targets are reported, never
// failed: the exit code is 0 whenever the measurements could be made. With
// --users N[,N2...] [--key-storage token,wrapped] [--parallel P] [--probes K]
// [--signatures S] it measures key storage at N users instead (bench.RunUsers; one JSON
// object, each row also in the progress as soon as measured).
func cmdBench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "short run (under a minute on two cores): shorter windows, 1,000 pending requests")
	jsonOut := fs.Bool("json", false, "print one JSON object instead of the table")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and clients) to FILE")
	users := fs.String("users", "", "instead of the standard run: enroll N users with token keys, then N with wrapped keys, and report the token's object count, the enrollment time, the approve latency and the signature cost of each (one JSON object); N1,N2,... measures at each number along one enrollment run")
	storages := fs.String("key-storage", "token,wrapped", "with --users: the key storages measured, in order (comma-separated: token, wrapped)")
	parallel := fs.Int("parallel", 0, "with --users: enrollments in flight (default 2 per CPU, at least 4)")
	probes := fs.Int("probes", 0, "with --users: approvals measured at each number, each by a different user (default 100)")
	signatures := fs.Int("signatures", 0, "with --users: keys whose first and next signature are timed at each number (default 200)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "bench [--quick] [--json] [--cpuprofile FILE] [--users N[,N2...] [--key-storage token,wrapped] [--parallel P] [--probes K] [--signatures S]]"); err != nil {
		return err
	}
	if *parallel < 0 || *probes < 0 || *signatures < 0 {
		return usageError{"bench: --parallel, --probes and --signatures must be positive numbers"}
	}
	var userCounts []int
	if *users != "" {
		for _, f := range strings.Split(*users, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || (len(userCounts) > 0 && n <= userCounts[len(userCounts)-1]) {
				return usageError{fmt.Sprintf("bench: --users %q: want increasing positive numbers (1000 or 1000,10000)", *users)}
			}
			userCounts = append(userCounts, n)
		}
	}
	var keyStorages []hsm.KeyStorage
	for _, st := range strings.Split(*storages, ",") {
		ks := hsm.KeyStorage(strings.TrimSpace(st))
		if ks == "" || ks.Validate() != nil {
			return usageError{fmt.Sprintf("bench: --key-storage: %q is not token or wrapped", st)}
		}
		keyStorages = append(keyStorages, ks)
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
	if len(userCounts) > 0 {
		ur, err := bench.RunUsers(ctx, bench.UsersPlan{Users: userCounts, Storages: keyStorages, Parallel: *parallel, Probes: *probes, Signatures: *signatures}, os.Stderr)
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
