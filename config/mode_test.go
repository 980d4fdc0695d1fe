package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevelopmentMode: loopback callbacks and public metrics follow the development
// mode, which an explicit key sets and the HSM implies otherwise.
func TestDevelopmentMode(t *testing.T) {
	hsmModule := "hsm:\n  module: /usr/lib/softhsm/libsofthsm2.so\n  tokenLabel: t\n  pinFile: /dev/null\n"
	tests := []struct {
		name                   string
		yaml                   string // "" loads no file
		dev, loopback, metrics bool
		invalid                string
	}{
		{"no file: development", "", true, true, true, ""},
		{"a file without HSM module: the embedded token is development", "tsa:\n  timeout: 5s\n", true, true, true, ""},
		{"a real HSM: production", hsmModule, false, false, false, ""},
		{"a real HSM, development said", hsmModule + "development: true\n", true, true, true, ""},
		{"the embedded token, production said", "development: false\n", false, false, false, ""},
		{"development with loopback turned off", "webhooks:\n  allowLoopback: false\n", true, false, true, ""},
		{"loopback asked in production", "development: false\nwebhooks:\n  allowLoopback: true\n", false, false, false, "allowLoopback"},
		{"development with metrics on their own address", "metrics:\n  listen: 127.0.0.1:9100\n", true, true, false, ""},
		{"development with a metrics token", "metrics:\n  tokenFile: /x\n", true, true, false, ""},
		{"metrics on the main address", "metrics:\n  listen: 127.0.0.1:8080\n", true, true, false, "metrics.listen"},
		{"metrics address malformed", "metrics:\n  listen: nine\n", true, true, false, "metrics.listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = write(t, tc.yaml)
			}
			c, err := Load(path, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if c.IsDevelopment() != tc.dev || c.LoopbackCallbacks() != tc.loopback || c.PublicMetrics() != tc.metrics {
				t.Fatalf("development %v, loopback callbacks %v, public metrics %v; want %v %v %v",
					c.IsDevelopment(), c.LoopbackCallbacks(), c.PublicMetrics(), tc.dev, tc.loopback, tc.metrics)
			}
			err = c.Validate()
			if tc.invalid == "" && err != nil && !strings.Contains(err.Error(), "hsm") {
				t.Fatalf("Validate: %v", err)
			}
			if tc.invalid != "" && (err == nil || !strings.Contains(err.Error(), tc.invalid)) {
				t.Fatalf("Validate = %v, want an error about %s", err, tc.invalid)
			}
		})
	}
}

func TestMetricsToken(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(good, []byte("  0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, want string
		ok         bool
	}{
		{"", "", true},
		{good, "0123456789abcdef0123", true},
		{short, "", false},
		{filepath.Join(dir, "missing"), "", false},
	}
	for _, tc := range tests {
		c := Default(dir)
		c.Metrics.TokenFile = tc.file
		got, err := c.MetricsToken()
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("MetricsToken(%q) = %q, %v; want %q ok=%v", tc.file, got, err, tc.want, tc.ok)
		}
	}
}
