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
//   - Five wrong PINs in a row lock signing for the user until re-activation. Each
//     attempt is counted in the store before the PIN is judged (one conditional update
//     that refuses once five are counted) and settled after: a right PIN clears the
//     count, the fifth wrong one sets the lock. However many calls race, approvals and
//     PIN changes alike, at most five wrong PINs are ever judged, and a right PIN
//     judged after the lock is refused.
//
// Service is safe for concurrent use.
package device
