package signer

import (
	"crypto"
	"fmt"
	"strings"
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/engine"
)

// Status is the state of a signature request.
type Status string

// The states of a request. Approved is transient: the HSM signature is under way.
// Authorized is the state of a raw-format request (an authorization) that the signer
// approved and whose signatures the integrator has not all asked for yet.
const (
	StatusPending    Status = "pending"
	StatusApproved   Status = "approved"
	StatusAuthorized Status = "authorized"
	StatusSigned     Status = "signed"
	StatusRefused    Status = "refused"
	StatusExpired    Status = "expired"
	StatusCancelled  Status = "cancelled"
	StatusFailed     Status = "failed"
)

// Final reports whether no further transition can leave s.
func (s Status) Final() bool {
	switch s {
	case StatusSigned, StatusRefused, StatusExpired, StatusCancelled, StatusFailed:
		return true
	}
	return false
}

// Reasons recorded with final states.
const (
	ReasonWrongIcon   = "wrong_icon"
	ReasonUserRefused = "user_refused"
	ReasonExpired     = "expired"
	ReasonCancelled   = "cancelled_by_integrator"
	ReasonSignerGone  = "signer_blocked"
	ReasonReactivated = "signer_reactivated"
	ReasonInterrupted = "interrupted"
	ReasonInternal    = "internal_error"
	// ReasonAuthorizationExpired ends an authorization whose time ran out before the
	// integrator asked for every signature it covers.
	ReasonAuthorizationExpired = "authorization_expired"
)

// Format is the kind of signature produced.
type Format string

// Supported formats.
const (
	FormatCAdES Format = "CAdES"
	FormatPAdES Format = "PAdES"
	// FormatRaw is an authorization: approving it signs nothing; the integrator then
	// consumes it, a few digests at a time, for raw signature values or PDFs (the CSC API).
	FormatRaw Format = "raw"
)

// Level is an ETSI baseline level: what the engine produces.
type Level = engine.Level

// Baseline levels.
const (
	LevelBB   = engine.LevelBB
	LevelBT   = engine.LevelBT
	LevelBLT  = engine.LevelBLT
	LevelBLTA = engine.LevelBLTA
)

// ParseLevel checks a level name.
func ParseLevel(s string) (Level, error) {
	switch l := Level(s); l {
	case LevelBB, LevelBT, LevelBLT, LevelBLTA:
		return l, nil
	}
	return "", fmt.Errorf("%w: unknown level %q (want B-B, B-T, B-LT or B-LTA)", ErrInvalid, s)
}

// ParseHash maps an algorithm name ("SHA-256", "SHA-384", "SHA-512") to its hash.
func ParseHash(name string) (crypto.Hash, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "SHA-256", "SHA256":
		return crypto.SHA256, nil
	case "SHA-384", "SHA384":
		return crypto.SHA384, nil
	case "SHA-512", "SHA512":
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: unknown digest algorithm %q (want SHA-256, SHA-384 or SHA-512)", ErrInvalid, name)
}

// HashName is the inverse of ParseHash.
func HashName(h crypto.Hash) string { return device.HashName(h) }

// Request is a signature request and its documents.
type Request struct {
	ID           string
	IntegratorID string
	UserID       string
	Format       Format
	Level        Level
	Status       Status
	Reason       string
	IconID       string
	IconChoices  []string
	Nonce        string // current one-time challenge nonce
	CallbackURL  string
	DeviceID     string // the device that approved or refused
	ChosenIcon   string
	CreatedIP    string // the integrator's address at creation (evidence, erased with it)
	DecidedIP    string // the device's address when it approved or refused
	CreatedAt    time.Time
	ExpiresAt    time.Time
	ApprovedAt   *time.Time
	FinishedAt   *time.Time
	// Description is what the integrator says the signer approves (CSC's description),
	// shown on the phone; empty for REST requests.
	Description string
	// AuthorizedUntil ends a raw-format request's authorization (set on approval).
	AuthorizedUntil *time.Time
	Documents       []Document
	Idempotency     *Idempotency // set on creation when the integrator sent a key
}

// Idempotency ties an integrator's Idempotency-Key to the request it created.
type Idempotency struct {
	Key       string
	BodyHash  []byte // SHA-256 of the creation body: the same key with another body is refused
	RequestID string
}

// IdempotencyWindow is how long a key is remembered (24 h, as payment APIs do).
const IdempotencyWindow = 24 * time.Hour

// Document is one item to sign within a request.
type Document struct {
	Index  int
	Name   string
	Hash   crypto.Hash
	Digest []byte
	Result []byte    // the CMS once signed (hash mode: the result; PDF mode: kept as evidence)
	PDF    *PDFState // PDF mode: the prepared revision's placeholder
	// ResultSHA256 names the result once retention deleted its bytes.
	ResultSHA256 []byte
}

// Cursor marks a position in a user's history: the last request of the previous page.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}
