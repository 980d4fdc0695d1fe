package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"io"
	"math/rand/v2"
	"sync/atomic"
)

// spotCheckOneIn is the share of a batch's ECDSA signatures, after the first, that a
// BatchSigner verifies in full: one in spotCheckOneIn, drawn at random.
const spotCheckOneIn = 16

// BatchSigner signs the documents of one batch (one approval, one authorization) with
// a Key. It is safe for concurrent use: a batch is signed on several sessions at once.
//
// Which signatures are checked, and why. Key.SignContext verifies every signature with
// the public key before returning it. For RSA a BatchSigner does the same: a faulty
// RSA-CRT signature that got out would give away the private key (Boneh, DeMillo and
// Lipton), and checking costs about 2 % of an RSA-3072 signature. For ECDSA a full
// check costs about half of what SoftHSM2 takes to make the signature, on the same
// cores, and the checks kept cover what it protects against:
//   - the first signature of the batch is verified in full before the batch can
//     succeed: it proves that the private key the token uses is the one whose public
//     key the certificate holds (a key replaced or mixed up, a broken module or
//     mechanism), and that holds for the whole batch (the key handle only changes
//     through a new lookup that must find the same CKA_ID);
//   - every signature is checked for structure (length, 0 < r, s < n): a truncated,
//     zeroed or garbled output is refused;
//   - one signature in spotCheckOneIn after the first, drawn at random, is verified
//     in full, so a token that starts returning wrong signatures during a batch is
//     caught with a probability that grows with the number of wrong ones.
//
// What is given up: a single wrong ECDSA signature among many correct ones is returned
// 15 times in 16. It is not a forgery: whoever validates the document sees that its
// signature does not verify (the same as a document changed after signing), and the
// signer can sign again. ECDSA nonce faults that leak the key give signatures that
// verify, so a check here does not stop them; the HSM's own fault countermeasures do
// (EN 419221-5). Any failed check fails the whole batch: the engine returns every
// signature or none.
type BatchSigner struct {
	k       *Key
	started atomic.Int64
}

// Batch returns a signer for one batch of signatures (see BatchSigner).
func (k *Key) Batch() crypto.Signer { return &BatchSigner{k: k} }

// Public returns the key's public key.
func (b *BatchSigner) Public() crypto.PublicKey { return b.k.pub }

// VerifiesSignatures reports that the BatchSigner checks its signatures itself, as its
// documentation says, so a CMS builder need not check each one again.
func (b *BatchSigner) VerifiesSignatures() bool { return true }

// Sign signs digest; see SignContext.
func (b *BatchSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return b.SignContext(context.Background(), digest, opts)
}

// SignContext signs digest as Key.SignContext does, checking the signature as the
// BatchSigner's documentation says.
func (b *BatchSigner) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	first := b.started.Add(1) == 1
	_, ec := b.k.pub.(*ecdsa.PublicKey)
	full := !ec || first || rand.IntN(spotCheckOneIn) == 0
	return b.k.sign(ctx, digest, opts, full)
}
