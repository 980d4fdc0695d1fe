package signer

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on; the API maps them to problem types in one place.
var (
	ErrInvalid        = errors.New("signer: invalid request")
	ErrNotFound       = errors.New("signer: request not found")
	ErrNotPending     = errors.New("signer: request is no longer pending")
	ErrExpired        = errors.New("signer: request expired")
	ErrWrongIcon      = errors.New("signer: wrong icon")
	ErrSignerNotFound = errors.New("signer: unknown signer")
	ErrSignerInactive = errors.New("signer: signer cannot sign (not enrolled, blocked or locked)")
	ErrStaleChallenge = errors.New("signer: challenge nonce already used or unknown")
	ErrBadApproval    = errors.New("signer: approval signature does not verify")
	ErrResultNotReady = errors.New("signer: result not available")
	// ErrNoResult is a request that ended without a signature (refused,
	// expired, cancelled, failed): final, asking again will not help.
	ErrNoResult       = errors.New("signer: the request ended without a signature")
	ErrTooManyPending = errors.New("signer: too many pending requests of this integrator for this signer")
	ErrDocumentIndex  = errors.New("signer: no document at that index")
	ErrIdempotencyKey = errors.New("signer: idempotency key reused with another body")
	ErrTooLarge       = errors.New("signer: upload too large")
	ErrResultGone     = errors.New("signer: the signed document is no longer kept (retention)")
	// ErrNotPDF and ErrUnsignable refuse an upload in PDF mode (415 and 422).
	ErrNotPDF     = errors.New("signer: not a PDF")
	ErrUnsignable = errors.New("signer: this PDF cannot be signed")
	// ErrIdempotencyRace is returned by Store.CreateRequest when another creation took the
	// key meanwhile.
	ErrIdempotencyRace = errors.New("signer: idempotency key taken concurrently")
)

// invalidf returns an ErrInvalid with detail.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
