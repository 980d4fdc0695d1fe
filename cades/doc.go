// Package cades owns detached CMS signatures (RFC 5652) in the CAdES
// baseline profile (ETSI EN 319 122-1) over a digest the caller already
// computed: in hash mode the service never sees the content.
//
// Sign makes a whole signature in one call. Two-phase callers, such as PAdES
// where the signed attributes are prepared before the signer approves, use
// the pieces Sign is made of:
//
//	attrs, _ := cades.SignedAttributes(req)          // DER SET OF, the signature input
//	sig, _ := cades.SignAttributes(ctx, req, attrs)  // Hash(attrs) signed by req.Signer
//	ts, _ := cades.TimestampSignature(ctx, tsa, req.Hash, sig) // optional, B-T
//	cms, _ := cades.Assemble(req, attrs, sig, []cades.Attribute{ts})
//
// and AddUnsignedAttribute adds an unsigned attribute (a signature timestamp)
// to an existing signature. Parse reads SignedData strictly (DER, with
// golang.org/x/crypto/cryptobyte), SignedData.Verify checks signatures and
// message digests, and ParseTimestampToken reads the imprint of an RFC 3161
// token.
//
// Rules kept here:
//   - Signed attributes are DER in SET order: contentType, signingTime (only
//     when asked; PAdES forbids it), messageDigest and signingCertificateV2
//     (SHA-256 certificate hash and issuerSerial), plus caller extras.
//   - Only SHA-256, SHA-384 and SHA-512 are produced; ECDSA P-256/P-384/P-521
//     and RSA of at least 2048 bits, PKCS#1 v1.5 or PSS. Verification also
//     reads what other providers produce: brainpool keys (package
//     internal/brainpool) with DER or plain (BSI TR-03111 ecdsa-plain-SHA*)
//     values, plain values on the NIST curves, and Ed25519 (RFC 8419, over
//     the signed attributes themselves, with SHA-512 as digest).
//   - The signer's public key must match the certificate, and every signature
//     is verified with the certificate before it is put into a CMS, so a
//     faulty HSM or mixed-up two-phase parts never leave this package.
//   - A signature timestamp is over the hash of the signature value, with the
//     request's hash algorithm, and its imprint is checked.
//   - Nothing is logged; no content, key or PIN passes through this package.
//
// Functions hold no state and are safe for concurrent use, provided the
// crypto.Signer and Timestamper given to them are. Parsed values alias their
// input and are safe for concurrent reads.
package cades
