package verify

import (
	"context"
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

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
	v := New(Options{Timeout: 5 * time.Second})
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		rep, err := v.ValidatePDF(context.Background(), data)
		if err == nil && rep == nil {
			t.Fatal("no report and no error")
		}
		if d := time.Since(start); d > 6*time.Second {
			t.Fatalf("took %v", d)
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
