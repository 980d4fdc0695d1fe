// Package signer owns the life cycle of a signature request: creation and validation of
// what an integrator asks to have signed, the icon shown to the signer, the checks that turn
// a device's approval into an HSM signature, and the final state.
//
// Rules:
//   - The HSM is asked to sign only digests an approval covered: the challenge the device
//     signs binds the request id, every document digest, the chosen icon and a one-time
//     server nonce.
//   - pending → approved is a single conditional update in the store, so two replicas or
//     two clicks can never sign twice.
//   - A request that fails after approval ends "failed" with its reason; results are stored
//     all together or not at all.
//   - An approval is a decision that outlives the process: the process signing an approved
//     request holds a lease on it in the store (SignLease, renewed while it works); when the
//     process dies, any replica takes the request over once the lease runs out and signs
//     it without a new approval (ResumeApproved). The approved → signed update is
//     conditional, so a request is signed once even if two processes worked on it; after
//     MaxSignAttempts starts it ends "failed" ("interrupted").
//
// Service is safe for concurrent use.
package signer
