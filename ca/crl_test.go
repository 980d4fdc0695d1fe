package ca

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCRL(t *testing.T) {
	f := newOCSPFixture(t)
	der, err := f.a.CRL(context.Background(), f.src)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(f.a.Issuing()); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if err := crl.CheckSignatureFrom(f.a.Root()); err == nil {
		t.Error("issuing CA's CRL verifies against the root key")
	}
	if string(crl.AuthorityKeyId) != string(f.a.Issuing().SubjectKeyId) {
		t.Error("CRL authorityKeyIdentifier does not name the issuing CA")
	}
	if d := crl.NextUpdate.Sub(crl.ThisUpdate); d != 24*time.Hour {
		t.Errorf("nextUpdate - thisUpdate = %v, want 24h", d)
	}
	if len(crl.RevokedCertificateEntries) != 1 {
		t.Fatalf("%d entries, want 1", len(crl.RevokedCertificateEntries))
	}
	e := crl.RevokedCertificateEntries[0]
	if e.SerialNumber.Cmp(f.revoked.SerialNumber) != 0 || !e.RevocationTime.Equal(f.revokedAt) || e.ReasonCode != 1 {
		t.Errorf("entry = %v %v reason %d, want %v %v reason 1", e.SerialNumber, e.RevocationTime, e.ReasonCode,
			f.revoked.SerialNumber, f.revokedAt)
	}

	der2, err := f.a.CRL(context.Background(), f.src)
	if err != nil {
		t.Fatal(err)
	}
	crl2, err := x509.ParseRevocationList(der2)
	if err != nil {
		t.Fatal(err)
	}
	if crl2.Number.Cmp(crl.Number) <= 0 {
		t.Errorf("CRL number %v not above the previous %v", crl2.Number, crl.Number)
	}
}

func TestCRLFailures(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	if _, err := a.CRL(context.Background(), nil); err == nil {
		t.Error("CRL with no lister succeeded")
	}
	if _, err := a.CRL(context.Background(), failingLister{}); !errors.Is(err, errListFailed) {
		t.Errorf("CRL error = %v, want the lister's", err)
	}
}

var errListFailed = errors.New("store: connection reset")

type failingLister struct{}

func (failingLister) Revoked(context.Context) ([]x509.RevocationListEntry, error) {
	return nil, errListFailed
}

func TestRootCRL(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	der, err := a.RootCRL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(a.Root()); err != nil {
		t.Errorf("root CRL signature: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 0 {
		t.Errorf("root CRL lists %d certificates", len(crl.RevokedCertificateEntries))
	}
}

// TestCRLWithOpenSSL has openssl verify the CRLs and use them: a revoked
// leaf fails chain verification with -crl_check_all, a good one passes.
func TestCRLWithOpenSSL(t *testing.T) {
	openssl := requireTool(t, "openssl")
	f := newOCSPFixture(t)
	root := filepath.Join(f.dir, "ca", fileRoot)
	issuing := filepath.Join(f.dir, "ca", fileIssuing)
	chain := writePEM(t, filepath.Join(f.dir, "chain.pem"), f.a.Root(), f.a.Issuing())

	crlDER, err := f.a.CRL(context.Background(), f.src)
	if err != nil {
		t.Fatal(err)
	}
	rootCRLDER, err := f.a.RootCRL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	crlPath := filepath.Join(f.dir, "crls.pem")
	pemCRLs := append(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlDER}),
		pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: rootCRLDER})...)
	if err := os.WriteFile(crlPath, pemCRLs, 0o644); err != nil {
		t.Fatal(err)
	}
	derPath := filepath.Join(f.dir, "crl.der")
	if err := os.WriteFile(derPath, crlDER, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("crl signature", func(t *testing.T) {
		out, err := exec.Command(openssl, "crl", "-inform", "DER", "-in", derPath, "-CAfile", chain, "-noout").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "verify OK") {
			t.Errorf("openssl crl: %v\n%s", err, out)
		}
	})
	tests := []struct {
		name   string
		cert   *x509.Certificate
		wantOK bool
	}{
		{"good leaf", f.good, true},
		{"revoked leaf", f.revoked, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := f.pem(t, "leaf.pem", tt.cert)
			out, err := exec.Command(openssl, "verify", "-crl_check_all", "-CRLfile", crlPath,
				"-CAfile", root, "-untrusted", issuing, leaf).CombinedOutput()
			ok := err == nil && strings.Contains(string(out), leaf+": OK")
			if ok != tt.wantOK {
				t.Errorf("openssl verify -crl_check_all ok=%v, want %v:\n%s", ok, tt.wantOK, out)
			}
			if !tt.wantOK && !strings.Contains(string(out), "certificate revoked") {
				t.Errorf("failure is not the revocation:\n%s", out)
			}
		})
	}
}
