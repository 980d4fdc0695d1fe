// Package audit owns the append-only, hash-chained audit log. Each entry holds the SHA-256
// of the previous entry's canonical encoding, so removing, reordering or editing an entry
// breaks the chain from that point, which Verify reports.
//
// Entries hold ids (request, user, device, integrator), never personal data, PINs, keys or
// document content. Appends are serialized by the store so the chain has no forks.
// Log is safe for concurrent use.
package audit
