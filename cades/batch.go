package cades

import (
	"context"
	"crypto"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// VerifyingSigner is implemented by signers that check their signatures against their
// own public key before returning them (hsm.Key checks every one; hsm.BatchSigner as its
// documentation says). A Batch whose certificate holds that very key then does not check
// each signature a second time.
type VerifyingSigner interface {
	crypto.Signer
	VerifiesSignatures() bool
}

// Batch makes many detached CMS signatures with one signer, certificate and chain, as
// Sign would make each: what they share (the signing-certificate-v2 and signing-time
// attributes, the algorithm identifiers, the certificate set) is encoded once, and each
// signature is checked once. A Batch is safe for concurrent use when its Signer and
// Timestamper are: callers sign the digests of a batch in parallel.
type Batch struct {
	req    SignRequest
	sh     *shared
	fixed  []Attribute // contentType, signingTime, signingCertificateV2, extras
	verify bool        // check each signature here (the signer does not)
}

// NewBatch prepares the signatures of req's signer (req.Digest is not used). It checks
// req as Sign does.
func NewBatch(req SignRequest) (*Batch, error) {
	req.Digest = make([]byte, req.Hash.Size())
	if err := req.validate(true); err != nil {
		return nil, err
	}
	sh, err := newShared(&req)
	if err != nil {
		return nil, err
	}
	attrs, err := signedAttributeList(req)
	if err != nil {
		return nil, err
	}
	var fixed []Attribute
	for _, a := range attrs {
		if !a.Type.Equal(OIDAttrMessageDigest) {
			fixed = append(fixed, a)
		}
	}
	vs, ok := req.Signer.(VerifyingSigner)
	return &Batch{req: req, sh: sh, fixed: fixed, verify: !ok || !vs.VerifiesSignatures()}, nil
}

// Sign returns the detached CMS over digest, which must have the batch's hash length.
func (b *Batch) Sign(ctx context.Context, digest []byte) ([]byte, error) {
	if len(digest) != b.req.Hash.Size() {
		return nil, fmt.Errorf("%w: %d bytes for %v (want %d)", ErrDigestLength, len(digest), b.req.Hash, b.req.Hash.Size())
	}
	var md cryptobyte.Builder
	md.AddASN1OctetString(digest)
	mdDER, err := md.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cades: encode message digest: %w", err)
	}
	attrs := append(append(make([]Attribute, 0, len(b.fixed)+1), b.fixed...), Attribute{Type: OIDAttrMessageDigest, Values: [][]byte{mdDER}})
	signedAttrs, err := encodeAttributes(attrs)
	if err != nil {
		return nil, err
	}
	h := b.req.Hash.New()
	h.Write(signedAttrs)
	sum := h.Sum(nil)
	var sig []byte
	if cs, ok := b.req.Signer.(ContextSigner); ok {
		sig, err = cs.SignContext(ctx, sum, b.sh.opts)
	} else {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("cades: sign: %w", err)
		}
		sig, err = b.req.Signer.Sign(rand.Reader, sum, b.sh.opts)
	}
	if err != nil {
		return nil, fmt.Errorf("cades: sign: %w", err)
	}
	if b.verify {
		if err := verifyDigestSignature(b.req.Certificate.PublicKey, b.sh.opts, sum, sig); err != nil {
			return nil, err
		}
	}
	var unsigned []Attribute
	if b.req.Timestamper != nil {
		attr, err := TimestampSignature(ctx, b.req.Timestamper, b.req.Hash, sig)
		if err != nil {
			return nil, err
		}
		unsigned = append(unsigned, attr)
	}
	return b.sh.assemble(b.req.Certificate, signedAttrs, sig, unsigned)
}
