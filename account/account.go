// Package account owns what happens to a signer's account as a whole: blocking (a lost
// phone, as in itsme), re-activation (new device, new key, new certificate), and the GDPR
// rights (export, erasure). It orchestrates the device and signer services and the store;
// every change is audited.
//
// Service is safe for concurrent use.
package account

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/errkind"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/signer"
)

// Store is what account changes need from storage.
type Store interface {
	User(ctx context.Context, id string) (*device.User, error)
	UsersByPhone(ctx context.Context, phone string) ([]*device.User, error)
	Block(ctx context.Context, userID string, at time.Time) (AccountChange, error)
	Reactivate(ctx context.Context, userID string, act device.Activation, at time.Time) (AccountChange, error)
}

// Devices makes activation codes and drops replaced keys.
type Devices interface {
	NewActivation(userID string) (device.ActivationCode, device.Activation, error)
	DropKey(ctx context.Context, ref hsm.KeyRef)
}

// Requests cancels a user's pending requests.
type Requests interface {
	CancelPending(ctx context.Context, ids []string, reason, actor string) error
}

// Auditor records audit events.
type Auditor interface {
	Record(ctx context.Context, ev audit.Event) (audit.Entry, error)
}

// Service changes accounts.
type Service struct {
	store    Store
	devices  Devices
	requests Requests
	audit    Auditor
	now      func() time.Time
	log      *slog.Logger
	// publicBlocks holds the public block requests waiting for RunPublicBlocks.
	publicBlocks chan publicBlock
}

// publicBlock is one request of the public block page.
type publicBlock struct{ phone, givenName string }

// publicBlockQueue bounds the public block requests waiting to be run. Each runs in
// milliseconds and the endpoint is limited per client address (a few a second), so 256
// only fill up under a flood from many addresses; the endpoint then answers 503 to
// everyone alike, which tells nobody whether an account matched.
const publicBlockQueue = 256

// ErrBlockQueueFull is returned by RequestBlockByPhone when publicBlockQueue requests
// are waiting already.
var ErrBlockQueueFull = errkind.New(errkind.Unavailable, "account: too many block requests waiting; retry in a moment")

// Deps are the Service's collaborators. The service has nothing to tune.
type Deps struct {
	Store    Store
	Devices  Devices
	Requests Requests
	Audit    Auditor
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives what goes wrong; nil: slog.Default().
	Log *slog.Logger
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{store: d.Store, devices: d.Devices, requests: d.Requests, audit: d.Audit, now: d.Now, log: d.Log,
		publicBlocks: make(chan publicBlock, publicBlockQueue)}
}

// RequestBlockByPhone queues a block of the accounts matching phone and givenName (see
// BlockByPhone) for RunPublicBlocks and returns at once. The public endpoint answers
// then, in the same time whether or not an account matches: the work of a block
// (revocations, cancellations, audit seals in the HSM) happens after the answer, so its
// duration cannot tell a caller that a phone number belongs to a signer.
func (s *Service) RequestBlockByPhone(phone, givenName string) error {
	select {
	case s.publicBlocks <- publicBlock{phone: phone, givenName: givenName}:
		return nil
	default:
		return ErrBlockQueueFull
	}
}

// RunPublicBlocks runs the queued public block requests, one at a time, until ctx ends.
// Each gets 30 seconds; a failure is logged (the caller had its answer already).
func (s *Service) RunPublicBlocks(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-s.publicBlocks:
			bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			n, err := s.BlockByPhone(bctx, b.phone, b.givenName)
			cancel()
			if err != nil {
				s.log.Error("public block failed", "matched", n, "err", err)
				continue
			}
			s.log.Info("public block", "matched", n)
		}
	}
}

// Block blocks a user: devices revoked, pending requests cancelled, new requests refused
// until re-activation. actor is "operator" or "public" (the lost-phone page).
func (s *Service) Block(ctx context.Context, userID, actor string) error {
	if err := s.refuseErased(ctx, userID); err != nil {
		return err
	}
	ch, err := s.store.Block(ctx, userID, s.now())
	if err != nil {
		return fmt.Errorf("account: block: %w", err)
	}
	if err := s.record(ctx, audit.Event{Type: audit.UserBlocked, Actor: actor, Subject: userID}); err != nil {
		return err
	}
	for _, d := range ch.RevokedDevices {
		_ = s.record(ctx, audit.Event{Type: audit.DeviceRevoked, Actor: actor, Subject: d, Detail: map[string]string{"user": userID}})
	}
	return s.requests.CancelPending(ctx, ch.PendingRequests, signer.ReasonSignerGone, actor)
}

// BlockByPhone blocks every account whose phone number and given name match (the given
// name case- and accent-insensitively, as a person types it). It reports how many
// matched, for the log only: the public answer never says.
func (s *Service) BlockByPhone(ctx context.Context, phone, givenName string) (int, error) {
	us, err := s.store.UsersByPhone(ctx, strings.TrimSpace(phone))
	if err != nil {
		return 0, fmt.Errorf("account: lookup: %w", err)
	}
	n := 0
	for _, u := range us {
		if u.Status == device.UserBlocked || !sameName(u.GivenName, givenName) {
			continue
		}
		if err := s.Block(ctx, u.ID, "public"); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

var folder = cases.Fold()

// sameName compares names case-insensitively after Unicode normalization.
func sameName(a, b string) bool {
	f := func(s string) string { return folder.String(norm.NFC.String(strings.Join(strings.Fields(s), " "))) }
	return a != "" && f(a) == f(b)
}

// Reactivate gives a user a new activation code: the old device stops working at once,
// pending requests are cancelled, the old certificate is revoked and the old signing key
// destroyed; the next enrollment brings a new device key, signing key and certificate.
func (s *Service) Reactivate(ctx context.Context, userID string) (device.ActivationCode, error) {
	if err := s.refuseErased(ctx, userID); err != nil {
		return device.ActivationCode{}, err
	}
	code, act, err := s.devices.NewActivation(userID)
	if err != nil {
		return device.ActivationCode{}, err
	}
	ch, err := s.store.Reactivate(ctx, userID, act, s.now())
	if err != nil {
		return device.ActivationCode{}, fmt.Errorf("account: reactivate: %w", err)
	}
	if err := s.record(ctx, audit.Event{Type: audit.UserReactivated, Actor: audit.Operator, Subject: userID}); err != nil {
		return device.ActivationCode{}, err
	}
	for _, d := range ch.RevokedDevices {
		_ = s.record(ctx, audit.Event{Type: audit.DeviceRevoked, Actor: audit.Operator, Subject: d, Detail: map[string]string{"user": userID}})
	}
	for _, serial := range ch.RevokedSerials {
		_ = s.record(ctx, audit.Event{Type: audit.CertificateRevoked, Actor: audit.Operator, Subject: userID,
			Detail: map[string]string{"serial": serial, "reason": "superseded"}})
	}
	if err := s.requests.CancelPending(ctx, ch.PendingRequests, signer.ReasonReactivated, audit.Operator); err != nil {
		return device.ActivationCode{}, err
	}
	s.devices.DropKey(ctx, ch.OldKeyRef)
	return code, nil
}

func (s *Service) record(ctx context.Context, ev audit.Event) error {
	if _, err := s.audit.Record(ctx, ev); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return nil
}
