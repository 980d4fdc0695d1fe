// Package tsa owns RFC 3161 time-stamping: a Client that obtains timestamp
// tokens from a list of time-stamping authorities with failover, and Server,
// the built-in development TSA (POST /tsa).
//
// Client rules:
//   - Each request carries a fresh random 128-bit nonce and certReq=true, and
//     each TSA is asked in configured order, with its own timeout; the next
//     one is tried after a network error, an HTTP error, a non-granted status
//     or a response that fails a check. A TSA that answers 429 or 503 is busy,
//     not down: it is asked again up to maxRetries times after a doubling
//     pause (or its Retry-After, capped), as long as the caller's deadline
//     leaves time to wait. The caller's context ends the whole attempt; when
//     no TSA gave a token the error wraps ErrAllFailed and
//     cades.ErrTimestampUnavailable.
//   - A TSA of this very process (WithLocal) is asked in-process, not over
//     HTTP, and its token goes through the same checks.
//   - A token is accepted only if the status is granted (or grantedWithMods,
//     whose token is checked the same way); it parses as a
//     SignedData over a TSTInfo (version 1) whose message imprint is the
//     digest and hash asked for and whose nonce is the one sent (and policy,
//     when one was requested); it has exactly one signer, whose certificate
//     is in the token, is named by an ESS signing-certificate(-v2) attribute
//     and verifies the signature; that certificate has a critical extended
//     key usage holding timeStamping only (RFC 3161 section 2.3) and was
//     valid at genTime; genTime lies between the request and the response
//     give or take maxClockSkew; and, when trust roots are configured, the
//     certificate chains to them for timeStamping at genTime.
//   - Responses are read up to maxResponseBytes.
//
// Server rules:
//   - The key is a crypto.Signer (an HSM key); the certificate must match it
//     and carry a critical extended key usage timeStamping only, checked at
//     construction.
//   - Serial numbers come from Serials, which must keep them unique across
//     restarts and replicas; they must be positive and at most 160 bits
//     (RFC 3161 section 2.4.2).
//   - Tokens are CMS SignedData (built with package cades) with the TSTInfo as
//     encapsulated content, signed attributes contentType, messageDigest and
//     signingCertificateV2, and the certificate and chain only when the
//     request set certReq (RFC 3161 section 2.4.1).
//   - Client mistakes are answered with a rejection status and the matching
//     PKIFailureInfo, never with a Go error: badAlg for a hash other than
//     SHA-256/384/512 (SHA-1 and weaker imprints are refused), badDataFormat
//     for malformed requests, unacceptedPolicy for an unknown policy,
//     unacceptedExtension for any request extension (none is supported).
//   - Logs carry serial numbers and errors, never imprints or keys.
//
// DevPolicy, the default policy OID of the development TSA, lies under the
// joint-iso-itu-t "example" arc 2.999 (ITU-T X.660 / ISO/IEC 9834-1), which
// no authority assigns: it can never be mistaken for a registered policy.
// A production deployment lists qualified TSAs for the client, not this one.
//
// Client and Server are safe for concurrent use, provided the http.Client,
// crypto.Signer and Serials given to them are.
package tsa
