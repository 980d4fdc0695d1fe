package device

// PINLength is the number of digits of a PIN, as in itsme.
const PINLength = 5

// MaxPINFailures is how many wrong PINs in a row lock signing.
const MaxPINFailures = 5

// CheckPIN refuses PINs that are not exactly five digits, and the weak ones: all digits
// equal, or an ascending or descending run (12345, 98765, also wrapping 90123).
func CheckPIN(pin string) error {
	if len(pin) != PINLength {
		return ErrWeakPIN
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return ErrWeakPIN
		}
	}
	equal, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		a, b := int(pin[i-1]-'0'), int(pin[i]-'0')
		equal = equal && a == b
		up = up && b == (a+1)%10
		down = down && b == (a+9)%10
	}
	if equal || up || down {
		return ErrWeakPIN
	}
	return nil
}
