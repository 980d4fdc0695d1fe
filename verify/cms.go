package verify

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/paraphe/paraphe/cades"
)

// trimDER returns the first DER element of b; the rest (the /Contents
// placeholder's padding) must be zero bytes.
func trimDER(b []byte) ([]byte, error) {
	s := cryptobyte.String(b)
	var elem cryptobyte.String
	var tag casn1.Tag
	if !s.ReadAnyASN1Element(&elem, &tag) {
		return nil, fmt.Errorf("%w: not one DER element", cades.ErrMalformed)
	}
	for _, c := range s {
		if c != 0 {
			return nil, fmt.Errorf("%w: data after the signature", cades.ErrMalformed)
		}
	}
	return elem, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// signerOutcome is what checkSigner learned about a SignerInfo.
type signerOutcome struct {
	si   *cades.SignerInfo
	cert *x509.Certificate
	// ok is true when the signature value and message digest verified.
	ok bool
	// tso is the signature timestamp's outcome, when there is one.
	tso *tsOutcome
	// chainOK is true when the signer chains to an anchor.
	chainOK bool
	// revocation is the signer certificate's revocation status.
	revocation revStatus
}

// checkSigner checks the single SignerInfo of sd against digestOf, the
// content digest for a hash algorithm, with the certificates of sd and pool.
func checkSigner(res result, sd *cades.SignedData, digestOf func(crypto.Hash) []byte, pool []*x509.Certificate) signerOutcome {
	if len(sd.Signers) != 1 {
		res.fail("cms-signers", TotalFailed, FormatFailure, fmt.Sprintf("%d signer infos, one expected", len(sd.Signers)))
		return signerOutcome{}
	}
	si := &sd.Signers[0]
	out := signerOutcome{si: si}
	res.sig.DigestAlgorithm = hashName(si.Hash, si.DigestAlgorithm.Algorithm.String())
	res.sig.SignatureAlgorithm = sigAlgName(si.SignatureAlgorithm.Algorithm.String())
	if si.Hash == 0 || !si.Hash.Available() {
		res.fail("digest-algorithm", Indeterminate, CryptoConstraintsFailure, "digest algorithm "+si.DigestAlgorithm.Algorithm.String()+" is not supported")
		return out
	}
	cert := findCert(si, append(append([]*x509.Certificate(nil), sd.Certificates...), pool...))
	if cert == nil {
		res.fail("signing-certificate", Indeterminate, NoSigningCertificateFound, "the signer's certificate is not in the signature nor in the document")
		return out
	}
	out.cert = cert
	res.sig.Signer = describe(cert)
	digest := digestOf(si.Hash)
	err := sd.VerifySigner(si, cert, digest)
	switch {
	case err == nil:
		res.check("message-digest", true, "the signed data's digest matches")
		res.check("signature-value", true, "the signature verifies with "+cert.Subject.CommonName+"'s key")
		if len(si.SigningCertificateV2) > 0 {
			res.check("signing-certificate", true, "signing-certificate-v2 names the signer's certificate")
		}
		out.ok = true
		if si.Hash == crypto.SHA1 {
			res.fail("digest-algorithm", Indeterminate, CryptoConstraintsFailureNoPOE, "SHA-1 is no longer accepted for signatures")
		}
	case errors.Is(err, cades.ErrDigestMismatch):
		res.fail("message-digest", TotalFailed, HashFailure, "the signed bytes do not match the signature's message digest: the document was changed")
	case errors.Is(err, cades.ErrBadSignature):
		res.fail("signature-value", TotalFailed, SigCryptoFailure, "the signature value does not verify")
	case errors.Is(err, cades.ErrUnsupportedAlgorithm):
		res.fail("signature-algorithm", Indeterminate, CryptoConstraintsFailure, "algorithm not supported: "+err.Error())
	case errors.Is(err, cades.ErrSigningCertificateMismatch):
		res.fail("signing-certificate", Indeterminate, NoSigningCertificateFound, "signing-certificate-v2 does not name the certificate found")
	case errors.Is(err, cades.ErrSignerCertificateNotFound):
		res.fail("signing-certificate", Indeterminate, NoSigningCertificateFound, err.Error())
	case errors.Is(err, cades.ErrDigestLength):
		res.fail("message-digest", Indeterminate, CryptoConstraintsFailure, err.Error())
	default:
		res.fail("cms-structure", TotalFailed, FormatFailure, err.Error())
	}
	return out
}

// tsOutcome is the result of checking an RFC 3161 token.
type tsOutcome struct {
	ts    *Timestamp
	tok   *cades.TimestampToken
	cert  *x509.Certificate
	chain []*x509.Certificate
	valid bool
	// crypto is true when the imprint and the token signature verified
	// (the chain may still be unproven).
	crypto bool
	ind    Indication
	sub    SubIndication
}

// checkTimestamp checks token: the imprint is the hash of imprinted, the
// token's signature verifies, and the TSA chains to the anchors at the
// validation time (at, or the token's time when at is zero).
func (v *run) checkTimestamp(token []byte, imprinted func(crypto.Hash) []byte, pool []*x509.Certificate) tsOutcome {
	out := tsOutcome{ts: &Timestamp{}, ind: TotalPassed}
	bad := func(ind Indication, sub SubIndication, detail string) tsOutcome {
		out.ts.Detail, out.ind, out.sub = detail, ind, sub
		return out
	}
	tok, err := cades.ParseTimestampToken(token)
	if err != nil {
		return bad(TotalFailed, FormatFailure, "timestamp token malformed: "+err.Error())
	}
	out.tok = tok
	out.ts.Time = tok.GenTime.UTC()
	if tok.Hash == 0 || !tok.Hash.Available() {
		return bad(Indeterminate, CryptoConstraintsFailure, "timestamp imprint algorithm not supported")
	}
	if !bytesEqual(imprinted(tok.Hash), tok.HashedMessage) {
		return bad(TotalFailed, HashFailure, "the timestamp's message imprint does not match")
	}
	sd := tok.SignedData
	if len(sd.Signers) != 1 {
		return bad(TotalFailed, FormatFailure, "timestamp token must have one signer")
	}
	si := &sd.Signers[0]
	if si.Hash == 0 || !si.Hash.Available() {
		return bad(Indeterminate, CryptoConstraintsFailure, "timestamp digest algorithm not supported")
	}
	cert := findCert(si, append(append([]*x509.Certificate(nil), sd.Certificates...), pool...))
	if cert == nil {
		return bad(Indeterminate, NoSigningCertificateFound, "the TSA certificate is not in the token nor in the document")
	}
	out.cert = cert
	out.ts.TSA = cert.Subject.String()
	h := si.Hash.New()
	h.Write(sd.Content)
	if err := sd.VerifySigner(si, cert, h.Sum(nil)); err != nil {
		switch {
		case errors.Is(err, cades.ErrUnsupportedAlgorithm):
			return bad(Indeterminate, CryptoConstraintsFailure, "timestamp: "+err.Error())
		case errors.Is(err, cades.ErrSigningCertificateMismatch), errors.Is(err, cades.ErrSignerCertificateNotFound):
			return bad(Indeterminate, NoSigningCertificateFound, "timestamp: "+err.Error())
		case errors.Is(err, cades.ErrDigestMismatch):
			return bad(TotalFailed, HashFailure, "timestamp: "+err.Error())
		}
		return bad(TotalFailed, SigCryptoFailure, "timestamp signature: "+err.Error())
	}
	out.crypto = true
	at := v.opts.At
	if at.IsZero() {
		at = tok.GenTime
	}
	anchors := v.opts.Anchors
	if tl := v.opts.TrustedLists.TimestampAnchorsAt(at); len(tl) > 0 {
		anchors = append(append([]*x509.Certificate(nil), anchors...), tl...)
	}
	cr := buildChain(cert, anchors, append(append([]*x509.Certificate(nil), sd.Certificates...), pool...), at)
	if cr.ind != TotalPassed {
		return bad(cr.ind, cr.sub, "TSA certificate: "+cr.detail)
	}
	out.chain = cr.chain
	out.valid = true
	out.ts.Valid = true
	return out
}

func bytesEqual(a, b []byte) bool { return len(a) == len(b) && string(a) == string(b) }

func hashName(h crypto.Hash, fallback string) string {
	switch h {
	case crypto.SHA1:
		return "SHA-1"
	case crypto.SHA256:
		return "SHA-256"
	case crypto.SHA384:
		return "SHA-384"
	case crypto.SHA512:
		return "SHA-512"
	}
	return fallback
}

var sigAlgNames = map[string]string{
	"1.2.840.113549.1.1.1":  "RSA",
	"1.2.840.113549.1.1.5":  "RSA with SHA-1",
	"1.2.840.113549.1.1.11": "RSA with SHA-256",
	"1.2.840.113549.1.1.12": "RSA with SHA-384",
	"1.2.840.113549.1.1.13": "RSA with SHA-512",
	"1.2.840.113549.1.1.10": "RSASSA-PSS",
	"1.2.840.10045.2.1":     "ECDSA",
	"1.2.840.10045.4.1":     "ECDSA with SHA-1",
	"1.2.840.10045.4.3.2":   "ECDSA with SHA-256",
	"1.2.840.10045.4.3.3":   "ECDSA with SHA-384",
	"1.2.840.10045.4.3.4":   "ECDSA with SHA-512",
	"1.3.101.113":           "Ed448",
	"1.3.101.112":           "Ed25519",
}

func sigAlgName(oid string) string {
	if n, ok := sigAlgNames[oid]; ok {
		return n
	}
	return oid
}

// timeFromPDF parses a PDF date (D:YYYYMMDDHHmmSSOHH'mm').
func timeFromPDF(s string) (time.Time, bool) {
	if len(s) >= 2 && s[:2] == "D:" {
		s = s[2:]
	}
	if len(s) < 4 {
		return time.Time{}, false
	}
	digits := 0
	for digits < len(s) && digits < 14 && s[digits] >= '0' && s[digits] <= '9' {
		digits++
	}
	base := "20060102150405"
	if digits < 4 || digits%2 != 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(base[:digits], s[:digits])
	if err != nil {
		return time.Time{}, false
	}
	rest := s[digits:]
	if len(rest) >= 3 && (rest[0] == '+' || rest[0] == '-') {
		var hh, mm int
		if _, err := fmt.Sscanf(rest[1:3], "%02d", &hh); err == nil {
			if len(rest) >= 6 {
				_, _ = fmt.Sscanf(rest[4:6], "%02d", &mm)
			}
			off := hh*3600 + mm*60
			if rest[0] == '-' {
				off = -off
			}
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.FixedZone("", off))
		}
	}
	return t.UTC(), true
}
