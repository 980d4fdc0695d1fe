package app_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/paraphe/paraphe/app"
	"github.com/paraphe/paraphe/config"
)

// TestNoCAOutsideServe: the operator commands' builds open an existing CA only. On a data
// folder without one they stop with ErrNoCA before creating anything, so that no CA is
// ever made with URLs other than those the server publishes.
func TestNoCAOutsideServe(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name  string
		build func(ctx context.Context, cfg config.Config) (interface{ Close() }, error)
	}{
		{"BuildDomain", func(ctx context.Context, cfg config.Config) (interface{ Close() }, error) {
			return app.BuildDomain(ctx, cfg, log)
		}},
		{"OpenCA", func(ctx context.Context, cfg config.Config) (interface{ Close() }, error) {
			return app.OpenCA(ctx, cfg, log)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			got, err := tc.build(context.Background(), config.Default(data))
			if err == nil {
				got.Close()
				t.Fatal("built over a data folder without a CA")
			}
			if !errors.Is(err, app.ErrNoCA) {
				t.Fatalf("err = %v, want ErrNoCA", err)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the data folder was created (%v)", err)
			}
		})
	}
}

// TestBuildOrder: Build opened every part, the CA and the built-in TSA included (no TSA
// configured: the built-in one is used), and the services got them.
func TestBuildOrder(t *testing.T) {
	if testSvc.CA == nil || testSvc.TSA == nil || testSvc.TSACert == nil || testSvc.Audit == nil || testSvc.VAPIDKey == nil {
		t.Fatalf("Build left a part closed: CA %v, TSA %v, audit %v, VAPID key %v", testSvc.CA != nil, testSvc.TSA != nil,
			testSvc.Audit != nil, testSvc.VAPIDKey != nil)
	}
	if testSvc.Devices == nil || testSvc.Requests == nil || testSvc.Accounts == nil || testSvc.CSC == nil || testSvc.Handler == nil {
		t.Fatal("Build left a service out")
	}
	// A second domain over the same parts (another replica) needs the CA opened.
	if _, err := (&app.Env{}).NewDomain(context.Background()); err == nil {
		t.Fatal("NewDomain built services without a CA")
	}
}
