package store

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/signer"
)

// newAuthorization stores an authorization over the given digests (SHA-256) and approves
// it until t0 + 1 h.
func newAuthorization(t *testing.T, s *Store, id string, digests ...[]byte) {
	t.Helper()
	r := &signer.Request{ID: id, IntegratorID: "int-1", UserID: "u1", Format: signer.FormatRaw, Level: signer.LevelBB,
		Status: signer.StatusPending, IconID: "cat", IconChoices: []string{"cat", "dog"}, Nonce: "n-" + id,
		CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute), Description: "Contract " + id}
	for i, d := range digests {
		r.Documents = append(r.Documents, signer.Document{Index: i, Name: "hash", Hash: crypto.SHA256, Digest: d})
	}
	mustCreate(t, s, r)
	ok, err := s.Transition(context.Background(), id, []signer.Status{signer.StatusPending},
		signer.Change{To: signer.StatusAuthorized, DeviceID: "dev", ChosenIcon: "cat", At: t0, Until: t0.Add(time.Hour)})
	if err != nil || !ok {
		t.Fatalf("authorize %s: %v %v", id, ok, err)
	}
}

func digest(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func TestReserveDocuments(t *testing.T) {
	a, b, c := digest("a"), digest("b"), digest("c")
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := t0.Add(time.Minute)
		newAuthorization(t, s, "auth-1", a, b, a)
		r := mustGet(t, s, "auth-1")
		if r.Status != signer.StatusAuthorized || r.AuthorizedUntil == nil || !r.AuthorizedUntil.Equal(t0.Add(time.Hour)) ||
			r.Description != "Contract auth-1" || r.ApprovedAt == nil {
			t.Fatalf("authorized request = %+v", r)
		}
		refused := []struct {
			name    string
			digests [][]byte
			at      time.Time
			want    error
		}{
			{"a digest not covered", [][]byte{a, c}, now, signer.ErrNotCovered},
			{"more occurrences than covered", [][]byte{a, a, a}, now, signer.ErrNotCovered},
			{"after the authorization ended", [][]byte{a}, t0.Add(time.Hour), signer.ErrNotAuthorized},
		}
		for _, tc := range refused {
			if _, err := s.ReserveDocuments(ctx, "auth-1", tc.digests, tc.at); !errors.Is(err, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if n := count(t, s, &documentRow{}, "request_id = ? AND reserved_at IS NOT NULL", "auth-1"); n != 0 {
			t.Fatalf("a refused reservation left %d occurrences reserved", n)
		}
		idx, err := s.ReserveDocuments(ctx, "auth-1", [][]byte{a, a}, now)
		if err != nil || !slices.Equal(idx, []int{0, 2}) {
			t.Fatalf("reserve a twice = %v %v, want [0 2]", idx, err)
		}
		if _, err := s.ReserveDocuments(ctx, "auth-1", [][]byte{a}, now); !errors.Is(err, signer.ErrNotCovered) {
			t.Fatalf("a third a: %v", err)
		}
		if err := s.ReleaseDocuments(ctx, "auth-1", []int{2}); err != nil {
			t.Fatal(err)
		}
		if done, err := s.CompleteDocuments(ctx, "auth-1", []int{0}, [][]byte{[]byte("sig-0")}, now); err != nil || done {
			t.Fatalf("complete one of three = %v %v", done, err)
		}
		if _, err := s.CompleteDocuments(ctx, "auth-1", []int{0}, [][]byte{[]byte("again")}, now); err == nil {
			t.Fatal("an occurrence was signed twice")
		}
		idx, err = s.ReserveDocuments(ctx, "auth-1", [][]byte{b, a}, now)
		if err != nil || !slices.Equal(idx, []int{1, 2}) {
			t.Fatalf("reserve b, a = %v %v, want [1 2]", idx, err)
		}
		done, err := s.CompleteDocuments(ctx, "auth-1", idx, [][]byte{[]byte("sig-1"), []byte("sig-2")}, now)
		if err != nil || !done {
			t.Fatalf("complete the last two = %v %v, want done", done, err)
		}
		r = mustGet(t, s, "auth-1")
		if r.Status != signer.StatusSigned || r.FinishedAt == nil || string(r.Documents[2].Result) != "sig-2" {
			t.Fatalf("used-up authorization = %s, results %q", r.Status, r.Documents[2].Result)
		}
		if _, err := s.ReserveDocuments(ctx, "auth-1", [][]byte{a}, now); !errors.Is(err, signer.ErrNotAuthorized) {
			t.Fatalf("reserve on a used-up authorization: %v", err)
		}
	})
}

func TestReserveDocumentsRace(t *testing.T) {
	a := digest("a")
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		newAuthorization(t, s, "auth-race", a)
		const n = 20
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = s.ReserveDocuments(ctx, "auth-race", [][]byte{a}, t0.Add(time.Minute))
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, signer.ErrNotCovered):
			default:
				t.Fatalf("reservation %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("%d reservations of one occurrence won, want exactly 1", won)
		}
	})
}

func TestExpiredAuthorizations(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		newAuthorization(t, s, "auth-unused", digest("x"))
		newAuthorization(t, s, "auth-used", digest("y"), digest("z"))
		idx, err := s.ReserveDocuments(ctx, "auth-used", [][]byte{digest("y")}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompleteDocuments(ctx, "auth-used", idx, [][]byte{[]byte("sig")}, t0); err != nil {
			t.Fatal(err)
		}
		if ex, err := s.ExpiredAuthorizations(ctx, t0.Add(59*time.Minute)); err != nil || len(ex) != 0 {
			t.Fatalf("before the end: %v %v", ex, err)
		}
		ex, err := s.ExpiredAuthorizations(ctx, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(ex, func(a, b signer.ExpiredAuthorization) int { return strings.Compare(a.RequestID, b.RequestID) })
		want := []signer.ExpiredAuthorization{{RequestID: "auth-unused"}, {RequestID: "auth-used", Used: true}}
		if !slices.Equal(ex, want) {
			t.Fatalf("expired = %+v, want %+v", ex, want)
		}
	})
}
