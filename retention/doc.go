// Package retention owns the deletion of data whose time is up, as the privacy policy
// promises: signature results (PDFs, CMS) some days after the integrator downloaded them
// or at most some weeks after the request ended; the personal details of finished
// requests (client IPs, document names) after some months; and the evidence and audit
// entries after their legal retention period (10 years by default), pruning the start of
// the audit chain so that it still verifies from an anchor.
//
// Rules:
//   - A run is idempotent and bounded: every step works in small batches, and running
//     twice deletes nothing more than running once.
//   - Among several replicas one run happens at a time: a lease row in the database
//     (job_leases) is taken before the work and released after; a crashed holder's lease
//     expires. A process that does not get the lease skips the run.
//   - What a run did is recorded in the audit log (counts and ids only).
//
// Job is safe for concurrent use.
package retention
