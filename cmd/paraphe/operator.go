package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/paraphe/paraphe/api"
	"github.com/paraphe/paraphe/app"
	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/device"
)

func cmdIntegratorsAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("integrators add", flag.ContinueOnError)
	var c common
	c.register(fs)
	redirects := []string{}
	fs.Func("redirect-uri", "an OAuth 2.0 redirect URI of this client (CSC API; repeat for several; matched exactly)", func(v string) error {
		redirects = append(redirects, v)
		return nil
	})
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 1, "integrators add [--data DIR] [--redirect-uri URI]... NAME"); err != nil {
		return err
	}
	e, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer e.Close()
	out, err := e.Integrators().Add(ctx, pos[0], redirects...)
	if err != nil {
		return err
	}
	// clientId is the same id: the integrator is the OAuth 2.0 client of the CSC API, whose
	// client secret is the API key.
	return printJSON(map[string]any{"id": out.ID, "clientId": out.ID, "name": out.Name, "apiKey": out.APIKey,
		"webhookSecret": out.WebhookSecret, "redirectUris": redirects})
}

func cmdUsersAdd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	var c common
	c.register(fs)
	var n device.NewUser
	fs.StringVar(&n.GivenName, "given-name", "", "given name")
	fs.StringVar(&n.Surname, "surname", "", "surname")
	fs.StringVar(&n.Email, "email", "", "e-mail address")
	fs.StringVar(&n.Phone, "phone", "", "phone number in E.164 form (+32470123456)")
	fs.StringVar(&n.Country, "country", "", "ISO 3166 country code (default from the configuration)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "users add --given-name G --surname S --email E --phone P"); err != nil {
		return err
	}
	if n.GivenName == "" || n.Surname == "" || n.Email == "" || n.Phone == "" {
		return usagef("users add needs --given-name, --surname, --email and --phone")
	}
	d, err := openDomain(ctx, &c)
	if err != nil {
		return err
	}
	defer d.Close()
	out, err := d.Devices.AddUser(ctx, n)
	if err != nil {
		return err
	}
	return printJSON(map[string]string{"id": out.UserID, "activationCode": out.Code, "activationExpiresAt": out.ExpiresAt.Format(time.RFC3339)})
}

func cmdCARoot(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("ca root", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "ca root [--data DIR]"); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(cfg.DataDir, "ca", "root.pem"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no CA in %s yet: run paraphe serve once", cfg.DataDir)
		}
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

func cmdAuditVerify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	var c common
	c.register(fs)
	var checkpoints stringList
	fs.Var(&checkpoints, "checkpoint", "a signed checkpoint to check against the log: a file from 'audit checkpoint' or an evidence record (repeatable)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "audit verify [--data DIR] [--checkpoint FILE]..."); err != nil {
		return err
	}
	cps := make([]audit.Checkpoint, 0, len(checkpoints))
	for _, f := range checkpoints {
		cp, err := readCheckpoint(f)
		if err != nil {
			return usageError{err.Error()}
		}
		cps = append(cps, cp)
	}
	e, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer e.Close()
	n, err := e.Audit.Verify(ctx)
	for i := 0; err == nil && i < len(cps); i++ {
		err = e.Audit.VerifyCheckpoint(ctx, cps[i], e.CheckpointKey.Public())
	}
	if err != nil {
		var be *audit.BrokenError
		if errors.As(err, &be) {
			_ = printJSON(map[string]any{"intact": false, "checked": n, "firstBadEntry": be.Seq, "reason": be.Reason})
			return exitError{code: 1, err: err}
		}
		if errors.Is(err, audit.ErrBadCheckpoint) {
			_ = printJSON(map[string]any{"intact": false, "checked": n, "reason": err.Error()})
			return exitError{code: 1, err: err}
		}
		return err
	}
	return printJSON(map[string]any{"intact": true, "checked": n, "checkpoints": len(cps)})
}

// readCheckpoint reads a checkpoint file: {"seq","hash","time","signature"}, or an
// evidence record holding one under "auditCheckpoint".
func readCheckpoint(path string) (audit.Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	var wrapped struct {
		Checkpoint *api.CheckpointOut `json:"auditCheckpoint"`
	}
	var cp api.CheckpointOut
	if json.Unmarshal(b, &wrapped) == nil && wrapped.Checkpoint != nil {
		cp = *wrapped.Checkpoint
	} else if err := json.Unmarshal(b, &cp); err != nil || cp.Seq == 0 {
		return audit.Checkpoint{}, fmt.Errorf("%s holds no audit checkpoint", path)
	}
	return cp.Checkpoint()
}

func cmdAuditCheckpoint(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("audit checkpoint", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "audit checkpoint [--data DIR]"); err != nil {
		return err
	}
	e, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer e.Close()
	cp, err := e.Checkpoint(ctx)
	if err != nil {
		return err
	}
	return printJSON(api.NewCheckpointOut(cp))
}

// open loads the configuration and opens the store, the HSM token and the audit log
// (app.Open). An operator command that finds no data folder creates one, as serve
// does, but says so on stderr: a command run with another --data than the server's
// would otherwise quietly work on a second, empty service.
func open(ctx context.Context, c *common) (*app.Env, error) {
	cfg, err := c.load()
	if err != nil {
		return nil, err
	}
	warnNewDataFolder(cfg.DataDir)
	return app.Open(ctx, cfg, app.NewLogger(cfg.LogLevel))
}

// warnNewDataFolder says on stderr that a command is about to create a data folder.
func warnNewDataFolder(dir string) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "paraphe: no data folder at %s: creating a new one (a server started with another --data, or make run DATA=..., does not see it; pass the same --data)\n", dir)
	}
}

// openDomain loads the configuration and builds the domain services over the data
// folder's existing CA (app.BuildDomain). Only paraphe serve creates the CA, with the
// URLs it serves: on a data folder without one, these commands stop and say so.
func openDomain(ctx context.Context, c *common) (*app.Domain, error) {
	cfg, err := c.load()
	if err != nil {
		return nil, err
	}
	return app.BuildDomain(ctx, cfg, app.NewLogger(cfg.LogLevel))
}

// userCommand parses the flags of a "users VERB ID" command and opens the domain.
func userCommand(ctx context.Context, verb string, args []string, extra func(*flag.FlagSet)) (*app.Domain, string, error) {
	fs := flag.NewFlagSet("users "+verb, flag.ContinueOnError)
	var c common
	c.register(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, "", usageError{err.Error()}
	}
	if err := wantArgs(pos, 1, "users "+verb+" [--data DIR] USER_ID"); err != nil {
		return nil, "", err
	}
	d, err := openDomain(ctx, &c)
	if err != nil {
		return nil, "", err
	}
	return d, pos[0], nil
}

func cmdUsersReactivate(ctx context.Context, args []string) error {
	d, id, err := userCommand(ctx, "reactivate", args, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	out, err := d.Accounts.Reactivate(ctx, id)
	if err != nil {
		return err
	}
	return printJSON(map[string]string{"id": out.UserID, "activationCode": out.Code, "activationExpiresAt": out.ExpiresAt.Format(time.RFC3339)})
}

func cmdUsersBlock(ctx context.Context, args []string) error {
	d, id, err := userCommand(ctx, "block", args, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Accounts.Block(ctx, id, audit.Operator); err != nil {
		return err
	}
	return printJSON(map[string]string{"id": id, "status": "blocked"})
}

func cmdUsersShow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("users show", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 1, "users show [--data DIR] USER_ID"); err != nil {
		return err
	}
	e, err := open(ctx, &c)
	if err != nil {
		return err
	}
	defer e.Close()
	u, err := e.Store.User(ctx, pos[0])
	if err != nil {
		return err
	}
	// Operators see state and counters, not the PIN verifier.
	return printJSON(map[string]any{"id": u.ID, "givenName": u.GivenName, "surname": u.Surname, "email": u.Email,
		"phone": u.Phone, "country": u.Country, "status": u.Status, "locked": u.Locked, "pinFailures": u.PINFailures,
		"refusals": u.Refusals, "blockedAt": u.BlockedAt, "certificateSerial": u.CertSerial, "createdAt": u.CreatedAt})
}

func cmdEvidence(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("evidence", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 1, "evidence [--data DIR] REQUEST_ID"); err != nil {
		return err
	}
	d, err := openDomain(ctx, &c)
	if err != nil {
		return err
	}
	defer d.Close()
	ev, err := d.Requests.EvidenceAny(ctx, pos[0])
	if err != nil {
		return err
	}
	rec := api.NewEvidenceRecord(ev)
	cp, err := d.Checkpoint(ctx)
	if err != nil {
		return err
	}
	rec.Checkpoint = api.NewCheckpointOut(cp)
	return printJSON(rec)
}

// cmdKeysMigrate moves every active user from a token key to a wrapped key (see
// device.KeyMigration) and prints what it did: {"migrated","skipped","failed"}.
func cmdKeysMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("keys migrate", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "keys migrate [--data DIR]"); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	e, err := app.OpenCA(ctx, cfg, app.NewLogger(cfg.LogLevel))
	if err != nil {
		return err
	}
	defer e.Close()
	migration, err := e.KeyMigration()
	if err != nil {
		return err
	}
	m, err := migration.Run(ctx)
	if err != nil {
		return err
	}
	if err := printJSON(map[string]any{"migrated": m.Migrated, "skipped": m.Skipped, "failed": m.Failed}); err != nil {
		return err
	}
	if len(m.Failed) > 0 {
		return fmt.Errorf("keys migrate: %d users left on their token key (see the log)", len(m.Failed))
	}
	return nil
}
