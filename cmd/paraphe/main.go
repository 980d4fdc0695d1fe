// Command paraphe is the Paraphe server and its operator CLI.
//
//	paraphe serve [--listen ADDR]        run the service
//	paraphe integrators add NAME         create an integrator (secrets shown once; --redirect-uri for CSC OAuth clients)
//	paraphe users add --given-name G --surname S --email E --phone P
//	paraphe ca root                      the development root CA certificate (PEM)
//	paraphe ca server-cert HOST...       a development TLS server certificate and key
//	paraphe audit verify                 check the audit hash chain
//
// Every command takes --data DIR, --config FILE and --database-url URL, before
// or after the command's words.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: paraphe COMMAND [flags]

commands:
  serve [--listen ADDR] [--tls-cert F --tls-key F | --behind-tls-proxy] [--demo] [--key-storage token|wrapped]
                                        run the service (first start creates the data folder);
                                        plain HTTP only on loopback or behind a TLS proxy
  integrators add [--redirect-uri URI]... NAME
                                        create an integrator (CSC OAuth client: clientId = id, secret = API key);
                                        prints its API key and webhook secret once
  users add --given-name G --surname S --email E --phone +32...
                                        create a signer; prints a one-time activation code
  users reactivate ID                   new activation code; old device, key and certificate revoked
  users block ID                        block an account (lost phone): device revoked, requests cancelled
  users show ID                         a user's state and counters (PIN failures, refusals)
  users export ID [--format json|csv]   everything held about a user (right of access)
  users erase ID                        erase a user's personal data (refused while requests are open)
  retention run                         apply the retention periods once; prints a JSON summary
  ca root                               print the development root CA certificate (PEM)
  ca server-cert [--cert F] [--key F] HOST-OR-IP...
                                        issue a development TLS server certificate and key
  verify FILE [--json|--html] [--trust FILE] [--trusted-list FILE|DIR] [--at TIME]
                                        validate a signed PDF (exit 0 passed, 1 failed, 3 indeterminate)
  evidence REQUEST_ID                   the evidence record of a request (JSON)
  audit verify [--checkpoint FILE]...   check the audit log's chain and seals, and signed checkpoints
  audit checkpoint                      a signed statement of the log's head, to keep elsewhere
  trusted-lists fetch --dir DIR --lotl-signer PEM [--url URL]
                                        download the EU trusted lists (verified) for --trusted-list
  keys migrate                          move users' token keys to wrapped keys (new key and certificate each; old ones revoked, destroyed)
  bench [--quick] [--json]              measure Paraphe against raw PKCS#11 and pdfsign (temporary data folder)

common flags (before or after the command): --data DIR (default ./data), --config FILE,
  --database-url postgres://...
`

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err == nil {
		return
	}
	code := 1
	var ue usageError
	var ee exitError
	switch {
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp):
		code = 2
	case errors.As(err, &ee):
		code = ee.code
	}
	if !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "paraphe: "+oneLine(err.Error()))
	} else {
		fmt.Fprint(os.Stderr, usage)
	}
	os.Exit(code)
}

func oneLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}

func run(ctx context.Context, args []string) error {
	args, err := hoistGlobalFlags(args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	switch {
	case cmd == "serve":
		return cmdServe(ctx, rest)
	case cmd == "integrators" && sub == "add":
		return cmdIntegratorsAdd(ctx, rest[1:])
	case cmd == "users" && sub == "add":
		return cmdUsersAdd(ctx, rest[1:])
	case cmd == "users" && sub == "reactivate":
		return cmdUsersReactivate(ctx, rest[1:])
	case cmd == "users" && sub == "block":
		return cmdUsersBlock(ctx, rest[1:])
	case cmd == "users" && sub == "show":
		return cmdUsersShow(ctx, rest[1:])
	case cmd == "users" && sub == "export":
		return cmdUsersExport(ctx, rest[1:])
	case cmd == "users" && sub == "erase":
		return cmdUsersErase(ctx, rest[1:])
	case cmd == "retention" && sub == "run":
		return cmdRetentionRun(ctx, rest[1:])
	case cmd == "ca" && sub == "root":
		return cmdCARoot(ctx, rest[1:])
	case cmd == "ca" && sub == "server-cert":
		return cmdCAServerCert(ctx, rest[1:])
	case cmd == "evidence":
		return cmdEvidence(ctx, rest)
	case cmd == "verify":
		return cmdVerify(ctx, rest)
	case cmd == "audit" && sub == "checkpoint":
		return cmdAuditCheckpoint(ctx, rest[1:])
	case cmd == "audit" && sub == "verify":
		return cmdAuditVerify(ctx, rest[1:])
	case cmd == "trusted-lists" && sub == "fetch":
		return cmdTrustedListsFetch(ctx, rest[1:])
	case cmd == "keys" && sub == "migrate":
		return cmdKeysMigrate(ctx, rest[1:])
	case cmd == "bench":
		return cmdBench(ctx, rest)
	case cmd == "help" || cmd == "-h" || cmd == "--help":
		fmt.Print(usage)
		return nil
	}
	return usagef("unknown command %q; run paraphe help", joinCmd(cmd, sub))
}

func joinCmd(a, b string) string {
	if b == "" {
		return a
	}
	return a + " " + b
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
