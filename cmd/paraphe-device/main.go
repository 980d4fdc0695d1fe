// Command paraphe-device is the reference device client: what a signer's phone app does,
// as a command line. It keeps its P-256 device key, ids and server URL in a state file
// (mode 0600), signs every call with the device key, and approves requests by signing the
// canonical challenge over the request id, every document digest, the chosen icon and the
// server's one-time nonce.
//
//	paraphe-device --state FILE enroll --server URL --code CODE --pin PIN
//	paraphe-device --state FILE pending [--wait 10s]
//	paraphe-device --state FILE approve --icon ICON --pin PIN ID
//	paraphe-device --state FILE refuse ID
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/paraphe/paraphe/device/client"
)

const usage = `usage: paraphe-device [--state FILE] [--server URL] COMMAND

commands:
  enroll --server URL --code CODE --pin PIN   register this device with an activation code and set the PIN
  pending [--wait DURATION]                   list pending requests (wait up to DURATION for one)
  approve --icon ICON --pin PIN ID            approve request ID with the icon shown by the integrator
  refuse ID                                   refuse request ID
  history [--limit N]                         past requests, newest first
  change-pin --pin OLD --new-pin NEW          change the PIN
  watch                                       print one JSON line per notification (replays pending first)

--state FILE keeps the device key and ids (default ./paraphe-device.json)
`

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "paraphe-device: "+strings.ReplaceAll(err.Error(), "\n", " "))
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// opts are the flags every command accepts, before or after the command name.
type opts struct {
	state  string
	server string
	code   string
	pin    string
	icon   string
	wait   time.Duration
	newPIN string
	limit  int
}

func parse(args []string) (opts, []string, error) {
	var o opts
	fs := flag.NewFlagSet("paraphe-device", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.state, "state", "paraphe-device.json", "state file")
	fs.StringVar(&o.server, "server", "", "server URL")
	fs.StringVar(&o.code, "code", "", "activation code (enroll)")
	fs.StringVar(&o.pin, "pin", "", "5-digit PIN (enroll, approve)")
	fs.StringVar(&o.icon, "icon", "", "icon id (approve)")
	fs.DurationVar(&o.wait, "wait", 0, "how long to wait for a pending request (pending)")
	fs.StringVar(&o.newPIN, "new-pin", "", "new 5-digit PIN (change-pin)")
	fs.IntVar(&o.limit, "limit", 50, "how many past requests (history)")
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, nil, usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return o, pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	o, pos, err := parse(args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return usageError{"no command given"}
	}
	cmd, rest := pos[0], pos[1:]
	switch cmd {
	case "enroll":
		if len(rest) != 0 || o.server == "" || o.code == "" || o.pin == "" {
			return usageError{"usage: paraphe-device enroll --server URL --code CODE --pin PIN"}
		}
		return enroll(ctx, o, out)
	case "pending":
		if len(rest) != 0 || o.wait < 0 {
			return usageError{"usage: paraphe-device pending [--wait DURATION]"}
		}
		return pending(ctx, o, out)
	case "approve":
		if len(rest) != 1 || o.icon == "" || o.pin == "" {
			return usageError{"usage: paraphe-device approve --icon ICON --pin PIN ID"}
		}
		return approve(ctx, o, rest[0], out)
	case "refuse":
		if len(rest) != 1 {
			return usageError{"usage: paraphe-device refuse ID"}
		}
		return refuse(ctx, o, rest[0], out)
	case "history":
		if len(rest) != 0 || o.limit < 1 || o.limit > 200 {
			return usageError{"usage: paraphe-device history [--limit 1..200]"}
		}
		return history(ctx, o, out)
	case "change-pin":
		if len(rest) != 0 || o.pin == "" || o.newPIN == "" {
			return usageError{"usage: paraphe-device change-pin --pin OLD --new-pin NEW"}
		}
		return changePIN(ctx, o, out)
	case "watch":
		if len(rest) != 0 {
			return usageError{"usage: paraphe-device watch"}
		}
		return watch(ctx, o, out)
	case "help":
		fmt.Fprint(out, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q; run paraphe-device help", cmd)}
}

func enroll(ctx context.Context, o opts, out io.Writer) error {
	st, err := client.Enroll(ctx, o.server, o.code, o.pin)
	if err != nil {
		return err
	}
	if err := st.Save(o.state); err != nil {
		return fmt.Errorf("enrolled, but the state file could not be written: %w", err)
	}
	return printJSON(out, map[string]string{"deviceId": st.DeviceID, "userId": st.UserID})
}

func session(o opts, timeout time.Duration) (*client.Client, error) {
	st, err := client.Load(o.state)
	if err != nil {
		return nil, err
	}
	return client.New(st, o.server, timeout)
}

func pending(ctx context.Context, o opts, out io.Writer) error {
	c, err := session(o, o.wait+30*time.Second)
	if err != nil {
		return err
	}
	items, err := c.Pending(ctx, o.wait)
	if err != nil {
		return err
	}
	return printJSON(out, items)
}

func approve(ctx context.Context, o opts, id string, out io.Writer) error {
	c, err := session(o, 90*time.Second)
	if err != nil {
		return err
	}
	status, err := c.Approve(ctx, id, o.icon, o.pin)
	if err != nil {
		return err
	}
	return printJSON(out, map[string]string{"id": id, "status": status})
}

func refuse(ctx context.Context, o opts, id string, out io.Writer) error {
	c, err := session(o, 30*time.Second)
	if err != nil {
		return err
	}
	if err := c.Refuse(ctx, id); err != nil {
		return err
	}
	return printJSON(out, map[string]string{"id": id, "status": "refused"})
}

func history(ctx context.Context, o opts, out io.Writer) error {
	c, err := session(o, 30*time.Second)
	if err != nil {
		return err
	}
	items, err := c.History(ctx, o.limit)
	if err != nil {
		return err
	}
	return printJSON(out, items)
}

func changePIN(ctx context.Context, o opts, out io.Writer) error {
	c, err := session(o, 30*time.Second)
	if err != nil {
		return err
	}
	if err := c.ChangePIN(ctx, o.pin, o.newPIN); err != nil {
		return err
	}
	return printJSON(out, map[string]string{"status": "PIN changed"})
}

// watch prints one JSON line per notification until interrupted.
func watch(ctx context.Context, o opts, out io.Writer) error {
	c, err := session(o, 30*time.Second)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	// os.Stdout is unbuffered: each line is out as soon as it is encoded.
	return c.Watch(ctx, func(ev client.Event) error { return enc.Encode(ev) })
}

func printJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
