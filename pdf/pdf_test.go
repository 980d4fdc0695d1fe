package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crypto/x509"

	"github.com/digitorus/timestamp"

	"github.com/paraphe/paraphe/cades"
)

type noRevocations struct{}

func (noRevocations) Revoked(context.Context) ([]x509.RevocationListEntry, error) { return nil, nil }

// TestWholeFlow signs a generated PDF (B-B), counter-signs it with a visible
// signature, adds a DSS and a document timestamp, checking each step with
// poppler's pdfsig, qpdf and this package's own readers.
func TestWholeFlow(t *testing.T) {
	ctx := context.Background()
	p := getPKI(t)
	in := makePDF(3, 0, "Acte de vente")
	info, err := Inspect(ctx, bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	if info.Pages != 3 || info.Signatures != 0 || info.Version != "1.7" || info.Certified {
		t.Fatalf("Inspect = %+v", info)
	}

	// 1. first signature, invisible
	signed, prep := sign(t, in, 0, PrepareRequest{
		Name: "Émilie Dupont", Reason: "Je signe", Location: "Bruxelles", ContactInfo: "e@example.test",
		SigningTime: time.Now(), ContentsSize: 8192,
	})
	if !bytes.Equal(signed[:len(in)], in) {
		t.Fatal("the original bytes were changed")
	}
	if prep.ByteRange[0] != 0 || prep.ByteRange[2]+prep.ByteRange[3] != int64(len(signed)) ||
		prep.ContentsOffset != prep.ByteRange[1]+1 || prep.ByteRange[2] != prep.ContentsOffset+2*8192+1 {
		t.Fatalf("byte range %v, contents at %d, size %d", prep.ByteRange, prep.ContentsOffset, len(signed))
	}
	h := sha256.New()
	h.Write(signed[:prep.ByteRange[1]])
	h.Write(signed[prep.ByteRange[2]:])
	if !bytes.Equal(h.Sum(nil), prep.Digest) {
		t.Fatal("Digest is not the hash of the byte ranges")
	}
	checkSigned(t, signed, 1, map[int]bool{1: true})
	sigs, err := Signatures(ctx, bytes.NewReader(signed), int64(len(signed)))
	if err != nil || len(sigs) != 1 {
		t.Fatalf("Signatures = %v, %v", sigs, err)
	}
	if sigs[0].SubFilter != "ETSI.CAdES.detached" || sigs[0].Type != "Sig" || sigs[0].Field != "Signature1" || sigs[0].RevisionEnd != int64(len(signed)) {
		t.Fatalf("signature = %+v", sigs[0])
	}
	sd, err := cades.Parse(sigs[0].Contents)
	if err != nil {
		t.Fatalf("cades.Parse of /Contents: %v", err)
	}
	if _, err := sd.Verify(prep.Digest); err != nil {
		t.Fatalf("CMS does not verify over the digest: %v", err)
	}

	// 2. counter-signature by another signer, visible on page 2
	two, _ := sign(t, signed, 1, PrepareRequest{
		Name: "Émilie Martin", SigningTime: time.Now(),
		Appearance: &Appearance{Page: 2, Rect: [4]float64{50, 50, 300, 110}, Lines: []string{"Signé par Émilie Martin", time.Now().Format(time.RFC3339), "Signature électronique qualifiée"}},
	})
	checkSigned(t, two, 2, map[int]bool{2: true})

	// 3. DSS
	crl, err := p.ca.CRL(ctx, noRevocations{})
	if err != nil {
		t.Fatal(err)
	}
	var dssOut bytes.Buffer
	dss := DSS{Certs: [][]byte{p.users[0].Raw, p.users[1].Raw, p.ca.Issuing().Raw, p.ca.Root().Raw, p.ca.Issuing().Raw}, CRLs: [][]byte{crl}}
	n, err := AddDSS(ctx, bytes.NewReader(two), int64(len(two)), &dssOut, dss)
	if err != nil || n != int64(dssOut.Len()) {
		t.Fatalf("AddDSS = %d, %v (wrote %d)", n, err, dssOut.Len())
	}
	lt := dssOut.Bytes()
	checkSigned(t, lt, 2, nil)
	if python, err := exec.LookPath("python3"); err == nil {
		if exec.Command(python, "-c", "import cryptography").Run() == nil {
			path := writeTemp(t, "lt.pdf", lt)
			der := writeTemp(t, "sig1.der", sigs[0].Contents)
			if out, err := exec.Command(python, "/work/shared/acceptance/has_dss.py", path, der).CombinedOutput(); err != nil {
				t.Errorf("has_dss.py: %v\n%s", err, out)
			}
		}
	}
	// a second AddDSS merges and dedupes
	var dss2 bytes.Buffer
	if _, err := AddDSS(ctx, bytes.NewReader(lt), int64(len(lt)), &dss2, DSS{Certs: [][]byte{p.ca.Root().Raw, p.tsa.Raw}}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(dss2.Bytes()[len(lt):]), "\nstream\n"); got != 1 {
		t.Errorf("second AddDSS wrote %d streams, want 1 (only the new certificate)", got)
	}

	// 4. document timestamp over everything
	lta, _ := sign(t, lt, 0, PrepareRequest{DocTimestamp: true, ContentsSize: 8192})
	res := checkSigned(t, lta, 3, nil)
	if res != nil && !res[2].totalDocument {
		t.Errorf("pdfsig: the document timestamp does not cover the whole file")
	}
	sigs, err = Signatures(ctx, bytes.NewReader(lta), int64(len(lta)))
	if err != nil || len(sigs) != 3 || sigs[2].Type != "DocTimeStamp" || sigs[2].SubFilter != "ETSI.RFC3161" {
		t.Fatalf("Signatures after LTA = %+v, %v", sigs, err)
	}
	checkDocTimestamp(t, lta, sigs[2])
	info, err = Inspect(ctx, bytes.NewReader(lta), int64(len(lta)))
	if err != nil || info.Signatures != 3 || !info.HasDSS || info.Pages != 3 {
		t.Fatalf("Inspect after LTA = %+v, %v", info, err)
	}
}

// checkSigned checks a signed output with qpdf and pdfsig: want entries,
// every one valid, CAdES ones trusted; totals lists the entries that must
// (true) or must not (false) cover the whole file. It returns pdfsig's
// result (nil when pdfsig is absent).
func checkSigned(t *testing.T, b []byte, want int, totals map[int]bool) []pdfsigResult {
	t.Helper()
	path := writeTemp(t, "signed.pdf", b)
	if _, err := exec.LookPath("qpdf"); err == nil {
		if ok, out := qpdfCheck(t, path); !ok {
			t.Errorf("qpdf --check fails:\n%s", out)
		}
	}
	if _, err := exec.LookPath("pdfsig"); err != nil {
		return nil
	}
	res := runPdfsig(t, path)
	if len(res) != want {
		t.Fatalf("pdfsig lists %d signatures, want %d", len(res), want)
	}
	for i, r := range res {
		if r.subFilter == "unknown" || r.subFilter == "ETSI.RFC3161" {
			continue // poppler 22 does not verify document timestamps (checked by checkDocTimestamp)
		}
		if !r.valid {
			t.Errorf("pdfsig: signature %d not valid:\n%s", i+1, r.raw)
		}
		if r.subFilter == "ETSI.CAdES.detached" && !r.trusted {
			t.Errorf("pdfsig: signature %d not trusted:\n%s", i+1, r.raw)
		}
		if tot, ok := totals[i+1]; ok && tot != r.totalDocument {
			t.Errorf("pdfsig: signature %d total document = %v, want %v", i+1, r.totalDocument, tot)
		}
	}
	return res
}

func TestMkpdfInput(t *testing.T) {
	py := requireTool(t, "python3")
	dir := t.TempDir()
	path := filepath.Join(dir, "in.pdf")
	if out, err := exec.Command(py, "/work/shared/acceptance/mkpdf.py", path, "--pages", "3", "--title", "Acte de vente").CombinedOutput(); err != nil {
		t.Skipf("mkpdf.py unavailable: %v %s", err, out)
	}
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := sign(t, in, 0, PrepareRequest{SigningTime: time.Now()})
	checkSigned(t, out, 1, map[int]bool{1: true})
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	good := makePDF(1, 0, "x")
	withEncrypt := bytes.Replace(good, []byte("/Root 1 0 R"), []byte("/Root 1 0 R /Encrypt 3 0 R"), 1)
	tests := []struct {
		name string
		in   []byte
		req  PrepareRequest
		want error
	}{
		{"not a pdf", []byte("hello world, this is not a PDF"), PrepareRequest{ContentsSize: 100}, ErrNotPDF},
		{"empty", nil, PrepareRequest{ContentsSize: 100}, ErrNotPDF},
		{"encrypted", withEncrypt, PrepareRequest{ContentsSize: 100}, ErrEncrypted},
		{"no catalog", []byte("%PDF-1.4\n1 0 obj\n<< /Foo 1 >>\nendobj\n%%EOF\n"), PrepareRequest{ContentsSize: 100}, ErrBroken},
		{"unknown field", good, PrepareRequest{ContentsSize: 100, Field: "Nope"}, ErrFieldNotFound},
		{"zero contents size", good, PrepareRequest{}, ErrInvalidRequest},
		{"page out of range", good, PrepareRequest{ContentsSize: 100, Appearance: &Appearance{Page: 2, Rect: [4]float64{0, 0, 10, 10}}}, ErrInvalidRequest},
		{"empty rect", good, PrepareRequest{ContentsSize: 100, Appearance: &Appearance{Page: 1}}, ErrInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(ctx, bytes.NewReader(tc.in), int64(len(tc.in)), &bytes.Buffer{}, sha256.New(), tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Prepare: %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("too large for placeholder", func(t *testing.T) {
		var out bytes.Buffer
		prep, err := Prepare(ctx, bytes.NewReader(good), int64(len(good)), &out, sha256.New(), PrepareRequest{ContentsSize: 10})
		if err != nil {
			t.Fatal(err)
		}
		before := bytes.Clone(out.Bytes())
		if err := Embed(bufferAt(out.Bytes()), prep, make([]byte, 11)); !errors.Is(err, ErrContentsTooLarge) {
			t.Fatalf("Embed: %v", err)
		}
		if !bytes.Equal(before, out.Bytes()) {
			t.Fatal("a failed Embed wrote")
		}
	})
}

// checkDocTimestamp checks that a document timestamp's token is a valid
// SignedData whose imprint is the hash of its byte ranges.
func checkDocTimestamp(t *testing.T, b []byte, s Signature) {
	t.Helper()
	if len(s.ByteRange) != 4 {
		t.Fatalf("byte range %v", s.ByteRange)
	}
	h := sha256.New()
	h.Write(b[s.ByteRange[0] : s.ByteRange[0]+s.ByteRange[1]])
	h.Write(b[s.ByteRange[2] : s.ByteRange[2]+s.ByteRange[3]])
	tok, err := cades.ParseTimestampToken(s.Contents)
	if err != nil {
		t.Fatalf("ParseTimestampToken: %v", err)
	}
	if !bytes.Equal(tok.HashedMessage, h.Sum(nil)) {
		t.Fatal("document timestamp imprint is not the hash of its byte ranges")
	}
	ts, err := timestamp.Parse(s.Contents)
	if err != nil {
		t.Fatalf("timestamp.Parse (signature check included): %v", err)
	}
	if !bytes.Equal(ts.HashedMessage, tok.HashedMessage) {
		t.Fatal("imprints differ")
	}
}
