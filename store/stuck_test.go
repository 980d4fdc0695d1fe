package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/paraphe/paraphe/signer"
)

func TestStuckApproved(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, id := range []string{"old", "recent", "pending"} {
			mustCreate(t, s, newRequest(id, "u", 1, now.Add(-time.Hour), now.Add(time.Hour)))
		}
		approve := func(id string, at time.Time) {
			ok, err := s.Transition(ctx, id, []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: at})
			if err != nil || !ok {
				t.Fatalf("approve %s: %v %v", id, ok, err)
			}
		}
		approve("old", now.Add(-10*time.Minute))
		approve("recent", now.Add(-10*time.Second))
		ids, err := s.StuckApproved(ctx, now.Add(-2*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, []string{"old"}) {
			t.Fatalf("stuck = %v, want [old]", ids)
		}
	})
}
