package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPushGatewayRetriesAndSigns(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
		got   []pushBody
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // first attempt fails: retried
			return
		}
		parts := map[string]string{}
		for _, kv := range strings.Split(r.Header.Get(SignatureHeader), ",") {
			k, v, _ := strings.Cut(kv, "=")
			parts[k] = v
		}
		m := hmac.New(sha256.New, []byte("gw-secret"))
		m.Write([]byte(parts["t"] + "." + string(body)))
		if !hmac.Equal([]byte(hex.EncodeToString(m.Sum(nil))), []byte(parts["v1"])) {
			t.Errorf("bad signature %q", r.Header.Get(SignatureHeader))
		}
		var b pushBody
		json.Unmarshal(body, &b)
		got = append(got, b)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	p, err := NewPushGateway(PushDeps{}, PushConfig{URL: srv.URL, Secret: "gw-secret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	p.Push(Event{ID: 7, UserID: "u", RequestID: "r", Status: "pending", At: time.Now()})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].RequestID != "r" || got[0].EventID != 7 || calls != 2 {
		t.Fatalf("calls %d, delivered %+v", calls, got)
	}
}

func TestPushGatewayConfig(t *testing.T) {
	for _, c := range []PushConfig{{URL: "ftp://x", Secret: "s"}, {URL: "http://gw.example", Secret: ""}} {
		if _, err := NewPushGateway(PushDeps{}, c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
