// Package ca is Paraphe's built-in development certification authority.
//
// It owns three certificates and their keys: a self-signed root CA, an issuing
// CA signed by the root, and a delegated OCSP responder signed by the issuing
// CA. The private keys live in the HSM and are reached only as crypto.Signer
// through the small Keys interface declared here; the certificates are public
// and kept as PEM files (root.pem, issuing.pem, ocsp.pem) in one directory.
//
// Rules:
//   - Everything the development PKI issues chains to the root: end-user
//     certificates of the EU qualified profile (ETSI EN 319 412-2 and -5),
//     timestamping certificates for the built-in TSA, and the OCSP responder.
//   - Open fails fast: each certificate must match the HSM key of its label and
//     be signed by its issuer, or Open returns an error.
//   - On first use Open creates what is missing; a key already present in the
//     HSM under a label is reused, never duplicated.
//   - The CA keeps no certificate database: the status of a serial comes from
//     the caller's store through StatusSource and RevocationLister.
//   - OCSP never answers a malformed request with a Go error; it answers with
//     an RFC 6960 error response.
//   - The public endpoints answer through a PublicResponder, which reuses a
//     signed OCSP answer for five minutes (keyed by CertID and status, so a
//     revocation is never hidden) and a CRL for an hour unless its content
//     changed: anonymous calls cannot keep the CA keys in the HSM busy. Answers
//     embedded in signatures are always signed fresh.
//
// An Authority is immutable after Open (the CRL number counter is atomic) and
// is safe for concurrent use. Open itself must not run concurrently on the same
// directory from several processes on first use.
package ca
