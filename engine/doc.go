// Package engine makes signatures: given digests a signer approved and the reference of
// their key (hsm.KeyRef), it returns raw signature values, detached CMS (CAdES B-B, B-T)
// or signed PDFs (PAdES B-B to B-LTA). It decides nothing: whether a signature is owed
// is the workflow's business (package signer), which asks the engine only for what an
// approval covered. Front ends that hold an authorization (the REST API's approve, the
// CSC API's signHash and signDoc) all end here.
//
// Rules:
//
//   - A key is opened by its reference only, and only after its certificate is known:
//     Open checks that the certificate's public key is the key's, so a mixed-up
//     reference never signs under another person's name.
//
//   - PDF files go through the caller's blob store: the prepared file is read, the signed
//     revision and each post-signing step (pdf.PostSignInstructions: /DSS for B-LT, a
//     document time-stamp for B-LTA) are written as new blobs, and only the final file
//     is written under the destination key; step files are removed. All documents of a
//     call are signed or none: on error every destination is deleted.
//
//   - B-LT needs validation data for the signer's chain and the TSA's, and refuses
//     certificates it has no revocation source for.
//
//   - A batch of digests (CMS) is signed in parallel, Deps.Parallel at a time (by default
//     the HSM's session pool: more would only queue for sessions), so that one approval
//     of 500 documents keeps every HSM session busy and a B-T batch asks for its
//     time-stamps at once; the parts all its CMS share are encoded once (cades.Batch).
//     The first failure stops the others and fails the call: all are signed or none.
//
// Engine is safe for concurrent use; it keeps no state between calls.
package engine
