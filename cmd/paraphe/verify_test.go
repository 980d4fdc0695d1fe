package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/tsl/tsltest"
)

type bufAt []byte

func (b bufAt) WriteAt(p []byte, off int64) (int, error) { return copy(b[off:], p), nil }

// signedContract signs testdata/contract.pdf with a fresh CA and returns
// the file and the CA certificate.
func signedContract(t *testing.T) ([]byte, *x509.Certificate) {
	t.Helper()
	in, err := os.ReadFile("../../testdata/contract.pdf")
	if err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	ct := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CLI Test CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour * 48),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	cd, _ := x509.CreateCertificate(rand.Reader, ct, ct, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(cd)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Zoë Signer"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageContentCommitment}
	ld, _ := x509.CreateCertificate(rand.Reader, lt, ca, &key.PublicKey, caKey)
	leaf, _ := x509.ParseCertificate(ld)
	var out bytes.Buffer
	p, err := pdf.Prepare(context.Background(), bytes.NewReader(in), int64(len(in)), &out, sha256.New(), pdf.PrepareRequest{ContentsSize: 8192})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := cades.Sign(context.Background(), cades.SignRequest{Digest: p.Digest, Hash: crypto.SHA256, Signer: key, Certificate: leaf})
	if err != nil {
		t.Fatal(err)
	}
	b := out.Bytes()
	if err := pdf.Embed(bufAt(b), p, cms); err != nil {
		t.Fatal(err)
	}
	return b, ca
}

// captureStdout runs f with os.Stdout sent to a buffer.
func captureStdout(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); done <- b }()
	ferr := f()
	os.Stdout = old
	w.Close()
	return string(<-done), ferr
}

func TestVerifyTrustSources(t *testing.T) {
	signed, ca := signedContract(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "signed.pdf")
	if err := os.WriteFile(file, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	op := tsltest.NewOperator(t, "LU operator")
	tl := filepath.Join(dir, "tl")
	if err := os.MkdirAll(tl, 0o700); err != nil {
		t.Fatal(err)
	}
	list := tsltest.MakeList("LU", 3, []tsltest.Service{{Name: "CLI Test CA service", Cert: ca, Status: tsltest.Granted, Since: time.Now().Add(-time.Hour)}}, "")
	if err := os.WriteFile(filepath.Join(tl, "LU.xml"), tsltest.SignList(t, list, op), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tl, "LU.pem"), op.PEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir() // a data folder without a root: no anchor from --data
	cfg := filepath.Join(dir, "paraphe.yaml")
	if err := os.WriteFile(cfg, []byte("trustedLists: ["+tl+"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unsignedTL := filepath.Join(dir, "unsigned-tl")
	if err := os.MkdirAll(unsignedTL, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(unsignedTL, "LU.xml"), tsltest.SignList(t, list, op), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"no trust anchor", []string{"verify", "--data", empty, file}, 3, "INDETERMINATE", "--trusted-list"},
		{"trusted list", []string{"verify", "--data", empty, "--trusted-list", tl, "--json", file}, 0, `"service": "CLI Test CA service"`, ""},
		{"trusted list as a file, flags first", []string{"--data", empty, "verify", "--trusted-list", filepath.Join(tl, "LU.xml"), file}, 0, "trusted list: LU (LU.xml, sequence 3)", ""},
		{"trustedLists: in the config", []string{"--config", cfg, "--data", empty, "verify", file}, 0, "trusted list: LU (LU.xml, sequence 3)", ""},
		{"trusted list without its operator certificate", []string{"verify", "--data", empty, "--trusted-list", unsignedTL, file}, 2, "", "LU.pem"},
		{"trusted list that does not exist", []string{"verify", "--data", empty, "--trusted-list", filepath.Join(dir, "nope"), file}, 2, "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := captureStdout(t, func() error { return run(context.Background(), tt.args) })
			code := 0
			var ee exitError
			switch {
			case errors.As(err, &ee):
				code = ee.code
			case err != nil:
				code = 1
			}
			if code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d; output:\n%s", code, err, tt.wantCode, out)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error %v, want it to say %q", err, tt.wantErr)
			}
		})
	}
}

// TestTrustedListsFetchCommand runs paraphe trusted-lists fetch against a
// list of lists and a national list served on loopback, then verifies a
// file with the folder it wrote; a list of lists signed by another key
// saves nothing.
func TestTrustedListsFetchCommand(t *testing.T) {
	signed, ca := signedContract(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "signed.pdf")
	if err := os.WriteFile(file, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	eu, pl, mallory := tsltest.NewOperator(t, "EU"), tsltest.NewOperator(t, "PL"), tsltest.NewOperator(t, "Mallory")
	srv, files := tsltest.ServeFiles(t)
	files["/lotl.xml"] = tsltest.SignList(t, tsltest.MakeList("EU", 7, nil, tsltest.PointerXMLAt("PL", srv.URL+"/PL.xml", pl)), eu)
	files["/PL.xml"] = tsltest.SignList(t, tsltest.MakeList("PL", 12, []tsltest.Service{{Name: "PL Qualified CA", Cert: ca, Status: tsltest.Granted, Since: time.Now().Add(-time.Hour)}}, ""), pl)
	pemOf := func(name string, o tsltest.Operator) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, o.PEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	euPEM, malloryPEM := pemOf("eu.pem", eu), pemOf("mallory.pem", mallory)
	empty := t.TempDir()
	exit := func(err error) int {
		var ee exitError
		switch {
		case errors.As(err, &ee):
			return ee.code
		case err != nil:
			return 1
		}
		return 0
	}

	tl := filepath.Join(dir, "tl")
	out, err := captureStdout(t, func() error {
		return run(context.Background(), []string{"--data", empty, "trusted-lists", "fetch", "--dir", tl, "--lotl-signer", euPEM, "--url", srv.URL + "/lotl.xml"})
	})
	if err != nil {
		t.Fatalf("fetch: %v\n%s", err, out)
	}
	var res struct {
		Saved  []string          `json:"saved"`
		Failed map[string]string `json:"failed"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("fetch output %q: %v", out, err)
	}
	if strings.Join(res.Saved, ",") != "EU.xml,PL.xml" || len(res.Failed) != 0 {
		t.Fatalf("fetch saved %v, failed %v", res.Saved, res.Failed)
	}
	out, err = captureStdout(t, func() error {
		return run(context.Background(), []string{"verify", "--data", empty, "--trusted-list", tl, file})
	})
	if code := exit(err); code != 0 || !strings.Contains(out, "trusted list: PL (PL.xml, sequence 12)") {
		t.Errorf("verify with the fetched lists: exit %d (%v)\n%s", code, err, out)
	}

	tl2 := filepath.Join(dir, "tl2")
	out, err = captureStdout(t, func() error {
		return run(context.Background(), []string{"trusted-lists", "fetch", "--dir", tl2, "--lotl-signer", malloryPEM, "--url", srv.URL + "/lotl.xml"})
	})
	if err == nil {
		t.Errorf("a list of lists checked against another signer was accepted:\n%s", out)
	}
	if m, _ := filepath.Glob(filepath.Join(tl2, "*")); len(m) != 0 {
		t.Errorf("files written: %v", m)
	}
}
