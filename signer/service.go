package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/blob"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/engine"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/icons"
)

// Change is a conditional state transition.
type Change struct {
	To         Status
	Reason     string
	DeviceID   string
	ChosenIcon string
	ClientIP   string // the device's address, kept with the evidence
	At         time.Time
	// Until ends the authorization a move to StatusAuthorized records.
	Until time.Time
	// LeaseUntil, when set, is the signing lease of an approval (see ResumeApproved).
	LeaseUntil time.Time
}

// Store is what the signer needs from storage.
type Store interface {
	// CreateRequest stores a new request. With maxPending > 0 it first counts, in the same
	// transaction and serialized with other creations for the same integrator and user,
	// the user's live pending requests of r's integrator, and refuses with
	// ErrTooManyPending when there are already maxPending of them.
	CreateRequest(ctx context.Context, r *Request, maxPending int) error
	// Request loads a request with its documents; ErrNotFound when absent.
	Request(ctx context.Context, id string) (*Request, error)
	// RequestHead loads a request without its documents (a state to report: a batch's
	// results are not read back to say "signed"); ErrNotFound when absent.
	RequestHead(ctx context.Context, id string) (*Request, error)
	// PendingForUser lists the user's pending requests that expire after now, oldest first.
	PendingForUser(ctx context.Context, userID string, now time.Time) ([]*Request, error)
	// CountPendingForUser counts the user's live pending requests of one integrator.
	CountPendingForUser(ctx context.Context, integratorID, userID string, now time.Time) (int, error)
	// Transition applies c if the request's status is one of from, in one conditional
	// update; it reports whether it did.
	Transition(ctx context.Context, id string, from []Status, c Change) (bool, error)
	// RotateNonce replaces the challenge nonce old by next if it is still old.
	RotateNonce(ctx context.Context, id, old, next string) (bool, error)
	// CompleteSigned stores every document's result and moves approved → signed, at once.
	CompleteSigned(ctx context.Context, id string, results [][]byte, at time.Time) (bool, error)
	// ExpireDue moves pending requests whose expiry has passed to expired and returns their ids.
	ExpireDue(ctx context.Context, now time.Time) ([]string, error)
	// HistoryForUser lists a user's requests newest first (no results), after the cursor.
	HistoryForUser(ctx context.Context, userID string, before *Cursor, limit int) ([]*Request, error)
	// IdempotentRequest finds the request created with an integrator's key since a time.
	IdempotentRequest(ctx context.Context, integratorID, key string, since time.Time) (Idempotency, bool, error)
	// AuditForRequest returns the audit entries of a request, in order.
	AuditForRequest(ctx context.Context, requestID string) ([]audit.Entry, error)
	// CertificateDER returns an issued certificate by its hex serial.
	CertificateDER(ctx context.Context, serial string) ([]byte, error)
	// MarkDownloaded records the integrator's first download of a result (retention).
	MarkDownloaded(ctx context.Context, requestID string, index int, at time.Time) error
	// ClaimApproved takes over, up to limit, approved requests whose signing lease ran
	// out before now: each gets the lease until the given time and its attempt counted.
	ClaimApproved(ctx context.Context, now, until time.Time, limit int) ([]Claim, error)
	// ExtendLease renews the lease of an approved request for the holder of attempt;
	// false when the request left approved or another process took it over.
	ExtendLease(ctx context.Context, id string, attempt int, until time.Time) (bool, error)
	// AddRefusal counts a refusal for the operators (push-bombing shows as many refusals).
	AddRefusal(ctx context.Context, userID string) error
}

// Identity is what signing needs to know of a user.
type Identity struct {
	UserID         string
	Enrolled       bool // has an active device, a key and a certificate
	Blocked        bool
	KeyRef         hsm.KeyRef // the signing key, as the HSM handed it back at creation
	CertificateDER []byte
}

// Identities looks users up; ErrSignerNotFound when absent.
type Identities interface {
	Identity(ctx context.Context, userID string) (Identity, error)
}

// Approvals checks what the device sent.
type Approvals interface {
	VerifyApproval(dev *device.Device, challenge, sig []byte) error
	VerifyPIN(ctx context.Context, dev *device.Device, pin string) error
}

// Auditor records audit events.
type Auditor interface {
	Record(ctx context.Context, ev audit.Event) (audit.Entry, error)
}

// Notifier tells devices about new or changed requests. It must not block for long.
type Notifier interface {
	RequestChanged(ctx context.Context, userID, requestID, status string)
}

// Webhooks queues the integrator's callback for a final state. Enqueue must persist the
// delivery (an outbox), so a restart loses nothing.
type Webhooks interface {
	Enqueue(ctx context.Context, integratorID, requestID, url, status string) error
}

// Metrics counts what operators watch; nil means none.
type Metrics interface {
	RequestCreated()
	RequestFinished(status string)
	Signed(format, level string, n int)
	Refused(reason string)
}

type noMetrics struct{}

func (noMetrics) RequestCreated()            {}
func (noMetrics) RequestFinished(string)     {}
func (noMetrics) Signed(string, string, int) {}
func (noMetrics) Refused(string)             {}

// Config tunes the service.
type Config struct {
	DefaultTTL   time.Duration // expiry when the integrator gives none (5 min, as itsme)
	MaxTTL       time.Duration // longest expiresIn accepted (1 h)
	MinTTL       time.Duration // shortest expiresIn accepted (1 s)
	IconChoices  int           // icons shown on the phone, right one included (4)
	MaxDocuments int           // documents per request
	MaxPending   int           // pending requests per signer and integrator (push-bombing defence)
	SignTimeout  time.Duration // bound on the HSM and CMS work after approval
	// AuthorizationTTL is how long an approved authorization (raw format) can be consumed
	// (1 h: long enough for a batch or a slow client, short enough that a forgotten
	// authorization does not linger as a loaded weapon).
	AuthorizationTTL time.Duration
	// SignLease is how long a process holds an approved request it signs without renewing
	// (10 s): after a crash another replica resumes the request once it runs out, well
	// within the 30 s in which integrators expect a final state.
	SignLease time.Duration
	// MaxSignAttempts bounds how often signing of one request is started (3): a request
	// whose signing kills its process every time must not take every replica down.
	MaxSignAttempts int
	// CheckCallback validates an integrator's callback URL (nil: any http(s) URL).
	CheckCallback func(string) error
}

// Defaults of Config that the configuration file repeats (config.Default reads them
// here).
const (
	DefaultTTL         = 5 * time.Minute
	DefaultMaxTTL      = time.Hour
	DefaultIconChoices = 4
	DefaultMaxPending  = 5
)

// withDefaults fills the zero fields of c: the one place the service's defaults are set.
func (c Config) withDefaults() Config {
	if c.DefaultTTL == 0 {
		c.DefaultTTL = DefaultTTL
	}
	if c.MaxTTL == 0 {
		c.MaxTTL = DefaultMaxTTL
	}
	if c.MinTTL == 0 {
		c.MinTTL = time.Second
	}
	if c.IconChoices == 0 {
		c.IconChoices = DefaultIconChoices
	}
	if c.MaxDocuments == 0 {
		c.MaxDocuments = 500
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.SignTimeout == 0 {
		c.SignTimeout = time.Minute
	}
	if c.AuthorizationTTL == 0 {
		c.AuthorizationTTL = time.Hour
	}
	if c.SignLease == 0 {
		c.SignLease = 10 * time.Second
	}
	if c.MaxSignAttempts == 0 {
		c.MaxSignAttempts = 3
	}
	return c
}

// Service runs the request life cycle.
type Service struct {
	store     Store
	auths     AuthorizationStore
	ids       Identities
	engine    *engine.Engine
	approvals Approvals
	audit     Auditor
	notify    Notifier
	webhooks  Webhooks
	blobs     Blobs
	metrics   Metrics
	cfg       Config
	now       func() time.Time
	log       *slog.Logger
}

// Deps groups the Service's collaborators.
type Deps struct {
	Store     Store
	Auths     AuthorizationStore // nil: the raw format (authorizations) is not offered
	Ids       Identities
	Engine    *engine.Engine // makes the signatures an approval or authorization covers
	Approvals Approvals
	Audit     Auditor
	Notify    Notifier
	Webhooks  Webhooks // nil: no callbacks
	Blobs     Blobs    // PDF mode's uploads, prepared and signed files (the engine's Files too)
	Metrics   Metrics  // nil: none
	Now       func() time.Time
	Log       *slog.Logger
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
	if d.Metrics == nil {
		d.Metrics = noMetrics{}
	}
	if d.Engine == nil {
		d.Engine = engine.New(engine.Deps{}) // signs nothing: every key is unavailable
	}
	return &Service{metrics: d.Metrics, store: d.Store, auths: d.Auths, ids: d.Ids, engine: d.Engine, approvals: d.Approvals, audit: d.Audit,
		notify: d.Notify, webhooks: d.Webhooks, blobs: d.Blobs, cfg: cfg, now: d.Now, log: d.Log}
}

// DocumentInput is one document of a new request (hash mode).
type DocumentInput struct {
	Name   string
	Hash   crypto.Hash
	Digest []byte
}

// CreateInput is a new signature request.
type CreateInput struct {
	IntegratorID string
	UserID       string
	Format       Format
	Level        Level
	Documents    []DocumentInput
	CallbackURL  string
	ExpiresIn    time.Duration // 0: the default
	// ClientIP is the integrator's address, kept with the evidence.
	ClientIP string
	// IdempotencyKey and BodyHash make a retried creation return the first request.
	IdempotencyKey string
	BodyHash       []byte
	// PDF mode (Format PAdES): the uploaded files, in order, and the signature options.
	PDFs []PDFInput
	PDF  PDFOptions
	// Description is shown on the phone (authorizations: what the integrator says is signed).
	Description string
}

func (s *Service) validate(in *CreateInput) error {
	if in.Format == FormatRaw && in.Level == "" {
		in.Level = LevelBB // raw signature values have no baseline level of their own
	}
	if _, err := ParseLevel(string(in.Level)); err != nil {
		return err
	}
	switch in.Format {
	case FormatCAdES:
		if in.Level != LevelBB && in.Level != LevelBT {
			return invalidf("hash mode signs at B-B or B-T (a detached CMS has no place for PDF validation data)")
		}
		if err := s.engine.Check(in.Level, false); err != nil {
			return invalidf("%v", err)
		}
	case FormatPAdES:
		return s.validatePDF(in)
	case FormatRaw:
		if s.auths == nil {
			return invalidf("authorizations are not configured on this server")
		}
		if in.Level != LevelBB {
			return invalidf("an authorization is made of raw signatures: its level is B-B")
		}
	default:
		return invalidf("format must be CAdES (hash mode) or PAdES (PDF mode)")
	}
	if err := checkDescription(in.Description); err != nil {
		return err
	}
	if len(in.Documents) == 0 {
		return invalidf("at least one document is needed")
	}
	if len(in.Documents) > s.cfg.MaxDocuments {
		return invalidf("at most %d documents per request", s.cfg.MaxDocuments)
	}
	for i, d := range in.Documents {
		if err := checkDocName(d.Name); err != nil {
			return invalidf("documents[%d]: %v", i, err)
		}
		if !d.Hash.Available() || (d.Hash != crypto.SHA256 && d.Hash != crypto.SHA384 && d.Hash != crypto.SHA512) {
			return invalidf("documents[%d]: digest algorithm must be SHA-256, SHA-384 or SHA-512", i)
		}
		if len(d.Digest) != d.Hash.Size() {
			return invalidf("documents[%d]: a %s digest has %d bytes, got %d", i, HashName(d.Hash), d.Hash.Size(), len(d.Digest))
		}
	}
	return s.validateCommon(in)
}

// validateCommon checks what both modes share.
func (s *Service) validateCommon(in *CreateInput) error {
	if in.CallbackURL != "" && s.cfg.CheckCallback != nil {
		if err := s.cfg.CheckCallback(in.CallbackURL); err != nil {
			return invalidf("callbackUrl: %v", err)
		}
	}
	if in.ExpiresIn != 0 && (in.ExpiresIn < s.cfg.MinTTL || in.ExpiresIn > s.cfg.MaxTTL) {
		return invalidf("expiresIn must be between %s and %s", s.cfg.MinTTL, s.cfg.MaxTTL)
	}
	return nil
}

func checkDocName(n string) error {
	if n == "" || utf8.RuneCountInString(n) > 255 || !utf8.ValidString(n) {
		return errors.New("name must be 1 to 255 characters")
	}
	if strings.ContainsFunc(n, unsafeRune) {
		return errors.New("name contains control, bidirectional or invisible characters")
	}
	return nil
}

func newNonce() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("signer: nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create validates and stores a new pending request, then tells the signer's device. With
// an idempotency key it returns the request the same key and body created within the
// window (created=false), and ErrIdempotencyKey for the same key with another body.
func (s *Service) Create(ctx context.Context, in CreateInput) (r *Request, created bool, err error) {
	if in.IdempotencyKey != "" {
		if r, found, err := s.replay(ctx, in); found || err != nil {
			return r, false, err
		}
	}
	r, err = s.create(ctx, in)
	if errors.Is(err, ErrIdempotencyRace) {
		r, _, err = s.replay(ctx, in)
		return r, false, err
	}
	return r, err == nil, err
}

func (s *Service) replay(ctx context.Context, in CreateInput) (*Request, bool, error) {
	k, found, err := s.store.IdempotentRequest(ctx, in.IntegratorID, in.IdempotencyKey, s.now().Add(-IdempotencyWindow))
	if err != nil || !found {
		return nil, false, err
	}
	if !bytes.Equal(k.BodyHash, in.BodyHash) {
		return nil, true, ErrIdempotencyKey
	}
	r, err := s.Get(ctx, in.IntegratorID, k.RequestID)
	return r, true, err
}

func (s *Service) create(ctx context.Context, in CreateInput) (*Request, error) {
	if len(in.IdempotencyKey) > 255 {
		return nil, invalidf("Idempotency-Key may have at most 255 characters")
	}
	if err := s.validate(&in); err != nil {
		return nil, err
	}
	id, err := s.ids.Identity(ctx, in.UserID)
	if err != nil {
		return nil, err
	}
	if id.Blocked || !id.Enrolled {
		return nil, ErrSignerInactive
	}
	now := s.now().UTC()
	// The cap is per integrator: one integrator filling a signer's queue must not lock
	// the signer out of another's requests. PDF mode counts first, to refuse before any
	// PDF work; in hash mode the check atomic with the insertion (below) is the only one
	// (nothing costly comes before it, and it saves a statement on every creation).
	if in.Format == FormatPAdES {
		n, err := s.store.CountPendingForUser(ctx, in.IntegratorID, in.UserID, now)
		if err != nil {
			return nil, fmt.Errorf("signer: count pending: %w", err)
		}
		if n >= s.cfg.MaxPending {
			return nil, ErrTooManyPending
		}
	}
	right, choices, err := icons.Choose(s.cfg.IconChoices)
	if err != nil {
		return nil, fmt.Errorf("signer: icons: %w", err)
	}
	nonce, err := newNonce()
	if err != nil {
		return nil, err
	}
	ttl := in.ExpiresIn
	if ttl == 0 {
		ttl = s.cfg.DefaultTTL
	}
	r := &Request{
		ID: uuid.NewString(), IntegratorID: in.IntegratorID, UserID: in.UserID, Format: in.Format,
		Level: in.Level, Status: StatusPending, IconID: right.ID, Nonce: nonce, CallbackURL: in.CallbackURL,
		CreatedAt: now, ExpiresAt: now.Add(ttl), CreatedIP: in.ClientIP, Description: in.Description,
	}
	if in.IdempotencyKey != "" {
		r.Idempotency = &Idempotency{Key: in.IdempotencyKey, BodyHash: in.BodyHash, RequestID: r.ID}
	}
	for _, c := range choices {
		r.IconChoices = append(r.IconChoices, c.ID)
	}
	for i, d := range in.Documents {
		r.Documents = append(r.Documents, Document{Index: i, Name: d.Name, Hash: d.Hash, Digest: d.Digest})
	}
	if in.Format == FormatPAdES {
		if err := s.preparePDFs(ctx, r, in, id); err != nil {
			return nil, err
		}
	}
	// The count above (PDF mode) refuses early, before any PDF work; this one is the binding check,
	// atomic with the insertion, so racing creations cannot pass the cap together.
	if err := s.store.CreateRequest(ctx, r, s.cfg.MaxPending); err != nil {
		if in.Format == FormatPAdES {
			s.dropBlobs(r.ID)
		}
		if errors.Is(err, ErrIdempotencyRace) || errors.Is(err, ErrTooManyPending) {
			return nil, err
		}
		return nil, fmt.Errorf("signer: store request: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.RequestCreated, Actor: audit.Integrator(in.IntegratorID), RequestID: r.ID,
		Subject: in.UserID, Detail: map[string]string{"documents": fmt.Sprint(len(r.Documents)), "level": string(r.Level)}})
	s.notify.RequestChanged(ctx, r.UserID, r.ID, string(StatusPending))
	s.metrics.RequestCreated()
	return r, nil
}

// load reads a request and settles its expiry: a pending request past its expiry reads
// expired at once, whether or not the sweeper has run.
func (s *Service) load(ctx context.Context, id string) (*Request, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, ErrNotFound
	}
	r, err := s.store.Request(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Status == StatusPending && !s.now().Before(r.ExpiresAt) {
		if _, err := s.settle(ctx, r, []Status{StatusPending}, Change{To: StatusExpired, Reason: ReasonExpired},
			audit.Event{Type: audit.RequestExpired, Actor: audit.System}); err != nil {
			return nil, err
		}
		return s.store.Request(ctx, id)
	}
	return r, nil
}

// Get returns a request of the integrator; another integrator's request is ErrNotFound.
func (s *Service) Get(ctx context.Context, integratorID, id string) (*Request, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.IntegratorID != integratorID {
		return nil, ErrNotFound
	}
	return r, nil
}

// Output is a signed document to send: the detached CMS (hash mode) or the signed PDF.
type Output interface {
	io.ReadSeekCloser
	Size() int64
}

type bytesOutput struct {
	*bytes.Reader
}

func (bytesOutput) Close() error { return nil }

// Result returns the signed output of document index of a signed request.
func (s *Service) Result(ctx context.Context, integratorID, id string, index int) (*Request, Output, error) {
	r, err := s.Get(ctx, integratorID, id)
	if err != nil {
		return nil, nil, err
	}
	if index < 0 || index >= len(r.Documents) {
		return nil, nil, ErrDocumentIndex
	}
	if r.Status != StatusSigned && r.Status.Final() {
		return nil, nil, fmt.Errorf("%w: it is %s", ErrNoResult, r.Status)
	}
	if r.Status != StatusSigned || len(r.Documents[index].Result) == 0 {
		return nil, nil, ErrResultNotReady
	}
	if err := s.store.MarkDownloaded(ctx, r.ID, index, s.now()); err != nil {
		s.log.Warn("download not recorded", "requestId", r.ID, "err", err)
	}
	if r.Format == FormatPAdES {
		f, err := s.blobs.Open(ctx, signedKey(r.ID, index))
		if err != nil {
			if errors.Is(err, blob.ErrNotFound) {
				return nil, nil, ErrResultGone
			}
			return nil, nil, fmt.Errorf("signer: open signed PDF: %w", err)
		}
		return r, f, nil
	}
	return r, bytesOutput{bytes.NewReader(r.Documents[index].Result)}, nil
}

// Cancel ends a pending request of the integrator.
func (s *Service) Cancel(ctx context.Context, integratorID, id string) error {
	r, err := s.Get(ctx, integratorID, id)
	if err != nil {
		return err
	}
	ok, err := s.settle(ctx, r, []Status{StatusPending}, Change{To: StatusCancelled, Reason: ReasonCancelled},
		audit.Event{Type: audit.RequestCancelled, Actor: audit.Integrator(integratorID)})
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotPending
	}
	return nil
}

// Pending lists the pending requests of the device's user.
func (s *Service) Pending(ctx context.Context, dev *device.Device) ([]*Request, error) {
	rs, err := s.store.PendingForUser(ctx, dev.UserID, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("signer: pending: %w", err)
	}
	return rs, nil
}

// ForDevice returns one of the device user's requests; any other is ErrNotFound.
func (s *Service) ForDevice(ctx context.Context, dev *device.Device, id string) (*Request, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.UserID != dev.UserID {
		return nil, ErrNotFound
	}
	return r, nil
}

// pendingForDevice loads a request the device may act on now.
func (s *Service) pendingForDevice(ctx context.Context, dev *device.Device, id string) (*Request, error) {
	r, err := s.ForDevice(ctx, dev, id)
	if err != nil {
		return nil, err
	}
	switch r.Status {
	case StatusPending:
		return r, nil
	case StatusExpired:
		return nil, ErrExpired
	}
	return nil, fmt.Errorf("%w (%s)", ErrNotPending, r.Status)
}

// Refuse ends a pending request at the signer's wish; ip is the device's address.
func (s *Service) Refuse(ctx context.Context, dev *device.Device, id, ip string) error {
	r, err := s.pendingForDevice(ctx, dev, id)
	if err != nil {
		return err
	}
	return s.refuse(ctx, dev, r, ReasonUserRefused, "", ip)
}

func (s *Service) refuse(ctx context.Context, dev *device.Device, r *Request, reason, icon, ip string) error {
	ok, err := s.settle(ctx, r, []Status{StatusPending}, Change{To: StatusRefused, Reason: reason, DeviceID: dev.ID, ChosenIcon: icon, ClientIP: ip},
		audit.Event{Type: audit.RequestRefused, Actor: audit.Device(dev.ID), Detail: map[string]string{"reason": reason}})
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotPending
	}
	if err := s.store.AddRefusal(ctx, r.UserID); err != nil {
		s.log.Warn("refusal not counted", "requestId", r.ID, "err", err)
	}
	return nil
}

// History lists the device user's requests, newest first, limit at a time.
func (s *Service) History(ctx context.Context, dev *device.Device, before *Cursor, limit int) ([]*Request, error) {
	rs, err := s.store.HistoryForUser(ctx, dev.UserID, before, limit)
	if err != nil {
		return nil, fmt.Errorf("signer: history: %w", err)
	}
	return rs, nil
}

// CancelPending cancels the given pending requests, and live authorizations, of a user
// whose account changed (blocked, re-activated), with the reason and actor given.
func (s *Service) CancelPending(ctx context.Context, ids []string, reason, actor string) error {
	for _, id := range ids {
		r, err := s.store.Request(ctx, id)
		if err != nil {
			return err
		}
		if _, err := s.settle(ctx, r, []Status{StatusPending, StatusAuthorized}, Change{To: StatusCancelled, Reason: reason},
			audit.Event{Type: audit.RequestCancelled, Actor: actor, Detail: map[string]string{"reason": reason}}); err != nil {
			return err
		}
	}
	return nil
}

// ApproveInput is what the device sends to approve.
type ApproveInput struct {
	RequestID string
	ClientIP  string
	Icon      string
	PIN       string
	Nonce     string
	Signature []byte // device signature over device.Challenge(...)
}

// ChallengeOf returns the canonical challenge of r for the given icon and nonce.
func ChallengeOf(r *Request, icon, nonce string) []byte {
	docs := make([]device.ChallengeDoc, len(r.Documents))
	for i, d := range r.Documents {
		docs[i] = device.ChallengeDoc{Hash: d.Hash, Digest: d.Digest}
	}
	return device.Challenge(r.ID, docs, icon, nonce)
}

// Approve checks an approval (device signature over the challenge, icon, PIN) and, when
// it holds, signs every document of the request with the user's HSM key.
func (s *Service) Approve(ctx context.Context, dev *device.Device, in ApproveInput) (*Request, error) {
	r, err := s.pendingForDevice(ctx, dev, in.RequestID)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(r.IconChoices, in.Icon) {
		return nil, invalidf("icon %q is not among the choices shown for this request", in.Icon)
	}
	// The nonce works once, whatever the outcome of this attempt.
	if in.Nonce == "" || in.Nonce != r.Nonce {
		return nil, ErrStaleChallenge
	}
	next, err := newNonce()
	if err != nil {
		return nil, err
	}
	ok, err := s.store.RotateNonce(ctx, r.ID, in.Nonce, next)
	if err != nil {
		return nil, fmt.Errorf("signer: rotate nonce: %w", err)
	}
	if !ok {
		return nil, ErrStaleChallenge
	}
	if err := s.approvals.VerifyApproval(dev, ChallengeOf(r, in.Icon, in.Nonce), in.Signature); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadApproval, err)
	}
	if in.Icon != r.IconID {
		if err := s.refuse(ctx, dev, r, ReasonWrongIcon, in.Icon, in.ClientIP); err != nil {
			return nil, err
		}
		return nil, ErrWrongIcon
	}
	if err := s.approvals.VerifyPIN(ctx, dev, in.PIN); err != nil {
		return nil, err
	}
	if r.Format == FormatRaw {
		return s.authorize(ctx, dev, r, in)
	}
	now := s.now().UTC()
	ok, err = s.store.Transition(ctx, r.ID, []Status{StatusPending},
		Change{To: StatusApproved, DeviceID: dev.ID, ChosenIcon: in.Icon, ClientIP: in.ClientIP, At: now, LeaseUntil: now.Add(s.cfg.SignLease)})
	if err != nil {
		return nil, fmt.Errorf("signer: approve: %w", err)
	}
	if !ok {
		return nil, ErrNotPending
	}
	s.record(ctx, audit.Event{Type: audit.RequestApproved, Actor: audit.Device(dev.ID), RequestID: r.ID})
	// The signature is owed to the signer's decision, not to the connection that carried it.
	s.signHeld(ctx, r, 1)
	// The outcome as stored (signed, failed, or finished by another replica), without
	// reading every result back: the caller reports the state, results are downloaded.
	return s.store.RequestHead(context.WithoutCancel(ctx), r.ID)
}

// finish signs an approved request and moves it to signed or failed.
func (s *Service) finish(ctx context.Context, r *Request) {
	results, err := s.sign(ctx, r)
	if err == nil {
		var ok bool
		ok, err = s.store.CompleteSigned(ctx, r.ID, results, s.now().UTC())
		if err == nil && !ok {
			// Another replica that took the request over may have finished it first.
			if cur, lerr := s.store.Request(ctx, r.ID); lerr == nil && cur.Status.Final() {
				s.log.Info("request finished elsewhere while signing", "requestId", r.ID, "status", cur.Status)
				return
			}
			err = errors.New("request left the approved state while signing")
		}
	}
	if err == nil {
		s.settled(ctx, r, StatusSigned, audit.Event{Type: audit.RequestSigned, Actor: audit.System,
			Detail: map[string]string{"documents": fmt.Sprint(len(results))}})
		return
	}
	s.log.Error("signing failed", "requestId", r.ID, "err", err)
	reason := failReason(err)
	if _, terr := s.settle(ctx, r, []Status{StatusApproved}, Change{To: StatusFailed, Reason: reason},
		audit.Event{Type: audit.RequestFailed, Actor: audit.System, Detail: map[string]string{"reason": reason}}); terr != nil {
		s.log.Error("could not mark request failed", "requestId", r.ID, "err", terr)
	}
}

// settle applies a transition to a final state and, when it happened, does what every
// final state needs: the audit entry, the device notification, the integrator's webhook.
func (s *Service) settle(ctx context.Context, r *Request, from []Status, c Change, ev audit.Event) (bool, error) {
	c.At = s.now().UTC()
	ok, err := s.store.Transition(ctx, r.ID, from, c)
	if err != nil {
		return false, fmt.Errorf("signer: %s: %w", c.To, err)
	}
	if ok {
		s.settled(ctx, r, c.To, ev)
	}
	return ok, nil
}

func (s *Service) settled(ctx context.Context, r *Request, st Status, ev audit.Event) {
	ev.RequestID = r.ID
	s.record(ctx, ev)
	if r.Format == FormatPAdES && st != StatusSigned && s.blobs != nil {
		s.dropBlobs(r.ID) // prepared revisions of a request that will never be signed
	}
	s.metrics.RequestFinished(string(st))
	switch st {
	case StatusSigned:
		s.metrics.Signed(string(r.Format), string(r.Level), len(r.Documents))
	case StatusRefused:
		s.metrics.Refused(ev.Detail["reason"])
	}
	s.notify.RequestChanged(ctx, r.UserID, r.ID, string(st))
	if s.webhooks != nil && r.CallbackURL != "" {
		if err := s.webhooks.Enqueue(context.WithoutCancel(ctx), r.IntegratorID, r.ID, r.CallbackURL, string(st)); err != nil {
			s.log.Error("webhook not queued", "requestId", r.ID, "err", err)
		}
	}
}

// activeSigner returns the identity of a user who may sign now (enrolled, not blocked)
// and their current certificate.
func (s *Service) activeSigner(ctx context.Context, userID string) (Identity, *x509.Certificate, error) {
	id, err := s.ids.Identity(ctx, userID)
	if err != nil {
		return Identity{}, nil, fmt.Errorf("signer: identity: %w", err)
	}
	if id.Blocked || !id.Enrolled {
		return Identity{}, nil, ErrSignerInactive
	}
	cert, err := x509.ParseCertificate(id.CertificateDER)
	if err != nil {
		return Identity{}, nil, fmt.Errorf("signer: certificate: %w", err)
	}
	return id, cert, nil
}

func (s *Service) sign(ctx context.Context, r *Request) ([][]byte, error) {
	id, cert, err := s.activeSigner(ctx, r.UserID)
	if err != nil {
		return nil, err
	}
	key, err := s.engine.Open(ctx, id.KeyRef, cert)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	// Intent before the HSM is used: if the log cannot say what is about to be signed,
	// nothing is signed.
	if _, err := s.audit.Record(ctx, audit.Event{Type: audit.SignatureIntent, Actor: audit.System, RequestID: r.ID,
		Subject: r.UserID, Detail: map[string]string{"certificate": cert.SerialNumber.Text(16), "documents": fmt.Sprint(len(r.Documents))}}); err != nil {
		return nil, err
	}
	if r.Format == FormatPAdES {
		return s.signPDFs(ctx, r, key)
	}
	out, err := s.engine.CMS(ctx, key, r.Level, s.now().UTC(), digestsOf(r.Documents))
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return out, nil
}

// digestsOf returns the documents' digests, in order, as the engine takes them.
func digestsOf(docs []Document) []engine.Digest {
	out := make([]engine.Digest, len(docs))
	for i, d := range docs {
		out[i] = engine.Digest{Hash: d.Hash, Value: d.Digest}
	}
	return out
}

// ExpireDue expires every pending request past its expiry, and ends the authorizations
// whose time ran out; the serve loop calls it.
func (s *Service) ExpireDue(ctx context.Context) error {
	if err := s.expireAuthorizations(ctx); err != nil {
		return err
	}
	ids, err := s.store.ExpireDue(ctx, s.now().UTC())
	if err != nil {
		return fmt.Errorf("signer: expire: %w", err)
	}
	for _, id := range ids {
		r, err := s.store.Request(ctx, id)
		if err != nil {
			return fmt.Errorf("signer: expire: %w", err)
		}
		s.settled(ctx, r, StatusExpired, audit.Event{Type: audit.RequestExpired, Actor: audit.System})
	}
	return nil
}

func (s *Service) record(ctx context.Context, ev audit.Event) {
	if _, err := s.audit.Record(ctx, ev); err != nil {
		s.log.Error("audit record failed", "type", ev.Type, "err", err)
	}
}

// Evidence is what a court needs years later to trust a signature: the request, what the
// signer saw and did, the certificate, and the audit entries with their chain hashes.
type Evidence struct {
	Request     *Request
	Audit       []audit.Entry
	Certificate []byte // DER of the signing certificate, when signed
}

// Evidence returns the evidence record of one of the integrator's requests.
func (s *Service) Evidence(ctx context.Context, integratorID, id string) (*Evidence, error) {
	r, err := s.Get(ctx, integratorID, id)
	if err != nil {
		return nil, err
	}
	return s.evidence(ctx, r)
}

// EvidenceAny returns the evidence record of any request (operators).
func (s *Service) EvidenceAny(ctx context.Context, id string) (*Evidence, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.evidence(ctx, r)
}

func (s *Service) evidence(ctx context.Context, r *Request) (*Evidence, error) {
	es, err := s.store.AuditForRequest(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("signer: evidence: %w", err)
	}
	ev := &Evidence{Request: r, Audit: es}
	for _, e := range es {
		if e.Event.Type == audit.SignatureIntent && e.Event.Detail["certificate"] != "" {
			if ev.Certificate, err = s.store.CertificateDER(ctx, e.Event.Detail["certificate"]); err != nil {
				return nil, fmt.Errorf("signer: evidence certificate: %w", err)
			}
		}
	}
	return ev, nil
}
