package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
)

// hmacSealer is the HSM's HMAC-SHA256 in software, with a key the "attacker" of these
// tests does not use.
type hmacSealer struct{ key []byte }

func (h hmacSealer) Seal(_ context.Context, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, h.key)
	m.Write(data)
	return m.Sum(nil), nil
}

// rewriteFrom recomputes the hash chain from seq on, as someone with write access to the
// database but not to the HSM would after editing an entry: hashes consistent, seals not.
func rewriteFrom(t *testing.T, s *Store, seq int64) {
	t.Helper()
	ctx := context.Background()
	prev, err := s.AuditEntries(ctx, seq-2, 1)
	if err != nil {
		t.Fatal(err)
	}
	var prevHash []byte
	if seq > 1 {
		prevHash = prev[0].Hash
	}
	es, err := s.AuditEntries(ctx, seq-1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		e.PrevHash = prevHash
		e.Hash = e.ComputeHash()
		if err := s.db.Model(&auditRow{}).Where("seq = ?", e.Seq).Updates(map[string]any{"prev_hash": e.PrevHash, "hash": e.Hash}).Error; err != nil {
			t.Fatal(err)
		}
		prevHash = e.Hash
	}
}

func TestAuditSeals(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sealer := hmacSealer{key: []byte("hsm-secret")}
		log := audit.New(audit.Deps{Store: s, Now: stepClock(), Sealer: sealer})
		for i := range 6 {
			if _, err := log.Record(ctx, audit.Event{Type: audit.RequestCreated, Actor: "system", Subject: fmt.Sprint("s", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := log.Verify(ctx); err != nil || n != 6 {
			t.Fatalf("intact log: %d %v", n, err)
		}
		// An edit with the chain recomputed passes a plain hash check, not the seals.
		if err := s.db.Model(&auditRow{}).Where("seq = ?", 3).Update("subject", "forged").Error; err != nil {
			t.Fatal(err)
		}
		rewriteFrom(t, s, 3)
		if _, err := audit.New(audit.Deps{Store: s}).Verify(ctx); err != nil {
			t.Fatalf("the unkeyed check should not see a consistent rewrite: %v", err)
		}
		var be *audit.BrokenError
		if _, err := log.Verify(ctx); !errors.As(err, &be) || be.Seq != 3 {
			t.Fatalf("sealed check: %v, want broken at 3", err)
		}
		// A seal removed is as bad as a wrong one.
		if err := s.db.Model(&auditRow{}).Where("seq = ?", 1).Update("seal", nil).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := log.Verify(ctx); !errors.As(err, &be) || be.Seq != 1 {
			t.Fatalf("unsealed entry: %v, want broken at 1", err)
		}
	})
}

func TestAuditAnchorSealed(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sealer := hmacSealer{key: []byte("hsm-secret")}
		log := audit.New(audit.Deps{Store: s, Now: stepClock(), Sealer: sealer})
		for i := range 5 {
			if _, err := log.Record(ctx, audit.Event{Type: audit.RequestCreated, Actor: "system", Subject: fmt.Sprint("s", i)}); err != nil {
				t.Fatal(err)
			}
		}
		es, _ := s.AuditEntries(ctx, 0, 10)
		if _, _, err := s.PruneAudit(ctx, es[2].Time.Add(time.Microsecond), time.Now()); err != nil {
			t.Fatal(err)
		}
		if n, err := log.Verify(ctx); err != nil || n != 2 {
			t.Fatalf("after pruning: %d %v", n, err)
		}
		// Deleting one more entry and moving the anchor onto it needs a seal only the HSM makes.
		if err := s.db.Where("seq = ?", 4).Delete(&auditRow{}).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.db.Model(&auditAnchorRow{}).Where("id = 1").Updates(map[string]any{"seq": 4, "hash": es[3].Hash}).Error; err != nil {
			t.Fatal(err)
		}
		var be *audit.BrokenError
		if _, err := log.Verify(ctx); !errors.As(err, &be) || be.Seq != 4 {
			t.Fatalf("forged anchor: %v, want broken at 4", err)
		}
	})
}

func TestAuditCheckpoints(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		log := audit.New(audit.Deps{Store: s, Now: stepClock()})
		for i := range 4 {
			if _, err := log.Record(ctx, audit.Event{Type: audit.RequestCreated, Actor: "system", Subject: fmt.Sprint("s", i)}); err != nil {
				t.Fatal(err)
			}
		}
		cp, err := log.NewCheckpoint(ctx, key, time.Now())
		if err != nil || cp.Seq != 4 {
			t.Fatalf("checkpoint: %+v %v", cp, err)
		}
		if err := log.VerifyCheckpoint(ctx, cp, key.Public()); err != nil {
			t.Fatal(err)
		}
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err := log.VerifyCheckpoint(ctx, cp, other.Public()); !errors.Is(err, audit.ErrBadCheckpoint) {
			t.Fatalf("another key: %v", err)
		}
		// Cutting the tail leaves the chain intact, but not the checkpoint.
		if err := s.db.Where("seq = ?", 4).Delete(&auditRow{}).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := log.Verify(ctx); err != nil {
			t.Fatalf("the chain alone cannot see a cut tail: %v", err)
		}
		var be *audit.BrokenError
		if err := log.VerifyCheckpoint(ctx, cp, key.Public()); !errors.As(err, &be) || be.Seq != 4 {
			t.Fatalf("cut tail: %v", err)
		}
	})
}
