package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Validity periods. The CA certificates are long-lived because the dev PKI
// has no rollover; the OCSP responder certificate carries id-pkix-ocsp-nocheck,
// so RFC 6960 §4.2.2.2.1 wants it short-lived: Open renews it when less than
// ocspRenewBefore remains.
const (
	rootValidityYears    = 20
	issuingValidityYears = 10
	ocspValidity         = 365 * 24 * time.Hour
	ocspRenewBefore      = 30 * 24 * time.Hour
	defaultUserValidity  = 2 * 365 * 24 * time.Hour
	tsaValidity          = 5 * 365 * 24 * time.Hour
	// backdate tolerates clocks of relying parties running a little behind.
	backdate = 5 * time.Minute
)

// Object identifiers of the qualified profile (ETSI EN 319 412-1/-2/-5,
// ETSI EN 319 411-2, RFC 3739, RFC 9336, RFC 6960).
var (
	oidQCStatements      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}
	oidQcCompliance      = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 1}
	oidQcSSCD            = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 4}
	oidQcPDS             = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 5}
	oidQcType            = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6}
	oidQcTypeESign       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 1}
	oidPKIXQCSyntaxV2    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 11, 2}
	oidSemanticsNatural  = asn1.ObjectIdentifier{0, 4, 0, 194121, 1, 1}
	oidKPDocumentSigning = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	oidKPTimeStamping    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidExtKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidOCSPNoCheck       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

	oidCountry      = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42}
	oidSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}

	// policyQCPnQSCD is QCP-n-qscd (ETSI EN 319 411-2): qualified
	// certificate for a natural person with the key in a QSCD.
	policyQCPnQSCD = mustOID(0, 4, 0, 194112, 1, 2)
)

func (a *Authority) rootTemplate(pub crypto.PublicKey) (*x509.Certificate, error) {
	now := a.cfg.Now()
	return caTemplate(pub, a.caName("Paraphe Development Root CA"), now, now.AddDate(rootValidityYears, 0, 0), 1)
}

func (a *Authority) issuingTemplate(pub crypto.PublicKey) (*x509.Certificate, error) {
	now := a.cfg.Now()
	t, err := caTemplate(pub, a.caName("Paraphe Development Issuing CA"), now,
		clamp(now.AddDate(issuingValidityYears, 0, 0), a.root.NotAfter), 0)
	if err != nil {
		return nil, err
	}
	t.CRLDistributionPoints = []string{a.cfg.BaseURL + "/crl/root"}
	return t, nil
}

func (a *Authority) ocspTemplate(pub crypto.PublicKey) (*x509.Certificate, error) {
	serial, ski, err := identifiers(pub)
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      a.caName("Paraphe Development OCSP Responder"),
		NotBefore:    now.Add(-backdate),
		NotAfter:     clamp(now.Add(ocspValidity), a.issuing.NotAfter),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
		ExtraExtensions: []pkix.Extension{
			// id-pkix-ocsp-nocheck: relying parties do not check the
			// responder's own status (RFC 6960 §4.2.2.2.1); value NULL.
			{Id: oidOCSPNoCheck, Value: []byte{0x05, 0x00}},
		},
		SubjectKeyId: ski,
	}, nil
}

func (a *Authority) caName(cn string) pkix.Name {
	return pkix.Name{
		Country:      []string{a.cfg.Country},
		Organization: []string{a.cfg.Organization},
		CommonName:   cn,
	}
}

func caTemplate(pub crypto.PublicKey, name pkix.Name, now, notAfter time.Time, pathLen int) (*x509.Certificate, error) {
	serial, ski, err := identifiers(pub)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               name,
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
		SubjectKeyId:          ski,
	}, nil
}

// userTemplate builds the qualified-profile template for a validated request.
func (a *Authority) userTemplate(s UserSubject, pub crypto.PublicKey, validity time.Duration) (*x509.Certificate, error) {
	serial, ski, err := identifiers(pub)
	if err != nil {
		return nil, err
	}
	qc, err := a.qcStatements(isETSINaturalIdentifier(s.SerialNumber))
	if err != nil {
		return nil, err
	}
	now := a.cfg.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		// Order of ETSI EN 319 412-2 §4.2.4 listings; every attribute set
		// through ExtraNames so that the order is ours.
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidCountry, Value: s.Country},
			{Type: oidGivenName, Value: s.GivenName},
			{Type: oidSurname, Value: s.Surname},
			{Type: oidSerialNumber, Value: s.SerialNumber},
			{Type: oidCommonName, Value: s.GivenName + " " + s.Surname},
		}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              clamp(now.Add(validity), a.issuing.NotAfter),
		KeyUsage:              x509.KeyUsageContentCommitment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{oidKPDocumentSigning},
		Policies:              []x509.OID{policyQCPnQSCD},
		OCSPServer:            []string{a.cfg.BaseURL + "/ocsp"},
		IssuingCertificateURL: []string{a.cfg.BaseURL + "/v1/ca/issuing.cer"},
		CRLDistributionPoints: []string{a.cfg.BaseURL + "/crl"},
		SubjectKeyId:          ski,
		ExtraExtensions:       []pkix.Extension{{Id: oidQCStatements, Value: qc}},
	}, nil
}

// tsaTemplate builds a timestamping-unit template (RFC 3161 §2.3: extended
// key usage timeStamping only, critical).
func (a *Authority) tsaTemplate(pub crypto.PublicKey, commonName string) (*x509.Certificate, error) {
	serial, ski, err := identifiers(pub)
	if err != nil {
		return nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamping})
	if err != nil {
		return nil, fmt.Errorf("ca: encode extended key usage: %w", err)
	}
	now := a.cfg.Now()
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               a.caName(commonName),
		NotBefore:             now.Add(-backdate),
		NotAfter:              clamp(now.Add(tsaValidity), a.issuing.NotAfter),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		OCSPServer:            []string{a.cfg.BaseURL + "/ocsp"},
		IssuingCertificateURL: []string{a.cfg.BaseURL + "/v1/ca/issuing.cer"},
		CRLDistributionPoints: []string{a.cfg.BaseURL + "/crl"},
		SubjectKeyId:          ski,
		// crypto/x509 marks extendedKeyUsage non-critical; RFC 3161 wants
		// it critical, so it is written here and overrides the default.
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}, nil
}

// qcStatements encodes the QCStatements extension value (RFC 3739,
// ETSI EN 319 412-5): QcCompliance, QcSSCD, QcType esign, QcPDS, and when
// the subject serialNumber follows ETSI EN 319 412-1 §5.1.3, the
// semanticsIdentifier id-etsi-qcs-semanticsId-Natural.
func (a *Authority) qcStatements(naturalSemantics bool) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		if naturalSemantics {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidPKIXQCSyntaxV2)
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SemanticsInformation
					b.AddASN1ObjectIdentifier(oidSemanticsNatural)
				})
			})
		}
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidQcCompliance)
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidQcSSCD)
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidQcType)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oidQcTypeESign)
			})
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidQcPDS)
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // PdsLocations
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.IA5String, func(b *cryptobyte.Builder) {
						b.AddBytes([]byte(a.cfg.BaseURL + "/pds/en"))
					})
					b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) {
						b.AddBytes([]byte("en"))
					})
				})
			})
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ca: encode qcStatements: %w", err)
	}
	return der, nil
}

// sign creates the certificate and parses it back.
func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// newSerial returns a random positive serial number of at most 128 bits
// (RFC 5280 §4.1.2.2 allows 20 octets; CA/B asks for 64 bits of entropy).
func newSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("ca: serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// subjectKeyID follows RFC 7093 §2 method 1 (leftmost 160 bits of the SHA-256
// of subjectPublicKey), as crypto/x509 does for CA certificates.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	bits, err := publicKeyBits(pub)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(bits)
	return h[:20], nil
}

// publicKeyBits returns the subjectPublicKey BIT STRING contents of pub.
func publicKeyBits(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("ca: public key: %w", err)
	}
	return spkiBits(spki)
}

func spkiBits(spki []byte) ([]byte, error) {
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(spki, &info); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("ca: malformed subjectPublicKeyInfo")
	}
	return info.PublicKey.RightAlign(), nil
}

// checkPublicKey accepts the key types the qualified profile and NSS-based
// validators handle: ECDSA on P-256, P-384, P-521, and RSA of 2048 bits or
// more (ETSI TS 119 312).
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("%w: unsupported elliptic curve", ErrInvalidRequest)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("%w: RSA key shorter than 2048 bits", ErrInvalidRequest)
		}
		return nil
	case nil:
		return fmt.Errorf("%w: no public key", ErrInvalidRequest)
	}
	return fmt.Errorf("%w: unsupported public key type %T", ErrInvalidRequest, pub)
}

func mustOID(arcs ...uint64) x509.OID {
	oid, err := x509.OIDFromInts(arcs)
	if err != nil {
		panic(err)
	}
	return oid
}

func clamp(t, max time.Time) time.Time {
	if t.After(max) {
		return max
	}
	return t
}

// identifiers returns a fresh serial number and the subject key identifier of pub, which
// every certificate the CA makes needs.
func identifiers(pub crypto.PublicKey) (*big.Int, []byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	ski, err := subjectKeyID(pub)
	if err != nil {
		return nil, nil, err
	}
	return serial, ski, nil
}
