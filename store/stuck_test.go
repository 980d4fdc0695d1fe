package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/signer"
)

func TestClaimApproved(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		for _, id := range []string{"orphan", "held", "pending", "legacy"} {
			mustCreate(t, s, newRequest(id, "u", 1, now.Add(-time.Hour), now.Add(time.Hour)))
		}
		approve := func(id string, lease time.Time) {
			ok, err := s.Transition(ctx, id, []signer.Status{signer.StatusPending},
				signer.Change{To: signer.StatusApproved, At: now.Add(-time.Minute), LeaseUntil: lease})
			if err != nil || !ok {
				t.Fatalf("approve %s: %v %v", id, ok, err)
			}
		}
		approve("orphan", now.Add(-time.Second)) // its signer died: lease ran out
		approve("held", now.Add(10*time.Second)) // its signer is at work
		approve("legacy", time.Time{})           // approved before leases existed
		claims, err := s.ClaimApproved(ctx, now, now.Add(10*time.Second), 10)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, c := range claims {
			got[c.RequestID] = c.Attempt
		}
		if len(got) != 2 || got["orphan"] != 2 || got["legacy"] != 2 {
			t.Fatalf("claims = %+v, want orphan and legacy at attempt 2", claims)
		}
		// Claimed leases are held now: a second sweep finds nothing.
		if again, err := s.ClaimApproved(ctx, now, now.Add(10*time.Second), 10); err != nil || len(again) != 0 {
			t.Fatalf("second claim = %+v, %v; want none", again, err)
		}
		// The holder of attempt 2 renews; the stale holder of attempt 1 cannot.
		tests := []struct {
			id      string
			attempt int
			want    bool
		}{{"orphan", 2, true}, {"orphan", 1, false}, {"pending", 0, false}, {"held", 1, true}}
		for _, tc := range tests {
			ok, err := s.ExtendLease(ctx, tc.id, tc.attempt, now.Add(20*time.Second))
			if err != nil || ok != tc.want {
				t.Errorf("ExtendLease(%s, %d) = %v, %v; want %v", tc.id, tc.attempt, ok, err, tc.want)
			}
		}
		// A signed request is never claimed, whatever its lease.
		if ok, err := s.CompleteSigned(ctx, "held", [][]byte{{1}}, now); err != nil || !ok {
			t.Fatalf("complete held: %v %v", ok, err)
		}
		c, err := s.ClaimApproved(ctx, now.Add(time.Hour), now.Add(time.Hour+10*time.Second), 10)
		if ids := claimIDs(c); err != nil || !slices.Equal(ids, []string{"legacy", "orphan"}) {
			t.Fatalf("claims an hour later = %v, %v; want legacy and orphan again", ids, err)
		}
	})
}

// TestClaimApprovedRace has replicas sweep at once: each orphan is claimed by exactly one.
func TestClaimApprovedRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		ids := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
		for _, id := range ids {
			mustCreate(t, s, newRequest(id, "u", 1, now.Add(-time.Hour), now.Add(time.Hour)))
			if ok, err := s.Transition(ctx, id, []signer.Status{signer.StatusPending},
				signer.Change{To: signer.StatusApproved, At: now.Add(-time.Minute), LeaseUntil: now.Add(-time.Second)}); err != nil || !ok {
				t.Fatalf("approve %s: %v %v", id, ok, err)
			}
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		claimed := map[string]int{}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := s.ClaimApproved(ctx, now, now.Add(10*time.Second), 10)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, id := range claimIDs(c) {
					claimed[id]++
				}
			}()
		}
		wg.Wait()
		for _, id := range ids {
			if claimed[id] != 1 {
				t.Errorf("%s claimed %d times, want once", id, claimed[id])
			}
		}
	})
}

// claimIDs returns the claimed request ids, sorted.
func claimIDs(cs []signer.Claim) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.RequestID
	}
	slices.Sort(out)
	return out
}
