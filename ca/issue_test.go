package ca

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/testenv"
)

// qcStatement mirrors RFC 3739 QCStatement for decoding in tests.
type qcStatement struct {
	ID   asn1.ObjectIdentifier
	Info asn1.RawValue `asn1:"optional"`
}

func decodeQCStatements(t *testing.T, c *x509.Certificate) []qcStatement {
	t.Helper()
	for _, e := range c.Extensions {
		if e.Id.Equal(oidQCStatements) {
			if e.Critical {
				t.Error("qcStatements is critical")
			}
			var out []qcStatement
			if rest, err := asn1.Unmarshal(e.Value, &out); err != nil || len(rest) > 0 {
				t.Fatalf("qcStatements does not decode: %v", err)
			}
			return out
		}
	}
	t.Fatal("no qcStatements extension")
	return nil
}

func TestIssueUserProfile(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	key := newKey(t)
	leaf, err := a.IssueUser(context.Background(), IssueRequest{Subject: testSubject, PublicKey: key.Public()})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("subject", func(t *testing.T) {
		want := []struct {
			oid asn1.ObjectIdentifier
			v   string
		}{
			{oidCountry, "BE"}, {oidGivenName, "Émilie"}, {oidSurname, "Dupont"},
			{oidSerialNumber, "PNOBE-85010112345"}, {oidCommonName, "Émilie Dupont"},
		}
		names := leaf.Subject.Names
		if len(names) != len(want) {
			t.Fatalf("subject %s has %d attributes, want %d", leaf.Subject, len(names), len(want))
		}
		for i, w := range want {
			if !names[i].Type.Equal(w.oid) || names[i].Value != w.v {
				t.Errorf("attribute %d = %v %v, want %v %q", i, names[i].Type, names[i].Value, w.oid, w.v)
			}
		}
	})
	t.Run("serial", func(t *testing.T) {
		if leaf.SerialNumber.Sign() <= 0 || leaf.SerialNumber.BitLen() > 128 || leaf.SerialNumber.BitLen() < 64 {
			t.Errorf("serial %v is not a random positive 128-bit number", leaf.SerialNumber)
		}
		if other := issueLeaf(t, a); other.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
			t.Error("two certificates share a serial")
		}
	})
	t.Run("key usage", func(t *testing.T) {
		if leaf.KeyUsage != x509.KeyUsageContentCommitment|x509.KeyUsageDigitalSignature {
			t.Errorf("keyUsage = %b", leaf.KeyUsage)
		}
		if !extCritical(t, leaf, asn1.ObjectIdentifier{2, 5, 29, 15}) {
			t.Error("keyUsage not critical")
		}
	})
	t.Run("extended key usage", func(t *testing.T) {
		if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}) {
			t.Errorf("EKU = %v", leaf.ExtKeyUsage)
		}
		if len(leaf.UnknownExtKeyUsage) != 1 || !leaf.UnknownExtKeyUsage[0].Equal(oidKPDocumentSigning) {
			t.Errorf("other EKU = %v, want id-kp-documentSigning", leaf.UnknownExtKeyUsage)
		}
		if extCritical(t, leaf, oidExtKeyUsage) {
			t.Error("extendedKeyUsage is critical")
		}
	})
	t.Run("qcStatements", func(t *testing.T) {
		st := decodeQCStatements(t, leaf)
		var ids []string
		for _, s := range st {
			ids = append(ids, s.ID.String())
		}
		want := []string{"1.3.6.1.5.5.7.11.2", "0.4.0.1862.1.1", "0.4.0.1862.1.4", "0.4.0.1862.1.6", "0.4.0.1862.1.5"}
		if !slices.Equal(ids, want) {
			t.Fatalf("statements = %v, want %v", ids, want)
		}
		var sem struct{ ID asn1.ObjectIdentifier }
		if _, err := asn1.Unmarshal(st[0].Info.FullBytes, &sem); err != nil || !sem.ID.Equal(oidSemanticsNatural) {
			t.Errorf("semanticsIdentifier = %v (%v)", sem.ID, err)
		}
		var types []asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(st[3].Info.FullBytes, &types); err != nil || len(types) != 1 || !types[0].Equal(oidQcTypeESign) {
			t.Errorf("QcType = %v (%v)", types, err)
		}
		var pds []struct {
			URL      string `asn1:"ia5"`
			Language string `asn1:"printable"`
		}
		if _, err := asn1.Unmarshal(st[4].Info.FullBytes, &pds); err != nil || len(pds) != 1 ||
			pds[0].URL != testBaseURL+"/pds/en" || pds[0].Language != "en" {
			t.Errorf("QcPDS = %+v (%v)", pds, err)
		}
	})
	t.Run("policies", func(t *testing.T) {
		if len(leaf.Policies) != 1 || leaf.Policies[0].String() != "0.4.0.194112.1.2" {
			t.Errorf("policies = %v, want QCP-n-qscd", leaf.Policies)
		}
	})
	t.Run("urls", func(t *testing.T) {
		checks := []struct {
			name string
			got  []string
			want string
		}{
			{"OCSP", leaf.OCSPServer, testBaseURL + "/ocsp"},
			{"caIssuers", leaf.IssuingCertificateURL, testBaseURL + "/v1/ca/issuing.cer"},
			{"CRL DP", leaf.CRLDistributionPoints, testBaseURL + "/crl"},
		}
		for _, c := range checks {
			if len(c.got) != 1 || c.got[0] != c.want {
				t.Errorf("%s = %v, want %s", c.name, c.got, c.want)
			}
		}
	})
	t.Run("key identifiers and validity", func(t *testing.T) {
		want, _ := subjectKeyID(key.Public())
		if string(leaf.SubjectKeyId) != string(want) {
			t.Error("subjectKeyIdentifier is not RFC 7093 method 1 of the key")
		}
		if string(leaf.AuthorityKeyId) != string(a.Issuing().SubjectKeyId) {
			t.Error("authorityKeyIdentifier does not name the issuing CA")
		}
		if d := leaf.NotAfter.Sub(leaf.NotBefore); d < defaultUserValidity || d > defaultUserValidity+time.Hour {
			t.Errorf("validity %v, want 2 years", d)
		}
		if leaf.BasicConstraintsValid && leaf.IsCA {
			t.Error("leaf is a CA")
		}
	})
	t.Run("chain verifies", func(t *testing.T) {
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(a.Root())
		inter.AddCert(a.Chain()[0])
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}}); err != nil {
			t.Error(err)
		}
		other := openTest(t, t.TempDir(), newMemKeys())
		wrong := x509.NewCertPool()
		wrong.AddCert(other.Root())
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: wrong, Intermediates: inter}); err == nil {
			t.Error("leaf verifies against an unrelated root")
		}
	})
}

func extCritical(t *testing.T, c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	t.Helper()
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return e.Critical
		}
	}
	t.Fatalf("no extension %v", oid)
	return false
}

func TestIssueUserSemanticsOnlyForETSISerials(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	tests := []struct {
		serial string
		want   bool
	}{
		{"PNOBE-85010112345", true},
		{"PASFR-12AB34", true},
		{"BE:BE-123", true},
		{"85010112345", false},
		{"PNO-123", false},
	}
	for _, tt := range tests {
		t.Run(tt.serial, func(t *testing.T) {
			s := testSubject
			s.SerialNumber = tt.serial
			c, err := a.IssueUser(context.Background(), IssueRequest{Subject: s, PublicKey: newKey(t).Public()})
			if err != nil {
				t.Fatal(err)
			}
			st := decodeQCStatements(t, c)
			if got := st[0].ID.Equal(oidPKIXQCSyntaxV2); got != tt.want {
				t.Errorf("semanticsIdentifier present = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIssueUserRejects(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	rsaSmall, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	good := newKey(t).Public()
	with := func(f func(*UserSubject)) UserSubject { s := testSubject; f(&s); return s }
	tests := []struct {
		name string
		req  IssueRequest
	}{
		{"empty given name", IssueRequest{Subject: with(func(s *UserSubject) { s.GivenName = "  " }), PublicKey: good}},
		{"empty surname", IssueRequest{Subject: with(func(s *UserSubject) { s.Surname = "" }), PublicKey: good}},
		{"common name over 64", IssueRequest{Subject: with(func(s *UserSubject) { s.Surname = strings.Repeat("x", 60) }), PublicKey: good}},
		{"control character", IssueRequest{Subject: with(func(s *UserSubject) { s.Surname = "Du\npont" }), PublicKey: good}},
		{"invalid utf-8", IssueRequest{Subject: with(func(s *UserSubject) { s.Surname = "Du\xffpont" }), PublicKey: good}},
		{"empty serialNumber", IssueRequest{Subject: with(func(s *UserSubject) { s.SerialNumber = "" }), PublicKey: good}},
		{"non-printable serialNumber", IssueRequest{Subject: with(func(s *UserSubject) { s.SerialNumber = "PNOBE-é1" }), PublicKey: good}},
		{"bad country", IssueRequest{Subject: with(func(s *UserSubject) { s.Country = "be" }), PublicKey: good}},
		{"no key", IssueRequest{Subject: testSubject}},
		{"ed25519 key", IssueRequest{Subject: testSubject, PublicKey: edPub}},
		{"P-224 key", IssueRequest{Subject: testSubject, PublicKey: &p224.PublicKey}},
		{"RSA-1024 key", IssueRequest{Subject: testSubject, PublicKey: &rsaSmall.PublicKey}},
		{"CA key", IssueRequest{Subject: testSubject, PublicKey: a.Issuing().PublicKey}},
		{"negative validity", IssueRequest{Subject: testSubject, PublicKey: good, Validity: -time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := a.IssueUser(context.Background(), tt.req)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("IssueUser = %v, %v; want ErrInvalidRequest", c, err)
			}
		})
	}
}

func TestIssueUserDefaultsAndLimits(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := testSubject
	s.Country = ""
	c, err := a.IssueUser(context.Background(), IssueRequest{Subject: s, PublicKey: &rsaKey.PublicKey, Validity: 100 * 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !c.NotAfter.Equal(a.Issuing().NotAfter) {
		t.Errorf("NotAfter %v not cut at the issuing CA's %v", c.NotAfter, a.Issuing().NotAfter)
	}
	if len(c.Subject.Country) != 1 || c.Subject.Country[0] != "BE" {
		t.Errorf("country = %v, want the configured BE", c.Subject.Country)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.IssueUser(ctx, IssueRequest{Subject: testSubject, PublicKey: newKey(t).Public()}); !errors.Is(err, context.Canceled) {
		t.Errorf("IssueUser with a cancelled context = %v", err)
	}
}

func TestIssueTSA(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	tsa, err := a.IssueTSA(context.Background(), newKey(t).Public(), "Paraphe Development TSA")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tsa.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}) || len(tsa.UnknownExtKeyUsage) != 0 {
		t.Errorf("EKU = %v %v, want timeStamping only", tsa.ExtKeyUsage, tsa.UnknownExtKeyUsage)
	}
	if !extCritical(t, tsa, oidExtKeyUsage) {
		t.Error("timeStamping EKU not critical")
	}
	if tsa.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
		t.Errorf("keyUsage = %b", tsa.KeyUsage)
	}
	if tsa.Subject.CommonName != "Paraphe Development TSA" || len(tsa.OCSPServer) != 1 || len(tsa.CRLDistributionPoints) != 1 {
		t.Errorf("subject %s, OCSP %v, CRL %v", tsa.Subject, tsa.OCSPServer, tsa.CRLDistributionPoints)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(a.Root())
	inter.AddCert(a.Issuing())
	if _, err := tsa.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		t.Error(err)
	}
	for _, cn := range []string{"", strings.Repeat("T", 65)} {
		if _, err := a.IssueTSA(context.Background(), newKey(t).Public(), cn); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("IssueTSA(%q) = %v, want ErrInvalidRequest", cn, err)
		}
	}
}

// TestOpenSSLVerify checks every certificate of the dev PKI with openssl's
// strict chain verification, with the purpose each is for.
func TestOpenSSLVerify(t *testing.T) {
	openssl := requireTool(t, "openssl")
	dir := t.TempDir()
	a := openTest(t, filepath.Join(dir, "ca"), newMemKeys())
	tsa, err := a.IssueTSA(context.Background(), newKey(t).Public(), "Paraphe Development TSA")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "ca", fileRoot)
	issuing := filepath.Join(dir, "ca", fileIssuing)
	other := openTest(t, filepath.Join(dir, "other"), newMemKeys())

	tests := []struct {
		name    string
		cert    *x509.Certificate
		purpose string
		root    string
		wantOK  bool
	}{
		{"user", issueLeaf(t, a), "smimesign", root, true},
		{"user any", issueLeaf(t, a), "any", root, true},
		{"tsa", tsa, "timestampsign", root, true},
		{"ocsp responder", a.OCSPResponder(), "ocsphelper", root, true},
		{"issuing", a.Issuing(), "any", root, true},
		{"user against unrelated root", issueLeaf(t, a), "any", filepath.Join(dir, "other", fileRoot), false},
		{"other CA's issuing", other.Issuing(), "any", root, false},
		{"user for tls server", issueLeaf(t, a), "sslserver", root, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := writePEM(t, filepath.Join(t.TempDir(), "leaf.pem"), tt.cert)
			out, err := exec.Command(openssl, "verify", "-x509_strict", "-purpose", tt.purpose,
				"-CAfile", tt.root, "-untrusted", issuing, leaf).CombinedOutput()
			ok := err == nil && strings.Contains(string(out), leaf+": OK")
			if ok != tt.wantOK {
				t.Errorf("openssl verify ok=%v, want %v:\n%s", ok, tt.wantOK, out)
			}
		})
	}
}

// TestQualifiedProfileChecker runs the acceptance checker on an issued user
// certificate, and on a TSA certificate that must fail it.
func TestQualifiedProfileChecker(t *testing.T) {
	python := requireTool(t, "python3")
	script := "/work/shared/acceptance/x509check.py"
	if _, err := os.Stat(script); err != nil {
		t.Skipf("acceptance checker %s absent: %v", script, err)
	}
	if err := exec.Command(python, "-c", "import cryptography").Run(); err != nil {
		testenv.Missing(t, "python3 module cryptography not installed: skipping the qualified-profile checker")
	}
	a := openTest(t, t.TempDir(), newMemKeys())
	tsa, err := a.IssueTSA(context.Background(), newKey(t).Public(), "Paraphe Development TSA")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		cert   *x509.Certificate
		wantOK bool
	}{
		{"user", issueLeaf(t, a), true},
		{"tsa is not a qualified signing certificate", tsa, false},
		{"issuing CA", a.Issuing(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writePEM(t, filepath.Join(t.TempDir(), "cert.pem"), tt.cert)
			out, err := exec.Command(python, script, path).CombinedOutput()
			if (err == nil) != tt.wantOK {
				t.Errorf("x509check ok=%v, want %v:\n%s", err == nil, tt.wantOK, out)
			}
		})
	}
}
