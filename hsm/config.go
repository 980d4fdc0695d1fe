package hsm

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// DefaultSessions is the pool size used when Config.Sessions is 0. Eight
// sessions keep several CPU cores (SoftHSM2) or HSM engines busy signing at
// once, while staying well below the session limits of small network HSMs
// (a YubiHSM 2 allows 16 sessions in all) so that a few replicas and an
// operator tool can share one device.
const DefaultSessions = 8

// MaxSessions caps Config.Sessions. More sessions than this do not make
// signing faster on any HSM we know of and usually mean a typo.
const MaxSessions = 256

// maxTokenLabel is the size of the CK_TOKEN_INFO label field.
const maxTokenLabel = 32

// Config selects the PKCS#11 module and token. It is decoded from YAML by the
// caller.
type Config struct {
	Module     string `yaml:"module"`     // path of the PKCS#11 library
	TokenLabel string `yaml:"tokenLabel"` // CKA_LABEL of the token (the URI "token" attribute)
	PINFile    string `yaml:"pinFile"`    // file holding the user PIN (trailing newline trimmed)
	Sessions   int    `yaml:"sessions"`   // pool size; 0 means DefaultSessions
}

// Validate reports whether c is complete and within limits. It does not
// touch the file system or the module.
func (c Config) Validate() error {
	var errs []error
	if c.Module == "" {
		errs = append(errs, errors.New("hsm: config: module is required"))
	}
	if c.TokenLabel == "" {
		errs = append(errs, errors.New("hsm: config: tokenLabel is required"))
	} else if len(c.TokenLabel) > maxTokenLabel {
		errs = append(errs, fmt.Errorf("hsm: config: tokenLabel is %d bytes, PKCS#11 allows %d", len(c.TokenLabel), maxTokenLabel))
	}
	if c.PINFile == "" {
		errs = append(errs, errors.New("hsm: config: pinFile is required"))
	}
	if c.Sessions < 0 || c.Sessions > MaxSessions {
		errs = append(errs, fmt.Errorf("hsm: config: sessions must be between 0 and %d, got %d", MaxSessions, c.Sessions))
	}
	return errors.Join(errs...)
}

// sessions returns the pool size to use.
func (c Config) sessions() int {
	if c.Sessions == 0 {
		return DefaultSessions
	}
	return c.Sessions
}

// readPIN reads a PIN file, trimming one trailing newline (LF or CRLF).
func readPIN(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("hsm: reading pin file: %w", err)
	}
	pin := strings.TrimSuffix(string(b), "\n")
	pin = strings.TrimSuffix(pin, "\r")
	if pin == "" {
		return "", fmt.Errorf("hsm: pin file %s is empty", path)
	}
	return pin, nil
}
