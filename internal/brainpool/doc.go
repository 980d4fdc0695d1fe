// Package brainpool verifies ECDSA signatures on the brainpool curves of
// RFC 5639 (brainpoolP256r1, P384r1, P512r1), which German and other
// European qualified trust services use and crypto/x509 does not know, and
// reads certificates that carry such keys.
//
// Rules:
//   - Verification only: public values, no secret ever passes here, so the
//     arithmetic (math/big, affine coordinates) need not be constant-time.
//     There is no signing, and no key generation.
//   - Points are checked to lie on the curve, signatures to have r and s in
//     [1, n-1]; a digest longer than the order is truncated to its leftmost
//     bits (SEC 1 §4.1.4), as ECDSA requires.
//   - Both encodings of a signature value are read: DER (ECDSA-Sig-Value,
//     RFC 3279/5480, ecdsa-with-SHA*) and plain r||s of the order's size
//     (BSI TR-03111 §5.2.1, ecdsa-plain-SHA*).
//   - Keys name their curve, or give its explicit domain parameters (RFC
//     3279 ECParameters), which must then equal, one by one, those of a
//     brainpool curve: no other curve is ever built from a file.
//   - ParseCertificate gives a crypto/x509 certificate whose PublicKey is a
//     *PublicKey: the raw fields are the original bytes, so signatures made
//     over them verify; crypto/x509's own chain verification cannot use the
//     key, callers check such signatures with CheckSignature.
package brainpool
