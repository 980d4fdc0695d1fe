// Package audit owns the append-only, hash-chained audit log. Each entry holds the SHA-256
// of the previous entry's canonical encoding, so removing, reordering or editing an entry
// breaks the chain from that point, which Verify reports.
//
// Entries hold ids (request, user, device, integrator), never personal data, PINs, keys or
// document content. Appends are serialized by the store so the chain has no forks.
//
// When entries older than the retention period are pruned, the store keeps an Anchor
// (the seq and hash of the last deleted entry) and Verify starts from it: the first
// remaining entry must follow the anchor. The last entry is never pruned.
// Log is safe for concurrent use.
package audit
