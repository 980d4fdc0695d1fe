package pdf

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	digitoruspdf "github.com/digitorus/pdf"
	pdfsign "github.com/digitorus/pdfsign/sign"
	"github.com/digitorus/pdfsign/verify"
)

// bigPDF writes a PDF of about size bytes (one large stream) to a file.
func bigPDF(tb testing.TB, size int) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), "big.pdf")
	if err := os.WriteFile(p, makePDF(3, size, "Big"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// BenchmarkPrepare50MB prepares a 50 MB file read through an *os.File
// (io.ReaderAt) and written to io.Discard: allocations stay near the size of
// the update and the copy buffer, whatever the size of the file.
func BenchmarkPrepare50MB(b *testing.B) {
	path := bigPDF(b, 50<<20)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Prepare(context.Background(), f, st.Size(), io.Discard, sha256.New(), PrepareRequest{ContentsSize: 16384, SigningTime: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawPdfsign signs the same 50 MB file with pdfsign (the mandated
// library, as a baseline): it reads the file through digitorus/pdf and
// builds its output in memory.
func BenchmarkRawPdfsign(b *testing.B) {
	p := getPKI(b)
	path := bigPDF(b, 50<<20)
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		rdr, err := digitoruspdf.NewReader(f, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		err = pdfsign.Sign(f, io.Discard, rdr, st.Size(), pdfsign.SignData{
			Signature:         pdfsign.SignDataSignature{CertType: pdfsign.ApprovalSignature, Info: pdfsign.SignDataSignatureInfo{Name: "Bench", Date: time.Now()}},
			Signer:            p.userKeys[0],
			DigestAlgorithm:   crypto.SHA256,
			Certificate:       p.users[0],
			CertificateChains: [][]*x509.Certificate{{p.users[0], p.ca.Issuing(), p.ca.Root()}},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// TestPrepareMemoryIndependentOfSize prepares a 4 MB and a 40 MB file and
// checks that the bytes allocated do not grow with the file.
func TestPrepareMemoryIndependentOfSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 44 MB of test files")
	}
	alloc := func(size int) uint64 {
		path := bigPDF(t, size)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		if _, err := Prepare(context.Background(), f, st.Size(), io.Discard, sha256.New(), PrepareRequest{ContentsSize: 16384}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	small, large := alloc(4<<20), alloc(40<<20)
	t.Logf("allocated: %d bytes for 4 MB, %d bytes for 40 MB", small, large)
	if large > 2*small+(1<<20) || large > 8<<20 {
		t.Fatalf("allocations grow with the file: %d bytes for 4 MB, %d for 40 MB", small, large)
	}
}

// TestPdfsignVerify has pdfsign's own verifier (a second, independent
// reader: digitorus/pdf) check a signed and counter-signed output.
func TestPdfsignVerify(t *testing.T) {
	p := getPKI(t)
	in := makePDF(2, 0, "pdfsign check")
	one, _ := sign(t, in, 0, PrepareRequest{SigningTime: time.Now(), Reason: "Accord"})
	two, _ := sign(t, one, 1, PrepareRequest{SigningTime: time.Now()})
	opts := verify.DefaultVerifyOptions()
	opts.EnableExternalRevocationCheck = false
	resp, err := verify.VerifyWithOptions(bytes.NewReader(two), int64(len(two)), opts)
	if err != nil {
		t.Fatalf("pdfsign verify: %v", err)
	}
	if len(resp.Signers) != 2 {
		t.Fatalf("pdfsign verify found %d signers, want 2", len(resp.Signers))
	}
	for i, s := range resp.Signers {
		if !s.ValidSignature {
			t.Errorf("pdfsign verify: signer %d not valid (%s)", i, resp.Error)
		}
		if s.Certificates[0].Certificate.SerialNumber.Cmp(p.users[i].SerialNumber) != 0 {
			t.Errorf("signer %d: unexpected certificate", i)
		}
	}
	if resp.Signers[0].Reason != "Accord" {
		t.Errorf("reason = %q", resp.Signers[0].Reason)
	}
}
