// Package signer owns the life cycle of a signature request: creation and validation of
// what an integrator asks to have signed, the icon shown to the signer, the checks that
// turn a device's approval into an authorization, and the final state. It decides; the
// signatures themselves are made by package engine, which signer asks only for what an
// approval covered.
//
// The workflow, and where a front end plugs in:
//
//	Create   (integrator: REST, CSC)   → pending; the phone is told
//	Approve  (device)                  → checks device signature, icon, PIN, nonce, expiry
//	  CAdES, PAdES: pending → approved → engine.CMS / engine.PAdES → signed | failed
//	  raw:          pending → authorized (which digests, how many signatures, for whom,
//	                until when — all persisted with the request)
//	Consume  (integrator, later)       → reserves the digests it names, engine signs,
//	                                     results stored; authorized → signed when used up
//
// An authorization is consumed by calling Service.Consume with the integrator's id, the
// request id (the handle a CSC front end turns into its SAD), the digests and a SignFunc
// that makes the signatures from the open key: RawSignatures for raw values, or a
// function over the engine for CMS or PDFs. A refused call consumes nothing; each digest
// occurrence is signed at most once, even by racing replicas.
//
// Rules:
//   - The HSM is asked to sign only digests an approval covered: the challenge the device
//     signs binds the request id, every document digest, the chosen icon and a one-time
//     server nonce.
//   - pending → approved (or authorized) is a single conditional update in the store, so
//     two replicas or two clicks can never sign twice.
//   - A request that fails after approval ends "failed" with its reason; results are stored
//     all together or not at all.
//   - An approval is a decision that outlives the process: the process signing an approved
//     request holds a lease on it in the store (SignLease, renewed while it works); when the
//     process dies, any replica takes the request over once the lease runs out and signs
//     it without a new approval (ResumeApproved). The approved → signed update is
//     conditional, so a request is signed once even if two processes worked on it; after
//     MaxSignAttempts starts it ends "failed" ("interrupted").
//   - The signing intent is in the audit log before the HSM is used.
//
// Service is safe for concurrent use.
package signer
