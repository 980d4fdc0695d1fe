package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// keyPrefix names Paraphe's keys in a Redis that other programs may share.
const keyPrefix = "paraphe:rate:"

// opTimeout bounds one Take: a limit check must not hold a request for long when Redis
// is slow; past it the limiter falls back to its own buckets.
const opTimeout = 250 * time.Millisecond

// take moves a bucket's theoretical arrival time (TAT) if a token is there.
// KEYS[1] the bucket; ARGV: now, interval, tau (seconds, as decimal strings).
// Returns {1, 0} when taken, {0, wait in microseconds} when not.
var take = redis.NewScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > tau then
  return {0, math.ceil((nxt - tau - now) * 1000000)}
end
redis.call('SET', KEYS[1], string.format('%.6f', nxt), 'PX', math.ceil((nxt - now) * 1000) + 1000)
return {1, 0}
`)

// Redis keeps shared token buckets in a Redis server.
type Redis struct {
	c *redis.Client
}

// OpenRedis connects to the Redis at rawURL (redis://[user:password@]host:port[/db]) and
// checks that it answers.
func OpenRedis(ctx context.Context, rawURL string) (*Redis, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: redis URL: %w", err)
	}
	r := &Redis{c: redis.NewClient(opt)}
	if err := r.c.Ping(ctx).Err(); err != nil {
		_ = r.c.Close()
		return nil, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return r, nil
}

// Close closes the connections.
func (r *Redis) Close() error { return r.c.Close() }

// Take takes one token from the bucket key, refilled at perSecond and holding at most
// burst (api.Buckets).
func (r *Redis) Take(ctx context.Context, key string, perSecond float64, burst int) (bool, time.Duration, error) {
	if perSecond <= 0 {
		return true, 0, nil
	}
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	interval := 1 / perSecond
	tau := float64(max(burst, 1)) * interval
	now := float64(time.Now().UnixMicro()) / 1e6
	res, err := take.Run(ctx, r.c, []string{keyPrefix + key},
		strconv.FormatFloat(now, 'f', 6, 64), strconv.FormatFloat(interval, 'f', 9, 64), strconv.FormatFloat(tau, 'f', 9, 64)).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 2 {
		return false, 0, errors.New("ratelimit: redis: unexpected answer from the script")
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}
