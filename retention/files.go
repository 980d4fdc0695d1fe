package retention

import (
	"context"
	"time"
)

// DocumentKey names one document of a request.
type DocumentKey struct {
	RequestID string
	Index     int
}

// FileRecords is what the file sweep needs from storage: the documents whose results a
// run purged while their files remain, and a record that the files are gone.
type FileRecords interface {
	PurgedFiles(ctx context.Context, limit int) ([]DocumentKey, error)
	MarkFilesDeleted(ctx context.Context, k DocumentKey, at time.Time) error
}

// Blobs deletes stored files by key. A store that keeps partial writes and uploads of
// requests never created may also offer SweepPartial, which the sweep then calls.
type Blobs interface {
	Delete(ctx context.Context, key string) error
}

// partialSweeper is the optional ability of Blobs to drop what a crash left
// half-written before a time.
type partialSweeper interface {
	SweepPartial(ctx context.Context, before time.Time) (int64, error)
}

// partialAge is how old a partial blob or an unconsumed upload must be to be swept: far
// longer than the creation of a request (upload, parse, prepare) can take on any
// replica, so the sweep never takes a file still in use.
const partialAge = time.Hour

// sweepPage is how many purged documents one read of the records returns.
const sweepPage = 200

// FileSweeper deletes the signed files whose results retention purged, and what a crash
// left half-written (partial blobs, uploads of requests never created). It is the Files
// of a Job over a blob store.
type FileSweeper struct {
	records FileRecords
	blobs   Blobs
	name    func(requestID string, index int) string
	now     func() time.Time
}

// NewFileSweeper returns the sweep of blobs, where name gives the key of a document's
// signed file (signer.SignedKey); now may be nil (time.Now).
func NewFileSweeper(records FileRecords, blobs Blobs, name func(requestID string, index int) string, now func() time.Time) *FileSweeper {
	if now == nil {
		now = time.Now
	}
	return &FileSweeper{records: records, blobs: blobs, name: name, now: now}
}

// SweepFiles deletes what there is to delete and returns how many files went.
func (f *FileSweeper) SweepFiles(ctx context.Context) (int64, error) {
	n, err := f.sweepPurged(ctx)
	if err != nil {
		return n, err
	}
	if p, ok := f.blobs.(partialSweeper); ok {
		m, err := p.SweepPartial(ctx, f.now().Add(-partialAge))
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (f *FileSweeper) sweepPurged(ctx context.Context) (int64, error) {
	var n int64
	for {
		keys, err := f.records.PurgedFiles(ctx, sweepPage)
		if err != nil {
			return n, err
		}
		for _, k := range keys {
			if err := f.blobs.Delete(ctx, f.name(k.RequestID, k.Index)); err != nil {
				return n, err
			}
			if err := f.records.MarkFilesDeleted(ctx, k, f.now()); err != nil {
				return n, err
			}
			n++
		}
		if len(keys) < sweepPage {
			return n, nil
		}
	}
}
