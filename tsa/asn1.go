package tsa

import (
	"crypto"
	"encoding/asn1"
	"fmt"
	"strconv"
	"strings"

	"github.com/paraphe/paraphe/cades"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// DevPolicy is the default TSA policy of the development TSA:
// 2.999.80.65.82.65.80.72.69.1.1, under the "example" arc 2.999 that no
// authority assigns; the arcs after 2.999 spell "PARAPHE" in ASCII, then
// "TSA policy, version 1". Callers must not modify it.
var DevPolicy = asn1.ObjectIdentifier{2, 999, 80, 65, 82, 65, 80, 72, 69, 1, 1}

// hashOID returns the OID of the hashes this package accepts for imprints.
func hashOID(h crypto.Hash) (asn1.ObjectIdentifier, bool) { return cades.HashOID(h) }

// hashFromOID maps an imprint's algorithm to its hash: only SHA-256, SHA-384 and SHA-512
// (cades also reads SHA-1, for old signatures; a time-stamp over SHA-1 is refused).
func hashFromOID(oid asn1.ObjectIdentifier) crypto.Hash {
	if h := cades.HashFromOID(oid); h != crypto.SHA1 {
		return h
	}
	return 0
}

// PKIStatus values (RFC 3161 section 2.4.2).
const (
	statusGranted          = 0
	statusGrantedWithMods  = 1
	statusRejection        = 2
	statusWaiting          = 3
	statusRevocationWarn   = 4
	statusRevocationNotify = 5
)

// FailureInfo is a PKIFailureInfo bit (RFC 3161 section 2.4.2).
type FailureInfo int

// PKIFailureInfo bits a TSA may set in a rejection.
const (
	// FailBadAlg: unrecognized or unsupported algorithm identifier.
	FailBadAlg FailureInfo = 0
	// FailBadRequest: transaction not permitted or supported.
	FailBadRequest FailureInfo = 2
	// FailBadDataFormat: the data submitted has the wrong format.
	FailBadDataFormat FailureInfo = 5
	// FailTimeNotAvailable: the TSA's time source is not available.
	FailTimeNotAvailable FailureInfo = 14
	// FailUnacceptedPolicy: the requested TSA policy is not supported.
	FailUnacceptedPolicy FailureInfo = 15
	// FailUnacceptedExtension: the requested extension is not supported.
	FailUnacceptedExtension FailureInfo = 16
	// FailAddInfoNotAvailable: the additional information requested could not be understood or is not available.
	FailAddInfoNotAvailable FailureInfo = 17
	// FailSystemFailure: the request cannot be handled due to system failure.
	FailSystemFailure FailureInfo = 25
)

// String returns the RFC 3161 name of f.
func (f FailureInfo) String() string {
	switch f {
	case FailBadAlg:
		return "badAlg"
	case FailBadRequest:
		return "badRequest"
	case FailBadDataFormat:
		return "badDataFormat"
	case FailTimeNotAvailable:
		return "timeNotAvailable"
	case FailUnacceptedPolicy:
		return "unacceptedPolicy"
	case FailUnacceptedExtension:
		return "unacceptedExtension"
	case FailAddInfoNotAvailable:
		return "addInfoNotAvailable"
	case FailSystemFailure:
		return "systemFailure"
	}
	return "failureInfo(" + strconv.Itoa(int(f)) + ")"
}

func statusName(s int64) string {
	switch s {
	case statusGranted:
		return "granted"
	case statusGrantedWithMods:
		return "grantedWithMods"
	case statusRejection:
		return "rejection"
	case statusWaiting:
		return "waiting"
	case statusRevocationWarn:
		return "revocationWarning"
	case statusRevocationNotify:
		return "revocationNotification"
	}
	return "status(" + strconv.FormatInt(s, 10) + ")"
}

// encodeResponse writes a TimeStampResp: status, an optional statusString,
// an optional failInfo (fail < 0: absent) and an optional token.
func encodeResponse(status int64, text string, fail FailureInfo, token []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // PKIStatusInfo
			b.AddASN1Int64(status)
			if text != "" {
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(casn1.UTF8String, func(b *cryptobyte.Builder) { b.AddBytes([]byte(text)) })
				})
			}
			if fail >= 0 {
				// DER named BIT STRING: no trailing zero bits.
				n := int(fail)
				bits := make([]byte, n/8+1)
				bits[n/8] = 0x80 >> (n % 8)
				b.AddASN1(casn1.BIT_STRING, func(b *cryptobyte.Builder) {
					b.AddUint8(uint8(7 - n%8))
					b.AddBytes(bits)
				})
			}
		})
		if token != nil {
			b.AddBytes(token)
		}
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tsa: encode response: %w", err)
	}
	return out, nil
}

// response is a parsed TimeStampResp.
type response struct {
	status int64
	text   []string
	fails  []FailureInfo
	token  []byte // DER ContentInfo, nil when absent
}

// parseResponse reads a DER TimeStampResp strictly.
func parseResponse(der []byte) (*response, error) {
	s := cryptobyte.String(der)
	var body, info cryptobyte.String
	r := &response{}
	if !s.ReadASN1(&body, casn1.SEQUENCE) || !s.Empty() ||
		!body.ReadASN1(&info, casn1.SEQUENCE) || !info.ReadASN1Int64WithTag(&r.status, casn1.INTEGER) {
		return nil, fmt.Errorf("%w: not a DER TimeStampResp", ErrInvalidResponse)
	}
	if info.PeekASN1Tag(casn1.SEQUENCE) {
		var texts cryptobyte.String
		info.ReadASN1(&texts, casn1.SEQUENCE)
		for !texts.Empty() {
			var t cryptobyte.String
			if !texts.ReadASN1(&t, casn1.UTF8String) {
				return nil, fmt.Errorf("%w: bad statusString", ErrInvalidResponse)
			}
			r.text = append(r.text, string(t))
		}
	}
	if info.PeekASN1Tag(casn1.BIT_STRING) {
		var bs asn1.BitString
		if !info.ReadASN1BitString(&bs) {
			return nil, fmt.Errorf("%w: bad failInfo", ErrInvalidResponse)
		}
		for i := 0; i < bs.BitLength; i++ {
			if bs.At(i) == 1 {
				r.fails = append(r.fails, FailureInfo(i))
			}
		}
	}
	if !info.Empty() {
		return nil, fmt.Errorf("%w: trailing data in PKIStatusInfo", ErrInvalidResponse)
	}
	if !body.Empty() {
		var tok cryptobyte.String
		if !body.ReadASN1Element(&tok, casn1.SEQUENCE) || !body.Empty() {
			return nil, fmt.Errorf("%w: trailing data after the token", ErrInvalidResponse)
		}
		r.token = tok
	}
	return r, nil
}

// statusError describes a non-granted status for an error message.
func (r *response) statusError() string {
	var sb strings.Builder
	sb.WriteString(statusName(r.status))
	for _, f := range r.fails {
		sb.WriteString(" " + f.String())
	}
	if len(r.text) > 0 {
		sb.WriteString(": " + strconv.Quote(strings.Join(r.text, "; ")))
	}
	return sb.String()
}

// ParseOID parses a dotted OID such as "1.2.3" strictly (no leading zeros, first arcs
// in range).
func ParseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("tsa: invalid OID %q", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || p == "" || strings.Trim(p, "0123456789") != "" || (p != "0" && p[0] == '0') {
			return nil, fmt.Errorf("tsa: invalid OID %q", s)
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("tsa: invalid OID %q", s)
	}
	return oid, nil
}
