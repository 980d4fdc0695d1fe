package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/errkind"
	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/webpush"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Extensions.
	Code         string `json:"code,omitempty"`
	AttemptsLeft *int   `json:"attemptsLeft,omitempty"`
	RequestID    string `json:"requestId,omitempty"`
}

const problemBase = "https://paraphe.dev/problems/"

// Error codes shared with clients (the device CLI reads them).
const (
	CodeInvalid         = "invalid-request"
	CodeUnauthenticated = "unauthenticated"
	CodeNotFound        = "not-found"
	CodeNotPending      = "not-pending"
	CodeExpired         = "expired"
	CodeWrongIcon       = "wrong-icon"
	CodeWrongPIN        = "wrong-pin"
	CodeLocked          = "pin-locked"
	CodePINBusy         = "pin-attempts-busy"
	CodeBlocked         = "blocked"
	CodeSignerInactive  = "signer-inactive"
	CodeStaleChallenge  = "stale-challenge"
	CodeBadApproval     = "bad-approval-signature"
	CodeActivation      = "activation-invalid"
	CodeNotReady        = "result-not-ready"
	CodeTooLarge        = "body-too-large"
	CodeUnsupportedType = "unsupported-media-type"
	CodeTooMany         = "too-many-pending"
	CodeInternal        = "internal"
	CodeUnavailable     = "unavailable"
	CodeNotAllowed      = "method-not-allowed"
	CodeIdempotency     = "idempotency-key-reused"
	CodeUnsignable      = "unsignable-pdf"
	CodeGone            = "gone"
	CodeNoResult        = "no-result"
	CodeConflict        = "conflict"
	CodeForbidden       = "forbidden"
	CodeUpstream        = "upstream-unavailable"
)

// byKind answers errors that have a kind but no entry in mappings, and gives the status
// every entry of mappings must agree with (except the few listed in kindExceptions):
// this is where a kind becomes an HTTP status, once.
var byKind = map[errkind.Kind]struct {
	status int
	code   string
	title  string
}{
	errkind.Invalid:         {http.StatusUnprocessableEntity, CodeInvalid, "The request is not valid"},
	errkind.NotFound:        {http.StatusNotFound, CodeNotFound, "Not found"},
	errkind.Conflict:        {http.StatusConflict, CodeConflict, "Not possible in the current state"},
	errkind.Unauthenticated: {http.StatusUnauthorized, CodeUnauthenticated, "Not authenticated"},
	errkind.Forbidden:       {http.StatusForbidden, CodeForbidden, "Not allowed"},
	errkind.Locked:          {http.StatusLocked, CodeLocked, "Locked"},
	errkind.TooMany:         {http.StatusTooManyRequests, CodeTooMany, "Too many requests"},
	// 5xx: the detail goes to the log only.
	errkind.Unavailable: {http.StatusServiceUnavailable, CodeUnavailable, "A part of the service (HSM, database) is unavailable; retry later"},
	errkind.Upstream:    {http.StatusBadGateway, CodeUpstream, "A service Paraphe depends on (time-stamping authority) failed; retry later"},
}

type mapping struct {
	err    error
	status int
	code   string
	title  string
}

// mappings is the one place where domain errors become HTTP answers. Order matters:
// the first match wins.
var mappings = []mapping{
	{signer.ErrInvalid, http.StatusUnprocessableEntity, CodeInvalid, "The request is not valid"},
	{device.ErrInvalid, http.StatusUnprocessableEntity, CodeInvalid, "The request is not valid"},
	{device.ErrWeakPIN, http.StatusUnprocessableEntity, CodeInvalid, "The PIN is not acceptable"},
	{integrator.ErrInvalid, http.StatusUnprocessableEntity, CodeInvalid, "The request is not valid"},
	{integrator.ErrUnauthenticated, http.StatusUnauthorized, CodeUnauthenticated, "Missing or unknown API key"},
	{device.ErrUnauthenticated, http.StatusUnauthorized, CodeUnauthenticated, "Device call not authenticated"},
	{device.ErrActivation, http.StatusUnprocessableEntity, CodeActivation, "Activation code unknown, expired or already used"},
	{signer.ErrNotFound, http.StatusNotFound, CodeNotFound, "No such signature request"},
	{signer.ErrDocumentIndex, http.StatusNotFound, CodeNotFound, "No document at that index"},
	{signer.ErrSignerNotFound, http.StatusUnprocessableEntity, CodeInvalid, "Unknown signer"},
	{signer.ErrSignerInactive, http.StatusConflict, CodeSignerInactive, "The signer cannot sign now"},
	{signer.ErrTooManyPending, http.StatusTooManyRequests, CodeTooMany, "Too many pending requests for this signer from this integrator"},
	{signer.ErrExpired, http.StatusGone, CodeExpired, "The request has expired"},
	{signer.ErrNotPending, http.StatusConflict, CodeNotPending, "The request is no longer pending"},
	{signer.ErrWrongIcon, http.StatusConflict, CodeWrongIcon, "Wrong icon: the request was refused"},
	{signer.ErrStaleChallenge, http.StatusConflict, CodeStaleChallenge, "The challenge was already used; fetch the request again"},
	{signer.ErrBadApproval, http.StatusUnauthorized, CodeBadApproval, "The approval signature does not verify"},
	{signer.ErrIdempotencyKey, http.StatusConflict, CodeIdempotency, "Idempotency-Key already used with another body"},
	{signer.ErrNotPDF, http.StatusUnsupportedMediaType, CodeUnsupportedType, "Not a PDF"},
	{signer.ErrUnsignable, http.StatusUnprocessableEntity, CodeUnsignable, "This PDF cannot be signed"},
	{signer.ErrResultGone, http.StatusGone, CodeGone, "The signed document is no longer kept"},
	{signer.ErrNoResult, http.StatusGone, CodeNoResult, "The request ended without a signature"},
	{signer.ErrResultNotReady, http.StatusConflict, CodeNotReady, "The request is not signed yet"},
	{webpush.ErrInvalid, http.StatusUnprocessableEntity, CodeInvalid, "The push subscription is not valid"},
	{device.ErrWrongPIN, http.StatusForbidden, CodeWrongPIN, "Wrong PIN"},
	{device.ErrLocked, http.StatusLocked, CodeLocked, "Signing is locked after too many wrong PINs"},
	{device.ErrPINBusy, http.StatusTooManyRequests, CodePINBusy, "Other PIN attempts are being checked"},
	{device.ErrBlocked, http.StatusForbidden, CodeBlocked, "The account is blocked"},
	{device.ErrNotEnrolled, http.StatusConflict, CodeSignerInactive, "The user has no active device"},
	{device.ErrUserNotFound, http.StatusNotFound, CodeNotFound, "No such user"},
}

// writeProblem sends p as application/problem+json and aborts the chain.
func writeProblem(c *gin.Context, p Problem) {
	if p.Type == "" {
		p.Type = problemBase + p.Code
	}
	p.Instance = c.Request.URL.Path
	p.RequestID = c.GetString(ctxRequestID)
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

// fail maps err to a problem: an error listed in mappings gets its own code and title
// (clients branch on codes), any other error with a kind gets its kind's answer
// (byKind), and an error without a kind is 500. 5xx answers carry no detail; it goes to
// the log with the request id.
func fail(c *gin.Context, err error) {
	for _, m := range mappings {
		if errors.Is(err, m.err) {
			p := Problem{Status: m.status, Code: m.code, Title: m.title, Detail: err.Error()}
			switch m.err {
			case signer.ErrTooManyPending:
				// Pending requests expire within minutes; a retry sooner only adds load.
				c.Header("Retry-After", "30")
			case device.ErrPINBusy:
				// The attempts being checked are settled within an HSM round trip.
				c.Header("Retry-After", "1")
			}
			var wp *device.WrongPINError
			if errors.As(err, &wp) {
				n := wp.AttemptsLeft
				p.AttemptsLeft = &n
			}
			writeProblem(c, p)
			return
		}
	}
	status, code, title := http.StatusInternalServerError, CodeInternal, "Internal error"
	switch k, ok := byKind[errkind.Of(err)]; {
	case errors.Is(err, context.Canceled):
		status, title = 499, "Client closed the request"
	case ok && k.status < 500:
		writeProblem(c, Problem{Status: k.status, Code: k.code, Title: k.title, Detail: err.Error()})
		return
	case ok:
		status, code, title = k.status, k.code, k.title
	case errors.Is(err, context.DeadlineExceeded):
		status, code, title = http.StatusServiceUnavailable, CodeUnavailable, "Timed out"
	}
	if status == http.StatusServiceUnavailable || status == http.StatusBadGateway {
		c.Header("Retry-After", "5")
	}
	logger(c).Error("request failed", "status", status, "err", err)
	writeProblem(c, Problem{Status: status, Code: code, Title: title})
}

// badRequest answers 400 (malformed input) with detail.
func badRequest(c *gin.Context, detail string) {
	writeProblem(c, Problem{Status: http.StatusBadRequest, Code: CodeInvalid, Title: "Malformed request", Detail: detail})
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}
