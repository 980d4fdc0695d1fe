package api

import (
	"container/list"
	"context"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// CodeRateLimited is the problem code of a request refused by a rate limit (429).
const CodeRateLimited = "rate-limited"

// rateLimitMaxKeys bounds the keys a RateLimiter remembers. Keys idle long enough for
// their bucket to refill are dropped first (forgetting them changes nothing); the bound
// only matters when many keys are active at once, as when the key is a client address
// and many addresses call. 10,000 keys cost about 2 MB (a limiter, a list element and
// the key string each), small for a server, and far above the number of integrators or
// of active devices behind one replica. Past it the least recently seen key is forgotten:
// that key gets a full bucket again, which only lets someone holding 10,000 keys at once
// speed up slightly, never take the server down.
const rateLimitMaxKeys = 10_000

// RateLimiter is a token-bucket rate limiter per key (an integrator, a client address).
// Each key may make burst requests at once and perSecond on average. Memory is bounded
// (see rateLimitMaxKeys). A RateLimiter is safe for concurrent use.
type RateLimiter struct {
	// shared, when set, keeps the buckets where every replica sees them (PostgreSQL,
	// Redis) under name; the local buckets then only serve while it is unreachable.
	shared     Buckets
	name       string
	sharedDown atomic.Bool // logged once per outage

	limit   rate.Limit
	burst   int
	idle    time.Duration // time for an empty bucket to refill: a key idle this long is forgettable
	maxKeys int
	now     func() time.Time

	mu   sync.Mutex
	lru  *list.List // of *rateEntry, most recently seen first
	keys map[string]*list.Element
}

type rateEntry struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

// NewRateLimiter returns a limiter allowing each key perSecond requests per second on
// average and burst at once. perSecond <= 0 disables limiting; burst below 1 is taken
// as 1.
func NewRateLimiter(perSecond float64, burst int) *RateLimiter {
	burst = max(burst, 1)
	l := &RateLimiter{
		limit:   rate.Limit(perSecond),
		burst:   burst,
		maxKeys: rateLimitMaxKeys,
		now:     time.Now,
		lru:     list.New(),
		keys:    map[string]*list.Element{},
	}
	if perSecond > 0 {
		l.idle = time.Duration(math.Ceil(float64(burst) / perSecond * float64(time.Second)))
	}
	return l
}

// Buckets keeps token buckets that several replicas share, so that N replicas do not
// give N times the configured rate. Take takes one token from the bucket named key
// (refilled at perSecond, holding at most burst): false and the wait until a token is
// there when none is. Implementations are safe for concurrent use.
type Buckets interface {
	Take(ctx context.Context, key string, perSecond float64, burst int) (bool, time.Duration, error)
}

// Shared makes l keep its buckets in b, under name (which tells l's buckets apart from
// other limiters'), and returns l. While b fails, l limits with its own buckets, as a
// lone replica would, rather than refusing or letting everything through.
func (l *RateLimiter) Shared(b Buckets, name string) *RateLimiter {
	l.shared, l.name = b, name
	return l
}

// allow takes one token for key. When none is left it returns false and how long until
// one is.
func (l *RateLimiter) allow(ctx context.Context, key string) (bool, time.Duration) {
	if l.limit <= 0 {
		return true, 0
	}
	if l.shared != nil {
		ok, wait, err := l.shared.Take(ctx, l.name+":"+key, float64(l.limit), l.burst)
		if err == nil {
			if l.sharedDown.Swap(false) {
				slog.Default().Info("api: shared rate limits reachable again", "limiter", l.name)
			}
			return ok, wait
		}
		if !l.sharedDown.Swap(true) {
			slog.Default().Warn("api: shared rate limits unreachable, limiting per replica", "limiter", l.name, "err", err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e := l.entry(key, now)
	r := e.lim.ReserveN(now, 1)
	if !r.OK() { // cannot happen with burst >= 1; refuse rather than wait forever
		return false, l.idle
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // the request is refused: give its token back
		return false, d
	}
	return true, 0
}

// entry finds or makes key's limiter and marks it seen; it forgets idle keys from the
// old end of the list, and the oldest key when the bound is reached. l.mu is held.
func (l *RateLimiter) entry(key string, now time.Time) *rateEntry {
	for back := l.lru.Back(); back != nil; back = l.lru.Back() {
		e := back.Value.(*rateEntry)
		if e.key == key || now.Sub(e.seen) < l.idle {
			break
		}
		l.forget(back)
	}
	if el, ok := l.keys[key]; ok {
		e := el.Value.(*rateEntry)
		e.seen = now
		l.lru.MoveToFront(el)
		return e
	}
	for l.lru.Len() >= l.maxKeys {
		l.forget(l.lru.Back())
	}
	e := &rateEntry{key: key, lim: rate.NewLimiter(l.limit, l.burst), seen: now}
	l.keys[key] = l.lru.PushFront(e)
	return e
}

func (l *RateLimiter) forget(el *list.Element) {
	l.lru.Remove(el)
	delete(l.keys, el.Value.(*rateEntry).key)
}

// size is the number of keys remembered.
func (l *RateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// Middleware limits requests by the key that key returns for them; an empty key is not
// limited. A refused request gets 429 problem+json with a Retry-After header (whole
// seconds, rounded up). Place it after the middleware the key depends on (after
// authentication to limit per integrator).
func (l *RateLimiter) Middleware(key func(*gin.Context) string) gin.HandlerFunc {
	return l.middleware(key, func(c *gin.Context, secs int64) {
		writeProblem(c, Problem{Status: http.StatusTooManyRequests, Code: CodeRateLimited, Title: "Too many requests",
			Detail: "rate limit reached; retry after " + strconv.FormatInt(secs, 10) + " s"})
	})
}

// middleware limits by key and lets deny write the refusal (problem+json on the REST
// API, the CSC error shape on /csc/).
func (l *RateLimiter) middleware(key func(*gin.Context) string, deny func(c *gin.Context, retryAfter int64)) gin.HandlerFunc {
	return func(c *gin.Context) {
		k := key(c)
		if k == "" {
			c.Next()
			return
		}
		ok, wait := l.allow(c.Request.Context(), k)
		if ok {
			c.Next()
			return
		}
		secs := max(int64(math.Ceil(wait.Seconds())), 1)
		c.Header("Retry-After", strconv.FormatInt(secs, 10))
		deny(c, secs)
	}
}
