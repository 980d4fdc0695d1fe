package brainpool

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Curve is a short Weierstrass curve y² = x³ + ax + b over GF(p) with base
// point (Gx, Gy) of prime order N and cofactor 1.
type Curve struct {
	Name      string
	OID       asn1.ObjectIdentifier
	P, A, B   *big.Int
	Gx, Gy, N *big.Int
}

// PublicKey is a point of a brainpool curve. It is safe for concurrent use
// (read only).
type PublicKey struct {
	Curve *Curve
	X, Y  *big.Int
}

// Errors returned by this package.
var (
	// ErrUnknownCurve is a named curve this package does not know.
	ErrUnknownCurve = errors.New("brainpool: unknown curve")
	// ErrInvalidKey is a point that is not on its curve or is badly encoded.
	ErrInvalidKey = errors.New("brainpool: invalid public key")
	// ErrInvalidSignature is a signature that does not verify or is badly
	// encoded.
	ErrInvalidSignature = errors.New("brainpool: invalid signature")
)

var oidECPublicKey = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}

// CurveByOID returns the curve named oid, or nil.
func CurveByOID(oid asn1.ObjectIdentifier) *Curve {
	for _, c := range curves {
		if c.OID.Equal(oid) {
			return c
		}
	}
	return nil
}

// byteLen is the size of the order in bytes (of r or s in a plain signature).
func (c *Curve) byteLen() int { return (c.N.BitLen() + 7) / 8 }

func (c *Curve) onCurve(x, y *big.Int) bool {
	if x.Sign() < 0 || x.Cmp(c.P) >= 0 || y.Sign() < 0 || y.Cmp(c.P) >= 0 {
		return false
	}
	l := new(big.Int).Mul(y, y)
	l.Mod(l, c.P)
	r := new(big.Int).Mul(x, x)
	r.Add(r, c.A)
	r.Mul(r, x)
	r.Add(r, c.B)
	r.Mod(r, c.P)
	return l.Cmp(r) == 0
}

// point is an affine point; inf marks the point at infinity.
type point struct {
	x, y *big.Int
	inf  bool
}

func (c *Curve) add(p, q point) point {
	switch {
	case p.inf:
		return q
	case q.inf:
		return p
	}
	var lambda *big.Int
	if p.x.Cmp(q.x) == 0 {
		sum := new(big.Int).Add(p.y, q.y)
		if sum.Mod(sum, c.P).Sign() == 0 {
			return point{inf: true}
		}
		// doubling: (3x² + a) / 2y
		num := new(big.Int).Mul(p.x, p.x)
		num.Mul(num, big.NewInt(3))
		num.Add(num, c.A)
		den := new(big.Int).Lsh(p.y, 1)
		lambda = num.Mul(num, den.ModInverse(den.Mod(den, c.P), c.P))
	} else {
		num := new(big.Int).Sub(q.y, p.y)
		den := new(big.Int).Sub(q.x, p.x)
		den.Mod(den, c.P)
		lambda = num.Mul(num, den.ModInverse(den, c.P))
	}
	lambda.Mod(lambda, c.P)
	x := new(big.Int).Mul(lambda, lambda)
	x.Sub(x, p.x)
	x.Sub(x, q.x)
	x.Mod(x, c.P)
	y := new(big.Int).Sub(p.x, x)
	y.Mul(y, lambda)
	y.Sub(y, p.y)
	y.Mod(y, c.P)
	return point{x: x, y: y}
}

func (c *Curve) mul(p point, k *big.Int) point {
	r := point{inf: true}
	for i := k.BitLen() - 1; i >= 0; i-- {
		r = c.add(r, r)
		if k.Bit(i) == 1 {
			r = c.add(r, p)
		}
	}
	return r
}

// hashToInt truncates a digest to the bit length of the order.
func (c *Curve) hashToInt(digest []byte) *big.Int {
	n := c.N.BitLen()
	if len(digest) > (n+7)/8 {
		digest = digest[:(n+7)/8]
	}
	e := new(big.Int).SetBytes(digest)
	if excess := len(digest)*8 - n; excess > 0 {
		e.Rsh(e, uint(excess))
	}
	return e
}

// Verify reports whether (r, s) is a valid ECDSA signature of digest by pub.
func Verify(pub *PublicKey, digest []byte, r, s *big.Int) bool {
	c := pub.Curve
	if c == nil || r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(c.N) >= 0 || s.Cmp(c.N) >= 0 || !c.onCurve(pub.X, pub.Y) {
		return false
	}
	e := c.hashToInt(digest)
	w := new(big.Int).ModInverse(s, c.N)
	u1 := new(big.Int).Mul(e, w)
	u1.Mod(u1, c.N)
	u2 := new(big.Int).Mul(r, w)
	u2.Mod(u2, c.N)
	p := c.add(c.mul(point{x: c.Gx, y: c.Gy}, u1), c.mul(point{x: pub.X, y: pub.Y}, u2))
	if p.inf {
		return false
	}
	v := new(big.Int).Mod(p.x, c.N)
	return v.Cmp(r) == 0
}

// VerifyDER checks an ECDSA-Sig-Value (DER SEQUENCE of r and s).
func VerifyDER(pub *PublicKey, digest, sig []byte) error {
	var r, s big.Int
	in := cryptobyte.String(sig)
	var inner cryptobyte.String
	if !in.ReadASN1(&inner, casn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) || !inner.Empty() {
		return fmt.Errorf("%w: not an ECDSA-Sig-Value", ErrInvalidSignature)
	}
	if !Verify(pub, digest, &r, &s) {
		return ErrInvalidSignature
	}
	return nil
}

// VerifyPlain checks a plain signature: r and s big-endian, each exactly
// the size of the curve order (BSI TR-03111 §5.2.1).
func VerifyPlain(pub *PublicKey, digest, sig []byte) error {
	if pub.Curve == nil || len(sig) != 2*pub.Curve.byteLen() {
		return fmt.Errorf("%w: plain signature of %d bytes", ErrInvalidSignature, len(sig))
	}
	half := len(sig) / 2
	if !Verify(pub, digest, new(big.Int).SetBytes(sig[:half]), new(big.Int).SetBytes(sig[half:])) {
		return ErrInvalidSignature
	}
	return nil
}

// ParsePublicKey reads a SubjectPublicKeyInfo (DER) holding an EC key on a
// brainpool curve (id-ecPublicKey with a namedCurve parameter, or the
// curve's explicit parameters as some German signature cards' certificates
// carry; uncompressed point). ErrUnknownCurve means the key is of another
// kind, or on a curve given by explicit parameters that are none of the
// brainpool curves.
func ParsePublicKey(spki []byte) (*PublicKey, error) {
	in := cryptobyte.String(spki)
	var seq, alg, bits cryptobyte.String
	var algOID, curveOID asn1.ObjectIdentifier
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&algOID) {
		return nil, fmt.Errorf("%w: malformed SubjectPublicKeyInfo", ErrInvalidKey)
	}
	if !algOID.Equal(oidECPublicKey) {
		return nil, ErrUnknownCurve
	}
	var c *Curve
	switch {
	case alg.PeekASN1Tag(casn1.SEQUENCE):
		var params cryptobyte.String
		if !alg.ReadASN1(&params, casn1.SEQUENCE) || !alg.Empty() {
			return nil, fmt.Errorf("%w: malformed EC parameters", ErrInvalidKey)
		}
		var err error
		if c, err = curveOfParameters(params); err != nil {
			return nil, err
		}
	case alg.ReadASN1ObjectIdentifier(&curveOID):
		if c = CurveByOID(curveOID); c == nil {
			return nil, ErrUnknownCurve
		}
	default:
		return nil, ErrUnknownCurve
	}
	if !seq.ReadASN1(&bits, casn1.BIT_STRING) || !seq.Empty() || len(bits) < 1 || bits[0] != 0 {
		return nil, fmt.Errorf("%w: malformed key bits", ErrInvalidKey)
	}
	pt := bits[1:]
	size := (c.P.BitLen() + 7) / 8
	if len(pt) != 1+2*size || pt[0] != 4 {
		return nil, fmt.Errorf("%w: only uncompressed points are read", ErrInvalidKey)
	}
	k := &PublicKey{Curve: c, X: new(big.Int).SetBytes(pt[1 : 1+size]), Y: new(big.Int).SetBytes(pt[1+size:])}
	if !c.onCurve(k.X, k.Y) {
		return nil, fmt.Errorf("%w: point not on %s", ErrInvalidKey, c.Name)
	}
	return k, nil
}

var oidPrimeField = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1}

// curveOfParameters returns the brainpool curve whose explicit domain
// parameters (RFC 3279 §2.3.5 ECParameters: version 1, a prime field, a, b,
// the base point, the order and an optional cofactor) params holds, all of
// them equal. Parameters that parse but are no brainpool curve's give
// ErrUnknownCurve; parameters that do not parse, ErrInvalidKey.
func curveOfParameters(params cryptobyte.String) (*Curve, error) {
	bad := fmt.Errorf("%w: malformed explicit EC parameters", ErrInvalidKey)
	var version int64
	var field, curve cryptobyte.String
	var fieldType asn1.ObjectIdentifier
	var a, b, base []byte
	p, n := new(big.Int), new(big.Int)
	if !params.ReadASN1Integer(&version) || version != 1 ||
		!params.ReadASN1(&field, casn1.SEQUENCE) || !field.ReadASN1ObjectIdentifier(&fieldType) {
		return nil, bad
	}
	if !fieldType.Equal(oidPrimeField) {
		return nil, ErrUnknownCurve // a characteristic-two field
	}
	if !field.ReadASN1Integer(p) || !field.Empty() ||
		!params.ReadASN1(&curve, casn1.SEQUENCE) ||
		!curve.ReadASN1Bytes(&a, casn1.OCTET_STRING) || !curve.ReadASN1Bytes(&b, casn1.OCTET_STRING) ||
		!curve.SkipOptionalASN1(casn1.BIT_STRING) || !curve.Empty() || // the seed
		!params.ReadASN1Bytes(&base, casn1.OCTET_STRING) || !params.ReadASN1Integer(n) {
		return nil, bad
	}
	if !params.Empty() {
		cofactor := new(big.Int)
		if !params.ReadASN1Integer(cofactor) || !params.Empty() {
			return nil, bad
		}
		if cofactor.Cmp(big.NewInt(1)) != 0 {
			return nil, ErrUnknownCurve
		}
	}
	for _, c := range curves {
		if c.P.Cmp(p) == 0 && c.A.Cmp(new(big.Int).SetBytes(a)) == 0 && c.B.Cmp(new(big.Int).SetBytes(b)) == 0 &&
			c.N.Cmp(n) == 0 && c.isBase(base) {
			return c, nil
		}
	}
	return nil, ErrUnknownCurve
}

// isBase reports whether pt (SEC 1 §2.3.3: uncompressed, or compressed) is
// the curve's base point G.
func (c *Curve) isBase(pt []byte) bool {
	size := (c.P.BitLen() + 7) / 8
	switch {
	case len(pt) == 1+2*size && pt[0] == 4:
		return c.Gx.Cmp(new(big.Int).SetBytes(pt[1:1+size])) == 0 && c.Gy.Cmp(new(big.Int).SetBytes(pt[1+size:])) == 0
	case len(pt) == 1+size && (pt[0] == 2 || pt[0] == 3):
		return c.Gx.Cmp(new(big.Int).SetBytes(pt[1:])) == 0 && c.Gy.Bit(0) == uint(pt[0]&1)
	}
	return false
}

// ParseCertificate parses a certificate whose subject key is on a brainpool
// curve, which x509.ParseCertificate refuses ("unsupported elliptic curve"):
// crypto/x509 reads a copy in which the key's algorithm is disguised (same
// length, so every offset is kept) and the raw fields are then pointed back
// at the original bytes; PublicKey is the *PublicKey and
// PublicKeyAlgorithm x509.ECDSA. Certificates with other keys get
// ErrUnknownCurve: use x509.ParseCertificate for them.
func ParseCertificate(der []byte) (*x509.Certificate, error) {
	spkiOff, spkiLen, err := findSPKI(der)
	if err != nil {
		return nil, err
	}
	spki := der[spkiOff : spkiOff+spkiLen]
	pub, err := ParsePublicKey(spki)
	if err != nil {
		return nil, err
	}
	oid, _ := asn1.Marshal(oidECPublicKey)
	i := bytes.Index(spki, oid)
	if i < 0 {
		return nil, ErrInvalidKey
	}
	disguised := bytes.Clone(der)
	// 1.2.840.10045.2.1 → 1.2.840.10045.2.127: an algorithm crypto/x509
	// does not know, whose key it then leaves unparsed.
	disguised[spkiOff+i+len(oid)-1] = 0x7f
	c, err := x509.ParseCertificate(disguised)
	if err != nil {
		return nil, fmt.Errorf("brainpool: certificate: %w", err)
	}
	restore := func(b []byte) []byte {
		if len(b) == 0 {
			return b
		}
		j := bytes.Index(disguised, b)
		if j < 0 {
			return b
		}
		return der[j : j+len(b) : j+len(b)]
	}
	c.RawSubjectPublicKeyInfo = restore(c.RawSubjectPublicKeyInfo)
	c.RawTBSCertificate = restore(c.RawTBSCertificate)
	c.RawSubject = restore(c.RawSubject)
	c.RawIssuer = restore(c.RawIssuer)
	c.Raw = der[:len(c.Raw):len(c.Raw)]
	c.PublicKey = pub
	c.PublicKeyAlgorithm = x509.ECDSA
	return c, nil
}

// findSPKI returns the offset and length of the subjectPublicKeyInfo in a
// certificate (RFC 5280 §4.1).
func findSPKI(der []byte) (int, int, error) {
	bad := fmt.Errorf("%w: malformed certificate", ErrInvalidKey)
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, casn1.SEQUENCE) || !cert.ReadASN1(&tbs, casn1.SEQUENCE) {
		return 0, 0, bad
	}
	if !tbs.SkipOptionalASN1(casn1.Tag(0).ContextSpecific().Constructed()) {
		return 0, 0, bad
	}
	for range 5 { // serial, signature, issuer, validity, subject
		var skip cryptobyte.String
		var tag casn1.Tag
		if !tbs.ReadAnyASN1Element(&skip, &tag) {
			return 0, 0, bad
		}
	}
	var spki cryptobyte.String
	rest := len(tbs)
	if !tbs.ReadASN1Element(&spki, casn1.SEQUENCE) {
		return 0, 0, bad
	}
	off := len(der) - len(in) - len(cert) - rest
	return off, len(spki), nil
}

// CheckSignature checks sig over signed with pub, for a certificate, CRL or
// OCSP signature algorithm ecdsa-with-SHA256/384/512 (DER value) or
// ecdsa-plain-SHA256/384/512 (plain value).
func CheckSignature(pub *PublicKey, alg asn1.ObjectIdentifier, signed, sig []byte) error {
	h, plain, ok := SignatureHash(alg)
	if !ok {
		return fmt.Errorf("%w: signature algorithm %v with a brainpool key", ErrInvalidSignature, alg)
	}
	d := h.New()
	d.Write(signed)
	if plain {
		return VerifyPlain(pub, d.Sum(nil), sig)
	}
	return VerifyDER(pub, d.Sum(nil), sig)
}

// Signature algorithm identifiers: ecdsa-with-SHA* (RFC 5758) and
// ecdsa-plain-SHA* (BSI TR-03111 §5.2.1.1, bsiEcsigAlgorithms).
var (
	OIDECDSAWithSHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	OIDECDSAPlainSHA256 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 3}
	OIDECDSAPlainSHA384 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 4}
	OIDECDSAPlainSHA512 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 5}
)

// SignatureHash maps an ECDSA signature algorithm to its hash and whether
// its value is plain (r||s) rather than DER.
func SignatureHash(alg asn1.ObjectIdentifier) (crypto.Hash, bool, bool) {
	switch {
	case alg.Equal(OIDECDSAWithSHA256):
		return crypto.SHA256, false, true
	case alg.Equal(OIDECDSAWithSHA384):
		return crypto.SHA384, false, true
	case alg.Equal(OIDECDSAWithSHA512):
		return crypto.SHA512, false, true
	case alg.Equal(OIDECDSAPlainSHA256):
		return crypto.SHA256, true, true
	case alg.Equal(OIDECDSAPlainSHA384):
		return crypto.SHA384, true, true
	case alg.Equal(OIDECDSAPlainSHA512):
		return crypto.SHA512, true, true
	}
	return 0, false, false
}

// CheckCertificateSignature checks that child (a certificate, DER in
// child.Raw) is signed by the brainpool key pub, reading the signature
// algorithm and value from the certificate's own bytes (crypto/x509 does
// not name the ecdsa-plain algorithms).
func CheckCertificateSignature(child *x509.Certificate, pub *PublicKey) error {
	return CheckSigned(child.Raw, child.RawTBSCertificate, pub)
}

// CheckSigned checks a signed structure SEQUENCE { tbs, signatureAlgorithm,
// signatureValue } (a certificate or a CRL: raw is the whole structure, tbs
// its to-be-signed part) with pub.
func CheckSigned(raw, tbs []byte, pub *PublicKey) error {
	alg, sig, err := outerSignature(raw)
	if err != nil {
		return err
	}
	return CheckSignature(pub, alg, tbs, sig)
}

// outerSignature reads the signatureAlgorithm and signatureValue of a
// signed structure SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING }
// (certificates and CRLs).
func outerSignature(der []byte) (asn1.ObjectIdentifier, []byte, error) {
	bad := fmt.Errorf("%w: malformed signed structure", ErrInvalidSignature)
	in := cryptobyte.String(der)
	var seq, tbs, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	var sig asn1.BitString
	if !in.ReadASN1(&seq, casn1.SEQUENCE) || !seq.ReadASN1Element(&tbs, casn1.SEQUENCE) ||
		!seq.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) ||
		!seq.ReadASN1BitString(&sig) || sig.BitLength%8 != 0 {
		return nil, nil, bad
	}
	return oid, sig.Bytes, nil
}
