package device

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/hsm"
)

// UserStatus is the state of a user account.
type UserStatus string

// User states.
const (
	UserPending UserStatus = "pending_activation"
	UserActive  UserStatus = "active"
	UserBlocked UserStatus = "blocked"
	// UserErased: the personal data was erased (GDPR); the id stays as a pseudonym in
	// requests and evidence, and the account can never be used again.
	UserErased UserStatus = "erased"
)

// User is a signer.
type User struct {
	ID          string
	GivenName   string
	Surname     string
	Email       string
	Phone       string
	Country     string
	Status      UserStatus
	PINVerifier []byte
	PINFailures int
	Locked      bool
	Refusals    int
	BlockedAt   *time.Time
	KeyRef      hsm.KeyRef // the signing key, as the HSM handed it back (opaque)
	CertSerial  string     // hex serial of the current signing certificate
	CreatedAt   time.Time
}

// DeviceStatus is the state of a device.
type DeviceStatus string

// Device states.
const (
	DeviceActive  DeviceStatus = "active"
	DeviceRevoked DeviceStatus = "revoked"
)

// Device is an enrolled phone.
type Device struct {
	ID        string
	UserID    string
	PublicKey []byte // DER SubjectPublicKeyInfo, P-256
	Status    DeviceStatus
	CreatedAt time.Time
}

// Activation is a one-time enrollment code, stored hashed.
type Activation struct {
	UserID    string
	CodeHash  []byte
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Certificate is an issued signing certificate as the store keeps it.
type Certificate struct {
	Serial    string // lowercase hex
	UserID    string
	DER       []byte
	NotBefore time.Time
	NotAfter  time.Time
}

// Enrollment is everything a successful enrollment writes, at once.
type Enrollment struct {
	CodeHash    []byte
	Device      Device
	PINVerifier []byte
	KeyRef      hsm.KeyRef
	Certificate Certificate
	At          time.Time
}

// Store is what the device service needs from storage.
type Store interface {
	CreateUser(ctx context.Context, u *User, a Activation) error
	User(ctx context.Context, id string) (*User, error)
	Activation(ctx context.Context, codeHash []byte) (*Activation, error)
	// Enroll consumes the activation code (ErrActivation if already used), revokes the
	// user's other devices, stores the device, verifier, key reference and certificate, clears
	// PIN failures and the lock, and makes the user active; all or nothing.
	Enroll(ctx context.Context, e Enrollment) error
	Device(ctx context.Context, id string) (*Device, error)
	// UseNonce records a device call nonce, failing with ErrReplay if already seen.
	UseNonce(ctx context.Context, deviceID, nonce string, keepUntil time.Time) error
	// ReservePINAttempt counts one PIN attempt before it is judged, atomically, refusing
	// once max are counted: it returns the attempt's number (1..max), ErrLocked when the
	// user is locked, ErrPINBusy when the attempts left are all being judged.
	ReservePINAttempt(ctx context.Context, userID string, max int) (int, error)
	// PINAttemptWrong keeps attempt n counted and locks the user at max; it reports
	// whether the user is locked.
	PINAttemptWrong(ctx context.Context, userID string, n, max int) (bool, error)
	// PINAttemptRight clears the count, or fails with ErrLocked if the user was locked
	// in the meantime.
	PINAttemptRight(ctx context.Context, userID string) error
	// PINAttemptUnjudged gives back an attempt that could not be judged.
	PINAttemptUnjudged(ctx context.Context, userID string) error
	// SetPINVerifier replaces the verifier of an unlocked user and clears failures.
	SetPINVerifier(ctx context.Context, userID string, verifier []byte) error
}

// HSM is what the device service needs from the key store.
type HSM interface {
	HMAC(ctx context.Context, label string, data []byte) ([]byte, error)
	// NewSigningKey creates a user's signing key named name and returns the reference to
	// store for it, which only the HSM interprets.
	NewSigningKey(ctx context.Context, name string) (hsm.KeyRef, crypto.PublicKey, error)
	// DestroySigningKey destroys a user's signing key.
	DestroySigningKey(ctx context.Context, ref hsm.KeyRef) error
}

// Issuer issues signing certificates.
type Issuer interface {
	IssueUser(ctx context.Context, req ca.IssueRequest) (*x509.Certificate, error)
}

// Auditor records audit events.
type Auditor interface {
	Record(ctx context.Context, ev audit.Event) (audit.Entry, error)
}

// Metrics counts what operators watch; nil means none.
type Metrics interface {
	// PINFailure counts one wrong PIN.
	PINFailure()
}

type noMetrics struct{}

func (noMetrics) PINFailure() {}

// Defaults of Config (see Config.withDefaults).
const (
	// DefaultActivationTTL: 72 h leaves a weekend for a letter or an e-mail to arrive,
	// short enough that a leaked code soon dies.
	DefaultActivationTTL = 72 * time.Hour
	// DefaultPINKeyLabel names the HSM secret key of PIN verifiers.
	DefaultPINKeyLabel = "paraphe-pin-verifier"
	// DefaultCountry is the countryName of certificates when neither the user nor the
	// configuration gives one.
	DefaultCountry = "BE"
)

// Config tunes the device service. Zero fields take the defaults above.
type Config struct {
	// ActivationTTL is how long an activation code works (DefaultActivationTTL).
	ActivationTTL time.Duration
	// PINKeyLabel is the HSM secret key used for PIN verifiers (DefaultPINKeyLabel).
	PINKeyLabel string
	// Country is the default countryName of certificates (DefaultCountry).
	Country string
}

// withDefaults fills the zero fields of c: the one place the service's defaults are set.
func (c Config) withDefaults() Config {
	if c.ActivationTTL == 0 {
		c.ActivationTTL = DefaultActivationTTL
	}
	if c.PINKeyLabel == "" {
		c.PINKeyLabel = DefaultPINKeyLabel
	}
	if c.Country == "" {
		c.Country = DefaultCountry
	}
	return c
}

// Deps are the Service's collaborators.
type Deps struct {
	Store  Store
	HSM    HSM
	Issuer Issuer // the CA: enrollment issues the signing certificate
	Audit  Auditor
	// Metrics counts PIN failures; nil: none.
	Metrics Metrics
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives what goes wrong; nil: slog.Default().
	Log *slog.Logger
}

// Service runs enrollment, device authentication and PIN checks.
type Service struct {
	store   Store
	hsm     HSM
	issuer  Issuer
	audit   Auditor
	metrics Metrics
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
}

// New returns a Service.
func New(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = noMetrics{}
	}
	return &Service{store: d.Store, hsm: d.HSM, issuer: d.Issuer, audit: d.Audit, metrics: d.Metrics, cfg: cfg.withDefaults(),
		now: d.Now, log: d.Log}
}

// NewUser is the input of AddUser.
type NewUser struct {
	GivenName string
	Surname   string
	Email     string
	Phone     string
	Country   string
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func checkName(field, v string) error {
	v = strings.TrimSpace(v)
	if v == "" || utf8.RuneCountInString(v) > 100 || !utf8.ValidString(v) {
		return fmt.Errorf("%w: %s must be 1 to 100 characters", ErrInvalid, field)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s contains control characters", ErrInvalid, field)
		}
	}
	return nil
}

// Validate checks a new user's fields.
func (n NewUser) Validate() error {
	if err := checkName("given name", n.GivenName); err != nil {
		return err
	}
	if err := checkName("surname", n.Surname); err != nil {
		return err
	}
	if a, err := mail.ParseAddress(n.Email); err != nil || a.Address != n.Email {
		return fmt.Errorf("%w: e-mail %q is not a plain address", ErrInvalid, n.Email)
	}
	if !e164.MatchString(n.Phone) {
		return fmt.Errorf("%w: phone must be in E.164 form such as +32470123456", ErrInvalid)
	}
	if n.Country != "" && (len(n.Country) != 2 || strings.ToUpper(n.Country) != n.Country) {
		return fmt.Errorf("%w: country must be an ISO 3166 two-letter code", ErrInvalid)
	}
	return nil
}

// ActivationCode is what AddUser returns once: the code in clear and its expiry.
type ActivationCode struct {
	UserID    string
	Code      string
	ExpiresAt time.Time
}

// AddUser creates a user awaiting enrollment and its one-time activation code.
func (s *Service) AddUser(ctx context.Context, n NewUser) (ActivationCode, error) {
	if err := n.Validate(); err != nil {
		return ActivationCode{}, err
	}
	if n.Country == "" {
		n.Country = s.cfg.Country
	}
	now := s.now().UTC()
	u := &User{
		ID: uuid.NewString(), GivenName: strings.TrimSpace(n.GivenName), Surname: strings.TrimSpace(n.Surname),
		Email: n.Email, Phone: n.Phone, Country: n.Country, Status: UserPending, CreatedAt: now,
	}
	code, act, err := s.newActivation(u.ID, now)
	if err != nil {
		return ActivationCode{}, err
	}
	if err := s.store.CreateUser(ctx, u, act); err != nil {
		return ActivationCode{}, fmt.Errorf("device: create user: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.UserCreated, Actor: audit.Operator, Subject: u.ID})
	return ActivationCode{UserID: u.ID, Code: code, ExpiresAt: act.ExpiresAt}, nil
}

// activationEncoding leaves out the characters people confuse (I, O, 0, 1).
var activationEncoding = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

func (s *Service) newActivation(userID string, now time.Time) (string, Activation, error) {
	raw := make([]byte, 10) // 80 bits: out of reach of guessing within its lifetime
	if _, err := rand.Read(raw); err != nil {
		return "", Activation{}, fmt.Errorf("device: activation code: %w", err)
	}
	enc := activationEncoding.EncodeToString(raw)
	code := enc[0:4] + "-" + enc[4:8] + "-" + enc[8:12] + "-" + enc[12:16]
	return code, Activation{UserID: userID, CodeHash: hashCode(code), ExpiresAt: now.Add(s.cfg.ActivationTTL)}, nil
}

// hashCode normalizes a code (case, dashes, spaces) and hashes it. Codes carry 80 random
// bits, so a plain SHA-256 is enough to keep a stolen database useless.
func hashCode(code string) []byte {
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	sum := sha256.Sum256([]byte("paraphe-activation-v1:" + c))
	return sum[:]
}

// EnrollRequest is what a device sends to enroll.
type EnrollRequest struct {
	Code      string
	PublicKey []byte // DER SPKI, P-256
	PIN       string
}

// Enrolled is the result of an enrollment.
type Enrolled struct {
	DeviceID string
	UserID   string
}

// Enroll consumes an activation code, registers the device key, sets the PIN verifier,
// generates the user's signing key in the HSM and issues its certificate.
func (s *Service) Enroll(ctx context.Context, req EnrollRequest) (Enrolled, error) {
	if err := CheckPIN(req.PIN); err != nil {
		return Enrolled{}, err
	}
	if _, err := ParsePublicKey(req.PublicKey); err != nil {
		return Enrolled{}, err
	}
	now := s.now().UTC()
	codeHash := hashCode(req.Code)
	act, err := s.store.Activation(ctx, codeHash)
	if err != nil {
		if errors.Is(err, ErrActivation) {
			return Enrolled{}, ErrActivation
		}
		return Enrolled{}, fmt.Errorf("device: activation: %w", err)
	}
	if act.UsedAt != nil || !now.Before(act.ExpiresAt) {
		return Enrolled{}, ErrActivation
	}
	u, err := s.store.User(ctx, act.UserID)
	if err != nil {
		return Enrolled{}, fmt.Errorf("device: user: %w", err)
	}
	if u.Status == UserBlocked {
		return Enrolled{}, ErrBlocked
	}
	verifier, err := s.verifier(ctx, u.ID, req.PIN)
	if err != nil {
		return Enrolled{}, err
	}
	name := "paraphe-user-" + u.ID + "-" + now.Format("20060102T150405.000000")
	ref, pub, err := s.hsm.NewSigningKey(ctx, name)
	if err != nil {
		return Enrolled{}, fmt.Errorf("device: signing key: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.KeyGenerated, Actor: audit.System, Subject: u.ID, Detail: map[string]string{"keyLabel": ref.String()}})
	cert, err := s.issuer.IssueUser(ctx, ca.IssueRequest{
		Subject:   ca.UserSubject{GivenName: u.GivenName, Surname: u.Surname, SerialNumber: "PAR-" + u.ID, Country: u.Country},
		PublicKey: pub,
	})
	if err != nil {
		s.dropKey(ctx, ref)
		return Enrolled{}, fmt.Errorf("device: certificate: %w", err)
	}
	dev := Device{ID: uuid.NewString(), UserID: u.ID, PublicKey: req.PublicKey, Status: DeviceActive, CreatedAt: now}
	e := Enrollment{
		CodeHash: codeHash, Device: dev, PINVerifier: verifier, KeyRef: ref, At: now,
		Certificate: Certificate{Serial: cert.SerialNumber.Text(16), UserID: u.ID, DER: cert.Raw, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter},
	}
	if err := s.store.Enroll(ctx, e); err != nil {
		s.dropKey(ctx, ref)
		if errors.Is(err, ErrActivation) {
			return Enrolled{}, ErrActivation
		}
		return Enrolled{}, fmt.Errorf("device: enroll: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.CertificateIssued, Actor: audit.System, Subject: u.ID, Detail: map[string]string{"serial": e.Certificate.Serial}})
	s.record(ctx, audit.Event{Type: audit.DeviceEnrolled, Actor: audit.Device(dev.ID), Subject: u.ID})
	return Enrolled{DeviceID: dev.ID, UserID: u.ID}, nil
}

func (s *Service) dropKey(ctx context.Context, ref hsm.KeyRef) {
	if err := s.hsm.DestroySigningKey(context.WithoutCancel(ctx), ref); err != nil {
		s.log.Error("device: could not delete unused signing key", "key", ref.String(), "err", err)
	}
}

// verifier computes the PIN verifier inside the HSM.
func (s *Service) verifier(ctx context.Context, userID, pin string) ([]byte, error) {
	msg := []byte("paraphe-pin-v1\x00" + userID + "\x00" + pin)
	v, err := s.hsm.HMAC(ctx, s.cfg.PINKeyLabel, msg)
	if err != nil {
		return nil, fmt.Errorf("device: PIN verifier: %w", err)
	}
	return v, nil
}

// Authenticate checks a device call: header signature by an active device's key, time
// window and nonce freshness. body is the exact request body.
func (s *Service) Authenticate(ctx context.Context, header, method, path string, body []byte) (*Device, error) {
	a, err := ParseCallAuth(header)
	if err != nil {
		return nil, err
	}
	dev, err := s.store.Device(ctx, a.DeviceID)
	if err != nil {
		if errors.Is(err, ErrDeviceNotFound) {
			return nil, ErrUnauthenticated
		}
		return nil, fmt.Errorf("device: load device: %w", err)
	}
	if dev.Status != DeviceActive {
		return nil, fmt.Errorf("%w: device revoked", ErrUnauthenticated)
	}
	now := s.now()
	if err := verifyCall(a, dev.PublicKey, method, path, body, now); err != nil {
		return nil, err
	}
	if err := s.store.UseNonce(ctx, dev.ID, a.Nonce, now.Add(2*AuthWindow)); err != nil {
		if errors.Is(err, ErrReplay) {
			return nil, fmt.Errorf("%w: %w", ErrUnauthenticated, ErrReplay)
		}
		return nil, fmt.Errorf("device: nonce: %w", err)
	}
	return dev, nil
}

// StillActive reports whether the device is still active (not revoked by a
// re-activation or a block). Streams opened before a revocation ask it as they go, so
// that a revoked device hears nothing more.
func (s *Service) StillActive(ctx context.Context, deviceID string) (bool, error) {
	dev, err := s.store.Device(ctx, deviceID)
	if err != nil {
		if errors.Is(err, ErrDeviceNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("device: load device: %w", err)
	}
	return dev.Status == DeviceActive, nil
}

// VerifyPIN checks the user's PIN against the verifier; a wrong PIN counts towards the
// lock and returns a *WrongPINError with the attempts left.
//
// The attempt is counted in the store before the PIN is judged (ReservePINAttempt, one
// conditional update) and settled after: concurrent calls can never judge more than
// MaxPINFailures wrong PINs, and once the lock is set even the right PIN is refused.
func (s *Service) VerifyPIN(ctx context.Context, dev *Device, pin string) error {
	u, err := s.store.User(ctx, dev.UserID)
	if err != nil {
		return fmt.Errorf("device: user: %w", err)
	}
	switch {
	case u.Status == UserBlocked:
		return ErrBlocked
	case u.Locked:
		return ErrLocked
	case u.Status != UserActive || len(u.PINVerifier) == 0:
		return ErrNotEnrolled
	}
	if len(pin) != PINLength {
		return fmt.Errorf("%w: the PIN has %d digits", ErrInvalid, PINLength)
	}
	n, err := s.store.ReservePINAttempt(ctx, u.ID, MaxPINFailures)
	if err != nil {
		if errors.Is(err, ErrLocked) || errors.Is(err, ErrPINBusy) {
			return err
		}
		return fmt.Errorf("device: count PIN attempt: %w", err)
	}
	v, err := s.verifier(ctx, u.ID, pin)
	if err != nil {
		// Not judged: give the attempt back (on a context of its own, the caller's may be
		// the one that ended).
		if uerr := s.store.PINAttemptUnjudged(context.WithoutCancel(ctx), u.ID); uerr != nil {
			s.log.Error("device: could not give back an unjudged PIN attempt", "userId", u.ID, "err", uerr)
		}
		return err
	}
	// Settle on a context of its own: a client that hangs up now must not leave the
	// attempt counted without its verdict.
	sctx := context.WithoutCancel(ctx)
	if subtle.ConstantTimeCompare(v, u.PINVerifier) == 1 {
		if err := s.store.PINAttemptRight(sctx, u.ID); err != nil {
			if errors.Is(err, ErrLocked) {
				return ErrLocked
			}
			return fmt.Errorf("device: settle PIN attempt: %w", err)
		}
		return nil
	}
	s.metrics.PINFailure()
	locked, err := s.store.PINAttemptWrong(sctx, u.ID, n, MaxPINFailures)
	if err != nil {
		return fmt.Errorf("device: count PIN failure: %w", err)
	}
	s.record(sctx, audit.Event{Type: audit.PINFailed, Actor: audit.Device(dev.ID), Subject: u.ID, Detail: map[string]string{"failures": fmt.Sprint(n)}})
	if locked {
		s.record(sctx, audit.Event{Type: audit.PINLocked, Actor: audit.System, Subject: u.ID})
		return ErrLocked
	}
	return &WrongPINError{AttemptsLeft: MaxPINFailures - n}
}

// ChangePIN replaces the PIN after checking the old one (a wrong old PIN counts towards
// the lock like any other).
func (s *Service) ChangePIN(ctx context.Context, dev *Device, oldPIN, newPIN string) error {
	if err := CheckPIN(newPIN); err != nil {
		return err
	}
	if err := s.VerifyPIN(ctx, dev, oldPIN); err != nil {
		return err
	}
	v, err := s.verifier(ctx, dev.UserID, newPIN)
	if err != nil {
		return err
	}
	if err := s.store.SetPINVerifier(ctx, dev.UserID, v); err != nil {
		return fmt.Errorf("device: set PIN: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.PINChanged, Actor: audit.Device(dev.ID), Subject: dev.UserID})
	return nil
}

// NewActivation makes a fresh activation code for a user (re-activation); the caller
// stores it.
func (s *Service) NewActivation(userID string) (ActivationCode, Activation, error) {
	now := s.now().UTC()
	code, act, err := s.newActivation(userID, now)
	if err != nil {
		return ActivationCode{}, Activation{}, err
	}
	return ActivationCode{UserID: userID, Code: code, ExpiresAt: act.ExpiresAt}, act, nil
}

// DropKey destroys a signing key that will not be used again (best effort, logged).
func (s *Service) DropKey(ctx context.Context, ref hsm.KeyRef) {
	if len(ref) > 0 {
		s.dropKey(ctx, ref)
	}
}

// VerifyApproval checks a device's signature over an approval challenge.
func (s *Service) VerifyApproval(dev *Device, challenge, sig []byte) error {
	return VerifyBytes(dev.PublicKey, challenge, sig)
}

func (s *Service) record(ctx context.Context, ev audit.Event) {
	if _, err := s.audit.Record(ctx, ev); err != nil {
		s.log.Error("audit record failed", "type", ev.Type, "err", err)
	}
}
