package ca

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNSSChainAndOCSP has NSS (the library behind poppler's pdfsig) verify a
// user certificate for the email-signer usage, fetching its status from the
// responder over HTTP (loopback) through the certificate's own AIA URL. It
// caught a thisUpdate later than producedAt, which NSS refuses.
func TestNSSChainAndOCSP(t *testing.T) {
	certutil := requireTool(t, "certutil")
	vfychain := requireTool(t, "vfychain")
	ocspclnt := requireTool(t, "ocspclnt")

	var a *Authority
	src := mapStatus{}
	mux := http.NewServeMux()
	answer := func(w http.ResponseWriter, r *http.Request, req []byte) {
		resp, err := a.OCSP(r.Context(), req, src)
		if err != nil {
			t.Errorf("OCSP: %v", err)
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(resp)
	}
	mux.HandleFunc("POST /ocsp", func(w http.ResponseWriter, r *http.Request) {
		req, _ := io.ReadAll(io.LimitReader(r.Body, maxOCSPRequest+1))
		answer(w, r, req)
	})
	mux.HandleFunc("GET /ocsp/{req...}", func(w http.ResponseWriter, r *http.Request) {
		req, _ := base64.StdEncoding.DecodeString(r.PathValue("req"))
		answer(w, r, req)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cfg := testConfig()
	cfg.BaseURL = srv.URL
	dir := t.TempDir()
	var err error
	if a, err = Open(context.Background(), filepath.Join(dir, "ca"), newMemKeys(), cfg); err != nil {
		t.Fatal(err)
	}
	good, revoked := issueLeaf(t, a), issueLeaf(t, a)
	src[good.SerialNumber.String()] = Status{Known: true}
	src[revoked.SerialNumber.String()] = Status{Known: true, RevokedAt: time.Now().Add(-time.Minute), Reason: 1}

	db := filepath.Join(dir, "nssdb")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) (string, error) {
		out, err := exec.Command(name, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := run(certutil, "-N", "-d", "sql:"+db, "--empty-password"); err != nil {
		t.Fatalf("certutil -N: %v\n%s", err, out)
	}
	rootDER := filepath.Join(dir, "root.der")
	if err := os.WriteFile(rootDER, a.Root().Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(certutil, "-A", "-d", "sql:"+db, "-n", "paraphe-root", "-t", "C,C,C", "-i", rootDER); err != nil {
		t.Fatalf("certutil -A: %v\n%s", err, out)
	}
	issuingDER := filepath.Join(dir, "issuing.der")
	if err := os.WriteFile(issuingDER, a.Issuing().Raw, 0o644); err != nil {
		t.Fatal(err)
	}

	if out, err := run(certutil, "-A", "-d", "sql:"+db, "-n", "paraphe-issuing", "-t", ",,", "-i", issuingDER); err != nil {
		t.Fatalf("certutil -A: %v\n%s", err, out)
	}

	tests := []struct {
		name       string
		leaf       []byte
		wantOK     bool
		wantReason string
	}{
		{"good", good.Raw, true, ""},
		{"revoked", revoked.Raw, false, "Peer's Certificate has been revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := filepath.Join(t.TempDir(), "leaf.der")
			if err := os.WriteFile(leaf, tt.leaf, 0o644); err != nil {
				t.Fatal(err)
			}
			// ocspclnt says why NSS rejects a response (vfychain does not).
			nick := "leaf-" + tt.name
			if out, err := run(certutil, "-A", "-d", "sql:"+db, "-n", nick, "-t", ",,", "-i", leaf); err != nil {
				t.Fatalf("certutil -A: %v\n%s", err, out)
			}
			out, err := run(ocspclnt, "-S", nick, "-d", "sql:"+db)
			ok := err == nil && strings.Contains(out, "succeeded")
			if ok != tt.wantOK || !strings.Contains(out, tt.wantReason) {
				t.Errorf("ocspclnt -S ok=%v, want %v %s:\n%s", ok, tt.wantOK, tt.wantReason, out)
			}
			// Usage 4 is email signer, what pdfsig asks for; -pp is the
			// PKIX engine, here failing when the leaf has no OCSP answer.
			out, err = run(vfychain, "-d", "sql:"+db, "-u", "4", "-pp",
				"-g", "leaf", "-m", "ocsp", "-s", "failIfNoInfo", leaf)
			ok = err == nil && strings.Contains(out, "Chain is good!")
			if ok != tt.wantOK {
				t.Errorf("vfychain ok=%v, want %v:\n%s", ok, tt.wantOK, out)
			}
		})
	}
}
