// Package hsm owns everything PKCS#11: loading the module, logging in to the
// token, a pool of sessions, generating and finding signing keys, the
// crypto.Signer that signs with them, and the HMAC-SHA256 used for PIN
// verifiers. It is the only package that imports cgo (through
// github.com/miekg/pkcs11).
//
// Rules:
//   - Private and secret keys are created inside the token with
//     CKA_SENSITIVE=true and CKA_EXTRACTABLE=false; nothing in this package
//     can export them.
//   - Keys are named by their CKA_LABEL, which is the "object" attribute of
//     their RFC 7512 URI (pkcs11:token=...;object=...). Callers store labels
//     or URIs, never object handles. Finding a key fails unless exactly one
//     private key carries the label.
//   - Users' signing keys are referred to by the KeyRef that CreateSigningKey
//     hands back: callers store it as is and give it back to Signer; only
//     this package reads it (today a label; a wrapped key later), so a new
//     kind of key storage changes nothing outside it.
//   - A module is loaded and C_Initialize'd once per process and module path
//     (a reference-counted registry); the user logs in once per token;
//     CKR_USER_ALREADY_LOGGED_IN counts as success. When the last Token using
//     a module is closed, the module is finalized and unloaded, so a later
//     Open reads its configuration (for SoftHSM2, SOFTHSM2_CONF) again.
//   - context.Context bounds the wait for a free session. A PKCS#11 call
//     already running (C_Sign on a slow network HSM) cannot be interrupted.
//   - Every signature is checked against the public key read from the token
//     before it is returned, so a faulty or mixed-up key never yields a bad
//     signature to the caller.
//   - PINs, key material and signed data are never logged.
//
// Concurrency: Token and Key are safe for concurrent use by multiple
// goroutines. InitSoftHSM sets a process environment variable and is meant to
// be called at start-up, before other goroutines use PKCS#11.
package hsm
