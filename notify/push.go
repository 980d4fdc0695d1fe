package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// PushConfig configures the push gateway hook: how a real deployment reaches phones
// through APNs or FCM. Each device notification is POSTed to URL, signed like webhooks
// with Secret, and retried.
type PushConfig struct {
	URL     string
	Secret  string
	Timeout time.Duration // per attempt; default 5 s
	// Attempts per notification (default 4: at once, then after 1, 2 and 4 seconds). A
	// push is a convenience: the device also has its event stream and polling, so a
	// gateway that stays down loses pushes, never requests.
	Attempts int
	Client   *http.Client
}

// pushQueue bounds the notifications waiting for the gateway; past it new ones are
// dropped (and logged) rather than holding memory or blocking signing.
const pushQueue = 4096

// PushGateway forwards events to the gateway from a bounded queue. It is safe for
// concurrent use.
type PushGateway struct {
	cfg   PushConfig
	queue chan Event
	log   *slog.Logger
}

// withDefaults fills the zero fields of c: the one place the gateway's defaults are set.
func (c PushConfig) withDefaults() PushConfig {
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Attempts == 0 {
		c.Attempts = 4
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return c
}

// PushDeps are the PushGateway's collaborators.
type PushDeps struct {
	// Log receives the notifications dropped or not delivered; nil: slog.Default().
	Log *slog.Logger
}

// NewPushGateway returns a gateway hook; call Run to start delivering.
func NewPushGateway(d PushDeps, cfg PushConfig) (*PushGateway, error) {
	if err := ValidateCallbackURL(cfg.URL, CallbackPolicy{AllowLoopback: true, AllowPrivate: true}); err != nil {
		return nil, fmt.Errorf("notify: push gateway: %w", err)
	}
	if cfg.Secret == "" {
		return nil, fmt.Errorf("notify: push gateway needs a secret")
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &PushGateway{cfg: cfg.withDefaults(), queue: make(chan Event, pushQueue), log: d.Log}, nil
}

// Push queues an event; it never blocks.
func (p *PushGateway) Push(ev Event) {
	select {
	case p.queue <- ev:
	default:
		p.log.Warn("push gateway queue full, notification dropped", "requestId", ev.RequestID)
	}
}

type pushBody struct {
	UserID    string    `json:"userId"`
	RequestID string    `json:"requestId"`
	Status    string    `json:"status"`
	EventID   int64     `json:"eventId"`
	At        time.Time `json:"at"`
}

// Run delivers queued notifications until ctx ends.
func (p *PushGateway) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-p.queue:
			p.deliver(ctx, ev)
		}
	}
}

func (p *PushGateway) deliver(ctx context.Context, ev Event) {
	body, _ := json.Marshal(pushBody{UserID: ev.UserID, RequestID: ev.RequestID, Status: ev.Status, EventID: ev.ID, At: ev.At})
	wait := time.Second
	for attempt := 1; attempt <= p.cfg.Attempts; attempt++ {
		err := p.post(ctx, body)
		if err == nil {
			return
		}
		if attempt == p.cfg.Attempts || ctx.Err() != nil {
			p.log.Warn("push gateway: notification not delivered", "requestId", ev.RequestID, "attempts", attempt, "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (p *PushGateway) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, Sign(p.cfg.Secret, time.Now(), body))
	resp, err := p.cfg.Client.Do(req)
	if err != nil {
		return stripURL(err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("gateway answered HTTP %d", resp.StatusCode)
	}
	return nil
}
