package retention

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

type memRecords struct {
	purged  []DocumentKey
	deleted map[DocumentKey]time.Time
}

func (m *memRecords) PurgedFiles(_ context.Context, limit int) ([]DocumentKey, error) {
	var out []DocumentKey
	for _, k := range m.purged {
		if _, gone := m.deleted[k]; !gone && len(out) < limit {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *memRecords) MarkFilesDeleted(_ context.Context, k DocumentKey, at time.Time) error {
	m.deleted[k] = at
	return nil
}

type memBlobs struct {
	files   map[string]bool
	failOn  string
	partial int64
	before  time.Time
}

func (b *memBlobs) Delete(_ context.Context, key string) error {
	if key == b.failOn {
		return errors.New("disk gone")
	}
	delete(b.files, key)
	return nil
}

type partialBlobs struct{ *memBlobs }

func (b partialBlobs) SweepPartial(_ context.Context, before time.Time) (int64, error) {
	b.before = before
	return b.partial, nil
}

// TestFileSweeper: the signed files of purged documents go, each recorded once gone,
// across pages; partial files go where the blob store can tell them; a failed deletion
// stops the sweep with the document left for the next run.
func TestFileSweeper(t *testing.T) {
	name := func(id string, i int) string { return fmt.Sprintf("%s/%d", id, i) }
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		docs     int
		partial  bool
		failOn   string
		want     int64
		wantErr  bool
		wantGone int
	}{
		{"nothing purged", 0, false, "", 0, false, 0},
		{"one page", 3, false, "", 3, false, 3},
		{"several pages", sweepPage*2 + 1, false, "", sweepPage*2 + 1, false, sweepPage*2 + 1},
		{"partial files counted", 2, true, "", 2 + 5, false, 2},
		{"a deletion fails", 3, false, "r1/0", 1, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &memRecords{deleted: map[DocumentKey]time.Time{}}
			mb := &memBlobs{files: map[string]bool{}, failOn: tc.failOn, partial: 5}
			for i := range tc.docs {
				k := DocumentKey{RequestID: fmt.Sprintf("r%d", i), Index: 0}
				rec.purged = append(rec.purged, k)
				mb.files[name(k.RequestID, k.Index)] = true
			}
			var blobs Blobs = mb
			if tc.partial {
				blobs = partialBlobs{mb}
			}
			n, err := NewFileSweeper(rec, blobs, name, func() time.Time { return now }).SweepFiles(context.Background())
			if (err != nil) != tc.wantErr || n != tc.want {
				t.Fatalf("SweepFiles = %d, %v; want %d, error %v", n, err, tc.want, tc.wantErr)
			}
			if len(rec.deleted) != tc.wantGone || len(mb.files) != tc.docs-tc.wantGone {
				t.Fatalf("%d recorded gone, %d files left; want %d gone", len(rec.deleted), len(mb.files), tc.wantGone)
			}
			if tc.partial && !mb.before.Equal(now.Add(-partialAge)) {
				t.Fatalf("partial files swept before %v, want %v", mb.before, now.Add(-partialAge))
			}
			for k, at := range rec.deleted {
				if !at.Equal(now) || mb.files[name(k.RequestID, k.Index)] {
					t.Fatalf("%v recorded at %v with its file still there: %v", k, at, mb.files[name(k.RequestID, k.Index)])
				}
			}
		})
	}
}
