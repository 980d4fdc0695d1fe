package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/hostile"
)

// The seeds include whole corpus files of up to 20 kB: run the fuzzers with
// -fuzzminimizetime=5s or so, or minimizing a new input takes a minute.
//
// fuzzSeeds adds generated PDFs and the small files of the shared corpus.
func fuzzSeeds(f *testing.F) {
	f.Add(makePDF(1, 0, "seed"))
	f.Add(makePDF(2, 10, "seed"))
	f.Add([]byte("%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 1 0 R>>endobj\ntrailer<</Root 1 0 R>>\nstartxref\n0\n%%EOF"))
	// the hardening review's files, at sizes that reach fuzzLimits
	f.Add(hostile.XrefOverflow())
	f.Add(hostile.XrefStreamOverflow())
	f.Add(hostile.FlateBomb(8))
	f.Add(hostile.XrefChain(40))
	f.Add(hostile.PredictorRepeat(600))
	for _, dir := range seedDirs() {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
		for _, m := range matches {
			if st, err := os.Stat(m); err == nil && st.Size() < 20000 {
				if b, err := os.ReadFile(m); err == nil {
					f.Add(b)
				}
			}
		}
	}
}

// fuzzLimits are small budgets, so that the fuzzers reach them: every
// input must then stay within fuzzCost.
var fuzzLimits = Limits{Objects: 100_000, Revisions: 64, StreamBytes: 1 << 20, DecodedBytes: 4 << 20, CacheBytes: 1 << 20, ObjectReads: 100_000}

// fuzzCtx bounds one fuzz input: a hang is a failure, and the operation
// runs under fuzzLimits.
func fuzzCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return WithLimits(ctx, fuzzLimits)
}

// fuzzCost runs one operation on one fuzz input and fails when it costs
// more than the budgets allow: memory allocated beyond a few times the
// decoded-bytes budget and the input's size, or more than two CPU-seconds
// (the budgets bound the work to a fraction of that on this machine; the
// review's 4 KB file took eight).
func fuzzCost(t *testing.T, input []byte, op func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	op()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	maxHeap := 4*uint64(fuzzLimits.DecodedBytes) + 64*uint64(len(input)) + 16<<20
	if heap := after.TotalAlloc - before.TotalAlloc; heap > maxHeap {
		t.Fatalf("allocated %d bytes for a %d-byte input, want at most %d", heap, len(input), maxHeap)
	}
	if cpu > 2*time.Second {
		t.Fatalf("used %v of CPU for a %d-byte input, want at most 2s", cpu, len(input))
	}
}

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzParseObject checks the object parser on arbitrary bytes: it returns
// an object or an error, never panics, and always moves forward.
func FuzzParseObject(f *testing.F) {
	for _, s := range []string{"<< /A [1 2 0 R (x\\)) <414>] /B << /C true >> >>", "[[[[", "(unterminated", "<</Length 5 0 R>>stream\nabc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLexer(bytes.NewReader(data), int64(len(data)), 0)
		for i := 0; i < 100 && l.offset() < int64(len(data)); i++ {
			before := l.offset()
			if _, err := l.parseObject(0); err != nil && l.offset() == before {
				l.seek(before + 1)
			}
		}
		if o, err := l.parseObject(0); err == nil && !Equal(o, o) {
			t.Fatalf("object %#v is not equal to itself", o)
		}
	})
}

func FuzzInspect(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var info *Info
		var err error
		fuzzCost(t, b, func() { info, err = Inspect(fuzzCtx(t), bytes.NewReader(b), int64(len(b))) })
		if err != nil {
			if !isSentinel(err) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error is not a sentinel: %v", err)
			}
			return
		}
		if info.Pages < 1 {
			t.Fatalf("Inspect succeeded with %d pages", info.Pages)
		}
	})
}

// FuzzPrepare checks that any input either is refused with a sentinel or
// gives an output starting with the input whose byte range is consistent.
func FuzzPrepare(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		var p *Prepared
		var err error
		req := PrepareRequest{ContentsSize: 64, Reason: "fuzz"}
		if len(b)%2 == 1 { // half the inputs with a visible box: page geometry (/Rotate, boxes) read
			req.Appearance = &Appearance{Page: 1, Rect: [4]float64{10, 10, 110, 40}, Lines: []string{"Ζωή Łucja"}}
		}
		fuzzCost(t, b, func() {
			p, err = Prepare(fuzzCtx(t), bytes.NewReader(b), int64(len(b)), &out, sha256.New(), req)
		})
		if err != nil {
			if !isSentinel(err) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error is not a sentinel: %v", err)
			}
			return
		}
		o := out.Bytes()
		if !bytes.HasPrefix(o, b) || p.Size != int64(len(o)) || p.ByteRange[2]+p.ByteRange[3] != p.Size {
			t.Fatalf("inconsistent output: %+v, %d bytes", p, len(o))
		}
		h := sha256.Sum256(append(append([]byte{}, o[:p.ByteRange[1]]...), o[p.ByteRange[2]:]...))
		if !bytes.Equal(h[:], p.Digest) {
			t.Fatal("digest is not the hash of the byte ranges")
		}
		// the output must read back with one more (unsigned) signature field
		if _, err := Inspect(context.Background(), bytes.NewReader(o), int64(len(o))); err != nil {
			t.Fatalf("output does not read back: %v", err)
		}
	})
}

func FuzzSignatures(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var sigs []Signature
		var err error
		fuzzCost(t, b, func() { sigs, err = Signatures(fuzzCtx(t), bytes.NewReader(b), int64(len(b))) })
		if err != nil {
			if !isSentinel(err) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error is not a sentinel: %v", err)
			}
			return
		}
		for _, s := range sigs {
			if len(s.Contents) > len(b) {
				t.Fatal("contents larger than the file")
			}
		}
	})
}

func FuzzAddDSS(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var n int64
		var err error
		fuzzCost(t, b, func() {
			n, err = AddDSS(fuzzCtx(t), bytes.NewReader(b), int64(len(b)), io.Discard, DSS{Certs: [][]byte{{0x30, 0}}})
		})
		if err != nil {
			if !isSentinel(err) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error is not a sentinel: %v", err)
			}
			return
		}
		if n <= int64(len(b)) {
			t.Fatalf("AddDSS returned size %d for a %d-byte input", n, len(b))
		}
	})
}

func seedDirs() []string {
	if os.Getenv("PDF_FUZZ_NO_CORPUS") != "" {
		return nil
	}
	return []string{corpusDir, "/work/shared/corpus/signed"}
}
