package signer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
)

// TestApprove runs the approval checks against fakes: each case stages a pending
// request, sends one or more approvals, and checks the error of the last, the final
// state, and what was signed.
func TestApprove(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// run sends the approvals and returns the last error.
		run        func(t *testing.T, w *world, r *signer.Request) error
		wantErr    error
		wantStatus signer.Status
		wantReason string
		signed     bool
	}{
		{
			name: "right icon and PIN",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				_, err := w.svc.Approve(ctx, w.dev, w.approval(t, r, r.IconID, "13579"))
				return err
			},
			wantStatus: signer.StatusSigned, signed: true,
		},
		{
			name: "nonce that was never issued",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				in := w.approval(t, r, r.IconID, "13579")
				in.Nonce = "forged"
				return approveErr(w.svc.Approve(ctx, w.dev, in))
			},
			wantErr: signer.ErrStaleChallenge, wantStatus: signer.StatusPending,
		},
		{
			name: "nonce used by an earlier attempt",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				in := w.approval(t, r, r.IconID, "00000")
				if _, err := w.svc.Approve(ctx, w.dev, in); !errors.Is(err, device.ErrWrongPIN) {
					t.Fatalf("first attempt: %v", err)
				}
				in.PIN = "13579"
				return approveErr(w.svc.Approve(ctx, w.dev, in))
			},
			wantErr: signer.ErrStaleChallenge, wantStatus: signer.StatusPending,
		},
		{
			name: "device signature over another challenge",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				in := w.approval(t, r, r.IconID, "13579")
				in.Signature[len(in.Signature)-1] ^= 1
				return approveErr(w.svc.Approve(ctx, w.dev, in))
			},
			wantErr: signer.ErrBadApproval, wantStatus: signer.StatusPending,
		},
		{
			name: "icon not among the choices",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				return approveErr(w.svc.Approve(ctx, w.dev, w.approval(t, r, "not-an-icon", "13579")))
			},
			wantErr: signer.ErrInvalid, wantStatus: signer.StatusPending,
		},
		{
			name: "wrong icon refuses the request",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				return approveErr(w.svc.Approve(ctx, w.dev, w.approval(t, r, otherIcon(r), "13579")))
			},
			wantErr: signer.ErrWrongIcon, wantStatus: signer.StatusRefused, wantReason: signer.ReasonWrongIcon,
		},
		{
			name: "wrong PIN keeps the request",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				return approveErr(w.svc.Approve(ctx, w.dev, w.approval(t, r, r.IconID, "24680")))
			},
			wantErr: device.ErrWrongPIN, wantStatus: signer.StatusPending,
		},
		{
			name: "right PIN after a wrong one",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				if _, err := w.svc.Approve(ctx, w.dev, w.approval(t, r, r.IconID, "24680")); !errors.Is(err, device.ErrWrongPIN) {
					t.Fatalf("first attempt: %v", err)
				}
				return approveErr(w.svc.Approve(ctx, w.dev, w.approval(t, r, r.IconID, "13579")))
			},
			wantStatus: signer.StatusSigned, signed: true,
		},
		{
			name: "five wrong PINs lock signing",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				var err error
				for range device.MaxPINFailures {
					_, err = w.svc.Approve(ctx, w.dev, w.approval(t, r, r.IconID, "24680"))
				}
				if !errors.Is(err, device.ErrLocked) {
					t.Fatalf("fifth wrong PIN: %v", err)
				}
				return approveErr(w.svc.Approve(ctx, w.dev, w.approval(t, r, r.IconID, "13579")))
			},
			wantErr: device.ErrLocked, wantStatus: signer.StatusPending,
		},
		{
			name: "expired",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				in := w.approval(t, r, r.IconID, "13579")
				w.clock.Advance(5*time.Minute + time.Second)
				return approveErr(w.svc.Approve(ctx, w.dev, in))
			},
			wantErr: signer.ErrExpired, wantStatus: signer.StatusExpired, wantReason: signer.ReasonExpired,
		},
		{
			name: "one second before expiry",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				in := w.approval(t, r, r.IconID, "13579")
				w.clock.Advance(5*time.Minute - time.Second)
				return approveErr(w.svc.Approve(ctx, w.dev, in))
			},
			wantStatus: signer.StatusSigned, signed: true,
		},
		{
			name: "double approval",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				first := w.approval(t, r, r.IconID, "13579")
				if _, err := w.svc.Approve(ctx, w.dev, first); err != nil {
					t.Fatalf("first approval: %v", err)
				}
				return approveErr(w.svc.Approve(ctx, w.dev, w.approval(t, r, r.IconID, "13579")))
			},
			wantErr: signer.ErrNotPending, wantStatus: signer.StatusSigned, signed: true,
		},
		{
			name: "another user's device",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				other := *w.dev
				other.UserID = "user-2"
				return approveErr(w.svc.Approve(ctx, &other, w.approval(t, r, r.IconID, "13579")))
			},
			wantErr: signer.ErrNotFound, wantStatus: signer.StatusPending,
		},
		{
			name: "signer blocked between approval and signature",
			run: func(t *testing.T, w *world, r *signer.Request) error {
				w.ids.blocked = true
				return approveErr(w.svc.Approve(ctx, w.dev, w.approval(t, r, r.IconID, "13579")))
			},
			wantStatus: signer.StatusFailed, wantReason: signer.ReasonInternal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			r := w.create(t)
			err := tt.run(t, w, r)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			st, reason := w.status(t, r.ID)
			if st != tt.wantStatus || reason != tt.wantReason {
				t.Fatalf("state %s (%q), want %s (%q)", st, reason, tt.wantStatus, tt.wantReason)
			}
			got, _ := w.store.Request(ctx, r.ID)
			if tt.signed {
				checkSigned(t, w, got)
			} else if slices.Contains(w.audit.types(r.ID), audit.SignatureIntent) {
				t.Fatal("a signature was attempted")
			}
		})
	}
}

// approveErr drops Approve's request.
func approveErr(_ *signer.Request, err error) error { return err }

// checkSigned checks that each document's result is a CMS over its digest by the
// user's key, and that the intent was recorded before the signature.
func checkSigned(t *testing.T, w *world, r *signer.Request) {
	t.Helper()
	pub := w.keys.key.Public().(*ecdsa.PublicKey)
	for i, d := range r.Documents {
		sd, err := cades.Parse(d.Result)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if len(sd.Signers) != 1 || !slices.ContainsFunc(sd.Certificates, func(c *x509.Certificate) bool { return c.PublicKey.(*ecdsa.PublicKey).Equal(pub) }) {
			t.Fatalf("document %d: not signed by the user's key", i)
		}
	}
	types := w.audit.types(r.ID)
	intent, signed := slices.Index(types, audit.SignatureIntent), slices.Index(types, audit.RequestSigned)
	if intent < 0 || signed < intent {
		t.Fatalf("audit trail %v", types)
	}
}

// TestCrashRecovery stages a process that died after the approval was recorded and
// before the signature: another process resumes it without a new approval once the
// lease runs out, exactly once; a request whose signing keeps dying ends failed.
func TestCrashRecovery(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		crashes    int // attempts that died before this resume
		wantStatus signer.Status
		wantReason string
	}{
		{"resumed after one crash", 0, signer.StatusSigned, ""},
		{"given up after MaxSignAttempts", 2, signer.StatusFailed, signer.ReasonInterrupted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			r := w.create(t)
			now := w.clock.Now()
			ok, err := w.store.Transition(ctx, r.ID, []signer.Status{signer.StatusPending}, signer.Change{
				To: signer.StatusApproved, DeviceID: w.dev.ID, ChosenIcon: r.IconID, At: now, LeaseUntil: now.Add(10 * time.Second)})
			if err != nil || !ok {
				t.Fatalf("stage the approval: %v %v", ok, err)
			}
			// The lease is still held: nobody takes the request over.
			if err := w.svc.ResumeApproved(ctx); err != nil {
				t.Fatal(err)
			}
			if st, _ := w.status(t, r.ID); st != signer.StatusApproved {
				t.Fatalf("resumed while the lease was held: %s", st)
			}
			for range tt.crashes {
				w.clock.Advance(11 * time.Second)
				if _, err := w.store.ClaimApproved(ctx, w.clock.Now(), w.clock.Now().Add(10*time.Second), 8); err != nil {
					t.Fatal(err)
				}
			}
			w.clock.Advance(11 * time.Second)
			if err := w.svc.ResumeApproved(ctx); err != nil {
				t.Fatal(err)
			}
			st, reason := w.status(t, r.ID)
			if st != tt.wantStatus || reason != tt.wantReason {
				t.Fatalf("state %s (%q), want %s (%q)", st, reason, tt.wantStatus, tt.wantReason)
			}
			if st == signer.StatusSigned {
				got, _ := w.store.Request(ctx, r.ID)
				checkSigned(t, w, got)
				if !slices.Contains(w.audit.types(r.ID), audit.SigningResumed) {
					t.Fatal("the resumption is not in the audit log")
				}
			}
			// Nothing left to resume: a later sweep signs nothing again.
			opens := w.keys.opens
			w.clock.Advance(time.Minute)
			if err := w.svc.ResumeApproved(ctx); err != nil {
				t.Fatal(err)
			}
			if w.keys.opens != opens {
				t.Fatal("a finished request was signed again")
			}
		})
	}
}

// TestRefuseAndExpire covers the other ways out of pending.
func TestRefuseAndExpire(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	refused, expiring := w.create(t), w.create(t)
	if err := w.svc.Refuse(ctx, w.dev, refused.ID, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Refuse(ctx, w.dev, refused.ID, "192.0.2.1"); !errors.Is(err, signer.ErrNotPending) {
		t.Fatalf("second refusal: %v", err)
	}
	if w.store.refusals[userID] != 1 {
		t.Fatalf("refusals counted %d", w.store.refusals[userID])
	}
	w.clock.Advance(6 * time.Minute)
	if err := w.svc.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := w.status(t, expiring.ID); st != signer.StatusExpired {
		t.Fatalf("after the sweep: %s", st)
	}
	if st, reason := w.status(t, refused.ID); st != signer.StatusRefused || reason != signer.ReasonUserRefused {
		t.Fatalf("refused request: %s %q", st, reason)
	}
	if !slices.Contains(w.notes.seen, expiring.ID+" expired") {
		t.Fatalf("the device was not told: %v", w.notes.seen)
	}
}
