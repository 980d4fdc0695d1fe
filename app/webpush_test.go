package app_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paraphe/paraphe/app"
	"github.com/paraphe/paraphe/device/client"
	"github.com/paraphe/paraphe/webpush"
)

// TestWebPushEndToEnd: a device registers a browser's subscription (a signed device
// call), and each new request of its user reaches a loopback push service, encrypted to
// that subscription; another user's request does not; a 410 drops the subscription.
func TestWebPushEndToEnd(t *testing.T) {
	ctx := context.Background()
	svc, srv, _ := startBuilt(t, testEnv.Cfg, app.NewLogger("error"))
	e := svc
	if svc.WebPush == nil {
		t.Fatal("Web Push is not on by default")
	}

	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	type msg struct {
		path  string
		plain []byte
	}
	got := make(chan msg, 10)
	var gone atomic.Bool
	push := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
			got <- msg{path: "gone"}
			return
		}
		pt, err := webpush.Decrypt(b, ua, auth)
		if err != nil {
			t.Errorf("message does not decrypt: %v", err)
		}
		got <- msg{r.URL.Path, pt}
		w.WriteHeader(http.StatusCreated)
	}))
	defer push.Close()

	key := newIntegrator(t, "webpush")
	dev, other := newSigner(t), newSigner(t)
	dc, err := client.New(dev.State(), srv.URL, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var sub client.PushSubscription
	sub.Endpoint = push.URL + "/push/abc"
	sub.Keys.P256DH = base64.RawURLEncoding.EncodeToString(ua.PublicKey().Bytes())
	sub.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)
	if err := dc.SubscribePush(ctx, sub); err != nil {
		t.Fatal(err)
	}
	bad := sub
	bad.Keys.Auth = "AAAA"
	var p client.Problem
	if err := dc.SubscribePush(ctx, bad); !errors.As(err, &p) || p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("a bad subscription: %v, want 422", err)
	}

	createOn := func(user string) string {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/signature-requests", bytes.NewReader(hashRequest(user, "SHA-256", make([]byte, 32))))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ ID string }
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 201 {
			t.Fatalf("create: HTTP %d", resp.StatusCode)
		}
		return out.ID
	}
	createOn(other.State().UserID)
	id := createOn(dev.State().UserID)
	select {
	case m := <-got:
		var body map[string]string
		if err := json.Unmarshal(m.plain, &body); err != nil || body["id"] != id || m.path != "/push/abc" {
			t.Fatalf("push to %s: %q, want the id %s", m.path, m.plain, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no push within 10 s")
	}
	select {
	case m := <-got:
		t.Fatalf("a second push (another user's request?): %q", m.plain)
	case <-time.After(300 * time.Millisecond):
	}

	data, err := e.Store.UserData(ctx, dev.State().UserID)
	if err != nil || len(data.PushSubscriptions) != 1 || data.PushSubscriptions[0].Endpoint != sub.Endpoint {
		t.Fatalf("the user's export lacks the subscription: %v %+v", err, data)
	}

	gone.Store(true)
	createOn(dev.State().UserID)
	<-got
	deadline := time.Now().Add(10 * time.Second)
	for {
		subs, err := e.Store.PushSubscriptions(ctx, dev.State().UserID)
		if err != nil {
			t.Fatal(err)
		}
		if len(subs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a 410 did not drop the subscription")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
