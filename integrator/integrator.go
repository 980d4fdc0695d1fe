// Package integrator owns the integrators (the notaries, HR platforms and signing products
// that call the API): their creation, API keys and webhook secrets.
//
// API keys are random 256-bit tokens shown once and stored as SHA-256 hashes; a hash of a
// token this long cannot be reversed, so no slow password hash is needed. Webhook secrets
// are not stored at all: they are HMAC-SHA256 values computed inside the HSM over the
// integrator id, so the same secret can be recomputed to sign each webhook.
//
// Service is safe for concurrent use.
package integrator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/errkind"
)

// Integrator is an API client.
type Integrator struct {
	ID         string
	Name       string
	APIKeyHash []byte
	CreatedAt  time.Time
	// RedirectURIs are where the OAuth 2.0 authorization endpoint (CSC) may send the
	// signer's browser back; matched exactly, never by prefix.
	RedirectURIs []string
}

// Errors callers branch on.
var (
	ErrInvalid         = errkind.New(errkind.Invalid, "integrator: invalid input")
	ErrUnauthenticated = errkind.New(errkind.Unauthenticated, "integrator: missing or unknown API key")
	ErrNotFound        = errkind.New(errkind.NotFound, "integrator: not found")
)

// Store persists integrators.
type Store interface {
	CreateIntegrator(ctx context.Context, in *Integrator) error
	IntegratorByKeyHash(ctx context.Context, hash []byte) (*Integrator, error) // ErrNotFound
	Integrator(ctx context.Context, id string) (*Integrator, error)            // ErrNotFound
}

// MACer computes HMAC-SHA256 inside the HSM.
type MACer interface {
	HMAC(ctx context.Context, label string, data []byte) ([]byte, error)
}

// Auditor records audit events.
type Auditor interface {
	Record(ctx context.Context, ev audit.Event) (audit.Entry, error)
}

// WebhookKeyLabel is the HSM secret key webhook secrets derive from.
const WebhookKeyLabel = "paraphe-webhook-secrets"

// Service manages integrators.
type Service struct {
	store Store
	mac   MACer
	audit Auditor
	now   func() time.Time
}

// Deps are the Service's collaborators. The service has nothing to tune.
type Deps struct {
	Store Store
	// MAC derives webhook secrets (the HSM secret key WebhookKeyLabel).
	MAC   MACer
	Audit Auditor
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{store: d.Store, mac: d.MAC, audit: d.Audit, now: d.Now}
}

// Created is what Add returns once: the secrets in clear.
type Created struct {
	ID            string
	Name          string
	APIKey        string
	WebhookSecret string
}

// keyPrefix marks Paraphe API keys so that secret scanners can find leaked ones.
const keyPrefix = "pk_"

// MaxRedirectURIs bounds the redirect URIs of one integrator: a product has a handful
// of deployments; more is a configuration mistake.
const MaxRedirectURIs = 20

// CheckRedirectURI accepts an absolute http(s) URI without fragment, of at most 2048
// bytes (RFC 6749 §3.1.2).
func CheckRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || len(raw) > 2048 || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" ||
		strings.ContainsFunc(raw, func(r rune) bool { return r <= 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: redirect URI %q must be an absolute http(s) URI without fragment, of at most 2048 bytes", ErrInvalid, raw)
	}
	return nil
}

// Add creates an integrator, with the redirect URIs its OAuth 2.0 client may use, and
// returns its API key and webhook secret.
func (s *Service) Add(ctx context.Context, name string, redirectURIs ...string) (Created, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Created{}, fmt.Errorf("%w: name must be 1 to 200 printable characters", ErrInvalid)
	}
	if len(redirectURIs) > MaxRedirectURIs {
		return Created{}, fmt.Errorf("%w: at most %d redirect URIs", ErrInvalid, MaxRedirectURIs)
	}
	for _, u := range redirectURIs {
		if err := CheckRedirectURI(u); err != nil {
			return Created{}, err
		}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Created{}, fmt.Errorf("integrator: key: %w", err)
	}
	key := keyPrefix + base64.RawURLEncoding.EncodeToString(raw)
	in := &Integrator{ID: uuid.NewString(), Name: name, APIKeyHash: HashKey(key), CreatedAt: s.now().UTC(), RedirectURIs: redirectURIs}
	secret, err := s.WebhookSecret(ctx, in.ID)
	if err != nil {
		return Created{}, err
	}
	if err := s.store.CreateIntegrator(ctx, in); err != nil {
		return Created{}, fmt.Errorf("integrator: create: %w", err)
	}
	if _, err := s.audit.Record(ctx, audit.Event{Type: audit.IntegratorCreated, Actor: audit.Operator, Subject: in.ID}); err != nil {
		return Created{}, err
	}
	return Created{ID: in.ID, Name: in.Name, APIKey: key, WebhookSecret: secret}, nil
}

// HashKey returns the stored form of an API key.
func HashKey(key string) []byte {
	sum := sha256.Sum256([]byte("paraphe-api-key-v1:" + key))
	return sum[:]
}

// Authenticate finds the integrator of an API key.
func (s *Service) Authenticate(ctx context.Context, key string) (*Integrator, error) {
	if !strings.HasPrefix(key, keyPrefix) || len(key) > 100 {
		return nil, ErrUnauthenticated
	}
	in, err := s.store.IntegratorByKeyHash(ctx, HashKey(key))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrUnauthenticated
		}
		return nil, fmt.Errorf("integrator: authenticate: %w", err)
	}
	return in, nil
}

// AuthenticateClient checks an OAuth 2.0 client's credentials: the client id is the
// integrator id, the client secret its API key. Any mismatch is ErrUnauthenticated.
func (s *Service) AuthenticateClient(ctx context.Context, clientID, secret string) (*Integrator, error) {
	in, err := s.Authenticate(ctx, secret)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(in.ID), []byte(clientID)) != 1 {
		return nil, ErrUnauthenticated
	}
	return in, nil
}

// Client returns an integrator by id (the OAuth 2.0 client id); ErrNotFound when absent.
func (s *Service) Client(ctx context.Context, clientID string) (*Integrator, error) {
	in, err := s.store.Integrator(ctx, clientID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("integrator: client: %w", err)
	}
	return in, nil
}

// WebhookSecret recomputes the webhook secret of an integrator inside the HSM.
func (s *Service) WebhookSecret(ctx context.Context, integratorID string) (string, error) {
	m, err := s.mac.HMAC(ctx, WebhookKeyLabel, []byte("paraphe-webhook-v1\x00"+integratorID))
	if err != nil {
		return "", fmt.Errorf("integrator: webhook secret: %w", err)
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(m), nil
}

// Name returns the integrator's display name, or its id when it cannot be read.
func (s *Service) Name(ctx context.Context, id string) string {
	in, err := s.store.Integrator(ctx, id)
	if err != nil {
		return id
	}
	return in.Name
}
