// Package store owns persistence: gorm models and the repositories the domain packages
// declare (signer.Store, device.Store, audit.Store, ...), on SQLite (the embedded default,
// one file under the data folder, WAL) or PostgreSQL.
//
// Rules:
//   - State transitions are single conditional updates (UPDATE ... WHERE status IN ...),
//     never read-then-write, so concurrent replicas cannot both win.
//   - Secrets are stored only as hashes or HSM-made verifiers.
//   - Times are written and compared in UTC: SQLite keeps them as text, which orders
//     correctly only when every value has the same offset.
//   - Audit appends are serialized (immediate transactions on SQLite, a transaction-scoped
//     advisory lock on PostgreSQL) so the hash chain never forks.
//
// Store is safe for concurrent use.
package store
