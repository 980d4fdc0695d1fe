package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
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
