package verify

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/hostile"
)

// TestValidateHostile validates the files of the hardening review under
// the default limits: each gets a report that does not pass, allocating
// far less than before the budgets (the predictor file's 600 DSS entries
// cost 128 MiB each; the flate bomb 64 MiB per try).
func TestValidateHostile(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		maxHeap uint64
	}{
		{"xref overflow", hostile.XrefOverflow(), 4 << 20},
		{"xref stream overflow", hostile.XrefStreamOverflow(), 4 << 20},
		{"flate bomb 256 MiB", hostile.FlateBomb(256), 16 << 20},
		{"40 predicted xref streams", hostile.XrefChain(40), 16 << 20},
		{"predictor stream listed 600 times in the DSS", hostile.PredictorRepeat(600), 16 << 20},
		{"array of 20 million items", hostile.ArrayBomb(20_000_000), 160 << 20},
	}
	v := New(Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rep *Report
			var err error
			heap, _ := cost(func() { rep, err = v.ValidatePDF(context.Background(), tc.file) })
			if err != nil {
				t.Fatal(err)
			}
			if rep.Indication != Indeterminate && rep.Indication != TotalFailed {
				t.Errorf("indication %s, want INDETERMINATE or TOTAL_FAILED", rep.Indication)
			}
			if heap > tc.maxHeap {
				t.Errorf("allocated %d bytes, want at most %d", heap, tc.maxHeap)
			}
		})
	}
}

// stopReader reads a document and ends the validation's context at its
// n-th read, as a client leaving (or the deadline) would; it counts the
// reads made after the answer.
type stopReader struct {
	r        *bytes.Reader
	n        int
	cancel   func()
	reads    atomic.Int64
	answered atomic.Bool
	late     atomic.Int64
}

func (s *stopReader) ReadAt(p []byte, off int64) (int, error) {
	if s.answered.Load() {
		s.late.Add(1)
	}
	if s.reads.Add(1) == int64(s.n) {
		s.cancel()
	}
	return s.r.ReadAt(p, off)
}

// TestValidateStopsWithItsContext checks that no work goes on once a
// validation is answered: ValidatePDFAt returns after its worker stopped.
func TestValidateStopsWithItsContext(t *testing.T) {
	file := hostile.PredictorRepeat(3000)
	for _, n := range []int{1, 3, 10, 20} {
		ctx, cancel := context.WithCancel(context.Background())
		sr := &stopReader{r: bytes.NewReader(file), n: n, cancel: cancel}
		rep, err := New(Options{}).ValidatePDFAt(ctx, sr, int64(len(file)))
		sr.answered.Store(true)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if sr.reads.Load() < int64(n) {
			t.Fatalf("the validation made %d reads, fewer than %d: the test does not end it", sr.reads.Load(), n)
		}
		if rep.Indication != Indeterminate || rep.SubIndication != Generic {
			t.Errorf("read %d ends the context: %s/%s, want INDETERMINATE/GENERIC (cut short)", n, rep.Indication, rep.SubIndication)
		}
		time.Sleep(50 * time.Millisecond) // room for a worker left running to show itself
		if late := sr.late.Load(); late > 0 {
			t.Errorf("read %d ends the context: %d reads after the answer", n, late)
		}
	}
}
