package verify

import (
	"context"
	"crypto"
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/hostile"
	"github.com/paraphe/paraphe/pdf"
)

// fuzzLimits are small PDF budgets, so that the fuzzer reaches them: every
// input must then stay within the memory and CPU that follow from them.
var fuzzLimits = pdf.Limits{Objects: 100_000, Revisions: 64, StreamBytes: 1 << 20, DecodedBytes: 4 << 20, CacheBytes: 1 << 20, ObjectReads: 100_000}

// cost runs f and returns the bytes it allocated and the process CPU time
// it took (user and system).
func cost(f func()) (uint64, time.Duration) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	f()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, cpu
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// FuzzValidatePDF checks that any input gets an answer, without panic, in time.
func FuzzValidatePDF(f *testing.F) {
	base, _ := unsignedPDF()
	f.Add(base)
	f.Add([]byte("%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj trailer << /Root 1 0 R >>"))
	if p := newFuzzPKI(f); p != nil {
		f.Add(signedPDFForFuzz(f, p))
	}
	for _, n := range []string{"pyhanko__base.pdf", "pyhanko__sig-with-ski-sid.pdf", "dss__pades_infinite_loop.pdf"} {
		if b, err := os.ReadFile(filepath.Join(corpusDir, n)); err == nil {
			f.Add(b)
		}
	}
	// the hardening review's files, at sizes that reach fuzzLimits
	f.Add(hostile.XrefOverflow())
	f.Add(hostile.FlateBomb(8))
	f.Add(hostile.XrefChain(40))
	f.Add(hostile.PredictorRepeat(600))
	v := New(Options{Timeout: 5 * time.Second})
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		var rep *Report
		var err error
		heap, cpu := cost(func() { rep, err = v.ValidatePDF(pdf.WithLimits(context.Background(), fuzzLimits), data) })
		if err == nil && rep == nil {
			t.Fatal("no report and no error")
		}
		if d := time.Since(start); d > 6*time.Second {
			t.Fatalf("took %v", d)
		}
		if maxHeap := 4*uint64(fuzzLimits.DecodedBytes) + 64*uint64(len(data)) + 32<<20; heap > maxHeap {
			t.Fatalf("allocated %d bytes for a %d-byte input, want at most %d", heap, len(data), maxHeap)
		}
		if cpu > 3*time.Second {
			t.Fatalf("used %v of CPU for a %d-byte input, want at most 3s", cpu, len(data))
		}
	})
}

func newFuzzPKI(f *testing.F) *testPKI {
	t := &testing.T{}
	defer func() { _ = recover() }()
	return newTestPKI(t, true)
}

func signedPDFForFuzz(f *testing.F, p *testPKI) []byte {
	base, xref := unsignedPDF()
	return signPDF(&testing.T{}, base, xref, 6, "Signature1", "", "", p.key, p.signer)
}

// FuzzBERToDER checks the BER normalizer: its output, when any, is DER
// that normalizes to itself.
func FuzzBERToDER(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00})
	f.Add([]byte{0x24, 0x80, 0x04, 0x01, 0xaa, 0x04, 0x01, 0xbb, 0x00, 0x00})
	f.Add([]byte{0x30, 0x81, 0x03, 0x02, 0x01, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		der, n, err := berToDER(data)
		if err != nil {
			return
		}
		if n > len(data) {
			t.Fatalf("read %d of %d bytes", n, len(data))
		}
		again, m, err := berToDER(der)
		if err != nil || m != len(der) || string(again) != string(der) {
			t.Fatalf("not idempotent: %x -> %x -> %x (%v)", data, der, again, err)
		}
	})
}

// FuzzValidateCMS checks hash-mode validation on arbitrary signatures.
func FuzzValidateCMS(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, []byte("data"))
	v := New(Options{Anchors: []*x509.Certificate{}})
	f.Fuzz(func(t *testing.T, sig, data []byte) {
		if len(sig) == 0 {
			return
		}
		rep, err := v.ValidateCMS(context.Background(), CMSInput{Signature: sig, Data: data})
		if err != nil || rep == nil {
			t.Fatalf("no report: %v", err)
		}
		if _, err := v.ValidateCMS(context.Background(), CMSInput{Signature: sig, Digest: make([]byte, 32), DigestAlgorithm: crypto.SHA256}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseBrainpoolOCSP feeds arbitrary bytes to the OCSP reader for
// brainpool responders: it must never panic, and never answer without a
// verified signature (the issuer here has no brainpool key, so no answer
// at all).
func FuzzParseBrainpoolOCSP(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x00})
	f.Add([]byte{0x30, 0x0d, 0x0a, 0x01, 0x00, 0xa0, 0x08, 0x30, 0x06, 0x06, 0x01, 0x2b, 0x04, 0x01, 0x00})
	issuer := &x509.Certificate{RawSubject: []byte{0x30, 0x00}, SerialNumber: big.NewInt(1)}
	cert := &x509.Certificate{SerialNumber: big.NewInt(2)}
	f.Fuzz(func(t *testing.T, der []byte) {
		if r, err := parseBrainpoolOCSP(der, cert, issuer); err == nil {
			t.Fatalf("answered without a brainpool responder: %+v", r)
		}
	})
}
