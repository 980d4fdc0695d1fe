package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

func ocspRequest(cert, issuer *x509.Certificate, h crypto.Hash) ([]byte, error) {
	return ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: h})
}

// ocspFixture is a CA with one good, one revoked and one unknown leaf, and
// their PEM files for openssl.
type ocspFixture struct {
	a                      *Authority
	src                    mapStatus
	good, revoked, unknown *x509.Certificate
	revokedAt              time.Time
	dir                    string
}

func newOCSPFixture(t *testing.T) *ocspFixture {
	t.Helper()
	f := &ocspFixture{dir: t.TempDir(), src: mapStatus{}}
	f.a = openTest(t, filepath.Join(f.dir, "ca"), newMemKeys())
	f.good, f.revoked, f.unknown = issueLeaf(t, f.a), issueLeaf(t, f.a), issueLeaf(t, f.a)
	f.revokedAt = time.Now().Add(-time.Hour).Truncate(time.Second)
	f.src[f.good.SerialNumber.String()] = Status{Known: true}
	f.src[f.revoked.SerialNumber.String()] = Status{Known: true, RevokedAt: f.revokedAt, Reason: ocsp.KeyCompromise}
	return f
}

func (f *ocspFixture) pem(t *testing.T, name string, c *x509.Certificate) string {
	return writePEM(t, filepath.Join(f.dir, name), c)
}

func TestOCSPStatuses(t *testing.T) {
	f := newOCSPFixture(t)
	tests := []struct {
		name       string
		cert       *x509.Certificate
		hash       crypto.Hash
		wantStatus int
	}{
		{"good sha1", f.good, crypto.SHA1, ocsp.Good},
		{"good sha256", f.good, crypto.SHA256, ocsp.Good},
		{"revoked", f.revoked, crypto.SHA1, ocsp.Revoked},
		{"revoked sha384", f.revoked, crypto.SHA384, ocsp.Revoked},
		{"unknown", f.unknown, crypto.SHA1, ocsp.Unknown},
		{"responder itself", f.a.OCSPResponder(), crypto.SHA1, ocsp.Good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := ocspRequest(tt.cert, f.a.Issuing(), tt.hash)
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			der, err := f.a.OCSP(context.Background(), req, f.src)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := ocsp.ParseResponseForCert(der, tt.cert, f.a.Issuing())
			if err != nil {
				t.Fatalf("ParseResponseForCert: %v", err)
			}
			if resp.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.Status, tt.wantStatus)
			}
			if resp.SerialNumber.Cmp(tt.cert.SerialNumber) != 0 {
				t.Errorf("serial = %v", resp.SerialNumber)
			}
			if resp.IssuerHash != tt.hash {
				t.Errorf("CertID hash = %v, want the request's %v", resp.IssuerHash, tt.hash)
			}
			if resp.Certificate == nil || !resp.Certificate.Equal(f.a.OCSPResponder()) {
				t.Error("responder certificate not included")
			}
			if resp.ThisUpdate.Before(before) || resp.ThisUpdate.After(time.Now().Add(time.Second)) {
				t.Errorf("thisUpdate %v is not now (made after %v)", resp.ThisUpdate, before)
			}
			if !resp.ProducedAt.Equal(resp.ThisUpdate) {
				t.Errorf("producedAt %v, want thisUpdate %v (to the second)", resp.ProducedAt, resp.ThisUpdate)
			}
			if resp.ThisUpdate.After(resp.ProducedAt) {
				t.Errorf("thisUpdate %v after producedAt %v", resp.ThisUpdate, resp.ProducedAt)
			}
			if d := resp.NextUpdate.Sub(resp.ThisUpdate); d != time.Hour {
				t.Errorf("nextUpdate - thisUpdate = %v, want 1h", d)
			}
			if tt.wantStatus == ocsp.Revoked {
				if !resp.RevokedAt.Equal(f.revokedAt) || resp.RevocationReason != ocsp.KeyCompromise {
					t.Errorf("revoked at %v reason %d, want %v reason %d", resp.RevokedAt, resp.RevocationReason, f.revokedAt, ocsp.KeyCompromise)
				}
			}
		})
	}
}

// TestOCSPTimesNotBeforeMaking checks, on an injected clock, that
// thisUpdate and producedAt are never earlier than the moment the response
// is made (a signature timestamp with a fraction of a second, made just
// before, is never after them), less than a second later, and equal.
func TestOCSPTimesNotBeforeMaking(t *testing.T) {
	f := newOCSPFixture(t)
	req, err := ocspRequest(f.good, f.a.Issuing(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 12, 4, 12, 0, 48, 0, time.UTC)
	tests := []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"whole second", base, base},
		{"a millisecond after", base.Add(time.Millisecond), base.Add(time.Second)},
		{"a fraction before the next second", base.Add(999_999_999), base.Add(time.Second)},
		{"another zone", base.Add(300 * time.Millisecond).In(time.FixedZone("CET", 3600)), base.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.a.cfg.Now = func() time.Time { return tt.now }
			der, err := f.a.OCSP(context.Background(), req, f.src)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := ocsp.ParseResponseForCert(der, f.good, f.a.Issuing())
			if err != nil {
				t.Fatal(err)
			}
			if !resp.ThisUpdate.Equal(tt.want) || !resp.ProducedAt.Equal(tt.want) {
				t.Errorf("made at %v: thisUpdate %v, producedAt %v; want both %v", tt.now, resp.ThisUpdate, resp.ProducedAt, tt.want)
			}
			if resp.ThisUpdate.Before(tt.now) {
				t.Errorf("thisUpdate %v earlier than the moment the response was made, %v", resp.ThisUpdate, tt.now)
			}
			if d := resp.NextUpdate.Sub(resp.ThisUpdate); d != time.Hour {
				t.Errorf("nextUpdate - thisUpdate = %v", d)
			}
		})
	}
}

func TestOCSPErrorResponses(t *testing.T) {
	f := newOCSPFixture(t)
	goodReq, err := ocspRequest(f.good, f.a.Issuing(), crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	// The issuing CA's own status is asked of its issuer, the root: not
	// this responder's to answer.
	rootReq, err := ocspRequest(f.a.Issuing(), f.a.Root(), crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	other := openTest(t, t.TempDir(), newMemKeys())
	otherReq, err := ocspRequest(issueLeaf(t, other), other.Issuing(), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     []byte
		src     StatusSource
		want    ocsp.ResponseStatus
		wantErr bool
	}{
		{"empty", nil, f.src, ocsp.Malformed, false},
		{"garbage", []byte("GET /ocsp HTTP/1.1"), f.src, ocsp.Malformed, false},
		{"truncated", goodReq[:len(goodReq)-3], f.src, ocsp.Malformed, false},
		{"trailing data", append(append([]byte{}, goodReq...), 0), f.src, ocsp.Malformed, false},
		{"oversized", make([]byte, maxOCSPRequest+1), f.src, ocsp.Malformed, false},
		{"issued by root", rootReq, f.src, ocsp.Unauthorized, false},
		{"another CA", otherReq, f.src, ocsp.Unauthorized, false},
		{"store failure", goodReq, failingStatus{}, ocsp.InternalError, true},
		{"no store", goodReq, nil, ocsp.InternalError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := f.a.OCSP(context.Background(), tt.req, tt.src)
			if (err != nil) != tt.wantErr {
				t.Errorf("error = %v, want error %v", err, tt.wantErr)
			}
			_, perr := ocsp.ParseResponse(der, f.a.Issuing())
			var re ocsp.ResponseError
			if !errors.As(perr, &re) || re.Status != tt.want {
				t.Errorf("response parses as %v, want OCSP error %v", perr, tt.want)
			}
		})
	}
}

type failingStatus struct{}

func (failingStatus) CertificateStatus(context.Context, *big.Int) (Status, error) {
	return Status{}, errors.New("store: database is locked")
}

// TestOCSPWithOpenSSL has openssl build the requests and verify the
// responses: signature, responder authorization up to the root, and status.
func TestOCSPWithOpenSSL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	f := newOCSPFixture(t)
	root := filepath.Join(f.dir, "ca", fileRoot)
	issuing := filepath.Join(f.dir, "ca", fileIssuing)
	tests := []struct {
		name     string
		cert     *x509.Certificate
		reqFlags []string
		want     string
	}{
		{"good", f.good, nil, "good"},
		{"good sha256 with nonce", f.good, []string{"-sha256", "-nonce"}, "good"},
		{"revoked", f.revoked, []string{"-no_nonce"}, "revoked"},
		{"unknown", f.unknown, nil, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := f.pem(t, "leaf.pem", tt.cert)
			reqPath := filepath.Join(f.dir, "req.der")
			args := append(append([]string{"ocsp"}, tt.reqFlags...), "-issuer", issuing, "-cert", leaf, "-reqout", reqPath)
			if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl ocsp -reqout: %v\n%s", err, out)
			}
			req, err := os.ReadFile(reqPath)
			if err != nil {
				t.Fatal(err)
			}
			der, err := f.a.OCSP(context.Background(), req, f.src)
			if err != nil {
				t.Fatal(err)
			}
			respPath := filepath.Join(f.dir, "resp.der")
			if err := os.WriteFile(respPath, der, 0o644); err != nil {
				t.Fatal(err)
			}
			// The status is looked up by a CertID of the same digest.
			args = []string{"ocsp", "-respin", respPath, "-CAfile", root, "-no_nonce"}
			if slices.Contains(tt.reqFlags, "-sha256") {
				args = append(args, "-sha256")
			}
			out, err := exec.Command(openssl, append(args, "-issuer", issuing, "-cert", leaf)...).CombinedOutput()
			if err != nil {
				t.Fatalf("openssl ocsp -respin: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "Response verify OK") {
				t.Errorf("openssl did not verify the response:\n%s", out)
			}
			if !strings.Contains(string(out), leaf+": "+tt.want) {
				t.Errorf("openssl status is not %q:\n%s", tt.want, out)
			}
			if tt.want == "revoked" && !strings.Contains(string(out), "Reason: keyCompromise") {
				t.Errorf("openssl does not show the reason:\n%s", out)
			}
		})
	}

	// Against an unrelated root the same response must not verify.
	other := openTest(t, t.TempDir(), newMemKeys())
	otherRoot := writePEM(t, filepath.Join(f.dir, "other-root.pem"), other.Root())
	leaf := f.pem(t, "leaf.pem", f.good)
	req, _ := ocspRequest(f.good, f.a.Issuing(), crypto.SHA1)
	der, err := f.a.OCSP(context.Background(), req, f.src)
	if err != nil {
		t.Fatal(err)
	}
	respPath := filepath.Join(f.dir, "resp.der")
	if err := os.WriteFile(respPath, der, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "ocsp", "-respin", respPath, "-CAfile", otherRoot,
		"-issuer", issuing, "-cert", leaf, "-no_nonce").CombinedOutput()
	if err == nil && strings.Contains(string(out), "Response verify OK") {
		t.Errorf("response verified against an unrelated root:\n%s", out)
	}
}

// FuzzOCSP feeds arbitrary request bytes: OCSP must never panic, never return
// a Go error with a working store, and always return a parseable response.
func FuzzOCSP(f *testing.F) {
	dir := f.TempDir()
	a, err := Open(context.Background(), dir, newMemKeys(), testConfig())
	if err != nil {
		f.Fatal(err)
	}
	leaf := issueLeaf(f, a)
	src := mapStatus{leaf.SerialNumber.String(): Status{Known: true}}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA512} {
		req, err := ocspRequest(leaf, a.Issuing(), h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(req)
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, req []byte) {
		der, err := a.OCSP(context.Background(), req, src)
		if err != nil {
			t.Fatalf("OCSP returned an error: %v", err)
		}
		if len(der) == 0 {
			t.Fatal("empty response")
		}
		if _, err := ocsp.ParseResponse(der, a.Issuing()); err != nil {
			var re ocsp.ResponseError
			if !errors.As(err, &re) {
				t.Fatalf("response does not parse: %v", err)
			}
		}
	})
}
