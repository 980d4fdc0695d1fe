package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SignatureHeader is the header carrying a webhook's signature:
// "t=UNIX,v1=HEX(HMAC-SHA256(secret, t + "." + body))", t in UNIX seconds, lowercase hex.
const SignatureHeader = "Paraphe-Signature"

// ErrNoDelivery is returned by an OutboxStore asked to record an attempt of a delivery
// it does not hold.
var ErrNoDelivery = errors.New("notify: no such webhook delivery")

// Delivery is one webhook in the outbox: the exact body to POST to URL on behalf of an
// integrator, and where its delivery stands.
type Delivery struct {
	ID           int64
	RequestID    string
	IntegratorID string
	URL          string
	// Body is the exact JSON sent, {"id":...,"status":...}; the signature covers these bytes.
	Body          []byte
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	DeliveredAt   *time.Time
	LastError     string
	LastStatus    int
}

// Attempt is one try at delivering a webhook.
type Attempt struct {
	DeliveryID int64
	At         time.Time
	// Status is the HTTP status answered, 0 when none came (connection refused, timeout).
	Status int
	// Error says why the attempt failed; empty when it succeeded.
	Error     string
	Delivered bool
	// NextAttemptAt is when the next try is due after a failure; nil after a success or
	// when the delivery was given up.
	NextAttemptAt *time.Time
}

// OutboxStore keeps webhook deliveries and their attempts, durably and shared by every
// replica.
type OutboxStore interface {
	// EnqueueWebhook stores a new delivery, due at d.NextAttemptAt. A request has one
	// final state and so one webhook: a second delivery for the same request is ignored.
	EnqueueWebhook(ctx context.Context, d Delivery) error
	// ClaimWebhooks leases up to limit due, undelivered, not-given-up deliveries for
	// lease, so that no other replica takes them, by pushing their next attempt to
	// now+lease; it returns them as claimed. Deliveries of the integrators in skip (those
	// with as many in flight as they may have) are left for later.
	ClaimWebhooks(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]Delivery, error)
	// RecordWebhookAttempt appends an attempt and updates its delivery: delivered when
	// a.Delivered, else due again at a.NextAttemptAt, or given up when that is nil. A
	// delivery already delivered or given up keeps its state; the attempt is still
	// appended. An unknown id gives ErrNoDelivery.
	RecordWebhookAttempt(ctx context.Context, id int64, a Attempt) error
	// WebhookAttempts lists the attempts of a request's webhook, oldest first.
	WebhookAttempts(ctx context.Context, requestID string) ([]Attempt, error)
}

// Secrets gives the webhook secret of an integrator (integrator.Service implements it).
type Secrets interface {
	WebhookSecret(ctx context.Context, integratorID string) (string, error)
}

// WebhookConfig tunes webhook delivery; zero fields take the documented defaults.
type WebhookConfig struct {
	// Policy restricts the addresses callbacks may reach, checked again at each attempt.
	Policy CallbackPolicy
	// Timeout bounds one attempt, connection to response headers and a little of the
	// body. Default 10 s: a receiver should answer at once and queue its own work.
	Timeout time.Duration
	// MaxAge is how long after the final state deliveries are retried. Default 24 h,
	// long enough to outlast an integrator's maintenance window or a weekend incident.
	MaxAge time.Duration
	// HTTPClient sends the webhooks; nil builds one whose dialer enforces Policy and
	// which follows no redirects and uses no proxy.
	HTTPClient *http.Client
}

// Delivery tuning.
const (
	// webhookBatch is how many deliveries one replica claims at once. Each is sent on
	// its own, as soon as claimed: no delivery waits for another to end.
	webhookBatch = 16
	// maxInFlightPerIntegrator caps one integrator's deliveries being sent at once by a
	// replica. A receiver that never answers then holds 8 connections for one Timeout
	// each (0.8 deliveries a second at 10 s), and every other integrator's webhooks go
	// out beside it at once, well within the contract's 30 s.
	maxInFlightPerIntegrator = 8
	// maxInFlight caps all deliveries being sent at once by a replica (goroutines and
	// connections): 16 integrators with black-hole receivers still leave room.
	maxInFlight = 256
	// backoffFirst and backoffMax shape the retry delays: 5 s, 10 s, 20 s, ... 1 h, about
	// 30 attempts over 24 h.
	backoffFirst = 5 * time.Second
	backoffMax   = time.Hour
	// pollEvery is how often Run looks for due deliveries made by other replicas or
	// waiting for a retry; the contract wants a webhook within 30 s of the final state.
	pollEvery = time.Second
	// maxErrorLen bounds the error text kept per attempt.
	maxErrorLen = 300
)

// Webhooks delivers integrator webhooks from a persistent outbox: at least once, and
// exactly once unless a replica dies (or loses its database) between a receiver's
// answer and recording it, so receivers should treat the request id as idempotency key.
// Webhooks is safe for concurrent use.
type Webhooks struct {
	store   OutboxStore
	secrets Secrets
	metrics WebhookMetrics
	now     func() time.Time
	cfg     WebhookConfig
	log     *slog.Logger
	client  *http.Client
	kick    chan struct{}

	mu sync.Mutex
	// busy counts, per integrator, the deliveries being sent; queued holds claimed
	// deliveries waiting for one of their integrator's slots (at most a claim's worth:
	// an integrator with a queue is skipped by the next claims). total counts both.
	busy   map[string]int
	queued map[string][]Delivery
	total  int
}

// Defaults of WebhookConfig (see WebhookConfig.withDefaults).
const (
	// DefaultWebhookTimeout bounds one delivery attempt.
	DefaultWebhookTimeout = 10 * time.Second
	// DefaultWebhookMaxAge is how long a delivery is retried.
	DefaultWebhookMaxAge = 24 * time.Hour
)

// withDefaults fills the zero fields of c: the one place the webhooks' defaults are set.
func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Timeout <= 0 {
		c.Timeout = DefaultWebhookTimeout
	}
	if c.MaxAge <= 0 {
		c.MaxAge = DefaultWebhookMaxAge
	}
	if c.HTTPClient == nil {
		c.HTTPClient = newWebhookClient(c.Policy, c.Timeout)
	}
	return c
}

// WebhookMetrics counts delivery outcomes; nil means none.
type WebhookMetrics interface {
	// Webhook counts one attempt's outcome: "delivered", "retry" or "given_up".
	Webhook(outcome string)
}

type noWebhookMetrics struct{}

func (noWebhookMetrics) Webhook(string) {}

// WebhookDeps are the Webhooks' collaborators.
type WebhookDeps struct {
	Store   OutboxStore
	Secrets Secrets
	// Metrics counts the outcome of each attempt; nil: none.
	Metrics WebhookMetrics
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives delivery failures; nil: discarded.
	Log *slog.Logger
}

// NewWebhooks returns a Webhooks; call Run to start delivering.
func NewWebhooks(d WebhookDeps, cfg WebhookConfig) *Webhooks {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Metrics == nil {
		d.Metrics = noWebhookMetrics{}
	}
	cfg = cfg.withDefaults()
	return &Webhooks{store: d.Store, secrets: d.Secrets, metrics: d.Metrics, now: d.Now, cfg: cfg, log: d.Log, client: cfg.HTTPClient,
		kick: make(chan struct{}, 1), busy: map[string]int{}, queued: map[string][]Delivery{}}
}

// newWebhookClient builds the HTTP client of webhooks: its dialer refuses addresses the
// policy does not allow (after resolution, so DNS rebinding cannot reach them), it uses
// no proxy (the check must apply to the real destination), and it follows no redirect.
func newWebhookClient(p CallbackPolicy, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.dialControl}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// lease is how long a claimed delivery stays hidden from other replicas: longer than
// an attempt plus recording it, short enough that a crashed replica's claims come back
// soon.
func (w *Webhooks) lease() time.Duration { return 2*w.cfg.Timeout + 30*time.Second }

// Enqueue stores the webhook {"id":requestID,"status":status} of a request that reached
// a final state, due now, and wakes this process's Run (Kick) to send it at once; it
// does nothing when url is empty. The stored delivery (the outbox) is what counts: any
// replica's Run sends it if this process stops.
func (w *Webhooks) Enqueue(ctx context.Context, integratorID, requestID, url, status string) error {
	if url == "" {
		return nil
	}
	body, err := json.Marshal(struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}{requestID, status})
	if err != nil {
		return fmt.Errorf("notify: webhook body: %w", err)
	}
	now := w.now().UTC()
	d := Delivery{RequestID: requestID, IntegratorID: integratorID, URL: url, Body: body, NextAttemptAt: now, CreatedAt: now}
	if err := w.store.EnqueueWebhook(ctx, d); err != nil {
		return fmt.Errorf("notify: enqueue webhook: %w", err)
	}
	w.Kick()
	return nil
}

// Kick wakes Run to look for due deliveries now. It never blocks.
func (w *Webhooks) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Attempts lists the delivery attempts of a request's webhook, oldest first.
func (w *Webhooks) Attempts(ctx context.Context, requestID string) ([]Attempt, error) {
	a, err := w.store.WebhookAttempts(ctx, requestID)
	if err != nil {
		return nil, fmt.Errorf("notify: webhook attempts: %w", err)
	}
	return a, nil
}

// Run claims and sends due deliveries until ctx ends, looking every second, whenever
// Kick is called and whenever a delivery ends. Each delivery is sent on its own: a slow
// or silent receiver holds only its own integrator's slots (maxInFlightPerIntegrator),
// never another integrator's webhooks. Several Run loops, in one process or in replicas
// sharing the store, never send the same delivery at the same time. Run returns once
// the deliveries it started are recorded.
func (w *Webhooks) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		if _, err := w.claimDue(ctx, &wg); err != nil && ctx.Err() == nil {
			w.log.Error("webhook claim failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// claimDue claims due deliveries while there is room for them and starts each on its
// own goroutine (in wg); it returns how many it claimed.
func (w *Webhooks) claimDue(ctx context.Context, wg *sync.WaitGroup) (int, error) {
	claimed := 0
	for ctx.Err() == nil {
		limit, skip := w.room()
		if limit == 0 {
			break
		}
		ds, err := w.store.ClaimWebhooks(ctx, w.now().UTC(), limit, w.lease(), skip)
		if err != nil {
			return claimed, fmt.Errorf("notify: claim webhooks: %w", err)
		}
		for _, d := range ds {
			w.start(ctx, wg, d)
		}
		claimed += len(ds)
		if len(ds) < limit {
			break
		}
	}
	return claimed, nil
}

// room is how many deliveries may be claimed now, and the integrators whose slots are
// all taken (or who have claimed deliveries waiting for one).
func (w *Webhooks) room() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var skip []string
	for id, n := range w.busy {
		if n+len(w.queued[id]) >= maxInFlightPerIntegrator {
			skip = append(skip, id)
		}
	}
	return min(webhookBatch, maxInFlight-w.total), skip
}

// start sends d on a goroutine of its own when its integrator has a free slot, else
// queues it for the next free one.
func (w *Webhooks) start(ctx context.Context, wg *sync.WaitGroup, d Delivery) {
	w.mu.Lock()
	w.total++
	if w.busy[d.IntegratorID] >= maxInFlightPerIntegrator {
		w.queued[d.IntegratorID] = append(w.queued[d.IntegratorID], d)
		w.mu.Unlock()
		return
	}
	w.busy[d.IntegratorID]++
	w.mu.Unlock()
	wg.Go(func() { w.work(ctx, d) })
}

// work delivers d, then the deliveries queued for the same integrator, in one slot. A
// queue left at shutdown stays leased in the store and is claimed again after the lease.
func (w *Webhooks) work(ctx context.Context, d Delivery) {
	for {
		w.deliver(ctx, d)
		w.mu.Lock()
		w.total--
		id := d.IntegratorID
		if q := w.queued[id]; len(q) > 0 && ctx.Err() == nil {
			d = q[0]
			if len(q) == 1 {
				delete(w.queued, id)
			} else {
				w.queued[id] = q[1:]
			}
			w.mu.Unlock()
			continue
		}
		if w.busy[id]--; w.busy[id] <= 0 {
			delete(w.busy, id)
		}
		w.mu.Unlock()
		w.Kick() // a slot is free: look for more
		return
	}
}

// deliver makes one attempt and records it. The outcome is recorded even when ctx ended
// meanwhile (shutdown): a delivered webhook left unrecorded would be sent again.
func (w *Webhooks) deliver(ctx context.Context, d Delivery) {
	status, permanent, err := w.send(ctx, d)
	now := w.now().UTC()
	a := Attempt{DeliveryID: d.ID, At: now, Status: status, Delivered: err == nil}
	if err != nil {
		a.Error = attemptError(status, permanent, err)
		if next, ok := w.nextAttempt(d, now); ok && !permanent {
			a.NextAttemptAt = &next
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case a.Delivered:
		w.metrics.Webhook("delivered")
	case a.NextAttemptAt == nil:
		w.metrics.Webhook("given_up")
	default:
		w.metrics.Webhook("retry")
	}
	if rerr := w.store.RecordWebhookAttempt(rctx, d.ID, a); rerr != nil {
		w.log.Error("webhook attempt not recorded", "request", d.RequestID, "delivery", d.ID, "err", rerr)
	}
	switch {
	case a.Delivered:
		w.log.Info("webhook delivered", "request", d.RequestID, "delivery", d.ID, "status", status, "attempt", d.Attempts+1)
	case a.NextAttemptAt != nil:
		w.log.Warn("webhook attempt failed", "request", d.RequestID, "delivery", d.ID, "status", status,
			"attempt", d.Attempts+1, "err", err, "next", *a.NextAttemptAt)
	default:
		w.log.Error("webhook given up", "request", d.RequestID, "delivery", d.ID, "status", status,
			"attempts", d.Attempts+1, "err", err)
	}
}

// Attempt errors as the integrator reads them (GET .../webhook-deliveries). They say no
// more than these words: a callback URL must not become a way to scan ports (refused,
// filtered, open but not HTTP, TLS or not) or resolve names on the operator's network.
// The full error goes to the operator's log.
const (
	ErrTextUnreachable = "unreachable"
	ErrTextNotAllowed  = "callback URL not allowed"
	ErrTextInternal    = "not sent: internal error"
)

// attemptError is the text kept for a failed attempt: the receiver's status when it
// answered, else one of the ErrText words.
func attemptError(status int, permanent bool, err error) string {
	switch {
	case status != 0:
		return truncate(fmt.Sprintf("receiver answered %d", status), maxErrorLen)
	case permanent:
		return ErrTextNotAllowed
	case errors.Is(err, errSecret):
		return ErrTextInternal
	default:
		return ErrTextUnreachable
	}
}

// errSecret marks a failure to get the integrator's webhook secret (nothing was sent).
var errSecret = errors.New("notify: webhook secret")

// nextAttempt returns when to retry after the attempt number d.Attempts+1 failed at now:
// backoffFirst doubled per earlier attempt, capped at backoffMax, and never after the
// retry window (CreatedAt+MaxAge), whose end gets one last attempt. ok is false once
// the window is over.
func (w *Webhooks) nextAttempt(d Delivery, now time.Time) (time.Time, bool) {
	deadline := d.CreatedAt.Add(w.cfg.MaxAge)
	if !now.Before(deadline) {
		return time.Time{}, false
	}
	delay := backoffFirst
	for i := 0; i < d.Attempts && delay < backoffMax; i++ {
		delay *= 2
	}
	delay = min(delay, backoffMax)
	next := now.Add(delay)
	if next.After(deadline) {
		next = deadline
	}
	return next.UTC(), true
}

// send POSTs the delivery once. It returns the HTTP status (0 when none came), whether
// a failure is permanent (the URL itself is refused by the policy), and nil only for a
// 2xx answer.
func (w *Webhooks) send(ctx context.Context, d Delivery) (status int, permanent bool, err error) {
	if err := ValidateCallbackURL(d.URL, w.cfg.Policy); err != nil {
		return 0, true, err
	}
	secret, err := w.secrets.WebhookSecret(ctx, d.IntegratorID)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %w", errSecret, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, true, fmt.Errorf("%w: %w", ErrBadCallbackURL, stripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paraphe-webhook/1")
	req.Header.Set(SignatureHeader, Sign(secret, w.now(), d.Body))
	resp, err := w.client.Do(req)
	if err != nil {
		// The error text names the URL, whose query may hold the integrator's token.
		return 0, false, fmt.Errorf("notify: webhook: %w", stripURL(err))
	}
	// Read a little so the connection can be reused; the answer's content is ignored.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, false, fmt.Errorf("notify: webhook: receiver answered %d", resp.StatusCode)
	}
	return resp.StatusCode, false, nil
}

// Sign returns the Paraphe-Signature header value of body sent at t with secret:
// "t=UNIX,v1=HEX(HMAC-SHA256(secret, UNIX + "." + body))", lowercase hex.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// stripURL drops the URL that net/http puts in its errors.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// truncate cuts s to at most n bytes of valid UTF-8 (PostgreSQL refuses invalid text).
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}
