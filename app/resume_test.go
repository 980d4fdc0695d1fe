package app_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/signer"
)

// approvedOrphan creates a request and leaves it as a process that approved it and died
// would: approved, its signing lease run out, nothing signed.
func approvedOrphan(t *testing.T, key, userID string) string {
	t.Helper()
	d := sha256.Sum256([]byte("orphan " + userID))
	id, _ := create(t, key, hashRequest(userID, "SHA-256", d[:]))
	now := time.Now()
	ok, err := testEnv.Store.Transition(context.Background(), id, []signer.Status{signer.StatusPending},
		signer.Change{To: signer.StatusApproved, At: now.Add(-20 * time.Second), LeaseUntil: now.Add(-10 * time.Second)})
	if err != nil || !ok {
		t.Fatalf("approve behind the service's back: %v %v", ok, err)
	}
	return id
}

// TestResumeApproved: another replica (a second domain on the same store and HSM) signs
// a request whose signer died, without a new approval, once; a request whose signing was
// started too often ends failed/interrupted.
func TestResumeApproved(t *testing.T) {
	ctx := context.Background()
	key := newIntegrator(t, "resume")
	dev := newSigner(t)
	replica, err := testEnv.NewDomain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := approvedOrphan(t, key, dev.State().UserID)
	for range 2 { // the second sweep finds nothing left to do
		if err := replica.Requests.ResumeApproved(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r, err := testEnv.Store.Request(ctx, id)
	if err != nil || r.Status != signer.StatusSigned {
		t.Fatalf("after resumption: %v %v, want signed", r.Status, err)
	}
	res := call(t, key, "GET", "/v1/signature-requests/"+id+"/documents/0", "", nil)
	sd, err := cades.Parse(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("orphan " + dev.State().UserID))
	if _, err := sd.Verify(d[:]); err != nil {
		t.Fatalf("resumed signature: %v", err)
	}
	es, err := testEnv.Store.AuditForRequest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range es {
		count[e.Event.Type]++
	}
	if count[audit.RequestSigned] != 1 || count[audit.SigningResumed] != 1 {
		t.Errorf("audit of the resumed request: %v; want one signing.resumed and one request.signed", count)
	}

	// Signing started MaxSignAttempts (3) times without finishing: the next claim gives up.
	id = approvedOrphan(t, key, dev.State().UserID)
	for i := range 2 {
		later := time.Now().Add(time.Duration(i+1) * time.Minute)
		if _, err := testEnv.Store.ClaimApproved(ctx, later, later.Add(time.Second), 100); err != nil {
			t.Fatal(err)
		}
	}
	// The claims above hold leases a minute or two ahead; a sweep at that time takes over.
	if _, err := testEnv.Store.ExtendLease(ctx, id, 3, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := replica.Requests.ResumeApproved(ctx); err != nil {
		t.Fatal(err)
	}
	if r, err := testEnv.Store.Request(ctx, id); err != nil || r.Status != signer.StatusFailed || r.Reason != signer.ReasonInterrupted {
		t.Fatalf("after too many attempts: %v/%v %v, want failed/interrupted", r.Status, r.Reason, err)
	}
}
