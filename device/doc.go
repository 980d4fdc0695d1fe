// Package device owns the signer's side: users and their activation codes, device
// enrollment, device keys and the authentication of every device call, PIN verifiers and
// attempts, and the canonical challenge a device signs to approve a request.
//
// Rules:
//   - The PIN is never stored. The verifier is HMAC-SHA256 computed inside the HSM with a
//     secret key that never leaves it, over the user id and the PIN.
//   - Activation codes are stored hashed, expire, and work once.
//   - Every device call carries a signature by the device key over the method, path, body
//     hash, a timestamp and a nonce; a nonce is accepted once.
//   - Five wrong PINs in a row lock signing for the user until re-activation.
//
// Service is safe for concurrent use.
package device
