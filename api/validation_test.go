package api

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/internal/hostile"
	"github.com/paraphe/paraphe/verify"
)

// oneIntegrator accepts the API key "k" as integrator i1.
type oneIntegrator struct{}

func (oneIntegrator) Authenticate(_ context.Context, key string) (*integrator.Integrator, error) {
	if key != "k" {
		return nil, integrator.ErrUnauthenticated
	}
	return &integrator.Integrator{ID: "i1"}, nil
}
func (oneIntegrator) Name(context.Context, string) string { return "one" }

func validationHandler(t *testing.T, lim Limits, tmp string) http.Handler {
	t.Helper()
	h, err := New(Deps{Integrators: oneIntegrator{}, Validator: verify.New(verify.Options{}), Limits: lim, TempDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func validationRequest(body io.Reader, contentType string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/v1/validations", body)
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", contentType)
	return req
}

// multipartBody builds a multipart body with the given parts (name → content;
// "file" is sent as a file part).
func multipartBody(t *testing.T, parts map[string][]byte) (*bytes.Buffer, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for name, content := range parts {
		var pw io.Writer
		var err error
		if name == "file" {
			pw, err = w.CreateFormFile(name, "doc.pdf")
		} else {
			pw, err = w.CreateFormField(name)
		}
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(content)
	}
	w.Close()
	return &b, w.FormDataContentType()
}

// TestValidationBodies sends PDFs as the raw body and as a multipart file
// part (both streamed to a temporary file) and checks the answers, and that
// nothing stays in the temporary folder.
func TestValidationBodies(t *testing.T) {
	bomb := hostile.FlateBomb(64)
	tests := []struct {
		name   string
		body   func(t *testing.T) (io.Reader, string)
		status int
		code   string
	}{
		{"raw flate bomb", func(*testing.T) (io.Reader, string) { return bytes.NewReader(bomb), "application/pdf" }, 200, ""},
		{"raw xref overflow", func(*testing.T) (io.Reader, string) {
			return bytes.NewReader(hostile.XrefOverflow()), "application/octet-stream"
		}, 200, ""},
		{"multipart file", func(t *testing.T) (io.Reader, string) {
			return multipartBody(t, map[string][]byte{"file": hostile.PredictorRepeat(100), "note": []byte("skipped")})
		}, 200, ""},
		{"raw, not a PDF", func(*testing.T) (io.Reader, string) { return strings.NewReader("hello"), "application/pdf" }, 422, CodeInvalid},
		{"raw, too large", func(*testing.T) (io.Reader, string) {
			return bytes.NewReader(make([]byte, 5000)), "application/pdf"
		}, 413, CodeTooLarge},
		{"raw, too large, length not declared", func(*testing.T) (io.Reader, string) {
			return io.MultiReader(bytes.NewReader(make([]byte, 5000))), "application/pdf"
		}, 413, CodeTooLarge},
		{"multipart file too large", func(t *testing.T) (io.Reader, string) {
			return multipartBody(t, map[string][]byte{"file": make([]byte, 5000)})
		}, 413, CodeTooLarge},
		{"multipart without a document", func(t *testing.T) (io.Reader, string) {
			return multipartBody(t, map[string][]byte{"other": []byte("x")})
		}, 422, CodeInvalid},
		{"multipart, malformed", func(*testing.T) (io.Reader, string) {
			return strings.NewReader("--x\r\nbroken"), "multipart/form-data; boundary=x"
		}, 400, CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			limit := int64(len(bomb) + 4096)
			if strings.Contains(tc.name, "too large") {
				limit = 2048
			}
			h := validationHandler(t, Limits{PDFBody: limit}, tmp)
			body, ct := tc.body(t)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, validationRequest(body, ct))
			if rec.Code != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			var out map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if tc.status == 200 && out["indication"] != string(verify.Indeterminate) {
				t.Errorf("indication %v, want INDETERMINATE", out["indication"])
			}
			if tc.code != "" && out["code"] != tc.code {
				t.Errorf("problem code %v, want %s", out["code"], tc.code)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Errorf("%d files left in the temporary folder", len(left))
			}
		})
	}
}

// TestValidationConcurrencyLimit holds two validations open (their bodies
// still arriving) under a limit of two: a third is refused with 429 and
// Retry-After, and the two then finish with their reports.
func TestValidationConcurrencyLimit(t *testing.T) {
	h := validationHandler(t, Limits{Validations: 2}, t.TempDir())
	file := hostile.XrefChain(10)
	type answer struct{ code int }
	answers := make(chan answer, 2)
	var writers []*io.PipeWriter
	for range 2 {
		pr, pw := io.Pipe()
		writers = append(writers, pw)
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, validationRequest(pr, "application/pdf"))
			answers <- answer{rec.Code}
		}()
		// the write returns once the handler reads the body: it holds a slot
		if _, err := pw.Write(file[:10]); err != nil {
			t.Fatal(err)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, validationRequest(bytes.NewReader(file), "application/pdf"))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), CodeValidationsBusy) {
		t.Fatalf("third validation: HTTP %d (Retry-After %q): %s, want 429 %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body, CodeValidationsBusy)
	}
	for _, pw := range writers {
		pw.Write(file[10:])
		pw.Close()
	}
	for range 2 {
		if a := <-answers; a.code != http.StatusOK {
			t.Errorf("held validation: HTTP %d, want 200", a.code)
		}
	}
	// the slots are free again
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, validationRequest(bytes.NewReader(file), "application/pdf"))
	if rec.Code != http.StatusOK {
		t.Fatalf("after the others: HTTP %d, want 200: %s", rec.Code, rec.Body)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestDeclaredTooLargeRefusedUnread sends bodies whose Content-Length is past the limit
// with "Expect: 100-continue" over a real connection: the server answers 413 without
// asking for the body, so the client reads the answer instead of losing it to a reset.
func TestDeclaredTooLargeRefusedUnread(t *testing.T) {
	srv := httptest.NewServer(validationHandler(t, Limits{PDFBody: 2048, JSONBody: 2048}, t.TempDir()))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}
	for _, path := range []string{"/v1/validations", "/v1/signature-requests"} {
		t.Run(path, func(t *testing.T) {
			body := &countingReader{r: bytes.NewReader(make([]byte, 1<<20))}
			req, err := http.NewRequest(http.MethodPost, srv.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = 1 << 20
			req.Header.Set("Authorization", "Bearer k")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Expect", "100-continue")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("HTTP %d, want 413", resp.StatusCode)
			}
			if n := body.n.Load(); n != 0 {
				t.Errorf("the client sent %d bytes of a body the server had refused", n)
			}
		})
	}
}

// TestValidationHashModeData: a hash-mode validation's "data" part is digested as it
// streams (never held whole) and the signature is checked against that digest, whichever
// algorithm the signer used; data past the PDF limit is a 413.
func TestValidationHashModeData(t *testing.T) {
	content := bytes.Repeat([]byte("contract text "), 200)
	cms := map[crypto.Hash][]byte{}
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384} {
		cms[h] = selfSignedCMS(t, content, h)
	}
	tests := []struct {
		name   string
		hash   crypto.Hash
		data   []byte
		status int
		digest bool // the message-digest check passes
		sub    string
	}{
		{"SHA-256 signer, same data", crypto.SHA256, content, 200, true, ""},
		{"SHA-384 signer, same data", crypto.SHA384, content, 200, true, ""},
		{"other data", crypto.SHA256, append([]byte("X"), content[1:]...), 200, false, string(verify.HashFailure)},
		{"data past the limit", crypto.SHA256, make([]byte, len(content)+5000), 413, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			h := validationHandler(t, Limits{PDFBody: int64(len(content)) + 4096}, tmp)
			body, ct := multipartBody(t, map[string][]byte{"signature": cms[tc.hash], "data": tc.data})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, validationRequest(body, ct))
			if rec.Code != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 200 {
				return
			}
			var rep verify.Report
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if len(rep.Signatures) != 1 {
				t.Fatalf("%d signatures in the report", len(rep.Signatures))
			}
			passed := false
			for _, c := range rep.Signatures[0].Checks {
				if c.Name == "message-digest" && c.Passed {
					passed = true
				}
			}
			if passed != tc.digest || string(rep.Signatures[0].SubIndication) != tc.sub && tc.sub != "" {
				t.Fatalf("message-digest passed %v (want %v), %s/%s", passed, tc.digest, rep.Indication, rep.Signatures[0].SubIndication)
			}
		})
	}
}

// selfSignedCMS signs content's digest with a new P-256 key and a self-signed certificate.
func selfSignedCMS(t *testing.T, content []byte, h crypto.Hash) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Test Signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	d := h.New()
	d.Write(content)
	sig, err := cades.Sign(context.Background(), cades.SignRequest{Digest: d.Sum(nil), Hash: h, Signer: key, Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
