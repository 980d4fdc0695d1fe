// Package csc is Paraphe's Cloud Signature Consortium API (v2.0.0.2, with the v1.0.4.0
// methods older clients call): OAuth 2.0 for integrators and signers, credentials, the
// phone approval as an explicit out-of-band authorization (SCAL2), and the signing
// methods. It decides nothing about signing itself: an authorization is a signer request
// of the raw format, approved on the phone like any other, and every signature is a
// consumption of it through signer.Service.Consume. HTTP lives in package api.
//
// Rules:
//   - Every secret this package hands out (access tokens, authorization codes, SADs,
//     handles, poll and request URIs) is 256 random bits, stored only as its SHA-256; a
//     hash of a value this long cannot be reversed, so no slow hash is needed.
//   - A SAD and a credential-scoped access token are bound to the client that obtained
//     them, to one credential (the signer's current certificate) and to one authorization
//     (the digests the signer approved, each occurrence signed at most once). A refused
//     call consumes nothing.
//   - Hashes are compared as bytes, after decoding whichever base64 alphabet the client
//     used, with or without padding.
//   - numSignatures must equal the number of hashes: SCAL2 binds each signature to the
//     digest the signer saw.
//   - The authorization endpoint redirects only to a redirect URI registered for the
//     client, compared exactly, and sends its other errors there (RFC 6749 §4.1.2.1);
//     PKCE with S256 is required. An authorization code works once; used again it is
//     invalid_grant, and the token it gave stays usable (a refused call consumes
//     nothing).
//   - A credential-scoped access token may stand for the SAD (CSC 2.0.0.2 lets older
//     clients send it in the SAD parameter), and makes userID implicit in
//     credentials/list.
//   - Paraphe's extensions, ignored by clients that do not know them: the icon and the
//     request id in the answers of credentials/authorize and oauth2/authorize (the client
//     shows the icon; the id reaches the request's status, evidence and results on the
//     REST API with the same integrator's key), and callbackUrl to get the REST API's
//     webhook on the final state.
//
// Limits, and why: access tokens live 1 h (a signing session); a SAD lives 5 min (CSC's
// usual value: time to compute and send the signatures), renewable by extendTransaction
// within the authorization's own hour; authorization codes live 2 min and work once
// (RFC 6749 advises at most 10); a pushed authorization request lives 90 s (RFC 9126:
// short, it is used at once); multisign is the signer's per-request document limit (500).
//
// Service is safe for concurrent use.
package csc
