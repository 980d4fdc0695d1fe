// Package webpush reaches a signer's browser through the Web Push protocol: the
// service POSTs each new request's id to the push service endpoint of every
// subscription the signer's device registered (RFC 8030), encrypted for that browser
// (RFC 8291, aes128gcm content coding of RFC 8188) and signed with the service's VAPID
// key (RFC 8292), which lives in the HSM.
//
// Rules and limits, with their reasons:
//   - A message is one aes128gcm record of at most RecordSize (4096) octets, the size
//     every push service must accept (RFC 8291 section 4); the plaintext is a small JSON
//     object holding the request id and status, never document content or names.
//   - Messages go only to the subscriptions of the request's signer, and only those of a
//     device that is still active.
//   - A push service that answers 404 or 410 says the subscription is gone (RFC 8030
//     section 7.3): it is deleted, so nothing more is sent there.
//   - Endpoints must be https; http is accepted for loopback hosts only when the policy
//     allows loopback (development and tests, where no public push service is
//     reachable). The dialer re-checks every address it connects to.
//   - The VAPID token lives 12 hours (RFC 8292 caps it at 24 hours) and is made anew for
//     each message: one HSM signature per message is cheap beside a network round trip.
//   - TTL (how long the push service keeps an undelivered message) defaults to 300 s,
//     the default life of a request: a later delivery would announce an expired request.
//   - The queue holds MaxQueue events; beyond, new ones are dropped and logged. A push is
//     a convenience: the app's event stream and its pending list still show the request.
package webpush
