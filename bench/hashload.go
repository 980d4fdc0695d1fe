package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// hashResult is the outcome of a hash-mode load.
type hashResult struct {
	perSec  float64
	done    int64
	cpu     time.Duration   // process CPU time used during the measuring window
	create  []time.Duration // server time of POST /v1/signature-requests
	approve []time.Duration // server time of POST .../approve (returns once signed)
}

// hashLoad runs complete hash-mode requests from one worker per device for warm+d and
// counts those that finished inside the measuring window d. Each request is: create
// (integrator), read with its nonce (device), approve with a signed challenge and the
// PIN (device; the server verifies, signs in the HSM, builds the CMS and stores it),
// download the CMS (integrator). Each worker has one request in flight, below the
// per-signer pending limit. The step times are the HTTP round trips of create and
// approve on loopback: server time plus a negligible transfer; the device's own work
// (reading, signing the challenge) is outside them.
func (s *service) hashLoad(ctx context.Context, devs []*dev, warm, d time.Duration) (hashResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		done      atomic.Int64
		mu        sync.Mutex
		res       hashResult
		firstErr  error
		wg        sync.WaitGroup
	)
	// The simulated integrator and devices run under the pprof label side=client (the
	// connection goroutines of their HTTP client inherit it), so that a --cpuprofile
	// tells their share from the server's: go tool pprof -tagfocus side=client.
	pprof.Do(ctx, pprof.Labels("side", "client"), func(lctx context.Context) {
		for _, dv := range devs {
			wg.Go(func() {
				var create, approve []time.Duration
				for !stop.Load() {
					c, a, err := s.oneHashRequest(lctx, dv)
					if err != nil {
						if ctx.Err() == nil {
							mu.Lock()
							firstErr = cmpErr(firstErr, err)
							mu.Unlock()
							cancel()
						}
						break
					}
					if measuring.Load() && !stop.Load() {
						done.Add(1)
						create = append(create, c)
						approve = append(approve, a)
					}
				}
				mu.Lock()
				res.create = append(res.create, create...)
				res.approve = append(res.approve, approve...)
				mu.Unlock()
			})
		}
	})
	sleep(ctx, warm)
	measuring.Store(true)
	start, cpu0 := time.Now(), processCPU()
	sleep(ctx, d)
	// A window too short for a loaded machine would measure nothing: it is stretched until
	// the first request of the window has finished (at most minWait more), so every run
	// reports a rate and a CPU time per request.
	for end := time.Now().Add(minWait); done.Load() == 0 && ctx.Err() == nil && time.Now().Before(end); {
		sleep(ctx, 10*time.Millisecond)
	}
	stop.Store(true)
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	n := done.Load()
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.done, res.cpu = n, cpu
	res.perSec = float64(n) / elapsed.Seconds()
	return res, nil
}

// minWait bounds how long a measuring window is stretched while no request has finished
// in it: two minutes is far beyond one request's time even on a busy shared machine.
const minWait = 2 * time.Minute

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// oneHashRequest runs one request through and returns the times of create and approve.
func (s *service) oneHashRequest(ctx context.Context, d *dev) (createT, approveT time.Duration, err error) {
	var content [32]byte
	rand.Read(content[:])
	digest := sha256.Sum256(content[:])
	body, err := json.Marshal(map[string]any{"signer": d.st.UserID, "format": "CAdES", "level": "B-B",
		"documents": []map[string]string{{"name": "contract.pdf", "digest": base64.StdEncoding.EncodeToString(digest[:]), "digestAlgorithm": "SHA-256"}}})
	if err != nil {
		return 0, 0, err
	}
	var c created
	t0 := time.Now()
	if err := s.call(ctx, http.MethodPost, "/v1/signature-requests", "application/json", body, http.StatusCreated, &c, nil); err != nil {
		return 0, 0, err
	}
	createT = time.Since(t0)
	it, err := s.fetchForApproval(ctx, d, c.ID)
	if err != nil {
		return 0, 0, err
	}
	ab, err := approveBody(d, it, c.Icon.ID)
	if err != nil {
		return 0, 0, err
	}
	t1 := time.Now()
	if err := s.approve(ctx, d, c.ID, ab); err != nil {
		return 0, 0, err
	}
	approveT = time.Since(t1)
	if _, err := s.fetchResult(ctx, c.ID); err != nil {
		return 0, 0, err
	}
	return createT, approveT, nil
}
