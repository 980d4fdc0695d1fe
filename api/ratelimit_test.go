package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// fakeClock is a settable clock safe for concurrent reads.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeClock) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }
func (f *fakeClock) add(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

// limitedEngine is a tiny router limited by the X-Key header.
func limitedEngine(l *RateLimiter) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(l.Middleware(func(c *gin.Context) string { return c.GetHeader("X-Key") }))
	r.GET("/x", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	return r
}

func get(h http.Handler, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	if key != "" {
		req.Header.Set("X-Key", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func newTestLimiter(perSecond float64, burst int) (*RateLimiter, *fakeClock) {
	clk := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	l := NewRateLimiter(perSecond, burst)
	l.now = clk.now
	return l, clk
}

func TestRateLimitRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		perSecond  float64
		burst      int
		retryAfter string
	}{
		{"one every two seconds", 0.5, 2, "2"},
		{"fraction rounds up", 0.4, 1, "3"}, // 2.5 s
		{"below a second is 1", 3, 5, "1"},  // 0.33 s
		{"burst 0 acts as 1", 1, 0, "1"},    // 1 s
		{"many per second", 100, 10, "1"},   // 10 ms
		{"slow rate", 1.0 / 60, 1, "60"},    // one a minute
		{"exactly integral", 0.25, 3, "4"},  // 4 s
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := newTestLimiter(tt.perSecond, tt.burst)
			h := limitedEngine(l)
			for i := range max(tt.burst, 1) {
				if w := get(h, "k"); w.Code != http.StatusOK {
					t.Fatalf("request %d within burst: HTTP %d", i+1, w.Code)
				}
			}
			w := get(h, "k")
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("request past burst: HTTP %d, want 429", w.Code)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("content type %q", ct)
			}
			var p Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if p.Status != http.StatusTooManyRequests || p.Code != CodeRateLimited || p.Type != problemBase+CodeRateLimited || p.Title == "" {
				t.Errorf("problem %+v", p)
			}
		})
	}
}

func TestRateLimitRefillAndKeys(t *testing.T) {
	l, clk := newTestLimiter(1, 2)
	h := limitedEngine(l)
	want := func(key string, code int) {
		t.Helper()
		if w := get(h, key); w.Code != code {
			t.Fatalf("key %q: HTTP %d, want %d", key, w.Code, code)
		}
	}
	want("a", 200)
	want("a", 200)
	want("a", 429)
	want("a", 429) // refused requests do not dig the bucket deeper
	want("b", 200) // keys are independent
	want("", 200)  // no key: not limited
	clk.add(time.Second)
	want("a", 200) // one token back after 1 s
	want("a", 429)
	clk.add(10 * time.Second)
	want("a", 200) // full bucket again, no more
	want("a", 200)
	want("a", 429)
}

func TestRateLimitDisabled(t *testing.T) {
	for _, ps := range []float64{0, -1} {
		t.Run(strconv.FormatFloat(ps, 'g', -1, 64), func(t *testing.T) {
			l, _ := newTestLimiter(ps, 1)
			h := limitedEngine(l)
			for i := range 50 {
				if w := get(h, "k"); w.Code != http.StatusOK {
					t.Fatalf("request %d: HTTP %d with limiting disabled", i, w.Code)
				}
			}
			if n := l.size(); n != 0 {
				t.Fatalf("disabled limiter remembers %d keys", n)
			}
		})
	}
}

func TestRateLimitBoundedMemory(t *testing.T) {
	t.Run("idle keys are forgotten", func(t *testing.T) {
		l, clk := newTestLimiter(1, 2) // refills in 2 s
		h := limitedEngine(l)
		for i := range 100 {
			get(h, "k"+strconv.Itoa(i))
		}
		if n := l.size(); n != 100 {
			t.Fatalf("size %d, want 100", n)
		}
		clk.add(time.Second)
		get(h, "fresh")
		if n := l.size(); n != 101 {
			t.Fatalf("keys forgotten before they were idle: size %d, want 101", n)
		}
		clk.add(time.Second + time.Millisecond)
		get(h, "fresh")
		if n := l.size(); n != 1 {
			t.Fatalf("idle keys kept: size %d, want 1", n)
		}
	})
	t.Run("hard bound forgets the least recently seen", func(t *testing.T) {
		l, _ := newTestLimiter(1, 1)
		l.maxKeys = 3
		h := limitedEngine(l)
		for _, k := range []string{"a", "b", "c"} {
			if w := get(h, k); w.Code != 200 {
				t.Fatalf("%s: HTTP %d", k, w.Code)
			}
		}
		if w := get(h, "a"); w.Code != 429 { // a is now the most recently seen
			t.Fatalf("a: HTTP %d, want 429", w.Code)
		}
		get(h, "d") // forgets b, the least recently seen
		if n := l.size(); n != 3 {
			t.Fatalf("size %d, want the bound 3", n)
		}
		if w := get(h, "a"); w.Code != 429 {
			t.Fatalf("a was forgotten instead of b: HTTP %d", w.Code)
		}
		if w := get(h, "b"); w.Code != 200 {
			t.Fatalf("b was kept: HTTP %d, want a fresh bucket", w.Code)
		}
	})
	t.Run("default bound", func(t *testing.T) {
		l, _ := newTestLimiter(1, 1)
		for i := range rateLimitMaxKeys + 500 {
			l.allow(context.Background(), "k"+strconv.Itoa(i))
		}
		if n := l.size(); n != rateLimitMaxKeys {
			t.Fatalf("size %d, want %d", n, rateLimitMaxKeys)
		}
		if len(l.keys) != l.lru.Len() {
			t.Fatalf("map %d and list %d disagree", len(l.keys), l.lru.Len())
		}
	})
}

// TestRateLimitConcurrent checks that under concurrent use exactly burst requests pass
// while the clock stands still.
func TestRateLimitConcurrent(t *testing.T) {
	const burst = 20
	l, _ := newTestLimiter(1, burst)
	h := limitedEngine(l)
	var passed, limited atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			key := "shared"
			if i%2 == 1 {
				key = "other" + strconv.Itoa(i%7)
			}
			switch get(h, key).Code {
			case http.StatusOK:
				if key == "shared" {
					passed.Add(1)
				}
			case http.StatusTooManyRequests:
				if key == "shared" {
					limited.Add(1)
				}
			default:
				t.Error("unexpected status")
			}
		})
	}
	wg.Wait()
	if passed.Load() != burst || limited.Load() != 100-burst {
		t.Fatalf("passed %d limited %d, want %d and %d", passed.Load(), limited.Load(), burst, 100-burst)
	}
}

// downBuckets is a shared store that cannot be reached.
type downBuckets struct{ calls int }

func (d *downBuckets) Take(context.Context, string, float64, int) (bool, time.Duration, error) {
	d.calls++
	return false, 0, errors.New("connection refused")
}

// TestRateLimiterSharedDown: while the shared buckets cannot be reached the limiter
// limits with its own, neither refusing everything nor letting everything through.
func TestRateLimiterSharedDown(t *testing.T) {
	down := &downBuckets{}
	l := NewRateLimiter(1, 2).Shared(down, "key")
	ctx := context.Background()
	var got []bool
	for range 3 {
		ok, _ := l.allow(ctx, "int-1")
		got = append(got, ok)
	}
	if !reflect.DeepEqual(got, []bool{true, true, false}) || down.calls != 3 {
		t.Fatalf("allowed %v with %d shared calls; want the local burst of 2 then a refusal, each asked of the shared store first", got, down.calls)
	}
}
