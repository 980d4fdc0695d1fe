package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// memOutbox is an in-memory OutboxStore with the semantics the store package implements
// on SQLite and PostgreSQL (whose own tests run Webhooks against the real database).
type memOutbox struct {
	mu       sync.Mutex
	ds       []*memDelivery
	attempts []memAttempt
}

type memDelivery struct {
	d       Delivery
	givenUp bool
}

type memAttempt struct {
	requestID string
	a         Attempt
}

func (m *memOutbox) EnqueueWebhook(_ context.Context, d Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.ds {
		if x.d.RequestID == d.RequestID {
			return nil
		}
	}
	d.ID = int64(len(m.ds) + 1)
	m.ds = append(m.ds, &memDelivery{d: d})
	return nil
}

func (m *memOutbox) ClaimWebhooks(_ context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Delivery
	for _, x := range m.ds {
		if len(out) == limit {
			break
		}
		if x.d.DeliveredAt == nil && !x.givenUp && !x.d.NextAttemptAt.After(now) && !slices.Contains(skip, x.d.IntegratorID) {
			x.d.NextAttemptAt = now.Add(lease)
			out = append(out, x.d)
		}
	}
	return out, nil
}

func (m *memOutbox) RecordWebhookAttempt(_ context.Context, id int64, a Attempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.ds {
		if x.d.ID != id {
			continue
		}
		m.attempts = append(m.attempts, memAttempt{x.d.RequestID, a})
		if x.d.DeliveredAt != nil || x.givenUp {
			return nil
		}
		x.d.Attempts++
		x.d.LastStatus, x.d.LastError = a.Status, a.Error
		switch {
		case a.Delivered:
			at := a.At
			x.d.DeliveredAt = &at
		case a.NextAttemptAt != nil:
			x.d.NextAttemptAt = *a.NextAttemptAt
		default:
			x.givenUp = true
		}
		return nil
	}
	return ErrNoDelivery
}

func (m *memOutbox) WebhookAttempts(_ context.Context, requestID string) ([]Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Attempt
	for _, x := range m.attempts {
		if x.requestID == requestID {
			out = append(out, x.a)
		}
	}
	return out, nil
}

func (m *memOutbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.ds)
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

type secrets map[string]string

func (s secrets) WebhookSecret(_ context.Context, id string) (string, error) {
	v, ok := s[id]
	if !ok {
		return "", errors.New("test: no such integrator")
	}
	return v, nil
}

// hit is one request seen by a receiver.
type hit struct {
	method, path string
	header       http.Header
	body         []byte
}

// receiver is a webhook endpoint answering the scripted statuses in turn, then 204.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	hits     []hit
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, hit{req.Method, req.URL.Path, req.Header.Clone(), body})
		status := http.StatusNoContent
		if len(r.statuses) > 0 {
			status, r.statuses = r.statuses[0], r.statuses[1:]
		}
		r.mu.Unlock()
		if status/100 == 3 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) seen() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

var t0 = time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)

const secret = "whsec_test"

// newTestWebhooks builds a Webhooks on an in-memory outbox with a fake clock at t0 and
// loopback callbacks allowed, as in development.
func newTestWebhooks(t *testing.T, cfg WebhookConfig) (*Webhooks, *memOutbox, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: t0}
	if cfg.Policy == (CallbackPolicy{}) {
		cfg.Policy = dev
	}
	store := &memOutbox{}
	return NewWebhooks(WebhookDeps{Store: store, Secrets: secrets{"int-1": secret}, Now: clock.Now}, cfg), store, clock
}

// deliverDue claims due deliveries, sends them and waits until all are recorded; it
// returns how many it claimed.
func (w *Webhooks) deliverDue(ctx context.Context) (int, error) {
	var wg sync.WaitGroup
	n, err := w.claimDue(ctx, &wg)
	wg.Wait()
	return n, err
}

// step runs one claim-and-send round and checks how many deliveries it claimed.
func step(t *testing.T, w *Webhooks, want int) {
	t.Helper()
	n, err := w.deliverDue(context.Background())
	if err != nil {
		t.Fatalf("deliverDue: %v", err)
	}
	if n != want {
		t.Fatalf("deliverDue claimed %d, want %d", n, want)
	}
}

func attempts(t *testing.T, w *Webhooks, requestID string) []Attempt {
	t.Helper()
	as, err := w.Attempts(context.Background(), requestID)
	if err != nil {
		t.Fatalf("Attempts: %v", err)
	}
	return as
}

func TestSign(t *testing.T) {
	// Computed independently: python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test",
	// b"1700000000." + b"{\"id\":\"r1\",\"status\":\"signed\"}", hashlib.sha256).hexdigest())'
	got := Sign("whsec_test", time.Unix(1700000000, 0), []byte(`{"id":"r1","status":"signed"}`))
	want := "t=1700000000,v1=1d5060760feb0325a4bede3b51dcaed84e486f6b4d38184eac04d8bb9b726224"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

var sigFormat = regexp.MustCompile(`^t=([0-9]+),v1=([0-9a-f]{64})$`)

// verify checks a signature header the way receivers (and acceptance/api.sh) do.
func verify(t *testing.T, header string, body []byte, secret string, now time.Time) {
	t.Helper()
	m := sigFormat.FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("%s header %q not in the form t=UNIX,v1=HEX", SignatureHeader, header)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(m[1] + "." + string(body)))
	if !hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(m[2])) {
		t.Fatalf("signature %s does not verify", header)
	}
	ts, _ := strconv.ParseInt(m[1], 10, 64)
	if d := now.Unix() - ts; d < -1 || d > 1 {
		t.Fatalf("signature time %d is %d s away from the clock", ts, d)
	}
}

func TestWebhookDeliveredAndSigned(t *testing.T) {
	tests := []struct{ status, body string }{
		{"signed", `{"id":"r-1","status":"signed"}`},
		{"refused", `{"id":"r-1","status":"refused"}`},
		{"expired", `{"id":"r-1","status":"expired"}`},
	}
	for _, tc := range tests {
		t.Run(tc.status, func(t *testing.T) {
			rcv := newReceiver(t)
			w, _, clock := newTestWebhooks(t, WebhookConfig{})
			ctx := context.Background()
			if err := w.Enqueue(ctx, "int-1", "r-1", rcv.srv.URL+"/hooks/paraphe?token=abc", tc.status); err != nil {
				t.Fatal(err)
			}
			step(t, w, 1)
			hits := rcv.seen()
			if len(hits) != 1 {
				t.Fatalf("receiver saw %d requests, want 1", len(hits))
			}
			h := hits[0]
			if h.method != http.MethodPost || h.path != "/hooks/paraphe" {
				t.Errorf("request %s %s, want POST /hooks/paraphe", h.method, h.path)
			}
			if ct := h.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if string(h.body) != tc.body {
				t.Errorf("body %s, want %s", h.body, tc.body)
			}
			verify(t, h.header.Get(SignatureHeader), h.body, secret, clock.Now())

			as := attempts(t, w, "r-1")
			if len(as) != 1 || !as[0].Delivered || as[0].Status != http.StatusNoContent || as[0].Error != "" ||
				as[0].NextAttemptAt != nil || !as[0].At.Equal(t0) {
				t.Fatalf("attempts %+v", as)
			}
			clock.Set(t0.Add(48 * time.Hour))
			step(t, w, 0) // delivered: never sent again
		})
	}
}

func TestWebhookRetriesWithBackoff(t *testing.T) {
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusServiceUnavailable)
	w, _, clock := newTestWebhooks(t, WebhookConfig{})
	ctx := context.Background()
	if err := w.Enqueue(ctx, "int-1", "r-1", rcv.srv.URL, "signed"); err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	steps := []struct {
		now    time.Duration
		claims int
		hits   int
	}{
		{0, 1, 1},                             // 500: next in 5 s
		{4 * time.Second, 0, 1},               // not due yet
		{5 * time.Second, 1, 2},               // 503: next in 10 s
		{14 * time.Second, 0, 2},              // not due yet
		{15 * time.Second, 1, 3},              // 204
		{15*time.Second + 24*time.Hour, 0, 3}, // done
	}
	for _, s := range steps {
		clock.Set(at(s.now))
		step(t, w, s.claims)
		if n := len(rcv.seen()); n != s.hits {
			t.Fatalf("at +%v the receiver saw %d requests, want %d", s.now, n, s.hits)
		}
	}
	next5, next15 := at(5*time.Second), at(15*time.Second)
	want := []Attempt{
		{DeliveryID: 1, At: at(0), Status: 500, NextAttemptAt: &next5},
		{DeliveryID: 1, At: at(5 * time.Second), Status: 503, NextAttemptAt: &next15},
		{DeliveryID: 1, At: at(15 * time.Second), Status: 204, Delivered: true},
	}
	sameAttempts(t, attempts(t, w, "r-1"), want)
	for _, h := range rcv.seen() {
		if string(h.body) != `{"id":"r-1","status":"signed"}` {
			t.Fatalf("retry changed the body: %s", h.body)
		}
	}
}

// sameAttempts compares attempts; errors must be present exactly on failures.
func sameAttempts(t *testing.T, got, want []Attempt) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d attempts, want %d: %+v", len(got), len(want), got)
	}
	for i, g := range got {
		w := want[i]
		if g.DeliveryID != w.DeliveryID || !g.At.Equal(w.At) || g.Status != w.Status || g.Delivered != w.Delivered ||
			(g.Error == "") != w.Delivered || (g.NextAttemptAt == nil) != (w.NextAttemptAt == nil) ||
			(g.NextAttemptAt != nil && !g.NextAttemptAt.Equal(*w.NextAttemptAt)) {
			t.Fatalf("attempt %d\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestWebhookReceiverDownGivesUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String() + "/cb?token=s3cret"
	_ = l.Close()

	w, store, clock := newTestWebhooks(t, WebhookConfig{MaxAge: time.Minute})
	if err := w.Enqueue(context.Background(), "int-1", "r-1", down, "signed"); err != nil {
		t.Fatal(err)
	}
	// 5 s, 10 s, 20 s, then clamped to the end of the window at 60 s, then given up.
	times := []time.Duration{0, 5 * time.Second, 15 * time.Second, 35 * time.Second, time.Minute}
	for _, d := range times {
		clock.Set(t0.Add(d))
		step(t, w, 1)
	}
	clock.Set(t0.Add(24 * time.Hour))
	step(t, w, 0)

	as := attempts(t, w, "r-1")
	if len(as) != len(times) {
		t.Fatalf("%d attempts, want %d: %+v", len(as), len(times), as)
	}
	for i, a := range as {
		if a.Delivered || a.Status != 0 || a.Error != ErrTextUnreachable {
			t.Errorf("attempt %d: %+v, want a failure without status, %q", i, a, ErrTextUnreachable)
		}
		if strings.Contains(a.Error, "s3cret") {
			t.Errorf("attempt %d error %q shows the callback URL's query", i, a.Error)
		}
		last := i == len(as)-1
		if last != (a.NextAttemptAt == nil) {
			t.Errorf("attempt %d next %v; only the last has none", i, a.NextAttemptAt)
		}
		if !last && !a.NextAttemptAt.Equal(t0.Add(times[i+1])) {
			t.Errorf("attempt %d next %v, want %v", i, a.NextAttemptAt, t0.Add(times[i+1]))
		}
	}
	if store.count() != 1 {
		t.Fatalf("%d deliveries stored", store.count())
	}
}

func TestWebhookFailures(t *testing.T) {
	tests := []struct {
		name      string
		policy    CallbackPolicy
		url       func(r *receiver) string
		statuses  []int
		integ     string
		timeout   time.Duration
		status    int
		retried   bool   // a next attempt is planned
		reachable bool   // the receiver saw the request
		text      string // the error the integrator reads
	}{
		{"redirect not followed", dev, func(r *receiver) string { return r.srv.URL + "/cb" }, []int{http.StatusFound}, "int-1", 0,
			http.StatusFound, true, true, "receiver answered 302"},
		{"client error retried", dev, func(r *receiver) string { return r.srv.URL }, []int{http.StatusBadRequest}, "int-1", 0,
			http.StatusBadRequest, true, true, "receiver answered 400"},
		{"unknown integrator secret", dev, func(r *receiver) string { return r.srv.URL }, nil, "int-2", 0, 0, true, false, ErrTextInternal},
		{"URL refused by the policy gives up at once", lan, func(r *receiver) string { return r.srv.URL }, nil, "int-1", 0,
			0, false, false, ErrTextNotAllowed},
		{"URL no longer valid gives up at once", dev, func(r *receiver) string { return "ftp://example.com/" }, nil, "int-1", 0,
			0, false, false, ErrTextNotAllowed},
		// Refused by the dialer after resolution: "unreachable", like a closed port, so
		// that names cannot be resolved through Paraphe.
		{"name rebound to loopback refused by the dialer", CallbackPolicy{AllowPrivate: true},
			func(r *receiver) string { return strings.Replace(r.srv.URL, "127.0.0.1", "loopback.paraphe.test", 1) },
			nil, "int-1", 0, 0, true, false, ErrTextUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, tc.statuses...)
			cfg := WebhookConfig{Policy: tc.policy, Timeout: tc.timeout}
			if strings.Contains(tc.name, "rebound") {
				// Resolve the test name to 127.0.0.1, as a hostile DNS server would.
				cfg.HTTPClient = newWebhookClient(tc.policy, 5*time.Second)
				tr := cfg.HTTPClient.Transport.(*http.Transport)
				d := &net.Dialer{Control: tc.policy.dialControl}
				tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
					return d.DialContext(ctx, network, strings.Replace(addr, "loopback.paraphe.test", "127.0.0.1", 1))
				}
			}
			w, _, _ := newTestWebhooks(t, cfg)
			if err := w.Enqueue(context.Background(), tc.integ, "r-1", tc.url(rcv), "signed"); err != nil {
				t.Fatal(err)
			}
			step(t, w, 1)
			as := attempts(t, w, "r-1")
			if len(as) != 1 {
				t.Fatalf("%d attempts", len(as))
			}
			a := as[0]
			if a.Delivered || a.Error != tc.text || a.Status != tc.status || (a.NextAttemptAt != nil) != tc.retried {
				t.Fatalf("attempt %+v; want failed with status %d, error %q, retried=%v", a, tc.status, tc.text, tc.retried)
			}
			if n := len(rcv.seen()); (n > 0) != tc.reachable || n > 1 {
				t.Fatalf("receiver saw %d requests", n)
			}
			for _, h := range rcv.seen() {
				if h.path == "/elsewhere" {
					t.Fatal("redirect followed")
				}
			}
		})
	}
}

func TestWebhookTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	w, _, _ := newTestWebhooks(t, WebhookConfig{Timeout: 200 * time.Millisecond})
	if err := w.Enqueue(context.Background(), "int-1", "r-1", srv.URL, "signed"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	step(t, w, 1)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("attempt took %v with a 200ms timeout", d)
	}
	as := attempts(t, w, "r-1")
	if len(as) != 1 || as[0].Delivered || as[0].Status != 0 || as[0].NextAttemptAt == nil || as[0].Error != ErrTextUnreachable {
		t.Fatalf("attempts %+v; want one failure, %q, retried", as, ErrTextUnreachable)
	}
}

func TestWebhookEnqueue(t *testing.T) {
	w, store, _ := newTestWebhooks(t, WebhookConfig{})
	ctx := context.Background()
	if err := w.Enqueue(ctx, "int-1", "r-1", "", "signed"); err != nil {
		t.Fatal(err)
	}
	if store.count() != 0 {
		t.Fatal("a request without callback URL was enqueued")
	}
	if err := w.Enqueue(ctx, "int-1", `r-"2"`, "https://example.com/cb", "signed"); err != nil {
		t.Fatal(err)
	}
	ds, _ := store.ClaimWebhooks(ctx, t0, 10, time.Minute, nil)
	if len(ds) != 1 || string(ds[0].Body) != `{"id":"r-\"2\"","status":"signed"}` || !ds[0].CreatedAt.Equal(t0) ||
		ds[0].IntegratorID != "int-1" || ds[0].URL != "https://example.com/cb" {
		t.Fatalf("enqueued %+v (body %s)", ds, ds[0].Body)
	}
}

func TestNextAttempt(t *testing.T) {
	w := NewWebhooks(WebhookDeps{Store: &memOutbox{}, Secrets: secrets{}}, WebhookConfig{})
	tests := []struct {
		attempts int
		now      time.Duration // since creation
		want     time.Duration // since now; -1: given up
	}{
		{0, 0, 5 * time.Second},
		{1, 5 * time.Second, 10 * time.Second},
		{2, 15 * time.Second, 20 * time.Second},
		{9, time.Hour, 2560 * time.Second},
		{10, 2 * time.Hour, time.Hour},
		{40, 20 * time.Hour, time.Hour},
		{100, 23*time.Hour + 30*time.Minute, 30 * time.Minute}, // clamped to the end of the window
		{30, 24 * time.Hour, -1},
		{30, 25 * time.Hour, -1},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.attempts)+"@"+tc.now.String(), func(t *testing.T) {
			d := Delivery{Attempts: tc.attempts, CreatedAt: t0}
			now := t0.Add(tc.now)
			next, ok := w.nextAttempt(d, now)
			if tc.want < 0 {
				if ok {
					t.Fatalf("next attempt %v after the window", next)
				}
				return
			}
			if !ok || next.Sub(now) != tc.want {
				t.Fatalf("next attempt in %v (ok=%v), want %v", next.Sub(now), ok, tc.want)
			}
		})
	}
}

// TestWebhookRun drives the real loop and clock: Enqueue then Kick delivers well before
// the poll interval would.
func TestWebhookRun(t *testing.T) {
	rcv := newReceiver(t)
	w := NewWebhooks(WebhookDeps{Store: &memOutbox{}, Secrets: secrets{"int-1": secret}}, WebhookConfig{Policy: dev})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	defer func() {
		cancel()
		<-done
	}()
	time.Sleep(50 * time.Millisecond) // let Run reach its wait
	for i := range 3 {
		id := "r-" + strconv.Itoa(i)
		if err := w.Enqueue(ctx, "int-1", id, rcv.srv.URL, "signed"); err != nil {
			t.Fatal(err)
		}
		w.Kick()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rcv.seen()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	hits := rcv.seen()
	if len(hits) != 3 {
		t.Fatalf("receiver saw %d requests, want 3", len(hits))
	}
	for _, h := range hits {
		verify(t, h.header.Get(SignatureHeader), h.body, secret, time.Now())
	}
}

// TestWebhooksIndependentPerIntegrator: integrator B's receiver holds every request
// without answering; B's 64 webhooks take at most maxInFlightPerIntegrator connections,
// and integrator A's webhook is delivered while they are all still held.
func TestWebhooksIndependentPerIntegrator(t *testing.T) {
	release := make(chan struct{})
	var (
		mu            sync.Mutex
		held, maxHeld int
	)
	hole := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		held++
		maxHeld = max(maxHeld, held)
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		held--
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hole.Close()
	defer close(release)
	rcv := newReceiver(t)

	store := &memOutbox{}
	w := NewWebhooks(WebhookDeps{Store: store, Secrets: secrets{"int-a": secret, "int-b": secret}}, WebhookConfig{Policy: dev, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() {
		cancel()
		<-done
	}()
	for i := range 64 {
		if err := w.Enqueue(ctx, "int-b", "b-"+strconv.Itoa(i), hole.URL, "signed"); err != nil {
			t.Fatal(err)
		}
	}
	go func() { w.Run(ctx); close(done) }()
	heldNow := func() int { mu.Lock(); defer mu.Unlock(); return held }
	deadline := time.Now().Add(20 * time.Second)
	for heldNow() < maxInFlightPerIntegrator && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := heldNow(); n != maxInFlightPerIntegrator {
		t.Fatalf("B's receiver holds %d requests, want %d", n, maxInFlightPerIntegrator)
	}
	if err := w.Enqueue(ctx, "int-a", "a-1", rcv.srv.URL, "signed"); err != nil {
		t.Fatal(err)
	}
	w.Kick()
	for len(rcv.seen()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(rcv.seen()) != 1 {
		t.Fatal("integrator A's webhook waited for integrator B's silent receiver")
	}
	mu.Lock()
	defer mu.Unlock()
	if held != maxInFlightPerIntegrator || maxHeld != maxInFlightPerIntegrator {
		t.Fatalf("B's receiver held %d (at most %d) requests at once, want %d", held, maxHeld, maxInFlightPerIntegrator)
	}
}
