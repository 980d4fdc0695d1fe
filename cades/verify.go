package cades

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/paraphe/paraphe/internal/brainpool"
	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Sentinel errors of verification, for callers that map them to validation
// indications (ETSI EN 319 102-1).
var (
	// ErrUnsupportedAlgorithm reports a digest or signature algorithm that
	// cannot be checked (the signature is then indeterminate, not failed).
	ErrUnsupportedAlgorithm = errors.New("cades: unsupported algorithm")
	// ErrDigestMismatch reports a messageDigest different from the content digest.
	ErrDigestMismatch = errors.New("cades: message digest does not match content")
	// ErrSignerCertificateNotFound reports that no certificate matches a signer's sid.
	ErrSignerCertificateNotFound = errors.New("cades: signer certificate not found")
	// ErrSigningCertificateMismatch reports a signing-certificate-v2 attribute
	// that does not name the certificate used to verify.
	ErrSigningCertificateMismatch = errors.New("cades: signing certificate attribute does not match certificate")
)

// SignerCertificate returns the certificate of sd.Certificates that si's sid
// names (issuer and serial number, or subject key identifier).
func (sd *SignedData) SignerCertificate(si *SignerInfo) (*x509.Certificate, error) {
	for _, c := range sd.Certificates {
		if si.names(c) {
			return c, nil
		}
	}
	return nil, ErrSignerCertificateNotFound
}

func (si *SignerInfo) names(c *x509.Certificate) bool {
	if si.SubjectKeyID != nil {
		return len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.SubjectKeyID)
	}
	return si.SerialNumber != nil && bytes.Equal(c.RawIssuer, si.Issuer) && c.SerialNumber.Cmp(si.SerialNumber) == 0
}

// Verify checks every SignerInfo of sd against digest, the digest of the
// (detached) content, using the signer certificate found in sd.Certificates,
// and returns those certificates in signer order. See VerifySigner for what
// is checked and what is not.
func (sd *SignedData) Verify(digest []byte) ([]*x509.Certificate, error) {
	certs := make([]*x509.Certificate, 0, len(sd.Signers))
	for i := range sd.Signers {
		si := &sd.Signers[i]
		c, err := sd.SignerCertificate(si)
		if err != nil {
			return nil, fmt.Errorf("signer %d: %w", i, err)
		}
		if err := sd.VerifySigner(si, c, digest); err != nil {
			return nil, fmt.Errorf("signer %d: %w", i, err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// VerifySigner checks one SignerInfo of sd with cert: cert is the one the sid
// names; the content-type attribute equals the eContentType; messageDigest
// equals digest; a signing-certificate-v2 attribute, if present, names cert;
// and the signature over the signed attributes verifies with cert's public
// key. Without signed attributes the signature is checked over digest itself.
// It does not build or validate a certificate chain, check revocation, key
// usage or validity periods, nor the signature timestamps: that is the
// validator's job.
func (sd *SignedData) VerifySigner(si *SignerInfo, cert *x509.Certificate, digest []byte) error {
	if si.Hash == 0 {
		return fmt.Errorf("%w: digest algorithm %v", ErrUnsupportedAlgorithm, si.DigestAlgorithm.Algorithm)
	}
	if len(digest) != si.Hash.Size() {
		return fmt.Errorf("%w: %d bytes for %v", ErrDigestLength, len(digest), si.Hash)
	}
	if !si.names(cert) {
		return fmt.Errorf("%w: certificate is not the one the signer info names", ErrSignerCertificateNotFound)
	}
	signed := digest
	if si.SignedAttrsRaw != nil {
		if si.ContentType == nil || !si.ContentType.Equal(sd.ContentType) {
			return malformed("content-type attribute missing or different from eContentType")
		}
		if si.MessageDigest == nil {
			return malformed("message-digest attribute missing")
		}
		if !bytes.Equal(si.MessageDigest, digest) {
			return ErrDigestMismatch
		}
		h := si.Hash.New()
		h.Write(si.SignedAttrsRaw)
		signed = h.Sum(nil)
	} else if !sd.ContentType.Equal(OIDData) {
		return malformed("signed attributes missing for a content type other than id-data")
	}
	if len(si.SigningCertificateV2) > 0 {
		id := si.SigningCertificateV2[0]
		if id.Hash == 0 || !id.Hash.Available() {
			return fmt.Errorf("%w: signing certificate hash", ErrUnsupportedAlgorithm)
		}
		h := id.Hash.New()
		h.Write(cert.Raw)
		if !bytes.Equal(h.Sum(nil), id.CertHash) {
			return ErrSigningCertificateMismatch
		}
		if id.SerialNumber != nil && (id.SerialNumber.Cmp(cert.SerialNumber) != 0 ||
			(id.Issuer != nil && !bytes.Equal(id.Issuer, cert.RawIssuer))) {
			return ErrSigningCertificateMismatch
		}
	}
	opts, err := signerOpts(si.SignatureAlgorithm, si.Hash)
	if err != nil {
		return err
	}
	if k, ok := opts.(kindOpts); ok && k.kind == kindEd25519 {
		// PureEdDSA (RFC 8419 section 3): the signature is over the DER
		// signed attributes themselves, not over their hash.
		pub, ok := cert.PublicKey.(ed25519.PublicKey)
		switch {
		case !ok:
			return fmt.Errorf("%w: Ed25519 signature algorithm with a %T key", ErrBadSignature, cert.PublicKey)
		case si.SignedAttrsRaw == nil:
			return fmt.Errorf("%w: Ed25519 without signed attributes over detached content", ErrUnsupportedAlgorithm)
		case !ed25519.Verify(pub, si.SignedAttrsRaw, si.Signature):
			return ErrBadSignature
		}
		return nil
	}
	return verifyDigestSignature(cert.PublicKey, opts, signed, si.Signature)
}

// sigKind is the key family a signature algorithm requires.
type sigKind int

const (
	kindECDSA sigKind = iota + 1
	kindRSA
	kindEd25519
)

// signerOpts maps a signature AlgorithmIdentifier to the options to verify
// it, given the SignerInfo's digest algorithm, with which it must agree.
func signerOpts(alg AlgorithmIdentifier, digestHash crypto.Hash) (crypto.SignerOpts, error) {
	var h crypto.Hash
	var kind sigKind
	noParams := alg.Parameters == nil
	nullOrNoParams := noParams || bytes.Equal(alg.Parameters, []byte{0x05, 0x00})
	o := alg.Algorithm
	switch {
	case o.Equal(oidRSAPSS):
		return pssOptsFromParams(alg.Parameters, digestHash)
	case o.Equal(oidECDSAWithSHA1) && noParams:
		h, kind = crypto.SHA1, kindECDSA
	case o.Equal(oidECDSAWithSHA256) && noParams:
		h, kind = crypto.SHA256, kindECDSA
	case o.Equal(oidECDSAWithSHA384) && noParams:
		h, kind = crypto.SHA384, kindECDSA
	case o.Equal(oidECDSAWithSHA512) && noParams:
		h, kind = crypto.SHA512, kindECDSA
	case o.Equal(brainpool.OIDECDSAPlainSHA256) && nullOrNoParams:
		return plainOpts(crypto.SHA256, digestHash, o)
	case o.Equal(brainpool.OIDECDSAPlainSHA384) && nullOrNoParams:
		return plainOpts(crypto.SHA384, digestHash, o)
	case o.Equal(brainpool.OIDECDSAPlainSHA512) && nullOrNoParams:
		return plainOpts(crypto.SHA512, digestHash, o)
	case o.Equal(oidEd25519) && noParams:
		// RFC 8419 section 3.1: the message digest is SHA-512.
		if digestHash != crypto.SHA512 {
			return nil, fmt.Errorf("%w: Ed25519 with digest %v (SHA-512 required)", ErrUnsupportedAlgorithm, digestHash)
		}
		return kindOpts{Hash: crypto.SHA512, kind: kindEd25519}, nil
	case o.Equal(oidECPublicKey):
		h, kind = digestHash, kindECDSA
	case o.Equal(oidSHA1WithRSA) && nullOrNoParams:
		h, kind = crypto.SHA1, kindRSA
	case o.Equal(oidSHA256WithRSA) && nullOrNoParams:
		h, kind = crypto.SHA256, kindRSA
	case o.Equal(oidSHA384WithRSA) && nullOrNoParams:
		h, kind = crypto.SHA384, kindRSA
	case o.Equal(oidSHA512WithRSA) && nullOrNoParams:
		h, kind = crypto.SHA512, kindRSA
	case o.Equal(oidRSAEncryption) && nullOrNoParams:
		h, kind = digestHash, kindRSA
	default:
		return nil, fmt.Errorf("%w: signature algorithm %v", ErrUnsupportedAlgorithm, o)
	}
	if h != digestHash {
		return nil, fmt.Errorf("%w: signature algorithm %v with digest %v", ErrUnsupportedAlgorithm, o, digestHash)
	}
	return kindOpts{Hash: h, kind: kind}, nil
}

// kindOpts are crypto.SignerOpts that also carry the key family required
// and, for ECDSA, whether the value is plain r||s (BSI TR-03111) rather
// than DER.
type kindOpts struct {
	crypto.Hash
	kind  sigKind
	plain bool
}

func plainOpts(h, digestHash crypto.Hash, o asn1.ObjectIdentifier) (crypto.SignerOpts, error) {
	if h != digestHash {
		return nil, fmt.Errorf("%w: signature algorithm %v with digest %v", ErrUnsupportedAlgorithm, o, digestHash)
	}
	return kindOpts{Hash: h, kind: kindECDSA, plain: true}, nil
}

// pssOptsFromParams parses RSASSA-PSS-params (RFC 4055 section 3.1), applying
// its DEFAULTs, and requires the hash and the MGF1 hash to equal digestHash.
func pssOptsFromParams(params []byte, digestHash crypto.Hash) (crypto.SignerOpts, error) {
	opts, err := parsePSSParams(params)
	if err != nil {
		return nil, err
	}
	if opts.Hash != digestHash {
		return nil, fmt.Errorf("%w: RSASSA-PSS with %v over a %v digest", ErrUnsupportedAlgorithm, opts.Hash, digestHash)
	}
	return opts, nil
}

// CheckPSSSignature checks sig, an RSASSA-PSS signature whose
// AlgorithmIdentifier parameters are params, over signed (a certificate's
// TBS bytes) with pub. It reads any salt length: crypto/x509 reads only a
// salt as long as the hash, and leaves other certificates' signature
// algorithm unknown (OpenSSL, for one, signs with the longest salt by
// default).
func CheckPSSSignature(pub crypto.PublicKey, params, signed, sig []byte) error {
	opts, err := parsePSSParams(params)
	if err != nil {
		return err
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: RSASSA-PSS with a %T key", ErrBadSignature, pub)
	}
	h := opts.Hash.New()
	h.Write(signed)
	if err := rsa.VerifyPSS(k, opts.Hash, h.Sum(nil), sig, opts); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return nil
}

// parsePSSParams parses RSASSA-PSS-params (RFC 4055 section 3.1), applying its
// DEFAULTs; the hash and the MGF1 hash must be the same one.
func parsePSSParams(params []byte) (*rsa.PSSOptions, error) {
	bad := fmt.Errorf("%w: RSASSA-PSS parameters", ErrUnsupportedAlgorithm)
	s := cryptobyte.String(params)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, casn1.SEQUENCE) || !s.Empty() {
		return nil, bad
	}
	hash, mgfHash, salt, trailer := crypto.SHA1, crypto.SHA1, int64(20), int64(1)
	var field cryptobyte.String
	var present bool
	if !seq.ReadOptionalASN1(&field, &present, casn1.Tag(0).ContextSpecific().Constructed()) {
		return nil, bad
	}
	if present {
		alg, err := readAlgorithm(&field)
		if err != nil || !field.Empty() {
			return nil, bad
		}
		hash = HashFromOID(alg.Algorithm)
	}
	if !seq.ReadOptionalASN1(&field, &present, casn1.Tag(1).ContextSpecific().Constructed()) {
		return nil, bad
	}
	if present {
		mgf, err := readAlgorithm(&field)
		if err != nil || !field.Empty() || !mgf.Algorithm.Equal(oidMGF1) || mgf.Parameters == nil {
			return nil, bad
		}
		inner, err := parseAlgorithm(mgf.Parameters)
		if err != nil {
			return nil, bad
		}
		mgfHash = HashFromOID(inner.Algorithm)
	}
	if !seq.ReadOptionalASN1(&field, &present, casn1.Tag(2).ContextSpecific().Constructed()) {
		return nil, bad
	}
	if present && (!field.ReadASN1Int64WithTag(&salt, casn1.INTEGER) || !field.Empty() || salt < 0) {
		return nil, bad
	}
	if !seq.ReadOptionalASN1(&field, &present, casn1.Tag(3).ContextSpecific().Constructed()) {
		return nil, bad
	}
	if present && (!field.ReadASN1Int64WithTag(&trailer, casn1.INTEGER) || !field.Empty()) {
		return nil, bad
	}
	if !seq.Empty() || trailer != 1 || hash == 0 || !hash.Available() || hash != mgfHash {
		return nil, bad
	}
	return &rsa.PSSOptions{Hash: hash, SaltLength: int(salt)}, nil
}

// verifyDigestSignature checks sig over digest with pub. opts come from
// signatureAlgorithm (signing) or signerOpts (verifying); a signature
// algorithm of the wrong key family fails.
func verifyDigestSignature(pub crypto.PublicKey, opts crypto.SignerOpts, digest, sig []byte) error {
	pss, isPSS := opts.(*rsa.PSSOptions)
	var want sigKind
	plain := false
	if k, ok := opts.(kindOpts); ok {
		want, plain = k.kind, k.plain
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if isPSS || want == kindRSA || want == kindEd25519 {
			return fmt.Errorf("%w: non-ECDSA signature algorithm with an ECDSA key", ErrBadSignature)
		}
		if plain {
			size := (k.Curve.Params().N.BitLen() + 7) / 8
			if len(sig) != 2*size {
				return fmt.Errorf("%w: plain signature of %d bytes", ErrBadSignature, len(sig))
			}
			r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
			if !ecdsa.Verify(k, digest, r, s) {
				return ErrBadSignature
			}
			return nil
		}
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return ErrBadSignature
		}
	case *brainpool.PublicKey:
		if isPSS || want == kindRSA || want == kindEd25519 {
			return fmt.Errorf("%w: non-ECDSA signature algorithm with an ECDSA key", ErrBadSignature)
		}
		verify := brainpool.VerifyDER
		if plain {
			verify = brainpool.VerifyPlain
		}
		if err := verify(k, digest, sig); err != nil {
			return fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
	case *rsa.PublicKey:
		if want == kindECDSA || want == kindEd25519 {
			return fmt.Errorf("%w: non-RSA signature algorithm with an RSA key", ErrBadSignature)
		}
		var err error
		if isPSS {
			err = rsa.VerifyPSS(k, pss.Hash, digest, sig, pss)
		} else {
			err = rsa.VerifyPKCS1v15(k, opts.HashFunc(), digest, sig)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
	default:
		return fmt.Errorf("%w: public key %T", ErrUnsupportedAlgorithm, pub)
	}
	return nil
}
