package webpush

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/paraphe/paraphe/notify"
)

// Store keeps the subscriptions.
type Store interface {
	// SavePushSubscription adds a subscription, or replaces the one with the same
	// endpoint (a browser that subscribes again keeps its endpoint, with new keys).
	SavePushSubscription(ctx context.Context, s Subscription) error
	// PushSubscriptions lists the user's subscriptions whose device is still active.
	PushSubscriptions(ctx context.Context, userID string) ([]Subscription, error)
	// DeletePushSubscription removes the subscription of that endpoint.
	DeletePushSubscription(ctx context.Context, endpoint string) error
}

// MaxQueue bounds the events waiting to be pushed.
const MaxQueue = 4096

// workers deliver at once: a slow push service must not hold back the others.
const workers = 4

// Defaults of Config (see Config.withDefaults).
const (
	// DefaultSubject is the VAPID sub claim when the operator gives none.
	DefaultSubject = "mailto:operator@paraphe.invalid"
	// DefaultTTL is how long a push service keeps an undelivered message: a request
	// expires in minutes (5 by default), so a later delivery is of no use.
	DefaultTTL = 300 * time.Second
	// DefaultTimeout bounds one delivery.
	DefaultTimeout = 10 * time.Second
)

// Config tunes the sender.
type Config struct {
	// Subject is the VAPID sub claim: a mailto: or https: URL of the operator.
	Subject string
	// TTL is how long a push service keeps an undelivered message (DefaultTTL).
	TTL time.Duration
	// Policy says which networks endpoints may be on.
	Policy notify.CallbackPolicy
	// Timeout bounds one delivery (DefaultTimeout).
	Timeout time.Duration
	// Client sends the messages; default: one whose dialer applies Policy.
	Client *http.Client
}

// withDefaults fills the zero fields of c: the one place the sender's defaults are set.
func (c Config) withDefaults() Config {
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.TTL <= 0 {
		c.TTL = DefaultTTL
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Client == nil {
		c.Client = notify.NewPolicyClient(c.Policy, c.Timeout)
	}
	return c
}

// Deps are the sender's collaborators.
type Deps struct {
	Store Store
	// Key is the VAPID key (in the HSM).
	Key crypto.Signer
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives delivery failures; nil: discarded.
	Log *slog.Logger
}

// Sender pushes new requests to their signer's browsers. It is a notify.Pusher, safe
// for concurrent use.
type Sender struct {
	store Store
	key   crypto.Signer
	now   func() time.Time
	cfg   Config
	log   *slog.Logger
	queue chan notify.Event
}

var _ notify.Pusher = (*Sender)(nil)

// NewSender returns a sender; call Run to start delivering.
func NewSender(d Deps, cfg Config) (*Sender, error) {
	if d.Key == nil {
		return nil, fmt.Errorf("webpush: no VAPID key")
	}
	if _, err := PublicKeyBytes(d.Key.Public()); err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Sender{store: d.Store, key: d.Key, now: d.Now, cfg: cfg.withDefaults(), log: d.Log, queue: make(chan notify.Event, MaxQueue)}, nil
}

// PublicKey returns the VAPID public key as an uncompressed point.
func (s *Sender) PublicKey() []byte {
	b, _ := PublicKeyBytes(s.key.Public())
	return b
}

// Push queues an event; only new (pending) requests are pushed. It never blocks.
func (s *Sender) Push(ev notify.Event) {
	if ev.Status != "pending" {
		return
	}
	select {
	case s.queue <- ev:
	default:
		s.log.Warn("webpush: queue full, message dropped", "requestId", ev.RequestID)
	}
}

// Run delivers queued events until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case ev := <-s.queue:
					s.deliver(ctx, ev)
				}
			}
		})
	}
	wg.Wait()
}

// message is the plaintext of a push: ids and status only.
type message struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (s *Sender) deliver(ctx context.Context, ev notify.Event) {
	subs, err := s.store.PushSubscriptions(ctx, ev.UserID)
	if err != nil {
		s.log.Warn("webpush: subscriptions", "requestId", ev.RequestID, "err", err)
		return
	}
	body, _ := json.Marshal(message{ID: ev.RequestID, Status: ev.Status})
	for _, sub := range subs {
		gone, err := s.Send(ctx, sub, body)
		if gone {
			if derr := s.store.DeletePushSubscription(context.WithoutCancel(ctx), sub.Endpoint); derr != nil {
				s.log.Warn("webpush: dropping a gone subscription", "err", derr)
			} else {
				s.log.Info("webpush: subscription gone, dropped", "deviceId", sub.DeviceID)
			}
			continue
		}
		if err != nil {
			s.log.Warn("webpush: not delivered", "requestId", ev.RequestID, "deviceId", sub.DeviceID, "err", err)
		}
	}
}

// Send encrypts plaintext for sub and POSTs it to its endpoint. gone reports that the
// push service no longer knows the subscription (404 or 410).
func (s *Sender) Send(ctx context.Context, sub Subscription, plaintext []byte) (gone bool, err error) {
	if err := CheckEndpoint(sub.Endpoint, s.cfg.Policy); err != nil {
		return false, err
	}
	body, err := Encrypt(plaintext, sub.P256DH, sub.Auth)
	if err != nil {
		return false, err
	}
	auth, err := Authorization(s.key, sub.Endpoint, s.cfg.Subject, s.now())
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("TTL", strconv.Itoa(int(s.cfg.TTL/time.Second)))
	req.Header.Set("Urgency", "high") // the signer is waiting at the integrator's screen
	req.Header.Set("Authorization", auth)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return false, fmt.Errorf("webpush: %w", stripURL(err))
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return true, nil
	case resp.StatusCode/100 != 2:
		return false, fmt.Errorf("webpush: push service answered HTTP %d", resp.StatusCode)
	}
	return false, nil
}

// stripURL keeps endpoint URLs (capabilities of the browser) out of logged errors.
func stripURL(err error) error {
	if ue, ok := err.(interface{ Unwrap() error }); ok {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

func parsePoint(b []byte) (*ecdh.PublicKey, error) { return ecdh.P256().NewPublicKey(b) }

// Subscribe registers a browser's subscription (its PushSubscription.toJSON()) for the
// device's user. Errors wrap ErrInvalid for a subscription that is refused.
func (s *Sender) Subscribe(ctx context.Context, userID, deviceID string, body []byte) error {
	sub, err := ParseSubscription(body, s.cfg.Policy)
	if err != nil {
		return err
	}
	sub.UserID, sub.DeviceID, sub.CreatedAt = userID, deviceID, s.now().UTC()
	if err := s.store.SavePushSubscription(ctx, sub); err != nil {
		return fmt.Errorf("webpush: save subscription: %w", err)
	}
	return nil
}
