package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Upper bounds of RFC 5280 Appendix A: ub-common-name and ub-serial-number
// are 64 characters; the common name "Given Surname" must fit.
const (
	maxCommonName   = 64
	maxSerialNumber = 64
)

// UserSubject names the natural person of a qualified certificate.
type UserSubject struct {
	// GivenName and Surname are the person's names (UTF-8); the common name
	// is "GivenName Surname" and must not exceed 64 characters.
	GivenName, Surname string
	// SerialNumber identifies the person, preferably with the ETSI EN 319
	// 412-1 §5.1.3 semantics (e.g. "PNOBE-85010112345"); PrintableString
	// characters only, at most 64. When it follows those semantics, the
	// certificate also carries the semanticsIdentifier
	// id-etsi-qcs-semanticsId-Natural.
	SerialNumber string
	// Country is the ISO 3166 code of the person's country; empty means
	// Config.Country.
	Country string
}

// IssueRequest asks for a user signing certificate.
type IssueRequest struct {
	// Subject names the person.
	Subject UserSubject
	// PublicKey is the public half of the user's HSM key: ECDSA P-256,
	// P-384 or P-521, or RSA of at least 2048 bits.
	PublicKey crypto.PublicKey
	// Validity is how long the certificate is valid; 0 means 2 years. It is
	// cut at the issuing CA's own expiry.
	Validity time.Duration
}

// IssueUser issues a qualified-profile signing certificate (ETSI EN 319
// 412-2 and -5, policy QCP-n-qscd) signed by the issuing CA: random 128-bit
// serial; subject C, givenName, surname, serialNumber and CN "Given Surname";
// keyUsage nonRepudiation and digitalSignature (critical); extendedKeyUsage
// emailProtection and id-kp-documentSigning (non-critical); qcStatements
// QcCompliance, QcSSCD, QcType esign and QcPDS; AIA (OCSP, caIssuers), CRL
// distribution point, subject and authority key identifiers. A request that
// fails validation returns an error wrapping ErrInvalidRequest.
func (a *Authority) IssueUser(ctx context.Context, req IssueRequest) (*x509.Certificate, error) {
	s, err := a.normalizeSubject(req.Subject)
	if err != nil {
		return nil, err
	}
	if err := a.checkLeafKey(req.PublicKey); err != nil {
		return nil, err
	}
	validity := req.Validity
	switch {
	case validity == 0:
		validity = defaultUserValidity
	case validity < 0:
		return nil, fmt.Errorf("%w: negative validity", ErrInvalidRequest)
	}
	tmpl, err := a.userTemplate(s, req.PublicKey, validity)
	if err != nil {
		return nil, err
	}
	return a.issue(ctx, tmpl, req.PublicKey)
}

// IssueTSA issues a timestamping certificate for a key held in the HSM (the
// built-in TSA's): subject CN commonName with the CA's O and C;
// extendedKeyUsage timeStamping only, critical (RFC 3161 §2.3); keyUsage
// digitalSignature and nonRepudiation; AIA, CRL distribution point, key
// identifiers; valid 5 years (cut at the issuing CA's expiry). The TSA
// certificate's serial must be recorded in the store like a user's, or OCSP
// will answer unknown for it.
func (a *Authority) IssueTSA(ctx context.Context, pub crypto.PublicKey, commonName string) (*x509.Certificate, error) {
	if err := checkText("common name", commonName, maxCommonName); err != nil {
		return nil, err
	}
	if err := a.checkLeafKey(pub); err != nil {
		return nil, err
	}
	tmpl, err := a.tsaTemplate(pub, commonName)
	if err != nil {
		return nil, err
	}
	return a.issue(ctx, tmpl, pub)
}

func (a *Authority) issue(ctx context.Context, tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	cert, err := sign(tmpl, a.issuing, pub, a.issuingKey)
	if err != nil {
		return nil, fmt.Errorf("ca: issue: %w", err)
	}
	return cert, nil
}

// checkLeafKey accepts a supported key that is not one of the CA's own.
func (a *Authority) checkLeafKey(pub crypto.PublicKey) error {
	if err := checkPublicKey(pub); err != nil {
		return err
	}
	for _, c := range []*x509.Certificate{a.root, a.issuing, a.ocsp} {
		if k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && k.Equal(pub) {
			return fmt.Errorf("%w: public key belongs to the CA", ErrInvalidRequest)
		}
	}
	return nil
}

func (a *Authority) normalizeSubject(s UserSubject) (UserSubject, error) {
	s.GivenName = strings.TrimSpace(s.GivenName)
	s.Surname = strings.TrimSpace(s.Surname)
	s.SerialNumber = strings.TrimSpace(s.SerialNumber)
	if s.Country == "" {
		s.Country = a.cfg.Country
	}
	if err := checkText("given name", s.GivenName, maxCommonName); err != nil {
		return s, err
	}
	if err := checkText("surname", s.Surname, maxCommonName); err != nil {
		return s, err
	}
	if n := utf8.RuneCountInString(s.GivenName + " " + s.Surname); n > maxCommonName {
		return s, fmt.Errorf("%w: common name has %d characters, more than %d", ErrInvalidRequest, n, maxCommonName)
	}
	if s.SerialNumber == "" || len(s.SerialNumber) > maxSerialNumber || !isPrintableString(s.SerialNumber) {
		return s, fmt.Errorf("%w: serialNumber must have 1 to %d PrintableString characters", ErrInvalidRequest, maxSerialNumber)
	}
	if !isCountryCode(s.Country) {
		return s, fmt.Errorf("%w: country %q is not a two-letter upper-case code", ErrInvalidRequest, s.Country)
	}
	return s, nil
}

// checkText accepts non-empty valid UTF-8 of at most max characters, without
// control characters.
func checkText(field, v string, max int) error {
	if v == "" || !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		return fmt.Errorf("%w: %s must be 1 to %d characters of UTF-8", ErrInvalidRequest, field, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %s contains a control character", ErrInvalidRequest, field)
		}
	}
	return nil
}

// isPrintableString reports whether s uses only the X.680 PrintableString
// characters, as X.520 requires for serialNumber.
func isPrintableString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte(" '()+,-./:=?", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// etsiNatural matches the natural-person identifier of ETSI EN 319 412-1
// §5.1.3: a type (PAS, IDC, PNO, TAX, TIN, or two letters and ':' for a
// national scheme), a country code, '-', the identifier.
var etsiNatural = regexp.MustCompile(`^(?:PAS|IDC|PNO|TAX|TIN|[A-Z]{2}:)[A-Z]{2}-.+$`)

func isETSINaturalIdentifier(serial string) bool { return etsiNatural.MatchString(serial) }
