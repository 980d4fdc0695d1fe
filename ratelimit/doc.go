// Package ratelimit keeps the token buckets of the API's rate limits in Redis, so that
// every replica draws from the same buckets (api.Buckets): N replicas then allow the
// configured rate, not N times it. Without Redis the replicas share their buckets through
// PostgreSQL (store.Store.Take) instead.
//
// Rules:
//   - A bucket is one Redis key holding its theoretical arrival time (GCRA, the generic
//     cell rate algorithm), read and moved by one Lua script, so taking a token is atomic
//     across replicas and costs one round trip.
//   - Keys expire when their bucket is full again: Redis holds only the buckets in use.
//   - Time is the replicas' clocks (microseconds), which must agree to well under the
//     interval between two tokens, as NTP keeps them.
//   - Errors (Redis unreachable) are returned: the limiter then limits per replica, it
//     neither refuses every request nor lets every request through.
//
// Redis is safe for concurrent use.
package ratelimit
