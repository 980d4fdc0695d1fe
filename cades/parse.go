package cades

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/paraphe/paraphe/internal/brainpool"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrMalformed reports input that is not a DER SignedData this package can
// read. Parse errors wrap it.
var ErrMalformed = errors.New("cades: malformed signed data")

// SignedData is a parsed CMS SignedData (RFC 5652 section 5.1). Its byte
// slices alias the input given to Parse. It is safe for concurrent reads.
type SignedData struct {
	// Raw is the whole ContentInfo, as given to Parse.
	Raw []byte
	// Version is the SignedData version (1, 3, 4 or 5).
	Version int
	// DigestAlgorithms lists the digestAlgorithms field.
	DigestAlgorithms []AlgorithmIdentifier
	// ContentType is the eContentType.
	ContentType asn1.ObjectIdentifier
	// Content is the eContent, or nil for a detached signature.
	Content []byte
	// Certificates holds the certificates of the certificates field, in
	// order. Other certificate choices (attribute certificates) are skipped.
	Certificates []*x509.Certificate
	// RevocationInfo holds the raw DER elements of the crls field (CRLs or
	// other revocation information such as OCSP responses, RFC 5940).
	RevocationInfo [][]byte
	// Signers holds the SignerInfos, in order.
	Signers []SignerInfo

	rawDigestAlgs [][]byte
	rawCerts      [][]byte
}

// AlgorithmIdentifier is an X.509 AlgorithmIdentifier.
type AlgorithmIdentifier struct {
	// Algorithm is the algorithm OID.
	Algorithm asn1.ObjectIdentifier
	// Parameters is the DER of the parameters, or nil when absent.
	Parameters []byte
}

// SignerInfo is one parsed CMS SignerInfo (RFC 5652 section 5.3).
type SignerInfo struct {
	// Raw is the DER of the SignerInfo.
	Raw []byte
	// Version is 1 (issuer and serial number) or 3 (subject key identifier).
	Version int
	// Issuer is the DER Name of the sid's issuer (version 1), else nil.
	Issuer []byte
	// SerialNumber is the sid's serial number (version 1), else nil.
	SerialNumber *big.Int
	// SubjectKeyID is the sid's subject key identifier (version 3), else nil.
	SubjectKeyID []byte
	// DigestAlgorithm is the digestAlgorithm field.
	DigestAlgorithm AlgorithmIdentifier
	// Hash is DigestAlgorithm as a crypto.Hash (SHA-1, SHA-256, SHA-384,
	// SHA-512), or 0 when unknown.
	Hash crypto.Hash
	// SignedAttrsRaw is the DER SET OF signed attributes, re-tagged as SET:
	// the bytes the signature covers. Nil when absent.
	SignedAttrsRaw []byte
	// SignedAttrs holds every signed attribute, in encoded order.
	SignedAttrs []Attribute
	// ContentType is the content-type signed attribute, or nil.
	ContentType asn1.ObjectIdentifier
	// MessageDigest is the message-digest signed attribute, or nil.
	MessageDigest []byte
	// SigningTime is the signing-time signed attribute, or the zero time.
	SigningTime time.Time
	// SigningCertificateV2 holds the ESSCertIDv2 entries of the
	// signing-certificate-v2 attribute; the first names the signer's certificate.
	SigningCertificateV2 []ESSCertIDv2
	// SignatureAlgorithm is the signatureAlgorithm field.
	SignatureAlgorithm AlgorithmIdentifier
	// Signature is the signature value.
	Signature []byte
	// UnsignedAttrsRaw is the DER SET OF unsigned attributes, re-tagged as SET, or nil.
	UnsignedAttrsRaw []byte
	// UnsignedAttrs holds every unsigned attribute, in encoded order.
	UnsignedAttrs []Attribute
	// SignatureTimestamps holds the values of the id-aa-signatureTimeStampToken
	// unsigned attributes: DER ContentInfos of RFC 3161 tokens.
	SignatureTimestamps [][]byte

	// rawPrefix is the SignerInfo content up to, and including, the signature.
	rawPrefix []byte
	// rawUnsigned holds each unsigned Attribute's DER.
	rawUnsigned [][]byte
}

// ESSCertIDv2 is one certificate reference of a signing-certificate-v2
// attribute (RFC 5035).
type ESSCertIDv2 struct {
	// Hash is the hash of CertHash (SHA-256 when the field is omitted), or 0 if unknown.
	Hash crypto.Hash
	// CertHash is the hash of the whole DER certificate.
	CertHash []byte
	// Issuer is the DER Name of the issuerSerial's directoryName, or nil
	// when issuerSerial is absent or names no directoryName.
	Issuer []byte
	// SerialNumber is the issuerSerial's serial number, or nil when absent.
	SerialNumber *big.Int
}

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// Parse parses a DER ContentInfo holding a SignedData with one or more
// SignerInfos, detached or not. It is strict: definite minimal DER lengths,
// no trailing data, versions consistent with the sid choice, single-valued
// and non-repeated content-type, message-digest, signing-time and
// signing-certificate-v2 attributes. It does not require SET OF elements to
// be sorted, since signatures from other producers are not always. Parse
// checks no signature; see SignedData.Verify.
func Parse(der []byte) (*SignedData, error) {
	input := cryptobyte.String(der)
	var ci, content, sdSeq cryptobyte.String
	var ctOID asn1.ObjectIdentifier
	if !input.ReadASN1(&ci, casn1.SEQUENCE) || !input.Empty() {
		return nil, malformed("content info is not one DER SEQUENCE")
	}
	if !ci.ReadASN1ObjectIdentifier(&ctOID) || !ctOID.Equal(OIDSignedData) {
		return nil, malformed("content type is not signed data")
	}
	if !ci.ReadASN1(&content, casn1.Tag(0).ContextSpecific().Constructed()) || !ci.Empty() {
		return nil, malformed("content info content")
	}
	if !content.ReadASN1(&sdSeq, casn1.SEQUENCE) || !content.Empty() {
		return nil, malformed("signed data is not a SEQUENCE")
	}
	sd := &SignedData{Raw: der}

	var version int64
	if !sdSeq.ReadASN1Int64WithTag(&version, casn1.INTEGER) || !(version == 1 || version == 3 || version == 4 || version == 5) {
		return nil, malformed("signed data version")
	}
	sd.Version = int(version)

	var algs cryptobyte.String
	if !sdSeq.ReadASN1(&algs, casn1.SET) {
		return nil, malformed("digest algorithms")
	}
	for !algs.Empty() {
		var elem cryptobyte.String
		if !algs.ReadASN1Element(&elem, casn1.SEQUENCE) {
			return nil, malformed("digest algorithm")
		}
		alg, err := parseAlgorithm(elem)
		if err != nil {
			return nil, err
		}
		sd.DigestAlgorithms = append(sd.DigestAlgorithms, alg)
		sd.rawDigestAlgs = append(sd.rawDigestAlgs, elem)
	}

	var eci cryptobyte.String
	if !sdSeq.ReadASN1(&eci, casn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&sd.ContentType) {
		return nil, malformed("encapsulated content info")
	}
	if !eci.Empty() {
		var explicit cryptobyte.String
		var octets []byte
		if !eci.ReadASN1(&explicit, casn1.Tag(0).ContextSpecific().Constructed()) ||
			!explicit.ReadASN1Bytes(&octets, casn1.OCTET_STRING) || !explicit.Empty() || !eci.Empty() {
			return nil, malformed("encapsulated content")
		}
		sd.Content = octets
		if sd.Content == nil {
			sd.Content = []byte{}
		}
	}

	if sdSeq.PeekASN1Tag(casn1.Tag(0).ContextSpecific().Constructed()) {
		var certs cryptobyte.String
		if !sdSeq.ReadASN1(&certs, casn1.Tag(0).ContextSpecific().Constructed()) {
			return nil, malformed("certificates")
		}
		for !certs.Empty() {
			var elem cryptobyte.String
			var tag casn1.Tag
			if !certs.ReadAnyASN1Element(&elem, &tag) {
				return nil, malformed("certificate")
			}
			sd.rawCerts = append(sd.rawCerts, elem)
			if tag != casn1.SEQUENCE {
				continue // attribute or other certificate format
			}
			c, err := ParseCertificate(elem)
			switch {
			case errors.Is(err, ErrUnsupportedAlgorithm):
				return nil, fmt.Errorf("cades: certificate: %w", err)
			case err != nil:
				return nil, fmt.Errorf("%w: certificate: %w", ErrMalformed, err)
			}
			sd.Certificates = append(sd.Certificates, c)
		}
	}
	if sdSeq.PeekASN1Tag(casn1.Tag(1).ContextSpecific().Constructed()) {
		var crls cryptobyte.String
		if !sdSeq.ReadASN1(&crls, casn1.Tag(1).ContextSpecific().Constructed()) {
			return nil, malformed("crls")
		}
		for !crls.Empty() {
			var elem cryptobyte.String
			var tag casn1.Tag
			if !crls.ReadAnyASN1Element(&elem, &tag) {
				return nil, malformed("revocation information")
			}
			sd.RevocationInfo = append(sd.RevocationInfo, elem)
		}
	}

	var sis cryptobyte.String
	if !sdSeq.ReadASN1(&sis, casn1.SET) || !sdSeq.Empty() {
		return nil, malformed("signer infos")
	}
	for !sis.Empty() {
		var elem cryptobyte.String
		if !sis.ReadASN1Element(&elem, casn1.SEQUENCE) {
			return nil, malformed("signer info")
		}
		si, err := parseSignerInfo(elem)
		if err != nil {
			return nil, err
		}
		sd.Signers = append(sd.Signers, *si)
	}
	if len(sd.Signers) == 0 {
		return nil, malformed("no signer info")
	}
	return sd, nil
}

func parseAlgorithm(elem cryptobyte.String) (AlgorithmIdentifier, error) {
	var seq cryptobyte.String
	var alg AlgorithmIdentifier
	if !elem.ReadASN1(&seq, casn1.SEQUENCE) || !elem.Empty() || !seq.ReadASN1ObjectIdentifier(&alg.Algorithm) {
		return alg, malformed("algorithm identifier")
	}
	if !seq.Empty() {
		var params cryptobyte.String
		var tag casn1.Tag
		if !seq.ReadAnyASN1Element(&params, &tag) || !seq.Empty() {
			return alg, malformed("algorithm parameters")
		}
		alg.Parameters = params
	}
	return alg, nil
}

func readAlgorithm(s *cryptobyte.String) (AlgorithmIdentifier, error) {
	var elem cryptobyte.String
	if !s.ReadASN1Element(&elem, casn1.SEQUENCE) {
		return AlgorithmIdentifier{}, malformed("algorithm identifier")
	}
	return parseAlgorithm(elem)
}

func parseSignerInfo(raw cryptobyte.String) (*SignerInfo, error) {
	si := &SignerInfo{Raw: raw}
	s := raw
	var body cryptobyte.String
	if !s.ReadASN1(&body, casn1.SEQUENCE) {
		return nil, malformed("signer info")
	}
	start := body
	var version int64
	if !body.ReadASN1Int64WithTag(&version, casn1.INTEGER) {
		return nil, malformed("signer info version")
	}
	si.Version = int(version)
	switch version {
	case 1:
		var ias, name cryptobyte.String
		si.SerialNumber = new(big.Int)
		if !body.ReadASN1(&ias, casn1.SEQUENCE) || !ias.ReadASN1Element(&name, casn1.SEQUENCE) ||
			!ias.ReadASN1Integer(si.SerialNumber) || !ias.Empty() {
			return nil, malformed("issuer and serial number")
		}
		si.Issuer = name
	case 3:
		var ski []byte
		if !body.ReadASN1Bytes(&ski, casn1.Tag(0).ContextSpecific()) {
			return nil, malformed("subject key identifier")
		}
		si.SubjectKeyID = ski
	default:
		return nil, malformed("signer info version")
	}

	var err error
	if si.DigestAlgorithm, err = readAlgorithm(&body); err != nil {
		return nil, err
	}
	si.Hash = HashFromOID(si.DigestAlgorithm.Algorithm)

	if body.PeekASN1Tag(casn1.Tag(0).ContextSpecific().Constructed()) {
		var elem cryptobyte.String
		if !body.ReadASN1Element(&elem, casn1.Tag(0).ContextSpecific().Constructed()) {
			return nil, malformed("signed attributes")
		}
		si.SignedAttrsRaw = retagSet(elem)
		attrs, _, err := parseAttributes(si.SignedAttrsRaw)
		if err != nil {
			return nil, fmt.Errorf("%w (signed attributes)", err)
		}
		if len(attrs) == 0 {
			return nil, malformed("empty signed attributes")
		}
		si.SignedAttrs = attrs
		if err := si.readSignedAttributes(); err != nil {
			return nil, err
		}
	}

	if si.SignatureAlgorithm, err = readAlgorithm(&body); err != nil {
		return nil, err
	}
	var sig []byte
	if !body.ReadASN1Bytes(&sig, casn1.OCTET_STRING) {
		return nil, malformed("signature value")
	}
	si.Signature = sig
	si.rawPrefix = start[:len(start)-len(body)]

	if body.PeekASN1Tag(casn1.Tag(1).ContextSpecific().Constructed()) {
		var elem cryptobyte.String
		if !body.ReadASN1Element(&elem, casn1.Tag(1).ContextSpecific().Constructed()) {
			return nil, malformed("unsigned attributes")
		}
		si.UnsignedAttrsRaw = retagSet(elem)
		attrs, raws, err := parseAttributes(si.UnsignedAttrsRaw)
		if err != nil {
			return nil, fmt.Errorf("%w (unsigned attributes)", err)
		}
		if len(attrs) == 0 {
			return nil, malformed("empty unsigned attributes")
		}
		si.UnsignedAttrs, si.rawUnsigned = attrs, raws
		for _, a := range attrs {
			if a.Type.Equal(OIDAttrSignatureTimeStampToken) {
				si.SignatureTimestamps = append(si.SignatureTimestamps, a.Values...)
			}
		}
	}
	if !body.Empty() || !s.Empty() {
		return nil, malformed("trailing data in signer info")
	}
	return si, nil
}

// retagSet copies an [n] IMPLICIT SET OF element with the universal SET tag.
func retagSet(elem []byte) []byte {
	out := append([]byte(nil), elem...)
	out[0] = 0x31
	return out
}

// parseAttributes parses a DER SET OF Attribute.
func parseAttributes(set []byte) ([]Attribute, [][]byte, error) {
	s := cryptobyte.String(set)
	var body cryptobyte.String
	if !s.ReadASN1(&body, casn1.SET) || !s.Empty() {
		return nil, nil, malformed("attribute set")
	}
	var attrs []Attribute
	var raws [][]byte
	for !body.Empty() {
		var elem, seq, values cryptobyte.String
		var a Attribute
		if !body.ReadASN1Element(&elem, casn1.SEQUENCE) {
			return nil, nil, malformed("attribute")
		}
		seq = elem
		if !seq.ReadASN1(&seq, casn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&a.Type) ||
			!seq.ReadASN1(&values, casn1.SET) || !seq.Empty() {
			return nil, nil, malformed("attribute")
		}
		for !values.Empty() {
			var v cryptobyte.String
			var tag casn1.Tag
			if !values.ReadAnyASN1Element(&v, &tag) {
				return nil, nil, malformed("attribute value")
			}
			a.Values = append(a.Values, v)
		}
		if len(a.Values) == 0 {
			return nil, nil, malformed("attribute without value")
		}
		attrs = append(attrs, a)
		raws = append(raws, elem)
	}
	return attrs, raws, nil
}

// readSignedAttributes fills the parsed fields of the well-known signed attributes.
func (si *SignerInfo) readSignedAttributes() error {
	seen := map[string]bool{}
	for _, a := range si.SignedAttrs {
		var name string
		switch {
		case a.Type.Equal(OIDAttrContentType):
			name = "content type"
		case a.Type.Equal(OIDAttrMessageDigest):
			name = "message digest"
		case a.Type.Equal(OIDAttrSigningTime):
			name = "signing time"
		case a.Type.Equal(OIDAttrSigningCertificateV2):
			name = "signing certificate v2"
		default:
			continue
		}
		if seen[name] {
			return malformed("repeated " + name + " attribute")
		}
		seen[name] = true
		if len(a.Values) != 1 {
			return malformed(name + " attribute must have one value")
		}
		v := cryptobyte.String(a.Values[0])
		ok := false
		switch name {
		case "content type":
			ok = v.ReadASN1ObjectIdentifier(&si.ContentType)
		case "message digest":
			var md []byte
			ok = v.ReadASN1Bytes(&md, casn1.OCTET_STRING)
			si.MessageDigest = md
		case "signing time":
			if v.PeekASN1Tag(casn1.UTCTime) {
				ok = v.ReadASN1UTCTime(&si.SigningTime)
			} else {
				ok = v.ReadASN1GeneralizedTime(&si.SigningTime)
			}
		case "signing certificate v2":
			ids, err := parseSigningCertificateV2(v)
			if err != nil {
				return err
			}
			si.SigningCertificateV2 = ids
			ok, v = true, nil
		}
		if !ok || !v.Empty() {
			return malformed(name + " attribute value")
		}
	}
	return nil
}

// parseSigningCertificateV2 parses SigningCertificateV2 (RFC 5035 section 3).
func parseSigningCertificateV2(v cryptobyte.String) ([]ESSCertIDv2, error) {
	var scv2, certs cryptobyte.String
	if !v.ReadASN1(&scv2, casn1.SEQUENCE) || !v.Empty() || !scv2.ReadASN1(&certs, casn1.SEQUENCE) {
		return nil, malformed("signing certificate v2")
	}
	// An optional policies SEQUENCE may follow; it is not interpreted.
	if !scv2.Empty() && (!scv2.SkipASN1(casn1.SEQUENCE) || !scv2.Empty()) {
		return nil, malformed("signing certificate v2 policies")
	}
	var ids []ESSCertIDv2
	for !certs.Empty() {
		var id cryptobyte.String
		if !certs.ReadASN1(&id, casn1.SEQUENCE) {
			return nil, malformed("ESSCertIDv2")
		}
		e := ESSCertIDv2{Hash: crypto.SHA256}
		if id.PeekASN1Tag(casn1.SEQUENCE) {
			alg, err := readAlgorithm(&id)
			if err != nil {
				return nil, err
			}
			e.Hash = HashFromOID(alg.Algorithm)
		}
		var certHash []byte
		if !id.ReadASN1Bytes(&certHash, casn1.OCTET_STRING) {
			return nil, malformed("ESSCertIDv2 certHash")
		}
		e.CertHash = certHash
		if !id.Empty() {
			var is, names cryptobyte.String
			e.SerialNumber = new(big.Int)
			if !id.ReadASN1(&is, casn1.SEQUENCE) || !id.Empty() || !is.ReadASN1(&names, casn1.SEQUENCE) ||
				!is.ReadASN1Integer(e.SerialNumber) || !is.Empty() {
				return nil, malformed("ESSCertIDv2 issuerSerial")
			}
			for !names.Empty() {
				var gn cryptobyte.String
				var tag casn1.Tag
				if !names.ReadAnyASN1(&gn, &tag) {
					return nil, malformed("ESSCertIDv2 general name")
				}
				if tag == casn1.Tag(4).ContextSpecific().Constructed() && e.Issuer == nil {
					var name cryptobyte.String
					if !gn.ReadASN1Element(&name, casn1.SEQUENCE) || !gn.Empty() {
						return nil, malformed("ESSCertIDv2 directory name")
					}
					e.Issuer = name
				}
			}
		}
		ids = append(ids, e)
	}
	if len(ids) == 0 {
		return nil, malformed("signing certificate v2 without certificate")
	}
	return ids, nil
}

// ParseCertificate parses a DER certificate with crypto/x509, and those
// whose key is on a brainpool curve, named or given by its explicit
// parameters (which crypto/x509 refuses), with package brainpool: their
// PublicKey is a *brainpool.PublicKey. A certificate whose key is on a
// curve neither knows gives an error wrapping
// ErrUnsupportedAlgorithm (a validator reports it as not checkable, not as
// malformed).
func ParseCertificate(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err == nil {
		return c, nil
	}
	bc, berr := brainpool.ParseCertificate(der)
	switch {
	case berr == nil:
		return bc, nil
	case errors.Is(berr, brainpool.ErrUnknownCurve) &&
		(strings.Contains(err.Error(), "unsupported elliptic curve") || strings.Contains(err.Error(), "invalid ECDSA parameters")):
		// a curve given by a name or by explicit parameters that neither
		// crypto/x509 nor package brainpool knows
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedAlgorithm, err)
	}
	return nil, err
}

// ParsePEMCertificates returns every CERTIFICATE block of b, parsed as ParseCertificate
// does (so brainpool keys are read too); other blocks are skipped, and no certificate at
// all is an error.
func ParsePEMCertificates(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("cades: no PEM certificate")
	}
	return out, nil
}
