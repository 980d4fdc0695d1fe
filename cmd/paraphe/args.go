package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/paraphe/paraphe/config"
)

// parseInterleaved parses flags that may stand before or after positional arguments,
// as the contract allows ("users export ID --format csv" and "--format csv users export ID").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError is a command-line mistake: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// wantArgs checks the number of positional arguments.
func wantArgs(pos []string, n int, synopsis string) error {
	if len(pos) != n {
		return usagef("usage: paraphe %s", synopsis)
	}
	for _, p := range pos {
		if strings.TrimSpace(p) == "" {
			return usagef("usage: paraphe %s", synopsis)
		}
	}
	return nil
}

// common holds the flags every command takes.
type common struct {
	data        string
	configFile  string
	databaseURL string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "./data", "data folder (SQLite file, SoftHSM token, CA certificates)")
	fs.StringVar(&c.configFile, "config", "", "YAML configuration file")
	fs.StringVar(&c.databaseURL, "database-url", "", "PostgreSQL URL (postgres://...) instead of the SQLite file")
}

func (c *common) load() (config.Config, error) {
	cfg, err := config.Load(c.configFile, c.data)
	if err != nil {
		return cfg, err
	}
	if c.configFile != "" && c.data != "./data" {
		abs, err := filepath.Abs(c.data)
		if err != nil {
			return cfg, err
		}
		cfg.DataDir = abs
	}
	if c.databaseURL != "" {
		cfg.DatabaseURL = c.databaseURL
	}
	return cfg, nil
}

// globalFlags are the flags every command takes; they may also stand before
// the command ("paraphe --data D integrators add NAME").
var globalFlags = map[string]bool{"data": true, "config": true, "database-url": true}

// hoistGlobalFlags moves the global flags given before the command to after
// it (before a "--", if any), where the command's own flag set reads them.
// A flag before the command that is not global is a usage error.
func hoistGlobalFlags(args []string) ([]string, error) {
	var lead []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		a := args[0]
		if a == "-h" || a == "--help" || a == "-help" {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !globalFlags[name] {
			return nil, usagef("flag %s must follow the command (only --data, --config and --database-url may stand before it)", a)
		}
		if hasValue {
			lead, args = append(lead, a), args[1:]
			continue
		}
		if len(args) < 2 {
			return nil, usagef("flag %s needs a value", a)
		}
		lead, args = append(lead, a, args[1]), args[2:]
	}
	if len(lead) == 0 {
		return args, nil
	}
	out := make([]string, 0, len(args)+len(lead))
	i := slices.Index(args, "--")
	if i < 0 {
		i = len(args)
	}
	out = append(out, args[:i]...)
	out = append(out, lead...)
	return append(out, args[i:]...), nil
}
