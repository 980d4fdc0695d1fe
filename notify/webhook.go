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
	// now+lease; it returns them as claimed.
	ClaimWebhooks(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]Delivery, error)
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
	// Now is the clock; default time.Now.
	Now func() time.Time
	// HTTPClient sends the webhooks; nil builds one whose dialer enforces Policy and
	// which follows no redirects and uses no proxy.
	HTTPClient *http.Client
}

// Delivery tuning.
const (
	// webhookBatch is how many deliveries one replica claims at once; they are sent in
	// parallel, so a batch takes about one Timeout at worst.
	webhookBatch = 16
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
	cfg     WebhookConfig
	log     *slog.Logger
	client  *http.Client
	kick    chan struct{}
}

// NewWebhooks returns a Webhooks; call Run to start delivering.
func NewWebhooks(store OutboxStore, secrets Secrets, cfg WebhookConfig, log *slog.Logger) *Webhooks {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = newWebhookClient(cfg.Policy, cfg.Timeout)
	}
	return &Webhooks{store: store, secrets: secrets, cfg: cfg, log: log, client: client, kick: make(chan struct{}, 1)}
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
// a final state, due now; it does nothing when url is empty. Call Kick afterwards to
// send it at once.
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
	now := w.cfg.Now().UTC()
	d := Delivery{RequestID: requestID, IntegratorID: integratorID, URL: url, Body: body, NextAttemptAt: now, CreatedAt: now}
	if err := w.store.EnqueueWebhook(ctx, d); err != nil {
		return fmt.Errorf("notify: enqueue webhook: %w", err)
	}
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

// Run claims and sends due deliveries until ctx ends, looking every second and
// whenever Kick is called. Several Run loops, in one process or in replicas sharing the
// store, never send the same delivery at the same time.
func (w *Webhooks) Run(ctx context.Context) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			n, err := w.deliverDue(ctx)
			if err != nil {
				if ctx.Err() == nil {
					w.log.Error("webhook claim failed", "err", err)
				}
				break
			}
			if n < webhookBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w.kick:
		}
	}
}

// deliverDue claims one batch of due deliveries, sends them in parallel and records the
// outcomes; it returns how many it claimed.
func (w *Webhooks) deliverDue(ctx context.Context) (int, error) {
	ds, err := w.store.ClaimWebhooks(ctx, w.cfg.Now().UTC(), webhookBatch, w.lease())
	if err != nil {
		return 0, fmt.Errorf("notify: claim webhooks: %w", err)
	}
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() { w.deliver(ctx, d) })
	}
	wg.Wait()
	return len(ds), nil
}

// deliver makes one attempt and records it. The outcome is recorded even when ctx ended
// meanwhile (shutdown): a delivered webhook left unrecorded would be sent again.
func (w *Webhooks) deliver(ctx context.Context, d Delivery) {
	status, permanent, err := w.send(ctx, d)
	now := w.cfg.Now().UTC()
	a := Attempt{DeliveryID: d.ID, At: now, Status: status, Delivered: err == nil}
	if err != nil {
		a.Error = truncate(err.Error(), maxErrorLen)
		if next, ok := w.nextAttempt(d, now); ok && !permanent {
			a.NextAttemptAt = &next
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := w.store.RecordWebhookAttempt(rctx, d.ID, a); rerr != nil {
		w.log.Error("webhook attempt not recorded", "request", d.RequestID, "delivery", d.ID, "err", rerr)
	}
	switch {
	case a.Delivered:
		w.log.Info("webhook delivered", "request", d.RequestID, "delivery", d.ID, "status", status, "attempt", d.Attempts+1)
	case a.NextAttemptAt != nil:
		w.log.Warn("webhook attempt failed", "request", d.RequestID, "delivery", d.ID, "status", status,
			"attempt", d.Attempts+1, "err", a.Error, "next", *a.NextAttemptAt)
	default:
		w.log.Error("webhook given up", "request", d.RequestID, "delivery", d.ID, "status", status,
			"attempts", d.Attempts+1, "err", a.Error)
	}
}

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
		return 0, false, fmt.Errorf("notify: webhook secret: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return 0, true, fmt.Errorf("%w: %w", ErrBadCallbackURL, stripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "paraphe-webhook/1")
	req.Header.Set(SignatureHeader, Sign(secret, w.cfg.Now(), d.Body))
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
