package cades

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Sentinel errors callers may branch on with errors.Is.
var (
	// ErrUnsupportedHash reports a digest algorithm other than SHA-256, SHA-384 or SHA-512.
	ErrUnsupportedHash = errors.New("cades: unsupported hash algorithm")
	// ErrDigestLength reports a digest whose length does not match its hash algorithm.
	ErrDigestLength = errors.New("cades: digest length does not match hash algorithm")
	// ErrUnsupportedKey reports a key type, curve or size this package does not sign with.
	ErrUnsupportedKey = errors.New("cades: unsupported key")
	// ErrKeyMismatch reports a certificate whose public key is not the signer's.
	ErrKeyMismatch = errors.New("cades: certificate public key does not match signer")
	// ErrInvalidRequest reports a SignRequest missing a required part.
	ErrInvalidRequest = errors.New("cades: invalid sign request")
	// ErrTimestamp reports a failure to obtain a usable signature timestamp.
	// The Timestamper's own error is wrapped too.
	ErrTimestamp = errors.New("cades: signature timestamp failed")
	// ErrTimestampUnavailable is wrapped by a Timestamper's error when no
	// time-stamping authority gave a token (none answered, or each one refused
	// or failed), so that callers can say "TSA unavailable" whatever the
	// Timestamper is.
	ErrTimestampUnavailable = errors.New("cades: no time-stamping authority gave a token")
	// ErrBadSignature reports a signature value that does not verify with the
	// signer certificate's public key (a faulty signer, or parts mixed up).
	ErrBadSignature = errors.New("cades: signature does not verify")
)

// minRSABits is the smallest RSA modulus signed with: 2048 bits is the floor
// of ETSI TS 119 312 and SOG-IS for signatures made today.
const minRSABits = 2048

// SignRequest describes one detached CMS signature over a digest the caller
// computed (hash mode: the content itself is never needed).
type SignRequest struct {
	// Digest is the digest of the content, computed by the integrator.
	Digest []byte
	// Hash is crypto.SHA256, SHA384 or SHA512; it must match len(Digest). It is
	// also the hash of the signed attributes and of the timestamp imprint.
	Hash crypto.Hash
	// Signer holds the private key: *ecdsa (P-256, P-384, P-521) or *rsa
	// (2048 bits or more), possibly an HSM key. If it implements ContextSigner,
	// SignContext is used. Not needed by SignedAttributes or Assemble.
	Signer crypto.Signer
	// Certificate is the signer certificate; its public key must match Signer.Public().
	Certificate *x509.Certificate
	// Chain holds further certificates to include (issuing CA, ...), in order.
	// Copies of Certificate are skipped.
	Chain []*x509.Certificate
	// SigningTime, when not zero, adds a signingTime attribute. Leave it zero
	// for PAdES, which forbids the attribute.
	SigningTime time.Time
	// ContentType is the eContentType and content-type attribute; nil means id-data.
	ContentType asn1.ObjectIdentifier
	// RSAPSS selects RSASSA-PSS (salt length = hash length) instead of
	// PKCS#1 v1.5 for RSA keys. It is an error with a non-RSA key.
	RSAPSS bool
	// Timestamper, when set, adds a signature timestamp (CAdES B-T); nil gives B-B.
	Timestamper Timestamper
	// ExtraSignedAttributes are added to the signed attributes (for example a
	// commitment-type-indication or signature-policy-identifier). They must not
	// repeat the types this package writes itself.
	ExtraSignedAttributes []Attribute
}

// Timestamper obtains an RFC 3161 timestamp token (the DER ContentInfo of the
// TSA's SignedData) over the given message imprint, here the hash of a
// signature value. Implementations must be safe for concurrent use if the
// caller signs concurrently. When no authority gives a token, the error wraps
// ErrTimestampUnavailable.
type Timestamper interface {
	Timestamp(ctx context.Context, digest []byte, hash crypto.Hash) ([]byte, error)
}

// ContextSigner is implemented by signers (HSM keys) whose signing operation
// can observe a context, for example to bound the wait for a free session.
type ContextSigner interface {
	SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error)
}

// Sign builds a detached CMS SignedData (RFC 5652) ContentInfo in DER, a
// CAdES-BES (baseline B-B) signature, or B-T when req.Timestamper is set.
//
// The SignedData has version 1 (3 when ContentType is not id-data), the
// digest algorithm req.Hash, an encapContentInfo without eContent, the
// certificates [Certificate, Chain...] and one SignerInfo identified by
// issuer and serial number. Its signed attributes are contentType, signingTime
// (if req.SigningTime is set), messageDigest, signingCertificateV2 and any
// ExtraSignedAttributes, in DER SET order. The signature is over
// Hash(DER of the signed attributes), and is checked with the certificate's
// public key before it is used. With a Timestamper, the unsigned attribute
// id-aa-signatureTimeStampToken holds a token over Hash(signature value).
//
// Sign is the composition of SignedAttributes, SignAttributes,
// TimestampSignature and Assemble, which two-phase callers (PAdES) use directly.
func Sign(ctx context.Context, req SignRequest) ([]byte, error) {
	if err := req.validate(true); err != nil {
		return nil, err
	}
	signedAttrs, err := SignedAttributes(req)
	if err != nil {
		return nil, err
	}
	sig, err := SignAttributes(ctx, req, signedAttrs)
	if err != nil {
		return nil, err
	}
	var unsigned []Attribute
	if req.Timestamper != nil {
		attr, err := TimestampSignature(ctx, req.Timestamper, req.Hash, sig)
		if err != nil {
			return nil, err
		}
		unsigned = append(unsigned, attr)
	}
	return Assemble(req, signedAttrs, sig, unsigned)
}

// SignedAttributes returns the DER SET OF signed attributes Sign would sign
// for req: the exact bytes whose hash is signed. It needs Digest, Hash,
// Certificate, and optionally SigningTime, ContentType and
// ExtraSignedAttributes; Signer may be nil.
func SignedAttributes(req SignRequest) ([]byte, error) {
	if err := req.validate(false); err != nil {
		return nil, err
	}
	attrs, err := signedAttributeList(req)
	if err != nil {
		return nil, err
	}
	return encodeAttributes(attrs)
}

// signedAttributeList returns the signed attributes of req, not yet in DER SET order.
func signedAttributeList(req SignRequest) ([]Attribute, error) {
	ct := req.contentType()
	attrs := make([]Attribute, 0, 4+len(req.ExtraSignedAttributes))

	ctDER, err := asn1.Marshal(ct)
	if err != nil {
		return nil, fmt.Errorf("cades: encode content type: %w", err)
	}
	attrs = append(attrs, Attribute{Type: OIDAttrContentType, Values: [][]byte{ctDER}})

	if !req.SigningTime.IsZero() {
		st, err := encodeTime(req.SigningTime)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, Attribute{Type: OIDAttrSigningTime, Values: [][]byte{st}})
	}

	var b cryptobyte.Builder
	b.AddASN1OctetString(req.Digest)
	md, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cades: encode message digest: %w", err)
	}
	attrs = append(attrs, Attribute{Type: OIDAttrMessageDigest, Values: [][]byte{md}})

	scv2, err := signingCertificateV2(req.Certificate)
	if err != nil {
		return nil, err
	}
	attrs = append(attrs, Attribute{Type: OIDAttrSigningCertificateV2, Values: [][]byte{scv2}})

	attrs = append(attrs, req.ExtraSignedAttributes...)
	return attrs, nil
}

// SignAttributes signs signedAttrs (as returned by SignedAttributes) with
// req.Signer and returns the signature value: ASN.1 ECDSA-Sig-Value for ECDSA,
// the raw RSA signature otherwise. The signature is verified with
// req.Certificate's public key before it is returned, so that a faulty signer
// is caught here rather than by a relying party.
func SignAttributes(ctx context.Context, req SignRequest, signedAttrs []byte) ([]byte, error) {
	if err := req.validate(true); err != nil {
		return nil, err
	}
	if err := checkSetDER(signedAttrs); err != nil {
		return nil, err
	}
	_, opts, err := signatureAlgorithm(req.Certificate.PublicKey, req.Hash, req.RSAPSS)
	if err != nil {
		return nil, err
	}
	h := req.Hash.New()
	h.Write(signedAttrs)
	digest := h.Sum(nil)

	var sig []byte
	if cs, ok := req.Signer.(ContextSigner); ok {
		sig, err = cs.SignContext(ctx, digest, opts)
	} else {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cades: sign: %w", err)
		}
		sig, err = req.Signer.Sign(rand.Reader, digest, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("cades: sign: %w", err)
	}
	if err := verifyDigestSignature(req.Certificate.PublicKey, opts, digest, sig); err != nil {
		return nil, err
	}
	return sig, nil
}

// TimestampSignature asks ts for a timestamp token over hash(signature) and
// returns it as the id-aa-signatureTimeStampToken unsigned attribute. The
// token must parse as an RFC 3161 token whose message imprint is that hash;
// its signature and TSA certificate are not validated here (that is the job
// of the tsa client and of the validator). Errors wrap ErrTimestamp.
func TimestampSignature(ctx context.Context, ts Timestamper, hash crypto.Hash, signature []byte) (Attribute, error) {
	if _, ok := HashOID(hash); !ok {
		return Attribute{}, ErrUnsupportedHash
	}
	h := hash.New()
	h.Write(signature)
	imprint := h.Sum(nil)
	token, err := ts.Timestamp(ctx, imprint, hash)
	if err != nil {
		return Attribute{}, fmt.Errorf("%w: %w", ErrTimestamp, err)
	}
	tst, err := ParseTimestampToken(token)
	if err != nil {
		return Attribute{}, fmt.Errorf("%w: %w", ErrTimestamp, err)
	}
	if tst.Hash != hash || string(tst.HashedMessage) != string(imprint) {
		return Attribute{}, fmt.Errorf("%w: token imprint does not match the signature", ErrTimestamp)
	}
	return SignatureTimestampAttribute(token), nil
}

// Assemble builds the detached SignedData ContentInfo (DER) from signed
// attributes made by SignedAttributes, the signature over them and optional
// unsigned attributes. It uses req's Hash, Certificate, Chain, ContentType and
// RSAPSS (Signer may be nil). The signature is checked against
// req.Certificate's public key, so parts from different requests cannot be
// mixed.
func Assemble(req SignRequest, signedAttrs, signature []byte, unsigned []Attribute) ([]byte, error) {
	if err := req.validate(false); err != nil {
		return nil, err
	}
	if err := checkSetDER(signedAttrs); err != nil {
		return nil, err
	}
	sh, err := newShared(&req)
	if err != nil {
		return nil, err
	}
	h := req.Hash.New()
	h.Write(signedAttrs)
	if err := verifyDigestSignature(req.Certificate.PublicKey, sh.opts, h.Sum(nil), signature); err != nil {
		return nil, err
	}
	return sh.assemble(req.Certificate, signedAttrs, signature, unsigned)
}

// shared holds what every CMS of one signer, certificate and chain has in common,
// encoded once: Assemble makes it for one signature, Batch for many.
type shared struct {
	sigAlg    []byte // the signature AlgorithmIdentifier
	opts      crypto.SignerOpts
	digestAlg []byte // the digest AlgorithmIdentifier
	ct        asn1.ObjectIdentifier
	version   int64
	certs     [][]byte // signer first, then the chain without copies
}

func newShared(req *SignRequest) (*shared, error) {
	sigAlg, opts, err := signatureAlgorithm(req.Certificate.PublicKey, req.Hash, req.RSAPSS)
	if err != nil {
		return nil, err
	}
	hashOIDv, _ := HashOID(req.Hash)
	sh := &shared{sigAlg: sigAlg, opts: opts, digestAlg: hashAlgorithmDER(hashOIDv), ct: req.contentType(), version: 1}
	if !sh.ct.Equal(OIDData) {
		sh.version = 3 // RFC 5652 section 5.1: any eContentType other than id-data.
	}
	sh.certs = [][]byte{req.Certificate.Raw}
	for _, c := range req.Chain {
		if !containsRaw(sh.certs, c.Raw) {
			sh.certs = append(sh.certs, c.Raw)
		}
	}
	return sh, nil
}

// assemble encodes the ContentInfo of one signature; the signature is not checked here.
func (sh *shared) assemble(cert *x509.Certificate, signedAttrs, signature []byte, unsigned []Attribute) ([]byte, error) {
	attrsBody := signedAttrs[setHeaderLen(signedAttrs):]
	var unsignedElems [][]byte
	for _, a := range unsigned {
		der, err := a.marshal()
		if err != nil {
			return nil, err
		}
		unsignedElems = append(unsignedElems, der)
	}
	var si cryptobyte.Builder
	si.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // issuerAndSerialNumber sid
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(cert.RawIssuer)
			b.AddASN1BigInt(cert.SerialNumber)
		})
		b.AddBytes(sh.digestAlg)
		b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddBytes(attrsBody)
		})
		b.AddBytes(sh.sigAlg)
		b.AddASN1OctetString(signature)
		if len(unsignedElems) > 0 {
			sortDER(unsignedElems)
			b.AddASN1(casn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				for _, e := range unsignedElems {
					b.AddBytes(e)
				}
			})
		}
	})
	signerInfo, err := si.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cades: encode signer info: %w", err)
	}
	return encodeSignedData(sh.version, [][]byte{sh.digestAlg}, sh.ct, nil, sh.certs, nil, [][]byte{signerInfo})
}

// encodeSignedData writes a ContentInfo holding a SignedData from encoded
// parts. certs keep their order (signer first, as many readers expect);
// digest algorithms and signer infos are sorted as DER SET OF.
func encodeSignedData(version int64, digestAlgs [][]byte, eContentType asn1.ObjectIdentifier, eContent []byte, certs, crls, signerInfos [][]byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(version)
				addSetOf(b, digestAlgs)
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(eContentType)
					if eContent != nil {
						b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddASN1OctetString(eContent)
						})
					}
				})
				if len(certs) > 0 {
					b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						for _, c := range certs {
							b.AddBytes(c)
						}
					})
				}
				if len(crls) > 0 {
					b.AddASN1(casn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						for _, c := range crls {
							b.AddBytes(c)
						}
					})
				}
				addSetOf(b, signerInfos)
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cades: encode signed data: %w", err)
	}
	return out, nil
}

func containsRaw(list [][]byte, raw []byte) bool {
	for _, r := range list {
		if string(r) == string(raw) {
			return true
		}
	}
	return false
}

// validate checks req; needSigner also requires a Signer matching the certificate.
func (req *SignRequest) validate(needSigner bool) error {
	if _, ok := HashOID(req.Hash); !ok {
		return fmt.Errorf("%w: %v", ErrUnsupportedHash, req.Hash)
	}
	if len(req.Digest) != req.Hash.Size() {
		return fmt.Errorf("%w: %d bytes for %v (want %d)", ErrDigestLength, len(req.Digest), req.Hash, req.Hash.Size())
	}
	if req.Certificate == nil || len(req.Certificate.Raw) == 0 || req.Certificate.SerialNumber == nil {
		return fmt.Errorf("%w: no signer certificate", ErrInvalidRequest)
	}
	for i, c := range req.Chain {
		if c == nil || len(c.Raw) == 0 {
			return fmt.Errorf("%w: chain certificate %d is empty", ErrInvalidRequest, i)
		}
	}
	if _, _, err := signatureAlgorithm(req.Certificate.PublicKey, req.Hash, req.RSAPSS); err != nil {
		return err
	}
	if req.ContentType != nil && len(req.ContentType) < 2 {
		return fmt.Errorf("%w: invalid content type %v", ErrInvalidRequest, req.ContentType)
	}
	for _, a := range req.ExtraSignedAttributes {
		for _, own := range []asn1.ObjectIdentifier{OIDAttrContentType, OIDAttrMessageDigest, OIDAttrSigningTime, OIDAttrSigningCertificate, OIDAttrSigningCertificateV2} {
			if a.Type.Equal(own) {
				return fmt.Errorf("%w: extra signed attribute %v is written by the package", ErrInvalidRequest, a.Type)
			}
		}
	}
	if needSigner {
		if req.Signer == nil {
			return fmt.Errorf("%w: no signer", ErrInvalidRequest)
		}
		pub, ok := req.Signer.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(req.Certificate.PublicKey) {
			return ErrKeyMismatch
		}
	}
	return nil
}

func (req *SignRequest) contentType() asn1.ObjectIdentifier {
	if req.ContentType == nil {
		return OIDData
	}
	return req.ContentType
}

// signatureAlgorithm returns the DER AlgorithmIdentifier of the signature and
// the signer options for pub, hash and pss.
func signatureAlgorithm(pub crypto.PublicKey, hash crypto.Hash, pss bool) ([]byte, crypto.SignerOpts, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if pss {
			return nil, nil, fmt.Errorf("%w: RSA-PSS requested for an ECDSA key", ErrUnsupportedKey)
		}
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return nil, nil, fmt.Errorf("%w: curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
		}
		var oid asn1.ObjectIdentifier
		switch hash {
		case crypto.SHA256:
			oid = oidECDSAWithSHA256
		case crypto.SHA384:
			oid = oidECDSAWithSHA384
		case crypto.SHA512:
			oid = oidECDSAWithSHA512
		default:
			return nil, nil, ErrUnsupportedHash
		}
		// RFC 5758 section 3.2: parameters absent.
		return algorithmDER(oid, nil), hash, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return nil, nil, fmt.Errorf("%w: RSA key of %d bits (minimum %d)", ErrUnsupportedKey, k.N.BitLen(), minRSABits)
		}
		hOID, ok := HashOID(hash)
		if !ok {
			return nil, nil, ErrUnsupportedHash
		}
		if pss {
			return algorithmDER(oidRSAPSS, pssParams(hOID, hash.Size())),
				&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash}, nil
		}
		var oid asn1.ObjectIdentifier
		switch hash {
		case crypto.SHA256:
			oid = oidSHA256WithRSA
		case crypto.SHA384:
			oid = oidSHA384WithRSA
		default:
			oid = oidSHA512WithRSA
		}
		return algorithmDER(oid, []byte{0x05, 0x00}), hash, nil // NULL parameters (RFC 4055).
	case nil:
		return nil, nil, fmt.Errorf("%w: no public key", ErrUnsupportedKey)
	default:
		return nil, nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
}

// pssParams encodes RSASSA-PSS-params (RFC 4055 section 3.1) with all fields
// explicit except trailerField (always 1, the DEFAULT).
func pssParams(hOID asn1.ObjectIdentifier, saltLen int) []byte {
	hashAlg := algorithmDER(hOID, []byte{0x05, 0x00})
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddBytes(hashAlg)
		})
		b.AddASN1(casn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddBytes(algorithmDER(oidMGF1, hashAlg))
		})
		b.AddASN1(casn1.Tag(2).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1Int64(int64(saltLen))
		})
	})
	return b.BytesOrPanic() // fixed, valid structure
}

// algorithmDER encodes an AlgorithmIdentifier; params nil means absent.
func algorithmDER(oid asn1.ObjectIdentifier, params []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(oid)
		if params != nil {
			b.AddBytes(params)
		}
	})
	return b.BytesOrPanic() // OIDs here are constants
}

// hashAlgorithmDER encodes a digest AlgorithmIdentifier with absent
// parameters, as RFC 5754 section 2 requires for SHA-2.
func hashAlgorithmDER(oid asn1.ObjectIdentifier) []byte { return algorithmDER(oid, nil) }

// encodeTime encodes t as RFC 5652 section 11.3 Time: UTCTime from 1950 to
// 2049, GeneralizedTime otherwise, in UTC and whole seconds.
func encodeTime(t time.Time) ([]byte, error) {
	t = t.UTC().Truncate(time.Second)
	var b cryptobyte.Builder
	if y := t.Year(); y >= 1950 && y < 2050 {
		b.AddASN1UTCTime(t)
	} else {
		b.AddASN1GeneralizedTime(t)
	}
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cades: encode signing time: %w", err)
	}
	return out, nil
}

// signingCertificateV2 encodes SigningCertificateV2 (RFC 5035) with one
// ESSCertIDv2: the SHA-256 certificate hash (hashAlgorithm omitted, SHA-256
// being the DEFAULT) and issuerSerial naming the issuer as a directoryName.
func signingCertificateV2(cert *x509.Certificate) ([]byte, error) {
	sum := sha256.Sum256(cert.Raw)
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2
				b.AddASN1OctetString(sum[:])
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // IssuerSerial
					b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { // GeneralNames
						// directoryName [4] Name: explicit, Name being a CHOICE.
						b.AddASN1(casn1.Tag(4).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
						})
					})
					b.AddASN1BigInt(cert.SerialNumber)
				})
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cades: encode signing certificate v2: %w", err)
	}
	return out, nil
}

// checkSetDER checks that der is exactly one DER SET.
func checkSetDER(der []byte) error {
	s := cryptobyte.String(der)
	var body cryptobyte.String
	if !s.ReadASN1(&body, casn1.SET) || !s.Empty() {
		return fmt.Errorf("%w: signed attributes are not one DER SET", ErrInvalidRequest)
	}
	return nil
}

// setHeaderLen returns the length of the tag and length octets of a DER
// element already checked by checkSetDER.
func setHeaderLen(der []byte) int {
	if der[1] < 0x80 {
		return 2
	}
	return 2 + int(der[1]&0x7f)
}
