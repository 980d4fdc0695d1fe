package csc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/signer"
)

// Kinds of stored secrets.
const (
	KindAccess   = "access"   // an access token (scope service or credential)
	KindCode     = "code"     // an authorization code
	KindSAD      = "sad"      // signature activation data
	KindHandle   = "handle"   // an explicit authorization waiting for the phone
	KindPoll     = "poll"     // the browser's wait for the phone (oauth2/authorize)
	KindPAR      = "par"      // a pushed authorization request (RFC 9126)
	KindResponse = "response" // an asynchronous signHash (operationMode "A")
)

// accessPrefix starts every access token (and no other secret).
const accessPrefix = "csc_at_"

// Scopes of access tokens.
const (
	ScopeService    = "service"
	ScopeCredential = "credential"
)

// Token is a stored secret: only Hash (SHA-256 of the value) identifies it.
type Token struct {
	Hash         []byte
	Kind         string
	ClientID     string
	Scope        string
	CredentialID string
	RequestID    string // the authorization (a signer request of the raw format)
	Data         string // kind-specific JSON (redirect URI, state, PKCE challenge, results)
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       *time.Time
	RevokedAt    *time.Time
}

// ErrTokenNotFound is returned by Store.Token for an unknown hash.
var ErrTokenNotFound = errors.New("csc: token not found")

// Store keeps the hashed secrets.
type Store interface {
	CreateToken(ctx context.Context, t *Token) error
	// Token returns a token by hash and kind; ErrTokenNotFound when absent.
	Token(ctx context.Context, hash []byte, kind string) (*Token, error)
	// UseToken marks a token used if it was not, in one conditional update; it reports
	// whether this call did.
	UseToken(ctx context.Context, hash []byte, at time.Time) (bool, error)
	// RevokeToken revokes a client's token (any kind).
	RevokeToken(ctx context.Context, hash []byte, clientID string, at time.Time) error
	// RevokeAuthorizationTokens revokes every secret of a kind (SADs, access tokens) issued
	// for an authorization.
	RevokeAuthorizationTokens(ctx context.Context, requestID, kind string, at time.Time) error
	// SetTokenData replaces a token's data (asynchronous results).
	SetTokenData(ctx context.Context, hash []byte, data string) error
	// CertificateOwner returns the user a certificate (hex serial) was issued to.
	CertificateOwner(ctx context.Context, serial string) (string, error)
}

// Clients authenticates and finds OAuth 2.0 clients (the integrators).
type Clients interface {
	AuthenticateClient(ctx context.Context, clientID, secret string) (*integrator.Integrator, error)
	Client(ctx context.Context, clientID string) (*integrator.Integrator, error)
}

// Requests is the signing workflow as the CSC API uses it.
type Requests interface {
	Create(ctx context.Context, in signer.CreateInput) (*signer.Request, bool, error)
	Authorization(ctx context.Context, integratorID, id string) (*signer.Request, error)
	Consume(ctx context.Context, in signer.ConsumeInput, sign signer.SignFunc) ([][]byte, error)
	SignPDF(ctx context.Context, in signer.SignPDFInput) ([]byte, []byte, error)
	SignCMS(ctx context.Context, in signer.SignCMSInput) ([][]byte, error)
}

// Identities tells which key and certificate a signer has now.
type Identities interface {
	Identity(ctx context.Context, userID string) (signer.Identity, error)
}

// Config tunes the service. Zero values take the defaults given in the package doc.
type Config struct {
	Name        string // the service's name in info
	Region      string // ISO 3166-1 country code
	Lang        string // RFC 5646 language
	Description string
	Logo        string        // URI of the logo, optional
	BaseURL     string        // the service's absolute URL, without trailing slash
	AccessTTL   time.Duration // 1 h
	SADTTL      time.Duration // 5 min
	CodeTTL     time.Duration // 2 min
	PARTTL      time.Duration // 90 s
	Multisign   int           // the most hashes one authorization may hold (500)
	SignTimeout time.Duration // bound on an asynchronous signHash (1 min)
}

// withDefaults fills the zero fields of c: the one place the service's defaults are set.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "Paraphe"
	}
	if c.Region == "" {
		c.Region = "BE"
	}
	if c.Lang == "" {
		c.Lang = "en-US"
	}
	if c.Description == "" {
		c.Description = "Paraphe remote qualified signatures: the signer approves each authorization on their phone (icon and PIN)"
	}
	if c.AccessTTL == 0 {
		c.AccessTTL = time.Hour
	}
	if c.SADTTL == 0 {
		c.SADTTL = 5 * time.Minute
	}
	if c.CodeTTL == 0 {
		c.CodeTTL = 2 * time.Minute
	}
	if c.PARTTL == 0 {
		c.PARTTL = 90 * time.Second
	}
	if c.Multisign == 0 {
		c.Multisign = 500
	}
	if c.SignTimeout == 0 {
		c.SignTimeout = time.Minute
	}
	return c
}

// Timestamper asks a time-stamping authority for a token over a digest, carrying the
// given nonce (nil: one of its own).
type Timestamper interface {
	TimestampWithNonce(ctx context.Context, digest []byte, hash crypto.Hash, nonce *big.Int) ([]byte, error)
}

// Deps are the Service's collaborators.
type Deps struct {
	Store      Store
	Clients    Clients
	Requests   Requests
	Identities Identities
	TSA        Timestamper         // signatures/timestamp; nil: not offered
	Chain      []*x509.Certificate // CA certificates above the signers' (issuing first)
	Now        func() time.Time
	Log        *slog.Logger
}

// Service serves the CSC API's methods.
type Service struct {
	Deps
	cfg Config
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	cfg = cfg.withDefaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Service{Deps: d, cfg: cfg}
}

// Config returns the service's configuration with its defaults.
func (s *Service) Config() Config { return s.cfg }

// Principal is what an access token grants.
type Principal struct {
	ClientID     string
	Scope        string
	CredentialID string // credential scope
	RequestID    string // credential scope: the authorization the signer approved
	tokenHash    []byte
}

func hashSecret(v string) []byte {
	h := sha256.Sum256([]byte(v))
	return h[:]
}

// newSecret returns a random value with a prefix naming its kind (secret scanners find
// leaked ones by it).
func newSecret(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("csc: random: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// issue stores a new secret of t.Kind and returns its value.
func (s *Service) issue(ctx context.Context, prefix string, t Token, ttl time.Duration) (string, error) {
	v, err := newSecret(prefix)
	if err != nil {
		return "", err
	}
	now := s.Now().UTC()
	t.Hash, t.CreatedAt, t.ExpiresAt = hashSecret(v), now, now.Add(ttl)
	if err := s.Store.CreateToken(ctx, &t); err != nil {
		return "", fmt.Errorf("csc: store %s: %w", t.Kind, err)
	}
	return v, nil
}

// live returns a stored secret of the kind that is neither expired nor revoked.
func (s *Service) live(ctx context.Context, value, kind string) (*Token, error) {
	if value == "" || len(value) > 200 {
		return nil, ErrTokenNotFound
	}
	t, err := s.Store.Token(ctx, hashSecret(value), kind)
	if err != nil {
		return nil, err
	}
	if t.RevokedAt != nil || !s.Now().Before(t.ExpiresAt) {
		return nil, ErrTokenNotFound
	}
	return t, nil
}

// Authenticate checks a Bearer access token.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	t, err := s.live(ctx, token, KindAccess)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, err
	}
	return &Principal{ClientID: t.ClientID, Scope: t.Scope, CredentialID: t.CredentialID, RequestID: t.RequestID, tokenHash: t.Hash}, nil
}
