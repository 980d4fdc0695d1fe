package signer_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/engine"
	"github.com/paraphe/paraphe/signer"
)

// memAuths is the authorizations' part of the store, over memStore's requests, with the
// SQL store's all-or-none reservation.
type memAuths struct {
	m        *memStore
	mu       sync.Mutex
	reserved map[string]map[int]bool
}

func (a *memAuths) ReserveDocuments(_ context.Context, id string, digests [][]byte, now time.Time) ([]int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.m.mu.Lock()
	defer a.m.mu.Unlock()
	r := a.m.reqs[id]
	if r == nil || r.Status != signer.StatusAuthorized || r.AuthorizedUntil == nil || !now.Before(*r.AuthorizedUntil) {
		return nil, signer.ErrNotAuthorized
	}
	taken := map[int]bool{}
	var out []int
	for i, d := range digests {
		j := -1
		for _, doc := range r.Documents {
			if !a.reserved[id][doc.Index] && !taken[doc.Index] && doc.Result == nil && bytes.Equal(doc.Digest, d) {
				j = doc.Index
				break
			}
		}
		if j < 0 {
			return nil, fmt.Errorf("%w: digest %d", signer.ErrNotCovered, i)
		}
		taken[j] = true
		out = append(out, j)
	}
	if a.reserved[id] == nil {
		a.reserved[id] = map[int]bool{}
	}
	for _, j := range out {
		a.reserved[id][j] = true
	}
	return out, nil
}

func (a *memAuths) ReleaseDocuments(_ context.Context, id string, idx []int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, j := range idx {
		delete(a.reserved[id], j)
	}
	return nil
}

func (a *memAuths) CompleteDocuments(_ context.Context, id string, idx []int, results [][]byte, at time.Time) (bool, error) {
	a.m.mu.Lock()
	defer a.m.mu.Unlock()
	r := a.m.reqs[id]
	for i, j := range idx {
		r.Documents[j].Result = results[i]
	}
	for _, d := range r.Documents {
		if d.Result == nil {
			return false, nil
		}
	}
	if r.Status != signer.StatusAuthorized {
		return false, nil
	}
	r.Status, r.FinishedAt = signer.StatusSigned, &at
	return true, nil
}

func (a *memAuths) ExpiredAuthorizations(_ context.Context, now time.Time) ([]signer.ExpiredAuthorization, error) {
	a.m.mu.Lock()
	defer a.m.mu.Unlock()
	var out []signer.ExpiredAuthorization
	for id, r := range a.m.reqs {
		if r.Status == signer.StatusAuthorized && !now.Before(*r.AuthorizedUntil) {
			e := signer.ExpiredAuthorization{RequestID: id}
			for _, d := range r.Documents {
				e.Used = e.Used || d.Result != nil
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// authWorld is a world whose service offers authorizations.
func authWorld(t *testing.T) *world {
	w := newWorld(t)
	w.svc = signer.New(signer.Deps{
		Store: w.store, Auths: &memAuths{m: w.store, reserved: map[string]map[int]bool{}}, Ids: w.ids,
		Engine: engine.New(engine.Deps{Keys: w.keys}), Approvals: w.pins, Audit: w.audit, Notify: w.notes, Now: w.clock.Now,
	}, signer.Config{SignLease: 10 * time.Second, MaxSignAttempts: 2})
	return w
}

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// authorized creates an authorization over the digests and approves it.
func (w *world) authorized(t *testing.T, digests ...[]byte) *signer.Request {
	t.Helper()
	docs := make([]signer.DocumentInput, len(digests))
	for i, d := range digests {
		docs[i] = signer.DocumentInput{Name: fmt.Sprintf("Hash %d", i+1), Hash: crypto.SHA256, Digest: d}
	}
	r, _, err := w.svc.Create(context.Background(), signer.CreateInput{IntegratorID: "integrator-1", UserID: userID,
		Format: signer.FormatRaw, Documents: docs, Description: "Lease"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.svc.Approve(context.Background(), w.dev, w.approval(t, r, r.IconID, "13579"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != signer.StatusAuthorized || got.AuthorizedUntil == nil {
		t.Fatalf("after approval: %s", got.Status)
	}
	return r
}

func TestAuthorizationConsume(t *testing.T) {
	a, b, c := digestOf("a"), digestOf("b"), digestOf("c")
	w := authWorld(t)
	r := w.authorized(t, a, b)
	if opens := w.keys.opens; opens != 0 {
		t.Fatalf("approving an authorization opened the key %d times", opens)
	}
	ctx := context.Background()
	in := func(integrator string, ds ...[]byte) signer.ConsumeInput {
		return signer.ConsumeInput{IntegratorID: integrator, RequestID: r.ID, Hash: crypto.SHA256, Digests: ds}
	}
	refused := []struct {
		name string
		in   signer.ConsumeInput
		want error
	}{
		{"another integrator", in("integrator-2", a), signer.ErrNotFound},
		{"a digest not covered", in("integrator-1", a, c), signer.ErrNotCovered},
		{"twice one digest", in("integrator-1", a, a), signer.ErrNotCovered},
		{"another hash algorithm", signer.ConsumeInput{IntegratorID: "integrator-1", RequestID: r.ID, Hash: crypto.SHA384,
			Digests: [][]byte{make([]byte, 48)}}, signer.ErrNotCovered},
		{"another certificate", signer.ConsumeInput{IntegratorID: "integrator-1", RequestID: r.ID, Hash: crypto.SHA256,
			Digests: [][]byte{a}, CertificateSerial: "8"}, signer.ErrWrongCertificate},
	}
	for _, tc := range refused {
		if _, err := w.svc.Consume(ctx, tc.in, signer.RawSignatures); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	sigs, err := w.svc.Consume(ctx, signer.ConsumeInput{IntegratorID: "integrator-1", RequestID: r.ID, Hash: crypto.SHA256,
		Digests: [][]byte{b}, CertificateSerial: "7"}, signer.RawSignatures)
	if err != nil || len(sigs) != 1 || !ecdsa.VerifyASN1(w.keys.key.Public().(*ecdsa.PublicKey), b, sigs[0]) {
		t.Fatalf("consume b: %v", err)
	}
	if st, _ := w.status(t, r.ID); st != signer.StatusAuthorized {
		t.Fatalf("half used: %s", st)
	}
	if _, err := w.svc.Consume(ctx, in("integrator-1", b), signer.RawSignatures); !errors.Is(err, signer.ErrNotCovered) {
		t.Fatalf("b again: %v", err)
	}
	// A failing signature consumes nothing.
	if _, err := w.svc.Consume(ctx, in("integrator-1", a), func(context.Context, crypto.Signer, *x509.Certificate, []signer.Document) ([][]byte, error) {
		return nil, errors.New("HSM gone")
	}); err == nil {
		t.Fatal("a failed signature succeeded")
	}
	if _, err := w.svc.Consume(ctx, in("integrator-1", a), signer.RawSignatures); err != nil {
		t.Fatalf("a after a failed attempt: %v", err)
	}
	if st, _ := w.status(t, r.ID); st != signer.StatusSigned {
		t.Fatalf("used up: %s", st)
	}
	types := fmt.Sprint(w.audit.types(r.ID))
	for _, want := range []string{"request.approved", "signature.intent", "signatures.made", "request.signed"} {
		if !bytes.Contains([]byte(types), []byte(want)) {
			t.Errorf("audit lacks %s: %s", want, types)
		}
	}
	if _, err := w.svc.Consume(ctx, in("integrator-1", a), signer.RawSignatures); !errors.Is(err, signer.ErrNotAuthorized) {
		t.Fatalf("after used up: %v", err)
	}
}

func TestAuthorizationEnds(t *testing.T) {
	ctx := context.Background()
	t.Run("expiry, unused", func(t *testing.T) {
		w := authWorld(t)
		r := w.authorized(t, digestOf("x"))
		w.clock.Advance(time.Hour)
		if _, err := w.svc.Consume(ctx, signer.ConsumeInput{IntegratorID: "integrator-1", RequestID: r.ID, Hash: crypto.SHA256,
			Digests: [][]byte{digestOf("x")}}, signer.RawSignatures); !errors.Is(err, signer.ErrNotAuthorized) {
			t.Fatalf("after an hour: %v", err)
		}
		if err := w.svc.ExpireDue(ctx); err != nil {
			t.Fatal(err)
		}
		if st, reason := w.status(t, r.ID); st != signer.StatusExpired || reason != signer.ReasonAuthorizationExpired {
			t.Fatalf("swept: %s %s", st, reason)
		}
	})
	t.Run("expiry, partly used", func(t *testing.T) {
		w := authWorld(t)
		r := w.authorized(t, digestOf("x"), digestOf("y"))
		if _, err := w.svc.Consume(ctx, signer.ConsumeInput{IntegratorID: "integrator-1", RequestID: r.ID, Hash: crypto.SHA256,
			Digests: [][]byte{digestOf("x")}}, signer.RawSignatures); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(time.Hour)
		if err := w.svc.ExpireDue(ctx); err != nil {
			t.Fatal(err)
		}
		if st, _ := w.status(t, r.ID); st != signer.StatusSigned {
			t.Fatalf("swept: %s", st)
		}
	})
	t.Run("signer blocked", func(t *testing.T) {
		w := authWorld(t)
		r := w.authorized(t, digestOf("x"))
		w.ids.mu.Lock()
		w.ids.blocked = true
		w.ids.mu.Unlock()
		if _, err := w.svc.Consume(ctx, signer.ConsumeInput{IntegratorID: "integrator-1", RequestID: r.ID, Hash: crypto.SHA256,
			Digests: [][]byte{digestOf("x")}}, signer.RawSignatures); !errors.Is(err, signer.ErrSignerInactive) {
			t.Fatalf("blocked: %v", err)
		}
		if err := w.svc.CancelPending(ctx, []string{r.ID}, signer.ReasonSignerGone, "operator"); err != nil {
			t.Fatal(err)
		}
		if st, _ := w.status(t, r.ID); st != signer.StatusCancelled {
			t.Fatalf("after blocking: %s", st)
		}
	})
}

// TestSignCMS: detached CMS over digests under a consumed authorization (CSC signDoc
// with documentDigests): B-B with or without a claimed signing time; the levels that add
// to a document, and B-T without a time-stamping authority, are refused.
func TestSignCMS(t *testing.T) {
	w := authWorld(t)
	id, err := w.ids.Identity(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(id.CertificateDER)
	if err != nil {
		t.Fatal(err)
	}
	a, b := digestOf("a"), digestOf("b")
	at := w.clock.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name        string
		level       signer.Level
		signingTime time.Time
		ok          bool
	}{
		{"B-B, PAdES (no signing time)", signer.LevelBB, time.Time{}, true},
		{"B-B, CAdES (signing time)", signer.LevelBB, at, true},
		{"B-T without a time-stamping authority", signer.LevelBT, time.Time{}, false},
		{"B-LT", signer.LevelBLT, time.Time{}, false},
		{"B-LTA", signer.LevelBLTA, time.Time{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := w.svc.SignCMS(context.Background(), signer.SignCMSInput{Key: w.keys.key, Certificate: cert, Level: tc.level,
				SigningTime: tc.signingTime, Hash: crypto.SHA256, Digests: [][]byte{a, b}})
			if !tc.ok {
				if !errors.Is(err, signer.ErrInvalid) {
					t.Fatalf("got %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || len(out) != 2 {
				t.Fatalf("%d results, %v", len(out), err)
			}
			for i, d := range [][]byte{a, b} {
				sd, err := cades.Parse(out[i])
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sd.Verify(d); err != nil {
					t.Fatalf("CMS %d: %v", i, err)
				}
				if got := sd.Signers[0].SigningTime; !got.Equal(tc.signingTime) {
					t.Errorf("CMS %d: signing time %v, want %v", i, got, tc.signingTime)
				}
			}
		})
	}
}
