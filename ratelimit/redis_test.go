package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/testenv"
)

// redisURL is the machine's Redis (PARAPHE_TEST_REDIS overrides it).
func redisURL() string {
	if u := os.Getenv("PARAPHE_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func openTest(t *testing.T) *Redis {
	t.Helper()
	r, err := OpenRedis(context.Background(), redisURL())
	if err != nil {
		testenv.Missing(t, "Redis at %s: %v", redisURL(), err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func uniqueKey(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return t.Name() + ":" + hex.EncodeToString(b[:])
}

// TestRedisShared: two clients (two replicas) on one bucket of 5 at 2/s get 5 tokens
// between them, then a refusal with the wait until the next; the bucket refills.
func TestRedisShared(t *testing.T) {
	replicas := []*Redis{openTest(t), openTest(t)}
	ctx := context.Background()
	key := uniqueKey(t)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			ok, _, err := replicas[i%2].Take(ctx, key, 2, 5)
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 5 {
		t.Fatalf("%d of 12 allowed across two replicas, want the burst of 5", n)
	}
	ok, wait, err := replicas[0].Take(ctx, key, 2, 5)
	if err != nil || ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("after the burst: %v, %v, %v; want refused with a wait of at most 0.5 s", ok, wait, err)
	}
	time.Sleep(wait + 20*time.Millisecond)
	if ok, _, err := replicas[1].Take(ctx, key, 2, 5); err != nil || !ok {
		t.Fatalf("after the wait: %v, %v; want a token", ok, err)
	}
	// The key expires once its bucket is full again.
	ttl, err := replicas[0].c.PTTL(ctx, keyPrefix+key).Result()
	if err != nil || ttl <= 0 || ttl > 5*time.Second {
		t.Fatalf("key TTL %v, %v; want it to expire within the refill time", ttl, err)
	}
}

func TestRedisErrors(t *testing.T) {
	if _, err := OpenRedis(context.Background(), "http://127.0.0.1:6379"); err == nil {
		t.Error("a non-redis URL was accepted")
	}
	// Nothing listens on port 1: the error is returned (the limiter falls back).
	if _, err := OpenRedis(context.Background(), "redis://127.0.0.1:1"); err == nil {
		t.Error("an unreachable Redis was accepted")
	}
	r := openTest(t)
	if ok, _, err := r.Take(context.Background(), uniqueKey(t), 0, 1); err != nil || !ok {
		t.Errorf("a disabled limit refused: %v %v", ok, err)
	}
}
