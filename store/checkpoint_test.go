package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paraphe/paraphe/signer"
)

// TestBackgroundCheckpoint: a commit no longer copies the WAL into the database file
// (it would only past walAutocheckpointPages), the background checkpointer does, within
// a few of its ticks.
func TestBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paraphe.db")
	s := openStore(t, Config{SQLitePath: path})
	ctx := context.Background()
	var pages int
	if err := s.db.WithContext(ctx).Raw("PRAGMA wal_autocheckpoint").Scan(&pages).Error; err != nil || pages != walAutocheckpointPages {
		t.Fatalf("wal_autocheckpoint = %d, %v; want %d", pages, err, walAutocheckpointPages)
	}
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	// Settle what Open wrote, then write about 2 MiB: over the 4 MiB default of a
	// commit-time checkpoint only in twice that, far under ours.
	time.Sleep(2 * checkpointEvery)
	before := size()
	const docs, resultSize = 500, 4000
	mustCreate(t, s, newRequest("big", "u1", docs, t0, t0.Add(time.Hour)))
	if ok, err := s.Transition(ctx, "big", []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: t0}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	results := make([][]byte, docs)
	for i := range results {
		results[i] = make([]byte, resultSize)
		results[i][0] = byte(i)
	}
	if ok, err := s.CompleteSigned(ctx, "big", results, t0); !ok || err != nil {
		t.Fatal(ok, err)
	}
	deadline := time.Now().Add(10 * checkpointEvery)
	for size()-before < docs*resultSize/2 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes, %d before the write: the WAL was not checkpointed", size(), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
