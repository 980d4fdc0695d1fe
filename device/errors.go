package device

import (
	"fmt"

	"github.com/paraphe/paraphe/errkind"
)

// Sentinel errors callers branch on.
var (
	ErrInvalid         = errkind.New(errkind.Invalid, "device: invalid input")
	ErrUnauthenticated = errkind.New(errkind.Unauthenticated, "device: call not authenticated")
	ErrReplay          = errkind.New(errkind.Unauthenticated, "device: nonce already used")
	ErrBadSignature    = errkind.New(errkind.Unauthenticated, "device: signature does not verify")
	ErrActivation      = errkind.New(errkind.Invalid, "device: activation code unknown, expired or already used")
	ErrUserNotFound    = errkind.New(errkind.NotFound, "device: user not found")
	ErrDeviceNotFound  = errkind.New(errkind.NotFound, "device: device not found")
	ErrLocked          = errkind.New(errkind.Locked, "device: signing locked after too many wrong PINs; re-activation needed")
	// ErrPINBusy: every attempt left before the lock is being judged by another call;
	// retry once they are settled.
	ErrPINBusy     = errkind.New(errkind.TooMany, "device: the PIN attempts left are all being checked; retry in a moment")
	ErrNotEnrolled = errkind.New(errkind.Conflict, "device: user has no active device")
	ErrBlocked     = errkind.New(errkind.Forbidden, "device: account blocked")
	ErrWeakPIN     = errkind.New(errkind.Invalid, "device: PIN must be exactly 5 digits, not all equal, not an ascending or descending sequence")
)

// WrongPINError reports a wrong PIN and how many attempts are left before the lock.
type WrongPINError struct{ AttemptsLeft int }

func (e *WrongPINError) Error() string {
	return fmt.Sprintf("device: wrong PIN, %d attempts left", e.AttemptsLeft)
}

// Is makes errors.Is(err, ErrWrongPIN) work.
func (e *WrongPINError) Is(target error) bool { return target == ErrWrongPIN }

// ErrWrongPIN matches any *WrongPINError.
var ErrWrongPIN = errkind.New(errkind.Forbidden, "device: wrong PIN")
