package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRetentionConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    Retention
		wantErr bool
	}{
		{"days and hours", "retention:\n  resultGrace: 2d\n  resultMaxAge: 720h\n  pseudonymizeAfter: 90d\n  evidenceKeep: 3653d\n  interval: 15m\n",
			Retention{Duration(48 * time.Hour), Duration(720 * time.Hour), Duration(90 * 24 * time.Hour), Duration(3653 * 24 * time.Hour), Duration(15 * time.Minute)}, false},
		{"fractional days", "retention:\n  resultGrace: 1.5d\n", Retention{}, true},
		{"too many days", "retention:\n  evidenceKeep: 99999d\n", Retention{}, true},
		{"evidence shorter than results", "retention:\n  evidenceKeep: 10d\n", Retention{}, true},
		{"zero interval", "retention:\n  interval: 0s\n", Retention{}, true},
		{"unknown key", "retention:\n  keepForever: true\n", Retention{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p, t.TempDir())
			if err == nil {
				err = c.Validate()
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && c.Retention != tc.want {
				t.Fatalf("retention = %+v, want %+v", c.Retention, tc.want)
			}
		})
	}
	if err := Default(t.TempDir()).Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}
