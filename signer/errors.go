package signer

import (
	"fmt"

	"github.com/paraphe/paraphe/errkind"
)

// Sentinel errors callers branch on; the API maps them to problem types in one place.
var (
	ErrInvalid        = errkind.New(errkind.Invalid, "signer: invalid request")
	ErrNotFound       = errkind.New(errkind.NotFound, "signer: request not found")
	ErrNotPending     = errkind.New(errkind.Conflict, "signer: request is no longer pending")
	ErrExpired        = errkind.New(errkind.Conflict, "signer: request expired")
	ErrWrongIcon      = errkind.New(errkind.Conflict, "signer: wrong icon")
	ErrSignerNotFound = errkind.New(errkind.Invalid, "signer: unknown signer")
	ErrSignerInactive = errkind.New(errkind.Conflict, "signer: signer cannot sign (not enrolled, blocked or locked)")
	ErrStaleChallenge = errkind.New(errkind.Conflict, "signer: challenge nonce already used or unknown")
	ErrBadApproval    = errkind.New(errkind.Unauthenticated, "signer: approval signature does not verify")
	ErrResultNotReady = errkind.New(errkind.Conflict, "signer: result not available")
	// ErrNoResult is a request that ended without a signature (refused,
	// expired, cancelled, failed): final, asking again will not help.
	ErrNoResult       = errkind.New(errkind.Conflict, "signer: the request ended without a signature")
	ErrTooManyPending = errkind.New(errkind.TooMany, "signer: too many pending requests of this integrator for this signer")
	ErrDocumentIndex  = errkind.New(errkind.NotFound, "signer: no document at that index")
	ErrIdempotencyKey = errkind.New(errkind.Conflict, "signer: idempotency key reused with another body")
	ErrTooLarge       = errkind.New(errkind.Invalid, "signer: upload too large")
	ErrResultGone     = errkind.New(errkind.NotFound, "signer: the signed document is no longer kept (retention)")
	// ErrNotPDF and ErrUnsignable refuse an upload in PDF mode (415 and 422).
	ErrNotPDF     = errkind.New(errkind.Invalid, "signer: not a PDF")
	ErrUnsignable = errkind.New(errkind.Invalid, "signer: this PDF cannot be signed")
	// ErrIdempotencyRace is returned by Store.CreateRequest when another creation took the
	// key meanwhile.
	ErrIdempotencyRace = errkind.New(errkind.Conflict, "signer: idempotency key taken concurrently")
)

// invalidf returns an ErrInvalid with detail.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
