package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTakeShared: a bucket of 5 at 1/s lets 5 through at once, then refuses with the
// wait until the next token, whichever of two stores on the same database (two replicas)
// asks; another key has its own bucket.
func TestTakeShared(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			cfg := b.config(t)
			ctx := context.Background()
			var replicas []*Store
			for range 2 {
				s, err := Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Close() })
				replicas = append(replicas, s)
			}
			var allowed atomic.Int32
			var wg sync.WaitGroup
			for i := range 12 {
				wg.Go(func() {
					ok, _, err := replicas[i%2].Take(ctx, "per-key:int-1", 1, 5)
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
			ok, wait, err := replicas[0].Take(ctx, "per-key:int-1", 1, 5)
			if err != nil || ok || wait <= 0 || wait > time.Second {
				t.Fatalf("Take after the burst = %v, %v, %v; want refused with a wait of at most 1 s", ok, wait, err)
			}
			if ok, _, err := replicas[1].Take(ctx, "per-key:int-2", 1, 5); err != nil || !ok {
				t.Fatalf("another key: %v, %v", ok, err)
			}
			time.Sleep(wait + 50*time.Millisecond)
			if ok, _, err := replicas[1].Take(ctx, "per-key:int-1", 1, 5); err != nil || !ok {
				t.Fatalf("after the wait: %v, %v; want a token", ok, err)
			}
		})
	}
}
