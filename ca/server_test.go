package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestIssueServer(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	cert, err := a.IssueServer(context.Background(), newKey(t).Public(), []string{"paraphe.local", "192.168.1.20", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) || cert.IsCA {
		t.Fatalf("EKU %v, CA %v", cert.ExtKeyUsage, cert.IsCA)
	}
	if cert.NotAfter.Sub(cert.NotBefore) > serverValidity+backdate {
		t.Fatalf("valid %v, browsers accept at most 397 days", cert.NotAfter.Sub(cert.NotBefore))
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(a.Root())
	inter.AddCert(a.Issuing())
	for _, host := range []string{"paraphe.local", "192.168.1.20", "::1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{DNSName: "other.local", Roots: roots, Intermediates: inter}); err == nil {
		t.Error("the certificate is valid for a name it does not carry")
	}
	tests := []struct {
		name  string
		hosts []string
	}{
		{"none", nil},
		{"space", []string{"bad host"}},
		{"underscore", []string{"a_b.local"}},
		{"leading hyphen", []string{"-a.local"}},
		{"too many", strings.Split(strings.Repeat("a.local,", maxServerNames+1), ",")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := a.IssueServer(context.Background(), newKey(t).Public(), tc.hosts); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
	if _, err := a.IssueServer(context.Background(), a.Issuing().PublicKey, []string{"x.local"}); err == nil {
		t.Error("a server certificate for the CA's own key")
	}
}
