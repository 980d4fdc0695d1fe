package hsm

import (
	"errors"

	"github.com/miekg/pkcs11"

	"github.com/paraphe/paraphe/errkind"
)

// ErrKeyNotFound is returned when no private key (or secret key, for HMAC)
// carries the requested label.
var ErrKeyNotFound = errors.New("hsm: key not found")

// ErrAmbiguousKey is returned when more than one object matches a label, so
// the key to use cannot be told apart.
var ErrAmbiguousKey = errors.New("hsm: more than one key matches")

// ErrKeyExists is returned by GenerateKey when a private key with the label
// already exists.
var ErrKeyExists = errors.New("hsm: key already exists")

// ErrTokenNotFound is returned by Open when no token carries the configured
// label.
var ErrTokenNotFound = errors.New("hsm: token not found")

// ErrClosed is returned by operations on a Token (or its keys) after Close.
var ErrClosed = errkind.New(errkind.Unavailable, "hsm: token closed")

// isRV reports whether err is the PKCS#11 return value rv.
func isRV(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// tokenGone reports whether err means the whole token was lost (removed, not present,
// failed), not only one session: every session opened before is then dead.
func tokenGone(err error) bool {
	return isRV(err, pkcs11.CKR_DEVICE_REMOVED) || isRV(err, pkcs11.CKR_TOKEN_NOT_PRESENT) ||
		isRV(err, pkcs11.CKR_DEVICE_ERROR) || isRV(err, pkcs11.CKR_TOKEN_NOT_RECOGNIZED)
}

// sessionBroken reports whether err means the session can no longer be used
// as it is and must be closed and opened again (after a token reset, a
// network HSM fail-over, or a login state lost).
func sessionBroken(err error) bool {
	for _, rv := range []uint{
		pkcs11.CKR_SESSION_HANDLE_INVALID,
		pkcs11.CKR_SESSION_CLOSED,
		pkcs11.CKR_DEVICE_REMOVED,
		pkcs11.CKR_DEVICE_ERROR,
		pkcs11.CKR_TOKEN_NOT_PRESENT,
		pkcs11.CKR_TOKEN_NOT_RECOGNIZED,
		pkcs11.CKR_USER_NOT_LOGGED_IN,
		pkcs11.CKR_OPERATION_ACTIVE,
	} {
		if isRV(err, rv) {
			return true
		}
	}
	return false
}
