package signer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/cades"
)

// Claim is an approved request whose signing a process has taken over, and the attempt
// number its lease belongs to (the approval itself is attempt 1).
type Claim struct {
	RequestID string
	Attempt   int
}

// ReasonTSAUnavailable ends a request when no configured time-stamping authority gave a
// token within the request's signing budget.
const ReasonTSAUnavailable = "tsa_unavailable"

// resumeBatch is how many orphaned requests one sweep takes over: each is signed in a
// goroutine of its own, and a sweep runs every couple of seconds, so a backlog after an
// outage drains quickly without one replica grabbing leases it cannot keep.
const resumeBatch = 8

// failReason names why signing an approved request failed, for the integrator.
func failReason(err error) string {
	if errors.Is(err, cades.ErrTimestampUnavailable) || errors.Is(err, cades.ErrTimestamp) {
		return ReasonTSAUnavailable
	}
	return ReasonInternal
}

// holdLease renews the signing lease of attempt on r while the returned stop function
// has not been called, so that no other replica takes the request over while this one
// works. A renewal that finds the request taken over stops renewing; the conditional
// update of CompleteSigned still lets only one signer finish.
func (s *Service) holdLease(ctx context.Context, id string, attempt int) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.cfg.SignLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := s.store.ExtendLease(ctx, id, attempt, s.now().Add(s.cfg.SignLease))
				if err != nil {
					if ctx.Err() == nil {
						s.log.Warn("signing lease not renewed", "requestId", id, "err", err)
					}
					continue
				}
				if !ok {
					return
				}
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// signHeld signs an approved request while holding its lease for the given attempt,
// within the signing bound.
func (s *Service) signHeld(ctx context.Context, r *Request, attempt int) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SignTimeout)
	defer cancel()
	stop := s.holdLease(sctx, r.ID, attempt)
	defer stop()
	s.finish(sctx, r)
}

// ResumeApproved takes over approved requests whose signer stopped (the process was
// killed, a replica was lost) and signs them: the approval is recorded and signing the
// approved digests again is harmless, so the signer is not asked again. Any replica may
// resume any request; the lease in the store makes sure one at a time works on it and the
// conditional final update that only one result is stored. A request whose signing was
// started MaxSignAttempts times without finishing ends failed ("interrupted"): it is
// likely what kills its signer. ResumeApproved returns once the claimed requests are done.
func (s *Service) ResumeApproved(ctx context.Context) error {
	now := s.now()
	claims, err := s.store.ClaimApproved(ctx, now, now.Add(s.cfg.SignLease), resumeBatch)
	if err != nil && len(claims) == 0 {
		return fmt.Errorf("signer: resume: %w", err)
	}
	var wg sync.WaitGroup
	for _, c := range claims {
		r, lerr := s.store.Request(ctx, c.RequestID)
		if lerr != nil {
			err = errors.Join(err, fmt.Errorf("signer: resume %s: %w", c.RequestID, lerr))
			continue
		}
		if c.Attempt > s.cfg.MaxSignAttempts {
			if r.Format == FormatPAdES {
				for i := range r.Documents {
					_ = s.blobs.Delete(ctx, signedKey(r.ID, i))
				}
			}
			if _, ferr := s.settle(ctx, r, []Status{StatusApproved}, Change{To: StatusFailed, Reason: ReasonInterrupted},
				audit.Event{Type: audit.RequestFailed, Actor: audit.System, Detail: map[string]string{"reason": ReasonInterrupted}}); ferr != nil {
				err = errors.Join(err, ferr)
			}
			continue
		}
		s.log.Info("resuming an interrupted signature", "requestId", r.ID, "attempt", c.Attempt)
		s.record(ctx, audit.Event{Type: audit.SigningResumed, Actor: audit.System, RequestID: r.ID,
			Detail: map[string]string{"attempt": fmt.Sprint(c.Attempt)}})
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.signHeld(ctx, r, c.Attempt)
		}()
	}
	wg.Wait()
	return err
}
