package main

import (
	"context"
	"flag"
	"os"
	"time"
)

func cmdUsersExport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("users export", flag.ContinueOnError)
	var c common
	c.register(fs)
	format := fs.String("format", "json", "json or csv")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 1, "users export [--format json|csv] [--data DIR] USER_ID"); err != nil {
		return err
	}
	if *format != "json" && *format != "csv" {
		return usagef("users export: --format must be json or csv")
	}
	d, err := openDomain(ctx, &c)
	if err != nil {
		return err
	}
	defer d.Close()
	ex, err := d.Accounts.Export(ctx, pos[0])
	if err != nil {
		return err
	}
	if *format == "csv" {
		return ex.WriteCSV(os.Stdout)
	}
	return ex.WriteJSON(os.Stdout)
}

func cmdUsersErase(ctx context.Context, args []string) error {
	d, id, err := userCommand(ctx, "erase", args, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	out, err := d.Accounts.Erase(ctx, id)
	if err != nil {
		return err
	}
	return printJSON(map[string]any{"id": out.UserID, "status": "erased", "alreadyErased": out.AlreadyErased,
		"devicesDeleted": len(out.DeletedDevices), "certificatesRevoked": out.RevokedSerials})
}

func cmdRetentionRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("retention run", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "retention run [--data DIR]"); err != nil {
		return err
	}
	e, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer e.Close()
	job, err := e.RetentionJob()
	if err != nil {
		return err
	}
	s, err := job.Run(ctx, time.Now())
	if err != nil {
		return err
	}
	return printJSON(map[string]any{"ran": s.Ran, "at": s.At.Format(time.RFC3339), "resultsDeleted": s.ResultsDeleted,
		"requestsPseudonymized": s.RequestsPseudonymized, "requestsDeleted": s.RequestsDeleted,
		"auditEntriesPruned": s.AuditEntriesPruned, "auditAnchorSeq": s.AuditAnchorSeq})
}
