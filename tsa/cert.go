package tsa

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // reading ESS signing-certificate v1, which is defined with SHA-1
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/paraphe/paraphe/cades"
)

// checkTSACertificate checks the RFC 3161 section 2.3 profile of a TSA
// certificate, as OpenSSL's timestamp-signing purpose does: exactly one
// extended key usage extension, critical, holding id-kp-timeStamping only;
// a key usage, when present, allowing digitalSignature or nonRepudiation.
func checkTSACertificate(cert *x509.Certificate) error {
	n := 0
	critical := false
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			n++
			critical = e.Critical
		}
	}
	switch {
	case n == 0:
		return errors.New("no extended key usage")
	case n > 1:
		return errors.New("more than one extended key usage extension")
	case !critical:
		return errors.New("extended key usage is not critical (RFC 3161 section 2.3)")
	case len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(cert.UnknownExtKeyUsage) != 0:
		return errors.New("extended key usage is not timeStamping only (RFC 3161 section 2.3)")
	case cert.KeyUsage != 0 && cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0:
		return fmt.Errorf("key usage %#x allows neither digitalSignature nor nonRepudiation", int(cert.KeyUsage))
	}
	return nil
}

// checkESSCertID checks the ESS signing-certificate (v1, SHA-1) attribute of
// a token signed without signing-certificate-v2: RFC 3161 section 2.4.1
// requires one of the two, and its first ESSCertID must name cert.
func checkESSCertID(si *cades.SignerInfo, cert *x509.Certificate) error {
	for _, a := range si.SignedAttrs {
		if !a.Type.Equal(cades.OIDAttrSigningCertificate) || len(a.Values) != 1 {
			continue
		}
		v := cryptobyte.String(a.Values[0])
		var sc, certs, id cryptobyte.String
		var hash []byte
		if !v.ReadASN1(&sc, casn1.SEQUENCE) || !sc.ReadASN1(&certs, casn1.SEQUENCE) ||
			!certs.ReadASN1(&id, casn1.SEQUENCE) || !id.ReadASN1Bytes(&hash, casn1.OCTET_STRING) {
			return fmt.Errorf("%w: malformed signing-certificate attribute", ErrInvalidResponse)
		}
		sum := sha1.Sum(cert.Raw)
		if !bytes.Equal(hash, sum[:]) {
			return fmt.Errorf("%w: signing-certificate attribute names another certificate", ErrInvalidResponse)
		}
		return nil
	}
	return fmt.Errorf("%w: no ESS signing-certificate attribute (RFC 3161 section 2.4.1)", ErrInvalidResponse)
}
