package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paraphe/paraphe/device/client"
)

// pendingResult is the memory phase's outcome.
type pendingResult struct {
	peakMiB  float64
	heldFor  time.Duration
	createIn time.Duration
}

// holdPending connects every device to its event stream, creates n pending requests
// spread over the devices, waits until every device has been told of each of its
// requests, holds them for hold, and returns the peak RSS seen from the first
// connection to the end.
func (s *service) holdPending(ctx context.Context, devs []*dev, n int, hold time.Duration) (pendingResult, error) {
	var res pendingResult
	rss := startRSS()
	defer rss.Stop()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	var (
		seen      atomic.Int64
		connected atomic.Int64
		wg        sync.WaitGroup
	)
	defer wg.Wait()
	defer stopWatch()
	allSeen := make(chan struct{})
	var once sync.Once
	for _, d := range devs {
		c, err := client.New(d.st, "", time.Minute)
		if err != nil {
			return res, err
		}
		wg.Go(func() {
			mine := map[string]bool{}
			first := true
			c.Watch(wctx, func(ev client.Event) error {
				if first {
					first = false
					connected.Add(1)
				}
				if ev.Status == "pending" && ev.ID != "" && !mine[ev.ID] {
					mine[ev.ID] = true
					if seen.Add(1) == int64(n) {
						once.Do(func() { close(allSeen) })
					}
				}
				return nil
			})
		})
	}
	// Streams announce nothing until an event comes; give them a moment to connect, then
	// create the requests (each device hears of its own live).
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		cw       sync.WaitGroup
	)
	for range 8 {
		cw.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := s.createPending(ctx, devs[i%len(devs)]); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	cw.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	res.createIn = time.Since(start)
	select {
	case <-allSeen:
	case <-time.After(time.Minute):
		return res, fmt.Errorf("bench: devices heard of %d of %d pending requests within a minute (%d streams connected)", seen.Load(), n, connected.Load())
	case <-ctx.Done():
		return res, ctx.Err()
	}
	sleep(ctx, hold)
	res.heldFor = hold
	res.peakMiB = rss.Stop()
	return res, nil
}

// createPending creates one hash-mode request left pending.
func (s *service) createPending(ctx context.Context, d *dev) error {
	var content [32]byte
	rand.Read(content[:])
	digest := sha256.Sum256(content[:])
	body, err := json.Marshal(map[string]any{"signer": d.st.UserID, "format": "CAdES", "level": "B-B",
		"documents": []map[string]string{{"name": "contract.pdf", "digest": base64.StdEncoding.EncodeToString(digest[:]), "digestAlgorithm": "SHA-256"}}})
	if err != nil {
		return err
	}
	return s.call(ctx, http.MethodPost, "/v1/signature-requests", "application/json", body, http.StatusCreated, nil, nil)
}
