package device

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on.
var (
	ErrInvalid         = errors.New("device: invalid input")
	ErrUnauthenticated = errors.New("device: call not authenticated")
	ErrReplay          = errors.New("device: nonce already used")
	ErrBadSignature    = errors.New("device: signature does not verify")
	ErrActivation      = errors.New("device: activation code unknown, expired or already used")
	ErrUserNotFound    = errors.New("device: user not found")
	ErrDeviceNotFound  = errors.New("device: device not found")
	ErrLocked          = errors.New("device: signing locked after too many wrong PINs; re-activation needed")
	// ErrPINBusy: every attempt left before the lock is being judged by another call;
	// retry once they are settled.
	ErrPINBusy     = errors.New("device: the PIN attempts left are all being checked; retry in a moment")
	ErrNotEnrolled = errors.New("device: user has no active device")
	ErrBlocked     = errors.New("device: account blocked")
	ErrWeakPIN     = errors.New("device: PIN must be exactly 5 digits, not all equal, not an ascending or descending sequence")
)

// WrongPINError reports a wrong PIN and how many attempts are left before the lock.
type WrongPINError struct{ AttemptsLeft int }

func (e *WrongPINError) Error() string {
	return fmt.Sprintf("device: wrong PIN, %d attempts left", e.AttemptsLeft)
}

// Is makes errors.Is(err, ErrWrongPIN) work.
func (e *WrongPINError) Is(target error) bool { return target == ErrWrongPIN }

// ErrWrongPIN matches any *WrongPINError.
var ErrWrongPIN = errors.New("device: wrong PIN")
