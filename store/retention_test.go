package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/signer"
)

// signedRequest stores a request that was signed at finished, with one result per
// document ("result-ID-i").
func signedRequest(t *testing.T, s *Store, id string, docs int, finished time.Time) {
	t.Helper()
	ctx := context.Background()
	r := newRequest(id, "u1", docs, finished.Add(-time.Minute), finished.Add(time.Hour))
	r.CreatedIP = "192.0.2.1"
	mustCreate(t, s, r)
	if ok, err := s.Transition(ctx, id, []signer.Status{signer.StatusPending},
		signer.Change{To: signer.StatusApproved, At: finished, ClientIP: "198.51.100.1", DeviceID: "d1"}); !ok || err != nil {
		t.Fatalf("approve %s: %v %v", id, ok, err)
	}
	results := make([][]byte, docs)
	for i := range results {
		results[i] = []byte(fmt.Sprintf("result-%s-%d", id, i))
	}
	if ok, err := s.CompleteSigned(ctx, id, results, finished); !ok || err != nil {
		t.Fatalf("CompleteSigned %s: %v %v", id, ok, err)
	}
}

func TestMarkDownloaded(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		signedRequest(t, s, "r1", 2, t0)
		if err := s.MarkDownloaded(ctx, "r1", 1, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// The first download counts; a later one does not move the grace period.
		if err := s.MarkDownloaded(ctx, "r1", 1, t0.Add(5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		var d documentRow
		if err := s.db.Where("request_id = ? AND idx = ?", "r1", 1).Take(&d).Error; err != nil {
			t.Fatal(err)
		}
		if d.DownloadedAt == nil || !d.DownloadedAt.Equal(t0.Add(time.Hour)) {
			t.Errorf("downloaded_at = %v, want %v", d.DownloadedAt, t0.Add(time.Hour))
		}
		if n := count(t, s, &documentRow{}, "request_id = ? AND idx = ? AND downloaded_at IS NULL", "r1", 0); n != 1 {
			t.Errorf("document 0 marked too")
		}
		for _, k := range []struct {
			id  string
			idx int
		}{{"r1", 2}, {"nope", 0}} {
			if err := s.MarkDownloaded(ctx, k.id, k.idx, t0); !errors.Is(err, signer.ErrNotFound) {
				t.Errorf("MarkDownloaded(%s, %d) = %v, want ErrNotFound", k.id, k.idx, err)
			}
		}
	})
}

func TestPurgeResults(t *testing.T) {
	day := 24 * time.Hour
	now := t0.Add(100 * day)
	grace, maxAge := 7*day, 30*day
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		signedRequest(t, s, "fresh", 1, now.Add(-day))                      // kept: young, not downloaded
		signedRequest(t, s, "downloaded-old", 1, now.Add(-10*day))          // downloaded 8 days ago: purged
		signedRequest(t, s, "downloaded-recent", 1, now.Add(-10*day))       // downloaded 6 days ago: kept
		signedRequest(t, s, "never-downloaded", 2, now.Add(-31*day))        // 31 days: purged
		signedRequest(t, s, "at-limit", 1, now.Add(-maxAge).Add(time.Hour)) // just under 30 days: kept
		must(t, s.MarkDownloaded(ctx, "downloaded-old", 0, now.Add(-8*day)))
		must(t, s.MarkDownloaded(ctx, "downloaded-recent", 0, now.Add(-6*day)))

		n, err := s.PurgeResults(ctx, now.Add(-grace), now.Add(-maxAge), now)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("purged %d results, want 3", n)
		}
		for id, gone := range map[string]bool{"fresh": false, "downloaded-old": true, "downloaded-recent": false, "never-downloaded": true, "at-limit": false} {
			r := mustGet(t, s, id)
			for _, d := range r.Documents {
				if (d.Result == nil) != gone {
					t.Errorf("%s/%d: result present = %v, want gone = %v", id, d.Index, d.Result != nil, gone)
				}
			}
			var docs []documentRow
			must(t, s.db.Where("request_id = ?", id).Order("idx").Find(&docs).Error)
			for _, d := range docs {
				want := sha256.Sum256([]byte(fmt.Sprintf("result-%s-%d", id, d.Idx)))
				if gone && (!bytes.Equal(d.ResultSHA256, want[:]) || d.ResultDeletedAt == nil) {
					t.Errorf("%s/%d: the digest of the deleted result was not kept", id, d.Idx)
				}
			}
		}
		if n, err := s.PurgeResults(ctx, now.Add(-grace), now.Add(-maxAge), now); err != nil || n != 0 {
			t.Errorf("second purge = %d, %v; want 0", n, err)
		}
	})
}

func TestPseudonymizeAndDeleteRequests(t *testing.T) {
	day := 24 * time.Hour
	now := t0.Add(4000 * day)
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		signedRequest(t, s, "young", 1, now.Add(-day))
		signedRequest(t, s, "old", 2, now.Add(-100*day))
		signedRequest(t, s, "ancient", 1, now.Add(-3700*day))
		mustCreate(t, s, newRequest("open", "u1", 1, now.Add(-200*day), now.Add(time.Hour))) // pending: never touched
		n, err := s.PseudonymizeRequests(ctx, now.Add(-90*day), now)
		if err != nil || n != 2 {
			t.Fatalf("PseudonymizeRequests = %d, %v; want 2", n, err)
		}
		for id, want := range map[string]bool{"young": false, "old": true, "ancient": true, "open": false} {
			r := mustGet(t, s, id)
			done := r.CreatedIP == "" && r.DecidedIP == "" && r.Documents[0].Name == ""
			if done != want {
				t.Errorf("%s pseudonymized = %v, want %v (%+v)", id, done, want, r)
			}
			if len(r.Documents[0].Digest) == 0 || (r.Status == signer.StatusSigned && r.Documents[0].Result == nil) {
				t.Errorf("%s lost its digest or result", id)
			}
		}
		if n, _ := s.PseudonymizeRequests(ctx, now.Add(-90*day), now); n != 0 {
			t.Errorf("second run pseudonymized %d", n)
		}
		outboxEnqueue(t, s, "ancient", "https://example.test/cb", now)
		if _, err := s.AppendEvent(ctx, "u1", "ancient", "signed"); err != nil {
			t.Fatal(err)
		}
		n, err = s.DeleteRequests(ctx, now.Add(-3653*day))
		if err != nil || n != 1 {
			t.Fatalf("DeleteRequests = %d, %v; want 1", n, err)
		}
		if _, err := s.Request(ctx, "ancient"); !errors.Is(err, signer.ErrNotFound) {
			t.Errorf("ancient request still there: %v", err)
		}
		for _, m := range []any{&documentRow{}, &webhookDeliveryRow{}, &eventRow{}} {
			if c := count(t, s, m, "request_id = ?", "ancient"); c != 0 {
				t.Errorf("%T: %d rows of the deleted request left", m, c)
			}
		}
		if c, _ := s.CountRequests(ctx); c != 3 {
			t.Errorf("%d requests left, want 3", c)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// recordN appends n entries, one minute apart from start.
func recordN(t *testing.T, s *Store, start time.Time, n int) *audit.Log {
	t.Helper()
	at := start
	log := audit.New(audit.Deps{Store: s, Now: func() time.Time { return at }})
	for i := range n {
		at = start.Add(time.Duration(i) * time.Minute)
		if _, err := log.Record(context.Background(), audit.Event{Type: audit.PINFailed, Actor: audit.Device("d1"), Detail: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	return log
}

func TestPruneAudit(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		log := recordN(t, s, t0, 10) // entries 1..10 at t0 + 0..9 minutes
		if _, found, err := s.AuditAnchor(ctx); found || err != nil {
			t.Fatalf("anchor before pruning: %v %v", found, err)
		}
		before, err := s.AuditEntries(ctx, 0, 100)
		must(t, err)
		anchor, n, err := s.PruneAudit(ctx, t0.Add(4*time.Minute), t0.Add(time.Hour))
		if err != nil || n != 4 || anchor.Seq != 4 || !bytes.Equal(anchor.Hash, before[3].Hash) {
			t.Fatalf("PruneAudit = %+v, %d, %v; want anchor 4 and 4 entries", anchor, n, err)
		}
		if c, err := log.Verify(ctx); err != nil || c != 6 {
			t.Fatalf("Verify after pruning = %d, %v", c, err)
		}
		// Appends go on from the last entry.
		if _, err := log.Record(ctx, audit.Event{Type: audit.AuditPruned, Actor: audit.System}); err != nil {
			t.Fatal(err)
		}
		// Pruning everything keeps the last entry.
		_, n, err = s.PruneAudit(ctx, t0.Add(24*time.Hour), t0.Add(25*time.Hour))
		if err != nil || n != 6 {
			t.Fatalf("PruneAudit(all) = %d, %v; want 6", n, err)
		}
		if c, err := log.Verify(ctx); err != nil || c != 1 {
			t.Fatalf("Verify with one entry left = %d, %v", c, err)
		}
		if _, n, err := s.PruneAudit(ctx, t0.Add(24*time.Hour), t0.Add(25*time.Hour)); err != nil || n != 0 {
			t.Fatalf("PruneAudit with one entry = %d, %v; want 0", n, err)
		}
		if _, err := log.Record(ctx, audit.Event{Type: audit.PINFailed, Actor: audit.System}); err != nil {
			t.Fatal(err)
		}
		if c, err := log.Verify(ctx); err != nil || c != 2 {
			t.Fatalf("Verify = %d, %v", c, err)
		}
	})
}

// TestAuditTamperKinds covers every kind of tampering (edit, delete, reorder, insert),
// on an intact log and on a pruned one, where the anchor itself may be forged.
func TestAuditTamperKinds(t *testing.T) {
	tests := []struct {
		name    string
		pruned  bool // entries 1..3 pruned first; the anchor is entry 3
		tamper  []string
		wantSeq int64
	}{
		{name: "edit time", tamper: []string{"UPDATE audit_log SET time = time + interval '1 second' WHERE seq = 4"}, wantSeq: 4},
		{name: "edit subject", tamper: []string{"UPDATE audit_log SET subject = 'u-other' WHERE seq = 2"}, wantSeq: 2},
		{name: "edit request id", tamper: []string{"UPDATE audit_log SET request_id = 'r-other' WHERE seq = 6"}, wantSeq: 6},
		{name: "delete first", tamper: []string{"DELETE FROM audit_log WHERE seq = 1"}, wantSeq: 2},
		{name: "delete middle", tamper: []string{"DELETE FROM audit_log WHERE seq = 4"}, wantSeq: 5},
		{name: "delete first two", tamper: []string{"DELETE FROM audit_log WHERE seq <= 2"}, wantSeq: 3},
		// Reorder: entries 3 and 4 swap places (seq numbers kept in place, contents moved).
		{name: "reorder", tamper: []string{
			"UPDATE audit_log SET seq = 1000 WHERE seq = 3", "UPDATE audit_log SET seq = 3 WHERE seq = 4", "UPDATE audit_log SET seq = 4 WHERE seq = 1000"}, wantSeq: 3},
		// Insert: everything from 4 moves up one, and a forged entry takes seq 4 with
		// entry 3's hash as previous-hash (but a made-up own hash).
		{name: "insert", tamper: []string{
			"UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 4", "UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000",
			"INSERT INTO audit_log (seq, time, type, actor, request_id, subject, detail, prev_hash, hash) " +
				"SELECT 4, time, 'request.signed', 'system', 'r-forged', '', 'null', hash, hash FROM audit_log WHERE seq = 3"}, wantSeq: 4},
		{name: "insert at end", tamper: []string{
			"INSERT INTO audit_log (seq, time, type, actor, request_id, subject, detail, prev_hash, hash) " +
				"SELECT 9, time, 'request.signed', 'system', 'r-forged', '', 'null', hash, hash FROM audit_log WHERE seq = 8"}, wantSeq: 9},
		{name: "pruned: delete first remaining", pruned: true, tamper: []string{"DELETE FROM audit_log WHERE seq = 4"}, wantSeq: 5},
		{name: "pruned: anchor hash forged", pruned: true, tamper: []string{"UPDATE audit_anchor SET hash = prev_hash_dummy"}, wantSeq: 4},
		{name: "pruned: anchor moved", pruned: true, tamper: []string{"UPDATE audit_anchor SET seq = 2"}, wantSeq: 4},
		{name: "pruned: old entry put back", pruned: true, tamper: []string{
			"INSERT INTO audit_log (seq, time, type, actor, request_id, subject, detail, prev_hash, hash) " +
				"SELECT 3, time, type, actor, request_id, subject, detail, prev_hash, prev_hash FROM audit_log WHERE seq = 4"}, wantSeq: 3},
	}
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				must(t, s.db.Exec("DELETE FROM audit_log").Error)
				must(t, s.db.Exec("DELETE FROM audit_anchor").Error)
				log := recordN(t, s, t0, 8)
				if tc.pruned {
					if _, n, err := s.PruneAudit(ctx, t0.Add(3*time.Minute), t0); err != nil || n != 3 {
						t.Fatalf("PruneAudit = %d, %v", n, err)
					}
				}
				if _, err := log.Verify(ctx); err != nil {
					t.Fatalf("Verify before tampering: %v", err)
				}
				for _, q := range tc.tamper {
					q = sqlFor(s, q)
					must(t, s.db.Exec(q).Error)
				}
				_, err := log.Verify(ctx)
				var broken *audit.BrokenError
				if !errors.As(err, &broken) {
					t.Fatalf("Verify after tampering: %v, want *audit.BrokenError", err)
				}
				if broken.Seq != tc.wantSeq {
					t.Fatalf("broken at %d (%s), want %d", broken.Seq, broken.Reason, tc.wantSeq)
				}
			})
		}
	})
}

// sqlFor adapts the few dialect differences of the tampering statements.
func sqlFor(s *Store, q string) string {
	if s.postgres {
		return replaceAll(q, "hash = prev_hash_dummy", "hash = decode('00', 'hex')")
	}
	q = replaceAll(q, "time = time + interval '1 second'", "time = replace(time, '10:03:00', '10:03:01')")
	return replaceAll(q, "hash = prev_hash_dummy", "hash = x'00'")
}

func replaceAll(s, old, new string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(old), []byte(new)))
}

func TestLeases(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := b.config(t)
			a, c := openStore(t, cfg), openStore(t, cfg) // two replicas
			steps := []struct {
				name   string
				s      *Store
				holder string
				now    time.Time
				want   bool
			}{
				{"first holder", a, "A", t0, true},
				{"other replica while held", c, "B", t0.Add(time.Minute), false},
				{"holder renews", a, "A", t0.Add(2 * time.Minute), true},
				{"other after expiry", c, "B", t0.Add(2*time.Minute + time.Hour), true},
				{"first after takeover", a, "A", t0.Add(2*time.Minute + time.Hour + time.Second), false},
			}
			for _, st := range steps {
				got, err := st.s.AcquireLease(ctx, "job", st.holder, st.now, time.Hour)
				if err != nil || got != st.want {
					t.Fatalf("%s: AcquireLease = %v, %v; want %v", st.name, got, err, st.want)
				}
			}
			must(t, a.ReleaseLease(ctx, "job", "A")) // not A's: changes nothing
			if got, _ := a.AcquireLease(ctx, "job", "A", t0.Add(2*time.Hour), time.Hour); got {
				t.Fatal("A took B's lease after releasing a lease it did not hold")
			}
			must(t, c.ReleaseLease(ctx, "job", "B"))
			if got, err := a.AcquireLease(ctx, "job", "A", t0.Add(2*time.Hour), time.Hour); !got || err != nil {
				t.Fatalf("after release: %v %v", got, err)
			}
		})
	}
}
