package app

import (
	"context"
	"time"

	"github.com/paraphe/paraphe/retention"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/store"
)

// RetentionConfig converts the configured retention periods.
func (e *Env) RetentionConfig() retention.Config {
	r := e.Cfg.Retention
	return retention.Config{
		ResultGrace: time.Duration(r.ResultGrace), ResultMaxAge: time.Duration(r.ResultMaxAge),
		PseudonymizeAfter: time.Duration(r.PseudonymizeAfter), EvidenceKeep: time.Duration(r.EvidenceKeep),
		Interval: time.Duration(r.Interval),
	}
}

// RetentionJob returns the retention job over the store and the audit log (no HSM
// needed), for the server's workers and for paraphe retention run.
func (e *Env) RetentionJob() (*retention.Job, error) {
	j, err := retention.New(e.Store, e.Audit, e.RetentionConfig(), nil, e.Log)
	if err != nil {
		return nil, err
	}
	blobs, err := e.Blobs()
	if err != nil {
		return nil, err
	}
	j.SetFiles(fileSweeper{st: e.Store, blobs: blobs})
	return j, nil
}

// fileSweeper deletes the signed PDFs whose results retention purged, and what a crash
// left half-written (partial blobs, uploads of requests never created).
type fileSweeper struct {
	st    *store.Store
	blobs signer.Blobs
}

// partialAge is how old a partial blob or an unconsumed upload must be to be swept: far
// longer than the creation of a request (upload, parse, prepare) can take on any
// replica, so the sweep never takes a file still in use.
const partialAge = time.Hour

func (f fileSweeper) SweepFiles(ctx context.Context) (int64, error) {
	n, err := f.sweepPurged(ctx)
	if err != nil {
		return n, err
	}
	if p, ok := f.blobs.(interface {
		SweepPartial(ctx context.Context, before time.Time) (int64, error)
	}); ok {
		m, err := p.SweepPartial(ctx, time.Now().Add(-partialAge))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (f fileSweeper) sweepPurged(ctx context.Context) (int64, error) {
	var n int64
	for {
		keys, err := f.st.PurgedFiles(ctx, 200)
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			if err := f.blobs.Delete(ctx, signer.SignedKey(k.RequestID, k.Index)); err != nil {
				return n, err
			}
			if err := f.st.MarkFilesDeleted(ctx, k, time.Now()); err != nil {
				return n, err
			}
			n++
		}
		if len(keys) < 200 {
			return n, nil
		}
	}
}
