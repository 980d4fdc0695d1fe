package store

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
)

// newRequest builds a pending request of user with docs documents (hashes rotating
// through SHA-256, SHA-384, SHA-512) created at created, expiring at expires.
func newRequest(id, user string, docs int, created, expires time.Time) *signer.Request {
	r := &signer.Request{
		ID: id, IntegratorID: "int-1", UserID: user, Format: signer.FormatCAdES, Level: signer.LevelBB,
		Status: signer.StatusPending, IconID: "cat", IconChoices: []string{"dog", "cat", "fish", "owl"},
		Nonce: "nonce-" + id, CallbackURL: "https://example.test/cb?id=" + id, CreatedAt: created, ExpiresAt: expires,
	}
	hashes := []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}
	for i := range docs {
		h := hashes[i%len(hashes)]
		d := h.New()
		fmt.Fprintf(d, "%s/%d", id, i)
		r.Documents = append(r.Documents, signer.Document{Index: i, Name: fmt.Sprintf("doc-%02d.pdf", i), Hash: h, Digest: d.Sum(nil)})
	}
	return r
}

func mustCreate(t *testing.T, s *Store, r *signer.Request) {
	t.Helper()
	if err := s.CreateRequest(context.Background(), r, 0); err != nil {
		t.Fatalf("CreateRequest %s: %v", r.ID, err)
	}
}

func mustGet(t *testing.T, s *Store, id string) *signer.Request {
	t.Helper()
	r, err := s.Request(context.Background(), id)
	if err != nil {
		t.Fatalf("Request %s: %v", id, err)
	}
	return r
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// sameRequest compares every field; documents too, with or without results.
func sameRequest(t *testing.T, got, want *signer.Request, withResults bool) {
	t.Helper()
	if got.ID != want.ID || got.IntegratorID != want.IntegratorID || got.UserID != want.UserID || got.Format != want.Format ||
		got.Level != want.Level || got.Status != want.Status || got.Reason != want.Reason || got.IconID != want.IconID ||
		!slices.Equal(got.IconChoices, want.IconChoices) || got.Nonce != want.Nonce || got.CallbackURL != want.CallbackURL ||
		got.DeviceID != want.DeviceID || got.ChosenIcon != want.ChosenIcon || !got.CreatedAt.Equal(want.CreatedAt) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || !timeEq(got.ApprovedAt, want.ApprovedAt) || !timeEq(got.FinishedAt, want.FinishedAt) {
		t.Fatalf("request\n got %+v\nwant %+v", got, want)
	}
	if len(got.Documents) != len(want.Documents) {
		t.Fatalf("documents: %d, want %d", len(got.Documents), len(want.Documents))
	}
	for i, d := range got.Documents {
		w := want.Documents[i]
		if d.Index != w.Index || d.Name != w.Name || d.Hash != w.Hash || string(d.Digest) != string(w.Digest) {
			t.Fatalf("document %d\n got %+v\nwant %+v", i, d, w)
		}
		if withResults && string(d.Result) != string(w.Result) {
			t.Fatalf("document %d result %q, want %q", i, d.Result, w.Result)
		}
		if !withResults && d.Result != nil {
			t.Fatalf("document %d carries a result %q", i, d.Result)
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		// 12 documents: idx 10 and 11 must come after 2 (numeric, not text, order).
		want := newRequest("r1", "u1", 12, t0, t0.Add(5*time.Minute))
		mustCreate(t, s, want)
		sameRequest(t, mustGet(t, s, "r1"), want, false)

		if _, err := s.Request(context.Background(), "nope"); !errors.Is(err, signer.ErrNotFound) {
			t.Fatalf("unknown request: err = %v, want ErrNotFound", err)
		}
		// Creation is all or nothing: a second request with the same id leaves no documents.
		dup := newRequest("r1", "u1", 3, t0, t0.Add(time.Minute))
		if err := s.CreateRequest(context.Background(), dup, 0); err == nil {
			t.Fatal("duplicate request id accepted")
		}
		sameRequest(t, mustGet(t, s, "r1"), want, false)
		bad := newRequest("r2", "u1", 2, t0, t0.Add(time.Minute))
		bad.Documents[1].Index = 0 // duplicate document key: the insert of documents fails
		if err := s.CreateRequest(context.Background(), bad, 0); err == nil {
			t.Fatal("request with duplicate document index accepted")
		}
		if _, err := s.Request(context.Background(), "r2"); !errors.Is(err, signer.ErrNotFound) {
			t.Fatalf("half-created request is stored: err = %v", err)
		}
	})
}

func TestPendingForUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := t0.Add(time.Hour)
		live1 := newRequest("live-1", "u1", 2, now.Add(-3*time.Minute), now.Add(2*time.Minute))
		live2 := newRequest("live-2", "u1", 1, now.Add(-1*time.Minute), now.Add(4*time.Minute))
		for _, r := range []*signer.Request{
			live2, // inserted first, created later: order must follow created_at
			live1,
			newRequest("expired", "u1", 1, now.Add(-10*time.Minute), now.Add(-time.Second)),
			newRequest("due-now", "u1", 1, now.Add(-10*time.Minute), now),
			newRequest("other-user", "u2", 1, now.Add(-2*time.Minute), now.Add(time.Minute)),
			newRequest("approved", "u1", 1, now.Add(-2*time.Minute), now.Add(time.Minute)),
			newRequest("signed", "u1", 1, now.Add(-2*time.Minute), now.Add(time.Minute)),
		} {
			mustCreate(t, s, r)
		}
		if ok, err := s.Transition(ctx, "approved", []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: now}); !ok || err != nil {
			t.Fatalf("Transition: %v %v", ok, err)
		}
		if ok, err := s.Transition(ctx, "signed", []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: now}); !ok || err != nil {
			t.Fatalf("Transition: %v %v", ok, err)
		}
		if ok, err := s.CompleteSigned(ctx, "signed", [][]byte{[]byte("cms")}, now); !ok || err != nil {
			t.Fatalf("CompleteSigned: %v %v", ok, err)
		}

		got, err := s.PendingForUser(ctx, "u1", now)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			ids := []string{}
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			t.Fatalf("pending = %v, want [live-1 live-2]", ids)
		}
		sameRequest(t, got[0], live1, false)
		sameRequest(t, got[1], live2, false)

		tests := []struct {
			user string
			now  time.Time
			want int
		}{
			{"u1", now, 2},
			{"u2", now, 1},
			{"u3", now, 0},
			{"u1", now.Add(2 * time.Minute), 1}, // live-1 expires exactly then
			{"u1", now.Add(-time.Second), 3},    // "due-now" is still live a second before
		}
		for _, tc := range tests {
			n, err := s.CountPendingForUser(ctx, "int-1", tc.user, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := s.PendingForUser(ctx, tc.user, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want || len(rs) != tc.want {
				t.Errorf("%s at %v: count %d, list %d, want %d", tc.user, tc.now, n, len(rs), tc.want)
			}
		}

		// The count is per integrator: another integrator's requests for u1 count for it
		// alone (the device still lists them all).
		other := newRequest("other-integrator", "u1", 1, now.Add(-time.Minute), now.Add(time.Minute))
		other.IntegratorID = "int-2"
		mustCreate(t, s, other)
		for integ, want := range map[string]int{"int-1": 2, "int-2": 1, "int-3": 0} {
			if n, err := s.CountPendingForUser(ctx, integ, "u1", now); err != nil || n != want {
				t.Errorf("CountPendingForUser(%s, u1) = %d, %v; want %d", integ, n, err, want)
			}
		}
		if rs, err := s.PendingForUser(ctx, "u1", now); err != nil || len(rs) != 3 {
			t.Errorf("PendingForUser(u1) = %d requests, %v; want 3", len(rs), err)
		}
	})
}

func TestTransition(t *testing.T) {
	pending := []signer.Status{signer.StatusPending}
	tests := []struct {
		name   string
		setup  []signer.Status // statuses to walk the request through first, via Transition
		from   []signer.Status
		change signer.Change
		want   bool
		check  func(t *testing.T, r *signer.Request, c signer.Change)
	}{
		{name: "pending to approved", from: pending,
			change: signer.Change{To: signer.StatusApproved, DeviceID: "dev-1", ChosenIcon: "cat"}, want: true,
			check: func(t *testing.T, r *signer.Request, c signer.Change) {
				if r.ApprovedAt == nil || !r.ApprovedAt.Equal(c.At) || r.FinishedAt != nil || r.DeviceID != "dev-1" || r.ChosenIcon != "cat" {
					t.Fatalf("approved request = %+v", r)
				}
			}},
		{name: "pending to refused", from: pending,
			change: signer.Change{To: signer.StatusRefused, Reason: signer.ReasonWrongIcon, DeviceID: "dev-1", ChosenIcon: "dog"}, want: true,
			check: func(t *testing.T, r *signer.Request, c signer.Change) {
				if r.FinishedAt == nil || !r.FinishedAt.Equal(c.At) || r.ApprovedAt != nil || r.Reason != signer.ReasonWrongIcon || r.ChosenIcon != "dog" {
					t.Fatalf("refused request = %+v", r)
				}
			}},
		{name: "approved to failed", setup: []signer.Status{signer.StatusApproved}, from: []signer.Status{signer.StatusApproved},
			change: signer.Change{To: signer.StatusFailed, Reason: signer.ReasonInternal}, want: true,
			check: func(t *testing.T, r *signer.Request, c signer.Change) {
				if r.FinishedAt == nil || !r.FinishedAt.Equal(c.At) || r.ApprovedAt == nil || r.Reason != signer.ReasonInternal {
					t.Fatalf("failed request = %+v", r)
				}
			}},
		{name: "cancel from a set", setup: []signer.Status{signer.StatusApproved},
			from: []signer.Status{signer.StatusPending, signer.StatusApproved}, change: signer.Change{To: signer.StatusCancelled, Reason: signer.ReasonCancelled}, want: true},
		{name: "not in from", setup: []signer.Status{signer.StatusApproved}, from: pending,
			change: signer.Change{To: signer.StatusCancelled, Reason: signer.ReasonCancelled}},
		{name: "final state stays", setup: []signer.Status{signer.StatusExpired}, from: pending,
			change: signer.Change{To: signer.StatusApproved}},
		{name: "empty from", from: nil, change: signer.Change{To: signer.StatusApproved}},
	}
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				id := fmt.Sprint("req-", i)
				mustCreate(t, s, newRequest(id, "u1", 1, t0, t0.Add(5*time.Minute)))
				for j, st := range tc.setup {
					ok, err := s.Transition(ctx, id, []signer.Status{signer.StatusPending, signer.StatusApproved},
						signer.Change{To: st, At: t0.Add(time.Duration(j+1) * time.Second)})
					if !ok || err != nil {
						t.Fatalf("setup %s: %v %v", st, ok, err)
					}
				}
				before := mustGet(t, s, id)
				tc.change.At = t0.Add(time.Minute + 123456*time.Microsecond)
				ok, err := s.Transition(ctx, id, tc.from, tc.change)
				if err != nil {
					t.Fatal(err)
				}
				if ok != tc.want {
					t.Fatalf("Transition reported %v, want %v", ok, tc.want)
				}
				after := mustGet(t, s, id)
				if !tc.want {
					sameRequest(t, after, before, false)
					return
				}
				if after.Status != tc.change.To {
					t.Fatalf("status %s, want %s", after.Status, tc.change.To)
				}
				if tc.check != nil {
					tc.check(t, after, tc.change)
				}
			})
		}
		if ok, err := s.Transition(ctx, "unknown", []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: t0}); ok || err != nil {
			t.Fatalf("unknown request: %v %v, want false, nil", ok, err)
		}
	})
}

func TestTransitionRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustCreate(t, s, newRequest("r1", "u1", 1, t0, t0.Add(5*time.Minute)))
		const n = 30
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			oks   = make([]bool, n)
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				oks[i], errs[i] = s.Transition(ctx, "r1", []signer.Status{signer.StatusPending},
					signer.Change{To: signer.StatusApproved, DeviceID: fmt.Sprint("dev-", i), ChosenIcon: "cat", At: t0.Add(time.Second)})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Transition %d: %v", i, errs[i])
			}
			if oks[i] {
				if winner >= 0 {
					t.Fatalf("both %d and %d won the transition", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatal("no transition won")
		}
		r := mustGet(t, s, "r1")
		if r.Status != signer.StatusApproved || r.DeviceID != fmt.Sprint("dev-", winner) {
			t.Fatalf("request = %s by %s, want approved by dev-%d", r.Status, r.DeviceID, winner)
		}
	})
}

func TestRotateNonce(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mustCreate(t, s, newRequest("r1", "u1", 1, t0, t0.Add(5*time.Minute)))
		steps := []struct {
			old, next string
			want      bool
		}{
			{"nonce-r1", "n2", true},
			{"nonce-r1", "n3", false}, // same old nonce again
			{"wrong", "n4", false},
			{"n2", "n5", true},
		}
		for _, st := range steps {
			ok, err := s.RotateNonce(ctx, "r1", st.old, st.next)
			if err != nil || ok != st.want {
				t.Fatalf("RotateNonce(%s→%s) = %v, %v; want %v", st.old, st.next, ok, err, st.want)
			}
		}
		if r := mustGet(t, s, "r1"); r.Nonce != "n5" {
			t.Fatalf("nonce %q, want n5", r.Nonce)
		}
		// Concurrent rotations of the same nonce: one wins.
		var (
			wg  sync.WaitGroup
			won = make([]bool, 20)
		)
		for i := range won {
			wg.Go(func() {
				ok, err := s.RotateNonce(ctx, "r1", "n5", fmt.Sprint("c", i))
				if err != nil {
					t.Error(err)
				}
				won[i] = ok
			})
		}
		wg.Wait()
		if c := len(slices.DeleteFunc(won, func(b bool) bool { return !b })); c != 1 {
			t.Fatalf("%d concurrent rotations won, want 1", c)
		}
		// Not pending any more: no rotation.
		if ok, err := s.Transition(ctx, "r1", []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: t0}); !ok || err != nil {
			t.Fatal(ok, err)
		}
		cur := mustGet(t, s, "r1").Nonce
		if ok, err := s.RotateNonce(ctx, "r1", cur, "late"); ok || err != nil {
			t.Fatalf("rotation of an approved request = %v, %v", ok, err)
		}
	})
}

func TestCompleteSigned(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		at := t0.Add(time.Minute)
		results := [][]byte{[]byte("cms-0"), []byte("cms-1"), []byte("cms-2")}
		want := newRequest("r1", "u1", 3, t0, t0.Add(5*time.Minute))
		mustCreate(t, s, want)

		if ok, err := s.CompleteSigned(ctx, "r1", results, at); ok || err != nil {
			t.Fatalf("CompleteSigned on pending = %v, %v; want false", ok, err)
		}
		sameRequest(t, mustGet(t, s, "r1"), want, false)

		if ok, err := s.Transition(ctx, "r1", []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: t0}); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if ok, err := s.CompleteSigned(ctx, "r1", results[:2], at); ok || err == nil {
			t.Fatalf("CompleteSigned with a result missing = %v, %v; want an error", ok, err)
		}
		if got := mustGet(t, s, "r1"); got.Status != signer.StatusApproved || got.Documents[0].Result != nil {
			t.Fatalf("failed CompleteSigned left %s with result %q", got.Status, got.Documents[0].Result)
		}
		if ok, err := s.CompleteSigned(ctx, "r1", results, at); !ok || err != nil {
			t.Fatalf("CompleteSigned = %v, %v", ok, err)
		}
		got := mustGet(t, s, "r1")
		if got.Status != signer.StatusSigned || got.FinishedAt == nil || !got.FinishedAt.Equal(at) {
			t.Fatalf("signed request = %+v", got)
		}
		for i, d := range got.Documents {
			if string(d.Result) != string(results[i]) {
				t.Fatalf("document %d result %q, want %q", i, d.Result, results[i])
			}
		}
		// Only once: a second completion neither reports success nor overwrites.
		if ok, err := s.CompleteSigned(ctx, "r1", [][]byte{[]byte("x"), []byte("y"), []byte("z")}, at.Add(time.Minute)); ok || err != nil {
			t.Fatalf("second CompleteSigned = %v, %v", ok, err)
		}
		if d := mustGet(t, s, "r1").Documents[0]; string(d.Result) != "cms-0" {
			t.Fatalf("result overwritten: %q", d.Result)
		}
		if ok, err := s.CompleteSigned(ctx, "unknown", results, at); ok || err != nil {
			t.Fatalf("CompleteSigned unknown = %v, %v", ok, err)
		}
	})
}

// TestCompleteSignedBatch stores more results than one statement carries (the batch
// limit of a request is 500): each document gets its own bytes (binary, zero bytes
// included), another request's documents are left alone, and a count that does not
// match stores nothing.
func TestCompleteSignedBatch(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		n := 2*resultsPerStatement + 7
		for _, id := range []string{"big", "other", "short"} {
			mustCreate(t, s, newRequest(id, "u1", n, t0, t0.Add(5*time.Minute)))
			if ok, err := s.Transition(ctx, id, []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: t0}); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		results := make([][]byte, n)
		for i := range results {
			results[i] = append([]byte{0, byte(i), 0xff}, fmt.Sprintf("cms-%d", i)...)
		}
		if ok, err := s.CompleteSigned(ctx, "short", results[:n-1], t0); ok || err == nil {
			t.Fatalf("CompleteSigned with one result missing = %v, %v", ok, err)
		}
		if ok, err := s.CompleteSigned(ctx, "big", results, t0.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("CompleteSigned = %v, %v", ok, err)
		}
		got := mustGet(t, s, "big")
		if got.Status != signer.StatusSigned || len(got.Documents) != n {
			t.Fatalf("status %s, %d documents", got.Status, len(got.Documents))
		}
		for i, d := range got.Documents {
			if d.Index != i || !bytes.Equal(d.Result, results[i]) {
				t.Fatalf("document %d (index %d): result %q, want %q", i, d.Index, d.Result, results[i])
			}
		}
		head, err := s.RequestHead(ctx, "big")
		if err != nil || head.Status != signer.StatusSigned || head.FinishedAt == nil || head.UserID != "u1" || len(head.Documents) != 0 {
			t.Fatalf("RequestHead = %+v, %v; want the signed request without documents", head, err)
		}
		if _, err := s.RequestHead(ctx, "unknown"); !errors.Is(err, signer.ErrNotFound) {
			t.Fatalf("RequestHead unknown: %v", err)
		}
		for _, id := range []string{"other", "short"} {
			r := mustGet(t, s, id)
			if r.Status != signer.StatusApproved {
				t.Fatalf("%s is %s", id, r.Status)
			}
			for _, d := range r.Documents {
				if d.Result != nil {
					t.Fatalf("%s document %d has result %q", id, d.Index, d.Result)
				}
			}
		}
	})
}

func TestExpireDue(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := t0.Add(time.Hour)
		for _, r := range []*signer.Request{
			newRequest("past", "u1", 1, t0, now.Add(-time.Second)),
			newRequest("exactly-now", "u2", 1, t0, now),
			newRequest("future", "u1", 1, t0, now.Add(time.Second)),
			newRequest("approved-past", "u1", 1, t0, now.Add(-time.Minute)),
			newRequest("cancelled-past", "u1", 1, t0, now.Add(-time.Minute)),
		} {
			mustCreate(t, s, r)
		}
		if ok, _ := s.Transition(ctx, "approved-past", []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: t0}); !ok {
			t.Fatal("setup transition failed")
		}
		if ok, _ := s.Transition(ctx, "cancelled-past", []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusCancelled, Reason: signer.ReasonCancelled, At: t0}); !ok {
			t.Fatal("setup transition failed")
		}

		ids, err := s.ExpireDue(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, []string{"exactly-now", "past"}) {
			t.Fatalf("ExpireDue = %v, want [exactly-now past]", ids)
		}
		for _, tc := range []struct {
			id     string
			status signer.Status
		}{
			{"past", signer.StatusExpired}, {"exactly-now", signer.StatusExpired}, {"future", signer.StatusPending},
			{"approved-past", signer.StatusApproved}, {"cancelled-past", signer.StatusCancelled},
		} {
			r := mustGet(t, s, tc.id)
			if r.Status != tc.status {
				t.Errorf("%s: %s, want %s", tc.id, r.Status, tc.status)
			}
			if tc.status == signer.StatusExpired && (r.Reason != signer.ReasonExpired || r.FinishedAt == nil || !r.FinishedAt.Equal(now)) {
				t.Errorf("%s expired as %+v", tc.id, r)
			}
		}
		if ids, err := s.ExpireDue(ctx, now); err != nil || len(ids) != 0 {
			t.Fatalf("second ExpireDue = %v, %v; want none", ids, err)
		}
	})
}

// TestTimesInOtherZones passes instants in a non-UTC location: the store must compare
// instants, not their text (SQLite keeps times as text).
func TestTimesInOtherZones(t *testing.T) {
	east := time.FixedZone("UTC+2", 2*3600)
	west := time.FixedZone("UTC-5", -5*3600)
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := t0.Add(time.Hour)
		mustCreate(t, s, newRequest("live", "u1", 1, now.Add(-time.Minute).In(west), now.Add(time.Hour).In(west)))
		mustCreate(t, s, newRequest("due", "u1", 1, now.Add(-2*time.Minute).In(east), now.Add(-time.Hour).In(east)))

		if n, err := s.CountPendingForUser(ctx, "int-1", "u1", now.In(east)); err != nil || n != 1 {
			t.Fatalf("CountPendingForUser = %d, %v; want 1", n, err)
		}
		rs, err := s.PendingForUser(ctx, "u1", now.In(west))
		if err != nil || len(rs) != 1 || rs[0].ID != "live" {
			t.Fatalf("PendingForUser = %v, %v; want [live]", rs, err)
		}
		ids, err := s.ExpireDue(ctx, now.In(east))
		if err != nil || !slices.Equal(ids, []string{"due"}) {
			t.Fatalf("ExpireDue = %v, %v; want [due]", ids, err)
		}

		u := &device.User{ID: "u9", Status: device.UserPending, CreatedAt: now.In(west)}
		if err := s.CreateUser(ctx, u, device.Activation{UserID: "u9", CodeHash: sum("code-zone"), ExpiresAt: now.Add(time.Hour).In(west)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Enroll(ctx, enrollment("u9", "code-zone", "zone", now.In(east))); err != nil {
			t.Fatalf("Enroll with a live code given in another zone: %v", err)
		}
	})
}

// TestPendingCapRace creates 20 requests for one user and integrator at once, through two
// Store values on the same database (two replicas): with a cap of 5, exactly 5 are
// stored and the others refused with ErrTooManyPending; another integrator is not capped
// by the first one's requests.
func TestPendingCapRace(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.config(t)
			replicas := []*Store{openStore(t, cfg), openStore(t, cfg)}
			addUser(t, replicas[0], "u1")
			now := time.Now().UTC().Truncate(time.Millisecond)
			var wg sync.WaitGroup
			var mu sync.Mutex
			var stored, refused int
			start := make(chan struct{})
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := newRequest(fmt.Sprintf("race-%02d", i), "u1", 1, now, now.Add(5*time.Minute))
					<-start
					err := replicas[i%2].CreateRequest(context.Background(), r, 5)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						stored++
					case errors.Is(err, signer.ErrTooManyPending):
						refused++
					default:
						t.Errorf("create %s: %v", r.ID, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if stored != 5 || refused != 15 {
				t.Fatalf("%d stored, %d refused; want 5 and 15", stored, refused)
			}
			other := newRequest("other-integrator", "u1", 1, now, now.Add(5*time.Minute))
			other.IntegratorID = "int-2"
			if err := replicas[1].CreateRequest(context.Background(), other, 5); err != nil {
				t.Fatalf("another integrator's request: %v", err)
			}
		})
	}
}
