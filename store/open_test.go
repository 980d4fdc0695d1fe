package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
)

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"nothing configured", Config{}},
		{"mysql scheme", Config{URL: "mysql://root@localhost/paraphe"}},
		{"sqlite scheme in URL", Config{URL: "sqlite:///tmp/x.db"}},
		{"no scheme", Config{URL: "localhost:5432/paraphe"}},
		{"unparsable", Config{URL: "postgres://%zz"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(context.Background(), tc.cfg)
			if err == nil {
				_ = s.Close()
				t.Fatalf("Open(%+v) succeeded", tc.cfg)
			}
		})
	}
}

func TestSQLiteFileMode(t *testing.T) {
	tests := []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"new data folder", func(t *testing.T) string { return filepath.Join(t.TempDir(), "data") }},
		{"existing world-readable folder", func(t *testing.T) string {
			d := t.TempDir()
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{"folder name with a space", func(t *testing.T) string { return filepath.Join(t.TempDir(), "my data") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(tc.dir(t), "paraphe.db")
			s := openStore(t, Config{SQLitePath: path})
			addUser(t, s, "u1") // writes: the WAL file exists now
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatalf("stat: %v", err)
				}
				if m := fi.Mode().Perm(); m&0o077 != 0 {
					t.Errorf("%s has mode %v, want no group or other access", filepath.Base(p), m)
				}
			}
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) > 3 {
				t.Errorf("unexpected files beside the database: %v", entries)
			}
		})
	}
}

// TestTwoStores opens the same database twice, as the server and a CLI command do, and
// writes from both at once.
func TestTwoStores(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := b.config(t)
			server := openStore(t, cfg)
			cli := openStore(t, cfg)
			addUser(t, server, "u1")
			for i := range 10 {
				mustCreate(t, cli, newRequest(fmt.Sprint("r", i), "u1", 1, t0, t0.Add(time.Hour)))
			}

			const perStore = 10
			var wg sync.WaitGroup
			errs := make(chan error, 4*perStore)
			for _, s := range []*Store{server, cli} {
				log := audit.New(audit.Deps{Store: s})
				for i := range perStore {
					wg.Go(func() {
						if _, err := s.ReservePINAttempt(ctx, "u1", 1000); err != nil {
							errs <- err
						}
					})
					wg.Go(func() {
						if _, err := log.Record(ctx, audit.Event{Type: audit.PINFailed, Actor: audit.System}); err != nil {
							errs <- err
						}
					})
					wg.Go(func() {
						if _, err := s.Transition(ctx, fmt.Sprint("r", i), []signer.Status{signer.StatusPending},
							signer.Change{To: signer.StatusApproved, At: t0}); err != nil {
							errs <- err
						}
					})
					wg.Go(func() {
						if err := s.UseNonce(ctx, "d1", fmt.Sprint("n", i), t0); err != nil && err != device.ErrReplay {
							errs <- err
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("concurrent write: %v", err)
			}
			u, err := cli.User(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if u.PINFailures != 2*perStore {
				t.Errorf("PIN failures %d, want %d", u.PINFailures, 2*perStore)
			}
			if n, err := audit.New(audit.Deps{Store: server}).Verify(ctx); err != nil || n != 2*perStore {
				t.Errorf("audit Verify = %d, %v; want %d entries", n, err, 2*perStore)
			}
			if n := count(t, server, &deviceNonceRow{}, "device_id = ?", "d1"); n != perStore {
				t.Errorf("nonces %d, want %d (each used once)", n, perStore)
			}
			if n, err := server.CountPendingForUser(ctx, "int-1", "u1", t0); err != nil || n != 0 {
				t.Errorf("pending after approval from both = %d, %v", n, err)
			}
		})
	}
}

func TestPing(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSQLitePageSize checks that a new database gets sqlitePageSize pages and that a
// database made with another page size keeps it when opened.
func TestSQLitePageSize(t *testing.T) {
	pageSize := func(s *Store) int {
		t.Helper()
		var n int
		if err := s.db.Raw("PRAGMA page_size").Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	fresh := filepath.Join(t.TempDir(), "paraphe.db")
	if got := pageSize(openStore(t, Config{SQLitePath: fresh})); got != sqlitePageSize {
		t.Errorf("new database: page size %d, want %d", got, sqlitePageSize)
	}
	old := filepath.Join(t.TempDir(), "paraphe.db")
	db, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"PRAGMA page_size=4096", "PRAGMA journal_mode=WAL", "CREATE TABLE t(x)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if got := pageSize(openStore(t, Config{SQLitePath: old})); got != 4096 {
		t.Errorf("existing database: page size %d, want its own 4096", got)
	}
}
