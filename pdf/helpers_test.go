package pdf

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/internal/testenv"
)

var errNoKey = errors.New("memkeys: key not found")

// memKeys is an in-memory ca.Keys (ECDSA P-256).
type memKeys struct {
	mu   sync.Mutex
	keys map[string]crypto.Signer
}

func (m *memKeys) FindKey(_ context.Context, label string) (crypto.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[label]
	if !ok {
		return nil, fmt.Errorf("memkeys: %q: %w", label, errNoKey)
	}
	return k, nil
}

func (m *memKeys) GenerateKey(_ context.Context, label string) (crypto.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	m.keys[label] = k
	return k, nil
}

var _ ca.Keys = (*memKeys)(nil)

// testPKI is a development CA with two signers and a TSA, all in memory.
type testPKI struct {
	ca          *ca.Authority
	users       []*x509.Certificate
	userKeys    []crypto.Signer
	tsa         *x509.Certificate
	tsaKey      crypto.Signer
	rootPEM     string // path
	nssDir      string // "" without certutil
	tsaSerial   int64
	tsaSerialMu sync.Mutex
}

var (
	pkiOnce sync.Once
	pkiVal  *testPKI
	pkiErr  error
	pkiDir  string
)

// TestMain cleans the shared PKI directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if pkiDir != "" {
		os.RemoveAll(pkiDir)
	}
	os.Exit(code)
}

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pkiVal, pkiErr = newPKI() })
	if pkiErr != nil {
		t.Fatalf("test PKI: %v", pkiErr)
	}
	return pkiVal
}

func newPKI() (*testPKI, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pdf-test-pki")
	if err != nil {
		return nil, err
	}
	pkiDir = dir
	a, err := ca.Open(ctx, filepath.Join(dir, "ca"), &memKeys{keys: map[string]crypto.Signer{}}, ca.Config{
		BaseURL:       "http://127.0.0.1:9",
		IsKeyNotFound: func(err error) bool { return errors.Is(err, errNoKey) },
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, err
	}
	p := &testPKI{ca: a}
	for i, sn := range []string{"Dupont", "Martin"} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		c, err := a.IssueUser(ctx, ca.IssueRequest{
			Subject:   ca.UserSubject{GivenName: "Émilie", Surname: sn, SerialNumber: fmt.Sprintf("PNOBE-8501011234%d", i)},
			PublicKey: k.Public(),
		})
		if err != nil {
			return nil, err
		}
		p.users = append(p.users, c)
		p.userKeys = append(p.userKeys, k)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if p.tsa, err = a.IssueTSA(ctx, k.Public(), "Paraphe Test TSA"); err != nil {
		return nil, err
	}
	p.tsaKey = k
	p.rootPEM = filepath.Join(dir, "root.pem")
	if err := os.WriteFile(p.rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Root().Raw}), 0o600); err != nil {
		return nil, err
	}
	if certutil, err := exec.LookPath("certutil"); err == nil {
		p.nssDir = filepath.Join(dir, "nss")
		if err := os.Mkdir(p.nssDir, 0o700); err != nil {
			return nil, err
		}
		for _, args := range [][]string{
			{"-N", "-d", "sql:" + p.nssDir, "--empty-password"},
			{"-A", "-d", "sql:" + p.nssDir, "-n", "paraphe-root", "-t", "CT,C,C", "-a", "-i", p.rootPEM},
		} {
			if out, err := exec.Command(certutil, args...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("certutil %v: %v\n%s", args, err, out)
			}
		}
	}
	return p, nil
}

// timestampToken returns an RFC 3161 token (ContentInfo) over digest.
func (p *testPKI) timestampToken(t testing.TB, digest []byte) []byte {
	t.Helper()
	p.tsaSerialMu.Lock()
	p.tsaSerial++
	serial := p.tsaSerial
	p.tsaSerialMu.Unlock()
	ts := timestamp.Timestamp{
		HashAlgorithm:     crypto.SHA256,
		HashedMessage:     digest,
		Time:              time.Now().Add(-time.Second),
		Policy:            asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1},
		SerialNumber:      big.NewInt(serial),
		AddTSACertificate: true,
		Certificates:      []*x509.Certificate{p.ca.Issuing()},
	}
	resp, err := ts.CreateResponseWithOpts(p.tsa, p.tsaKey, crypto.SHA256)
	if err != nil {
		t.Fatalf("timestamp response: %v", err)
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		t.Fatalf("parse timestamp response: %v", err)
	}
	return parsed.RawToken
}

// bufferAt is an io.WriterAt over a byte slice (for Embed in memory).
type bufferAt []byte

func (b bufferAt) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(b)) {
		return 0, io.ErrShortWrite
	}
	return copy(b[off:], p), nil
}

// sign runs Prepare, builds the CMS with cades (no signing time) or a
// timestamp token, and embeds it.
func sign(t testing.TB, in []byte, user int, req PrepareRequest) ([]byte, *Prepared) {
	t.Helper()
	p := getPKI(t)
	if req.ContentsSize == 0 {
		req.ContentsSize = 8192
	}
	var out bytes.Buffer
	prep, err := Prepare(context.Background(), bytes.NewReader(in), int64(len(in)), &out, sha256.New(), req)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if int64(out.Len()) != prep.Size {
		t.Fatalf("Prepare wrote %d bytes, says %d", out.Len(), prep.Size)
	}
	var cms []byte
	if req.DocTimestamp {
		cms = p.timestampToken(t, prep.Digest)
	} else {
		cms, err = cades.Sign(context.Background(), cades.SignRequest{
			Digest: prep.Digest, Hash: crypto.SHA256, Signer: p.userKeys[user],
			Certificate: p.users[user], Chain: []*x509.Certificate{p.ca.Issuing()},
		})
		if err != nil {
			t.Fatalf("cades.Sign: %v", err)
		}
	}
	b := out.Bytes()
	if err := Embed(bufferAt(b), prep, cms); err != nil {
		t.Fatalf("Embed: %v", err)
	}
	return b, prep
}

// makePDF writes a small valid PDF (classic xref) with pages pages and an
// optional pad stream of pad bytes, the way /work/shared/acceptance/mkpdf.py does.
func makePDF(pages, pad int, title string) []byte {
	return makePDFWith(pages, pad, title, "")
}

// makePDFWith is makePDF with extra entries (such as "/Rotate 90") in every
// page dictionary.
func makePDFWith(pages, pad int, title, pageExtra string) []byte {
	var objs [][]byte
	objs = append(objs, []byte("<< /Type /Catalog /Pages 2 0 R >>"), nil,
		[]byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
		[]byte("<< /Title ("+title+") /Producer (pdf_test) >>"))
	var kids []string
	for i := 0; i < pages; i++ {
		text := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s - page %d of %d) Tj ET", title, i+1, pages)
		objs = append(objs, []byte(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text)))
		c := len(objs)
		objs = append(objs, []byte(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R %s>>", c, pageExtra)))
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	if pad > 0 {
		data := make([]byte, pad)
		for i := range data {
			data[i] = byte(i*7919>>3) | 0x80
		}
		objs = append(objs, append(append([]byte(fmt.Sprintf("<< /Length %d >>\nstream\n", pad)), data...), "\nendstream"...))
	}
	objs[1] = []byte(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	return classicPDF(objs, "/Info 4 0 R ")
}

// classicPDF writes objs as objects 1..n of a PDF with a classic xref table;
// object 1 is the catalog, trailerExtra goes into the trailer dictionary.
func classicPDF(objs [][]byte, trailerExtra string) []byte {
	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&out, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R %s/ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>] >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, trailerExtra, x)
	return out.Bytes()
}

// renderPage renders the first page of the PDF file at path at 72 dpi with pdftoppm.
func renderPage(t *testing.T, pdftoppm, path string) image.Image {
	t.Helper()
	dir := t.TempDir()
	if b, err := exec.Command(pdftoppm, "-r", "72", "-png", "-singlefile", path, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, b)
	}
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func requireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, "%s not installed: skipping the external check", name)
	}
	return p
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pdfsigResult is one "Signature #n" block of pdfsig's output.
type pdfsigResult struct {
	subFilter      string
	valid, trusted bool
	totalDocument  bool
	raw            string
}

var pdfsigTypeRE = regexp.MustCompile(`Signature Type: (\S+)`)

// runPdfsig runs poppler's pdfsig (offline: -no-ocsp) trusting the test root.
func runPdfsig(t testing.TB, path string) []pdfsigResult {
	t.Helper()
	bin := requireTool(t, "pdfsig")
	p := getPKI(t)
	if p.nssDir == "" {
		testenv.Missing(t, "certutil not installed: cannot make pdfsig trust the test root")
	}
	out, _ := exec.Command(bin, "-no-ocsp", "-nssdir", "sql:"+p.nssDir, path).CombinedOutput()
	blocks := strings.Split(string(out), "Signature #")
	var res []pdfsigResult
	for _, b := range blocks[1:] {
		r := pdfsigResult{raw: b,
			valid:         strings.Contains(b, "Signature Validation: Signature is Valid."),
			trusted:       strings.Contains(b, "Certificate Validation: Certificate is Trusted."),
			totalDocument: strings.Contains(b, "Total document signed"),
		}
		if m := pdfsigTypeRE.FindStringSubmatch(b); m != nil {
			r.subFilter = m[1]
		}
		res = append(res, r)
	}
	return res
}

// qpdfCheck reports whether qpdf --check passes (exit 0).
func qpdfCheck(t testing.TB, path string) (bool, string) {
	t.Helper()
	bin := requireTool(t, "qpdf")
	out, err := exec.Command(bin, "--check", path).CombinedOutput()
	return err == nil, string(out)
}
