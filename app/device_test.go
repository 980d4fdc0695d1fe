package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/device/client"
)

// TestConcurrentApprovalsSignOnce races many approvals of one request: exactly one may
// win, and the HSM signs once.
func TestConcurrentApprovalsSignOnce(t *testing.T) {
	key := newIntegrator(t, "race")
	dev := newSigner(t)
	d := sha256.Sum256([]byte("race"))
	id, icon := create(t, key, hashRequest(dev.State().UserID, "SHA-256", d[:]))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 12 {
		wg.Go(func() {
			if st, err := dev.Approve(context.Background(), id, icon, testPIN); err == nil && st == "signed" {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d approvals won, want exactly 1", wins)
	}
	if n := countAudit(t, audit.SignatureIntent, id); n != 1 {
		t.Fatalf("%d signature intents for one request", n)
	}
	if st := status(t, key, id); st != "signed" {
		t.Fatalf("status %s", st)
	}
}

func countAudit(t *testing.T, typ, requestID string) int {
	t.Helper()
	n, after := 0, int64(0)
	for {
		es, err := testEnv.Store.AuditEntries(context.Background(), after, 500)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Event.Type == typ && e.Event.RequestID == requestID {
				n++
			}
			after = e.Seq
		}
		if len(es) < 500 {
			return n
		}
	}
}

// TestEventStreamResumes checks that a device loses no notification across a reconnect.
func TestEventStreamResumes(t *testing.T) {
	key := newIntegrator(t, "sse")
	dev := newSigner(t)
	uid := dev.State().UserID
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan client.Event, 64)
	done := make(chan error, 1)
	go func() { done <- dev.Watch(ctx, func(e client.Event) error { events <- e; return nil }) }()
	waitFor := func(id, st string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				if e.ID == id && e.Status == st {
					return
				}
			case <-deadline:
				t.Fatalf("no %s event for %s", st, id)
			}
		}
	}
	d1 := sha256.Sum256([]byte("first"))
	id1, _ := create(t, key, hashRequest(uid, "SHA-256", d1[:]))
	waitFor(id1, "pending")
	// Cut every connection: the stream breaks; a request created meanwhile must arrive
	// after the reconnect, through Last-Event-ID.
	testSrv.CloseClientConnections()
	d2 := sha256.Sum256([]byte("second"))
	id2, _ := create(t, key, hashRequest(uid, "SHA-256", d2[:]))
	if r := call(t, key, "DELETE", "/v1/signature-requests/"+id1, "", nil); r.Status != 200 {
		t.Fatalf("cancel: %d", r.Status)
	}
	waitFor(id2, "pending")
	waitFor(id1, "cancelled")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLockoutAndReactivation: five wrong PINs lock; re-activation revokes the old device
// and certificate; the new enrollment brings a new key.
func TestLockoutAndReactivation(t *testing.T) {
	ctx := context.Background()
	key := newIntegrator(t, "lockout")
	dev := newSigner(t)
	uid := dev.State().UserID
	d := sha256.Sum256([]byte("lock"))
	id, icon := create(t, key, hashRequest(uid, "SHA-256", d[:]))
	for i := 1; i <= 5; i++ {
		_, err := dev.Approve(ctx, id, icon, "97531")
		var p client.Problem
		if !errors.As(err, &p) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		want := "wrong-pin"
		if i == 5 {
			want = "pin-locked"
		}
		if p.Code != want {
			t.Fatalf("attempt %d: code %q, want %q", i, p.Code, want)
		}
	}
	if _, err := dev.Approve(ctx, id, icon, testPIN); err == nil {
		t.Fatal("right PIN accepted while locked")
	}
	oldUser, err := testEnv.Store.User(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	oldSerial, _ := new(big.Int).SetString(oldUser.CertSerial, 16)
	dom, err := testEnv.NewDomain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code, err := dom.Accounts.Reactivate(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	if st := status(t, key, id); st != "cancelled" {
		t.Fatalf("pending request after re-activation: %s", st)
	}
	if _, err := dev.Pending(ctx, 0); err == nil {
		t.Fatal("the old device still works")
	}
	cs, err := testEnv.Store.CertificateStatus(ctx, oldSerial)
	if err != nil || cs.RevokedAt.IsZero() {
		t.Fatalf("old certificate not revoked: %+v %v", cs, err)
	}
	st, err := client.Enroll(ctx, testSrv.URL, code.Code, testPIN)
	if err != nil {
		t.Fatal(err)
	}
	newDev, _ := client.New(st, "", 30*time.Second)
	id2, icon2 := create(t, key, hashRequest(uid, "SHA-256", d[:]))
	if s, err := newDev.Approve(ctx, id2, icon2, testPIN); err != nil || s != "signed" {
		t.Fatalf("new device: %s %v", s, err)
	}
	newUser, _ := testEnv.Store.User(ctx, uid)
	if newUser.CertSerial == oldUser.CertSerial || bytes.Equal(newUser.KeyRef, oldUser.KeyRef) {
		t.Fatal("re-activation kept the key or certificate")
	}
	if _, err := testEnv.Keys.SigningKey(ctx, oldUser.KeyRef); err == nil {
		t.Fatal("the old signing key still exists in the HSM")
	}
}

func TestHistoryPages(t *testing.T) {
	ctx := context.Background()
	key := newIntegrator(t, "history")
	dev := newSigner(t)
	var ids []string
	for i := range 4 {
		d := sha256.Sum256(fmt.Appendf(nil, "h%d", i))
		id, _ := create(t, key, hashRequest(dev.State().UserID, "SHA-256", d[:]))
		if err := dev.Refuse(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	items, err := dev.History(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3 || items[0].ID != ids[3] || items[2].ID != ids[1] {
		t.Fatalf("history not newest first: %+v", items)
	}
	if items[0].Status != "refused" || items[0].FinishedAt == nil || len(items[0].Documents) != 1 {
		t.Fatalf("history item: %+v", items[0])
	}
	u, _ := testEnv.Store.User(ctx, dev.State().UserID)
	if u.Refusals != 4 {
		t.Fatalf("refusals counted %d, want 4", u.Refusals)
	}
}

// TestBatchOfHundred: one approval signs a request of 100 documents, each CMS over its
// own digest.
func TestBatchOfHundred(t *testing.T) {
	key := newIntegrator(t, "batch")
	dev := newSigner(t)
	docs := make([]map[string]string, 100)
	digests := make([][]byte, 100)
	for i := range docs {
		d := sha256.Sum256(fmt.Appendf(nil, "batch document %d", i))
		digests[i] = d[:]
		docs[i] = map[string]string{"name": fmt.Sprintf("contract-%03d.pdf", i), "digest": base64.StdEncoding.EncodeToString(d[:]), "digestAlgorithm": "SHA-256"}
	}
	body, _ := json.Marshal(map[string]any{"signer": dev.State().UserID, "format": "CAdES", "level": "B-B", "documents": docs})
	id, icon := create(t, key, body)
	it, err := dev.Request(context.Background(), id)
	if err != nil || len(it.Documents) != 100 {
		t.Fatalf("device sees %d documents: %v", len(it.Documents), err)
	}
	if st, err := dev.Approve(context.Background(), id, icon, testPIN); err != nil || st != "signed" {
		t.Fatalf("approve: %s %v", st, err)
	}
	for _, i := range []int{0, 57, 99} {
		r := call(t, key, "GET", fmt.Sprintf("/v1/signature-requests/%s/documents/%d", id, i), "", nil)
		sd, err := cades.Parse(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sd.Verify(digests[i]); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
	}
}

// TestPINRace sends twenty wrong PINs at once, as approvals of four pending requests and
// PIN changes: at most five are judged, the account ends locked, and the right PIN is then
// refused as locked.
func TestPINRace(t *testing.T) {
	ctx := context.Background()
	key := newIntegrator(t, "pin-race")
	dev := newSigner(t)
	uid := dev.State().UserID
	type pair struct{ id, icon string }
	var reqs []pair
	for i := range 4 {
		d := sha256.Sum256(fmt.Appendf(nil, "pin race %d", i))
		id, icon := create(t, key, hashRequest(uid, "SHA-256", d[:]))
		reqs = append(reqs, pair{id, icon})
	}
	const calls, wrong = 20, "13579"
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[string]int{}
		start = make(chan struct{})
	)
	for i := range calls {
		wg.Go(func() {
			<-start
			var err error
			if i < len(reqs) {
				_, err = dev.Approve(ctx, reqs[i].id, reqs[i].icon, wrong)
			} else {
				err = dev.ChangePIN(ctx, wrong, "86420")
			}
			code := "accepted"
			var p client.Problem
			if errors.As(err, &p) {
				code = p.Code
			} else if err != nil {
				code = err.Error()
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	u, err := testEnv.Store.User(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	if u.PINFailures > 5 || !u.Locked {
		t.Fatalf("after %d concurrent wrong PINs: %d judged, locked=%v (answers %v)", calls, u.PINFailures, u.Locked, codes)
	}
	if codes["wrong-pin"] > 4 || codes["accepted"] > 0 {
		t.Fatalf("answers %v: want at most 4 wrong-pin and none accepted", codes)
	}
	for k := range codes {
		switch k {
		case "wrong-pin", "pin-locked", "pin-attempts-busy", "stale-challenge":
		default:
			t.Fatalf("unexpected answer %q (answers %v)", k, codes)
		}
	}
	_, err = dev.Approve(ctx, reqs[0].id, reqs[0].icon, testPIN)
	var p client.Problem
	if !errors.As(err, &p) || p.Code != "pin-locked" {
		t.Fatalf("right PIN after the lock: %v, want pin-locked", err)
	}
	if err := dev.ChangePIN(ctx, testPIN, "86420"); !errors.As(err, &p) || p.Code != "pin-locked" {
		t.Fatalf("PIN change with the right PIN after the lock: %v, want pin-locked", err)
	}
}

// TestPendingLimitPerIntegrator: integrator B fills signer S's queue up to the limit and
// gets 429; integrator A can still ask S, and has its own limit.
func TestPendingLimitPerIntegrator(t *testing.T) {
	keyA, keyB := newIntegrator(t, "fair-a"), newIntegrator(t, "fair-b")
	uid := newSigner(t).State().UserID
	const limit = 5 // config default requests.maxPending
	body := func(tag string, i int) []byte {
		d := sha256.Sum256(fmt.Appendf(nil, "fairness %s %d", tag, i))
		return hashRequest(uid, "SHA-256", d[:])
	}
	for i := range limit {
		create(t, keyB, body("b", i))
	}
	if r := call(t, keyB, "POST", "/v1/signature-requests", "application/json", body("b", limit)); r.Status != 429 {
		t.Fatalf("integrator B's request %d: HTTP %d, want 429: %s", limit+1, r.Status, r.Body)
	}
	for i := range limit {
		if r := call(t, keyA, "POST", "/v1/signature-requests", "application/json", body("a", i)); r.Status != 201 {
			t.Fatalf("integrator A's request %d after B filled the signer: HTTP %d, want 201: %s", i+1, r.Status, r.Body)
		}
	}
	if r := call(t, keyA, "POST", "/v1/signature-requests", "application/json", body("a", limit)); r.Status != 429 {
		t.Fatalf("integrator A's request %d: HTTP %d, want 429", limit+1, r.Status)
	}
}

// TestRevokedDeviceHearsNothing: a device watching its stream, and one long-polling, are
// cut off when the user is re-activated: the stream ends within 5 s, the reconnect is
// refused, and neither sees a request made for the new device.
func TestRevokedDeviceHearsNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := newIntegrator(t, "revoked-stream")
	dev := newSigner(t)
	uid := dev.State().UserID
	d := sha256.Sum256([]byte("before revocation"))
	id1, _ := create(t, key, hashRequest(uid, "SHA-256", d[:]))

	var (
		mu   sync.Mutex
		seen []string
	)
	opened := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- dev.Watch(ctx, func(e client.Event) error {
			mu.Lock()
			seen = append(seen, e.ID)
			mu.Unlock()
			if e.ID == id1 {
				select {
				case opened <- struct{}{}:
				default:
				}
			}
			return nil
		})
	}()
	select {
	case <-opened:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream never delivered the pending request")
	}
	// The old device also long-polls for new requests, from before the re-activation.
	if r := call(t, key, "DELETE", "/v1/signature-requests/"+id1, "", nil); r.Status != 200 {
		t.Fatalf("cancel: HTTP %d", r.Status)
	}
	polled := make(chan error, 1)
	go func() {
		rs, err := dev.Pending(ctx, 20*time.Second)
		if err == nil {
			err = fmt.Errorf("long poll answered %d requests", len(rs))
		}
		polled <- err
	}()
	time.Sleep(500 * time.Millisecond) // the poll is waiting

	dom, err := testEnv.NewDomain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	code, err := dom.Accounts.Reactivate(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	select {
	case err := <-done:
		var p client.Problem
		if !errors.As(err, &p) || p.Status != 401 {
			t.Fatalf("watch of the revoked device ended with %v, want a 401 on reconnect", err)
		}
		// The stream closes within a poll; the client reconnects 2 s later and stops.
		if d := time.Since(revoked); d > 5*time.Second+2*time.Second+time.Second {
			t.Fatalf("watch of the revoked device stopped after %v", d)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the revoked device's stream is still open 15 s after re-activation")
	}
	st, err := client.Enroll(ctx, testSrv.URL, code.Code, testPIN)
	if err != nil {
		t.Fatal(err)
	}
	newDev, _ := client.New(st, "", 30*time.Second)
	d2 := sha256.Sum256([]byte("after revocation"))
	id2, _ := create(t, key, hashRequest(uid, "SHA-256", d2[:]))
	if rs, err := newDev.Pending(ctx, 5*time.Second); err != nil || len(rs) != 1 || rs[0].ID != id2 {
		t.Fatalf("new device's pending = %+v, %v; want [%s]", rs, err, id2)
	}
	select {
	case err := <-polled:
		var p client.Problem
		if !errors.As(err, &p) || p.Status != 401 {
			t.Fatalf("long poll of the revoked device: %v, want 401", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked device's long poll did not end")
	}
	mu.Lock()
	defer mu.Unlock()
	if slices.Contains(seen, id2) {
		t.Fatalf("the revoked device's stream delivered %s, made after re-activation", id2)
	}
}

// TestPublicBlock: the public block page answers the same, at once, whether or not an
// account matches; the matching account is blocked right after (its pending request
// cancelled, new ones refused).
func TestPublicBlock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go testSvc.Accounts.RunPublicBlocks(ctx)
	key := newIntegrator(t, "public-block")
	dev := newSigner(t)
	uid := dev.State().UserID
	u, err := testEnv.Store.User(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("public block"))
	id, _ := create(t, key, hashRequest(uid, "SHA-256", d[:]))
	block := func(phone, name string) apiResp {
		b, _ := json.Marshal(map[string]string{"phone": phone, "givenName": name})
		return call(t, "", "POST", "/v1/accounts/block", "application/json", b)
	}
	miss := block("+32400000000", "Nobody")
	hit := block(u.Phone, "  alice ")
	if miss.Status != 202 || hit.Status != 202 || string(miss.Body) != string(hit.Body) {
		t.Fatalf("answers differ: %d %s / %d %s", miss.Status, miss.Body, hit.Status, hit.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for status(t, key, id) != "cancelled" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if st := status(t, key, id); st != "cancelled" {
		t.Fatalf("pending request of the blocked signer: %s, want cancelled", st)
	}
	d2 := sha256.Sum256([]byte("after block"))
	if r := call(t, key, "POST", "/v1/signature-requests", "application/json", hashRequest(uid, "SHA-256", d2[:])); r.Status != 409 {
		t.Fatalf("request for a blocked signer: HTTP %d, want 409", r.Status)
	}
}
