package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// The shared suite runs every test against SQLite (always) and PostgreSQL when
// PARAPHE_TEST_POSTGRES holds a URL such as postgres://postgres@127.0.0.1:5432/test.
// Each PostgreSQL store lives in a fresh schema dropped when the test ends.

const postgresEnv = "PARAPHE_TEST_POSTGRES"

// backend opens fresh, empty databases of one kind.
type backend struct {
	name string
	// config returns the Config of a new empty database; opening it twice gives two
	// Store values on the same data (server and CLI processes).
	config func(t *testing.T) Config
}

func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{{name: "sqlite", config: func(t *testing.T) Config {
		return Config{SQLitePath: filepath.Join(t.TempDir(), "paraphe.db")}
	}}}
	if base := os.Getenv(postgresEnv); base != "" {
		bs = append(bs, backend{name: "postgres", config: func(t *testing.T) Config { return pgSchema(t, base) }})
	} else {
		t.Logf("%s not set: PostgreSQL backend skipped", postgresEnv)
	}
	return bs
}

// pgSchema creates a schema with a random name and returns a Config whose URL selects
// it through search_path; the schema is dropped at cleanup.
func pgSchema(t *testing.T, base string) Config {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	schema := "paraphe_test_" + hex.EncodeToString(b[:])
	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("connect to %s: %v", postgresEnv, err)
	}
	sqlDB, err := admin.DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		_ = sqlDB.Close()
		t.Fatalf("create schema: %v", err)
	}
	// Registered before any store opens, so it runs after the stores are closed.
	t.Cleanup(func() {
		if err := admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error; err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = sqlDB.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return Config{URL: u.String()}
}

func openStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// eachBackend runs test once per backend, each with its own empty store.
func eachBackend(t *testing.T, test func(t *testing.T, s *Store)) {
	t.Helper()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			test(t, openStore(t, b.config(t)))
		})
	}
}

func sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// count counts rows of model matching the condition, straight from the database.
func count(t *testing.T, s *Store, model any, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.db.Model(model).Where(query, args...).Count(&n).Error; err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}
