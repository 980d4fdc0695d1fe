package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/hostile"
)

// allocated returns the bytes f allocates (the memory side of a parse's
// cost: the input files below are a few kilobytes).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHostileDocuments runs every operation of the package on the files of
// the hardening review under the default limits: each is refused with
// ErrLimit or handled, allocating a few MiB at most (before the budgets,
// the predictor and chain files allocated 128 MiB per stream, the flate
// bomb 64 MiB per try, and the overflow was accepted and signed).
func TestHostileDocuments(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		limit   bool  // every operation must refuse with ErrLimit
		maxHeap int64 // bytes one operation may allocate
		openOK  bool  // Open does not read the hostile object: it succeeds
	}{
		{"xref overflow", hostile.XrefOverflow(), true, 1 << 20, false},
		{"xref stream overflow", hostile.XrefStreamOverflow(), true, 1 << 20, false},
		{"flate bomb 256 MiB", hostile.FlateBomb(256), true, 4 << 20, false},
		{"40 predicted xref streams", hostile.XrefChain(40), false, 4 << 20, false},
		{"predictor stream listed 600 times in the DSS", hostile.PredictorRepeat(600), false, 4 << 20, false},
		// 20 million items (40 MiB inflated): refused at a million, before
		// it takes more than a few tens of MiB
		{"array of 20 million items", hostile.ArrayBomb(20_000_000), true, 128 << 20, true},
		// /N of four million on 8 MiB of zeros: the offset maps were
		// presized from it (over 200 MiB; 1.3 GiB at 40 MiB and 20 million)
		{"object stream declaring 4 million objects", hostile.ObjStmCount(8, 4_000_000), false, 40 << 20, false},
	}
	ops := []struct {
		name string
		run  func(ctx context.Context, b []byte) error
	}{
		{"Inspect", func(ctx context.Context, b []byte) error {
			_, err := Inspect(ctx, bytes.NewReader(b), int64(len(b)))
			return err
		}},
		{"Prepare", func(ctx context.Context, b []byte) error {
			_, err := Prepare(ctx, bytes.NewReader(b), int64(len(b)), io.Discard, sha256.New(), PrepareRequest{ContentsSize: 64})
			return err
		}},
		{"AddDSS", func(ctx context.Context, b []byte) error {
			_, err := AddDSS(ctx, bytes.NewReader(b), int64(len(b)), io.Discard, DSS{Certs: [][]byte{{0x30, 0}}})
			return err
		}},
		{"Open and decode the DSS", func(ctx context.Context, b []byte) error {
			r, err := Open(ctx, bytes.NewReader(b), int64(len(b)))
			if err != nil {
				return err
			}
			return decodeDSS(r)
		}},
	}
	for _, tc := range tests {
		for _, op := range ops {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				var err error
				heap := allocated(func() { err = op.run(context.Background(), tc.file) })
				if tc.openOK && op.name == "Open and decode the DSS" {
					if err != nil {
						t.Errorf("got %v, want the document opened", err)
					}
				} else if tc.limit && (!errors.Is(err, ErrLimit) || !errors.Is(err, ErrBroken)) {
					t.Errorf("got %v, want ErrLimit", err)
				}
				if !tc.limit && err != nil {
					t.Errorf("got %v, want the document handled", err)
				}
				if heap > uint64(tc.maxHeap) {
					t.Errorf("allocated %d bytes, want at most %d", heap, tc.maxHeap)
				}
			})
		}
	}
}

// decodeDSS decodes every stream of the /DSS arrays, as a validator does.
func decodeDSS(r *Reader) error {
	cat, err := r.Resolve(r.Trailer().Get("Root"))
	if err != nil {
		return err
	}
	c, _ := cat.(*Dict)
	dss, err := r.Resolve(c.Get("DSS"))
	if err != nil || dss == nil {
		return err
	}
	for _, k := range []Name{"Certs", "OCSPs", "CRLs"} {
		arr, err := r.Resolve(dss.(*Dict).Get(k))
		if err != nil {
			return err
		}
		a, _ := arr.([]Object)
		for _, x := range a {
			o, err := r.Resolve(x)
			if err != nil {
				return err
			}
			if s, ok := o.(*Stream); ok {
				if _, err := r.Decode(s); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// TestDecodeBudget checks that decoding charges the bytes really produced:
// a bomb is stopped at the stream limit without holding its output, the
// operation's total stops repeated decodes, and a context that ends stops
// the work.
func TestDecodeBudget(t *testing.T) {
	small := Limits{StreamBytes: 1 << 20, DecodedBytes: 8 << 20}
	bomb := hostile.FlateBomb(16)
	tests := []struct {
		name string
		ctx  func() context.Context
		file []byte
		want error
	}{
		{"bomb over the stream limit", func() context.Context { return WithLimits(context.Background(), small) }, bomb, ErrLimit},
		{"bomb under a larger stream limit, over the total",
			func() context.Context {
				return WithLimits(context.Background(), Limits{StreamBytes: 32 << 20, DecodedBytes: 8 << 20})
			}, bomb, ErrLimit},
		{"bomb within the limits", func() context.Context {
			return WithLimits(context.Background(), Limits{StreamBytes: 32 << 20, DecodedBytes: 64 << 20})
		}, bomb, nil},
		{"context ended", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, bomb, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Inspect(tc.ctx(), bytes.NewReader(tc.file), int64(len(tc.file)))
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestElementsBudget checks that the elements parsed by one operation are
// counted: arrays under the per-object cap, many of them, reach the
// operation's limit.
func TestElementsBudget(t *testing.T) {
	file := hostile.ArrayBomb(500_000)
	tests := []struct {
		name string
		lim  Limits
		want error
	}{
		{"within the default", Limits{}, nil},
		{"over a small budget", Limits{Elements: 100_000}, ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Inspect(WithLimits(context.Background(), tc.lim), bytes.NewReader(file), int64(len(file)))
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestAddDSSExistingEntries checks the cap on the entries of an existing
// /DSS array that AddDSS reads (and copies) when it extends a document.
func TestAddDSSExistingEntries(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want error
	}{
		{"at the cap", maxDSSEntries, nil},
		{"over the cap", maxDSSEntries + 1, ErrLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := hostile.PredictorRepeat(tc.n)
			_, err := AddDSS(context.Background(), bytes.NewReader(file), int64(len(file)), io.Discard, DSS{Certs: [][]byte{{0x30, 0}}})
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestUnpredict checks the PNG predictor on rows of every type, a short
// last row, and a row shorter than declared parameters of 64 MiB rows.
func TestUnpredict(t *testing.T) {
	parms := func(cols, colors int64) *Dict {
		d := newDict()
		d.set("Predictor", int64(12))
		d.set("Columns", cols)
		d.set("Colors", colors)
		return d
	}
	tests := []struct {
		name string
		p    *Dict
		in   []byte
		want []byte
		err  bool
	}{
		{"none", parms(3, 1), []byte{0, 1, 2, 3, 0, 4, 5, 6}, []byte{1, 2, 3, 4, 5, 6}, false},
		{"sub", parms(3, 1), []byte{1, 1, 1, 1}, []byte{1, 2, 3}, false},
		{"up", parms(3, 1), []byte{0, 1, 2, 3, 2, 1, 1, 1}, []byte{1, 2, 3, 2, 3, 4}, false},
		{"average", parms(2, 1), []byte{0, 4, 8, 3, 2, 2}, []byte{4, 8, 4, 2 + byte((4+8)/2)}, false},
		{"paeth", parms(2, 1), []byte{0, 10, 20, 4, 1, 1}, []byte{10, 20, 11, 21}, false},
		{"short last row", parms(3, 1), []byte{0, 1, 2, 3, 2, 5}, []byte{1, 2, 3, 6}, false},
		{"one byte under 64 MiB rows", func() *Dict {
			d := parms(1<<20, 32)
			d.set("BitsPerComponent", int64(16))
			return d
		}(), []byte{2}, []byte{}, false},
		{"bad row type", parms(2, 1), []byte{7, 1, 2}, nil, true},
		{"bad parameters", parms(0, 1), []byte{0, 1}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := unpredict(tc.in, tc.p)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if !tc.err && !bytes.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// peakHeap runs f and returns the most heap in use above what was in use
// before, sampled every millisecond while f runs.
func peakHeap(f func()) uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	base := m.HeapInuse
	var peak uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var s runtime.MemStats
		for {
			runtime.ReadMemStats(&s)
			if s.HeapInuse > base {
				peak = max(peak, s.HeapInuse-base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak
}

// TestAddDSSHoldsOneStream checks that AddDSS, reading an existing /DSS of
// different large entries to skip the ones it would add again, holds one
// decoded entry at a time: it used to keep every decoded entry as a map
// key, so a 200 KB file listing five 40 MiB streams held 280 MiB while a
// document was extended to B-LT after its approval.
func TestAddDSSHoldsOneStream(t *testing.T) {
	tests := []struct {
		name    string
		n, mib  int
		maxHeap uint64
	}{
		{"one 8 MiB entry", 1, 8, 40 << 20},
		{"eight 8 MiB entries", 8, 8, 40 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := hostile.DistinctDSS(tc.n, tc.mib)
			var err error
			peak := peakHeap(func() {
				_, err = AddDSS(context.Background(), bytes.NewReader(file), int64(len(file)), io.Discard, DSS{Certs: [][]byte{{0x30, 0}}})
			})
			if err != nil {
				t.Fatalf("AddDSS: %v", err)
			}
			if peak > tc.maxHeap {
				t.Errorf("held %d MiB of heap, want at most %d MiB", peak>>20, tc.maxHeap>>20)
			}
		})
	}
}
