// Package hsm owns everything PKCS#11: loading the module, logging in to the
// token, a pool of sessions, generating and finding signing keys, the
// crypto.Signer that signs with them, and the HMAC-SHA256 used for PIN
// verifiers. It is the only package that imports cgo (through
// github.com/miekg/pkcs11).
//
// Rules:
//   - Private and secret keys are created inside the token with
//     CKA_SENSITIVE=true and CKA_EXTRACTABLE=false; nothing in this package
//     can export them in the clear. The one exception is wrapped key storage
//     (StorageWrapped): a user's key is generated as a session object,
//     extractable only so that the token wraps it under the key-encryption key
//     (AES-256, never extractable, CKM_AES_KEY_WRAP_PAD), then destroyed; to
//     sign, the blob is unwrapped as a sensitive, non-extractable session
//     object, used once and destroyed. The token then holds a fixed number of
//     objects whatever the number of users (real HSMs hold a few thousand).
//   - Keys are named by their CKA_LABEL, which is the "object" attribute of
//     their RFC 7512 URI (pkcs11:token=...;object=...). Callers store labels
//     or URIs, never object handles. Finding a key fails unless exactly one
//     private key carries the label.
//   - Users' signing keys are referred to by the KeyRef that CreateSigningKey
//     hands back: callers store it as is and give it back to Signer; only
//     this package reads it (a label, or a wrapped key: a control byte then
//     the DER of type, public key and blob), so the kind of key storage
//     changes nothing outside it, and keys of both kinds work side by side.
//   - A module is loaded and C_Initialize'd once per process and module path
//     (a reference-counted registry); the user logs in once per token;
//     CKR_USER_ALREADY_LOGGED_IN counts as success. When the last Token using
//     a module is closed, the module is finalized and unloaded, so a later
//     Open reads its configuration (for SoftHSM2, SOFTHSM2_CONF) again.
//   - A session that fails because it or the token was lost
//     (CKR_SESSION_HANDLE_INVALID, CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
//     ...) is closed and opened again, with a new login, the next time it is
//     taken; a token-wide loss retires every session opened before it, and
//     the token is looked up by label again if it came back in another slot.
//     A signature, search or HMAC that met a lost session is tried once more
//     on a new one; creating or deleting token objects is not repeated.
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
