package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/internal/testenv"
)

const testBaseURL = "http://127.0.0.1:8080"

// errNoKey is the test HSM's "no such label" sentinel.
var errNoKey = errors.New("memkeys: key not found")

// memKeys is a map-backed Keys with in-memory ECDSA P-256 keys.
type memKeys struct {
	mu        sync.Mutex
	keys      map[string]crypto.Signer
	generated int
	findErr   error // when set, FindKey fails with it (HSM down)
}

func newMemKeys() *memKeys { return &memKeys{keys: map[string]crypto.Signer{}} }

func (m *memKeys) FindKey(_ context.Context, label string) (crypto.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.findErr != nil {
		return nil, m.findErr
	}
	k, ok := m.keys[label]
	if !ok {
		return nil, fmt.Errorf("memkeys: %q: %w", label, errNoKey)
	}
	return k, nil
}

func (m *memKeys) GenerateKey(_ context.Context, label string) (crypto.Signer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[label]; ok {
		return nil, fmt.Errorf("memkeys: %q already exists", label)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	m.keys[label] = k
	m.generated++
	return k, nil
}

func (m *memKeys) set(label string, k crypto.Signer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k == nil {
		delete(m.keys, label)
		return
	}
	m.keys[label] = k
}

var _ Keys = (*memKeys)(nil)

func testConfig() Config {
	return Config{
		BaseURL:       testBaseURL,
		IsKeyNotFound: func(err error) bool { return errors.Is(err, errNoKey) },
		Logger:        slog.New(slog.DiscardHandler),
	}
}

func openTest(t *testing.T, dir string, keys *memKeys) *Authority {
	t.Helper()
	a, err := Open(context.Background(), dir, keys, testConfig())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return a
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var testSubject = UserSubject{GivenName: "Émilie", Surname: "Dupont", SerialNumber: "PNOBE-85010112345", Country: "BE"}

func issueLeaf(t testing.TB, a *Authority) *x509.Certificate {
	t.Helper()
	cert, err := a.IssueUser(context.Background(), IssueRequest{Subject: testSubject, PublicKey: newKey(t).Public()})
	if err != nil {
		t.Fatalf("IssueUser: %v", err)
	}
	return cert
}

func writePEM(t *testing.T, path string, certs ...*x509.Certificate) string {
	t.Helper()
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Missing(t, "%s not installed: skipping the check that needs it", name)
	}
	return p
}

func TestOpenCreatesThenReuses(t *testing.T) {
	dir := t.TempDir()
	keys := newMemKeys()
	a1 := openTest(t, dir, keys)
	for _, f := range []string{fileRoot, fileIssuing, fileOCSP} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if keys.generated != 3 {
		t.Errorf("generated %d keys, want 3", keys.generated)
	}
	a2 := openTest(t, dir, keys)
	if keys.generated != 3 {
		t.Errorf("second Open generated keys: %d in total", keys.generated)
	}
	pairs := []struct {
		name   string
		c1, c2 *x509.Certificate
	}{
		{"root", a1.Root(), a2.Root()},
		{"issuing", a1.Issuing(), a2.Issuing()},
		{"ocsp", a1.OCSPResponder(), a2.OCSPResponder()},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			if !p.c1.Equal(p.c2) {
				t.Errorf("second Open did not reuse the %s certificate", p.name)
			}
		})
	}
	if got := a2.Chain(); len(got) != 1 || !got[0].Equal(a2.Issuing()) {
		t.Errorf("Chain() = %v, want [issuing]", got)
	}
}

func TestOpenReusesKeysAlreadyInHSM(t *testing.T) {
	keys := newMemKeys()
	root := newKey(t)
	keys.set(LabelRoot, root)
	a := openTest(t, t.TempDir(), keys)
	if keys.generated != 2 {
		t.Errorf("generated %d keys, want 2 (root key existed)", keys.generated)
	}
	if !root.PublicKey.Equal(a.Root().PublicKey) {
		t.Error("root certificate does not use the key already in the HSM")
	}
}

func TestOpenFails(t *testing.T) {
	// other is a complete second CA whose files can be planted.
	otherDir := t.TempDir()
	otherKeys := newMemKeys()
	openTest(t, otherDir, otherKeys)

	copyFile := func(t *testing.T, from, to string) {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		breakIt func(t *testing.T, dir string, keys *memKeys)
		cfg     func(*Config)
		want    error // nil: any error
	}{
		{name: "issuing key replaced", want: ErrKeyMismatch, breakIt: func(t *testing.T, dir string, keys *memKeys) {
			keys.set(LabelIssuing, newKey(t))
		}},
		{name: "root key replaced", want: ErrKeyMismatch, breakIt: func(t *testing.T, dir string, keys *memKeys) {
			keys.set(LabelRoot, newKey(t))
		}},
		{name: "ocsp key replaced", want: ErrKeyMismatch, breakIt: func(t *testing.T, dir string, keys *memKeys) {
			keys.set(LabelOCSP, newKey(t))
		}},
		{name: "root key missing", want: errNoKey, breakIt: func(t *testing.T, dir string, keys *memKeys) {
			keys.set(LabelRoot, nil)
		}},
		{name: "hsm failure", want: errHSMDown, breakIt: func(t *testing.T, dir string, keys *memKeys) {
			keys.findErr = errHSMDown
		}},
		{name: "issuing signed by another root", want: ErrKeyMismatch, breakIt: func(t *testing.T, dir string, keys *memKeys) {
			copyFile(t, filepath.Join(otherDir, fileIssuing), filepath.Join(dir, fileIssuing))
			k, _ := otherKeys.FindKey(context.Background(), LabelIssuing)
			keys.set(LabelIssuing, k)
		}},
		{name: "root.pem garbage", breakIt: func(t *testing.T, dir string, keys *memKeys) {
			if err := os.WriteFile(filepath.Join(dir, fileRoot), []byte("not a certificate"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "root.pem missing", breakIt: func(t *testing.T, dir string, keys *memKeys) {
			if err := os.Remove(filepath.Join(dir, fileRoot)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "issuing CA expired", want: ErrExpired, cfg: func(c *Config) {
			later := time.Now().AddDate(issuingValidityYears, 1, 0)
			c.Now = func() time.Time { return later }
		}},
		{name: "no IsKeyNotFound", want: ErrInvalidConfig, cfg: func(c *Config) { c.IsKeyNotFound = nil }},
		{name: "relative BaseURL", want: ErrInvalidConfig, cfg: func(c *Config) { c.BaseURL = "/paraphe" }},
		{name: "bad country", want: ErrInvalidConfig, cfg: func(c *Config) { c.Country = "Belgium" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			keys := newMemKeys()
			openTest(t, dir, keys)
			if tt.breakIt != nil {
				tt.breakIt(t, dir, keys)
			}
			cfg := testConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			a, err := Open(context.Background(), dir, keys, cfg)
			if err == nil {
				t.Fatalf("Open succeeded (root %s), want an error", a.Root().Subject)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Open error = %v, want %v", err, tt.want)
			}
		})
	}
}

var errHSMDown = errors.New("memkeys: device removed")

func TestOpenRecreatesAndRenewsOCSPResponder(t *testing.T) {
	dir := t.TempDir()
	keys := newMemKeys()
	a1 := openTest(t, dir, keys)

	if err := os.Remove(filepath.Join(dir, fileOCSP)); err != nil {
		t.Fatal(err)
	}
	a2 := openTest(t, dir, keys)
	if a2.OCSPResponder().Equal(a1.OCSPResponder()) {
		t.Error("missing ocsp.pem was not re-created")
	}
	if !a2.Issuing().Equal(a1.Issuing()) || !a2.Root().Equal(a1.Root()) {
		t.Error("re-creating ocsp.pem changed the CA certificates")
	}
	if err := a2.OCSPResponder().CheckSignatureFrom(a2.Issuing()); err != nil {
		t.Errorf("re-created responder not signed by the issuing CA: %v", err)
	}

	// Eleven months later the responder certificate is renewed, same key.
	cfg := testConfig()
	later := time.Now().Add(335 * 24 * time.Hour)
	cfg.Now = func() time.Time { return later }
	a3, err := Open(context.Background(), dir, keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !a3.OCSPResponder().NotAfter.After(a2.OCSPResponder().NotAfter) {
		t.Errorf("responder expiring %v not renewed at %v", a2.OCSPResponder().NotAfter, later)
	}
	if keys.generated != 3 {
		t.Errorf("renewal generated a key (%d in total)", keys.generated)
	}
	// The renewed file is what the next Open loads.
	a4, err := Open(context.Background(), dir, keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !a4.OCSPResponder().Equal(a3.OCSPResponder()) {
		t.Error("renewed responder certificate was not persisted")
	}
}

func TestCACertificates(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	now := time.Now()
	years := func(c *x509.Certificate) float64 { return c.NotAfter.Sub(now).Hours() / 24 / 365.25 }
	tests := []struct {
		name       string
		cert       *x509.Certificate
		parent     *x509.Certificate
		cn         string
		isCA       bool
		maxPathLen int
		keyUsage   x509.KeyUsage
		years      float64
	}{
		{"root", a.Root(), a.Root(), "Paraphe Development Root CA", true, 1, x509.KeyUsageCertSign | x509.KeyUsageCRLSign, 20},
		{"issuing", a.Issuing(), a.Root(), "Paraphe Development Issuing CA", true, 0, x509.KeyUsageCertSign | x509.KeyUsageCRLSign, 10},
		{"ocsp", a.OCSPResponder(), a.Issuing(), "Paraphe Development OCSP Responder", false, 0, x509.KeyUsageDigitalSignature, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.cert
			if c.Subject.CommonName != tt.cn || fmt.Sprint(c.Subject.Organization) != "[Paraphe Development CA]" || fmt.Sprint(c.Subject.Country) != "[BE]" {
				t.Errorf("subject = %s", c.Subject)
			}
			if err := c.CheckSignatureFrom(tt.parent); err != nil {
				t.Errorf("not signed by %s: %v", tt.parent.Subject.CommonName, err)
			}
			if c.IsCA != tt.isCA || (tt.isCA && (c.MaxPathLen != tt.maxPathLen || !c.BasicConstraintsValid)) {
				t.Errorf("basicConstraints: CA %v pathlen %d", c.IsCA, c.MaxPathLen)
			}
			if c.KeyUsage != tt.keyUsage {
				t.Errorf("keyUsage = %b, want %b", c.KeyUsage, tt.keyUsage)
			}
			if y := years(c); y < tt.years-0.1 || y > tt.years+0.1 {
				t.Errorf("valid %.2f years, want %v", y, tt.years)
			}
			if len(c.SubjectKeyId) == 0 {
				t.Error("no subjectKeyIdentifier")
			}
			if c != a.Root() && string(c.AuthorityKeyId) != string(tt.parent.SubjectKeyId) {
				t.Error("authorityKeyIdentifier does not match the issuer's subjectKeyIdentifier")
			}
			if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v not a positive 128-bit number", c.SerialNumber)
			}
		})
	}
	if got := a.Issuing().CRLDistributionPoints; len(got) != 1 || got[0] != testBaseURL+"/crl/root" {
		t.Errorf("issuing CRL DP = %v", got)
	}
	o := a.OCSPResponder()
	if len(o.ExtKeyUsage) != 1 || o.ExtKeyUsage[0] != x509.ExtKeyUsageOCSPSigning {
		t.Errorf("responder EKU = %v, want OCSPSigning", o.ExtKeyUsage)
	}
	if !hasExtension(o, oidOCSPNoCheck) {
		t.Error("responder lacks id-pkix-ocsp-nocheck")
	}
}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return true
		}
	}
	return false
}

func TestAuthorityConcurrentUse(t *testing.T) {
	a := openTest(t, t.TempDir(), newMemKeys())
	src := mapStatus{}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		pub := newKey(t).Public()
		go func() {
			defer wg.Done()
			leaf, err := a.IssueUser(context.Background(), IssueRequest{Subject: testSubject, PublicKey: pub})
			if err != nil {
				errs <- err
				return
			}
			if _, err := a.CRL(context.Background(), src); err != nil {
				errs <- err
			}
			req, _ := ocspRequest(leaf, a.Issuing(), crypto.SHA1)
			if _, err := a.OCSP(context.Background(), req, src); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// mapStatus is an in-memory StatusSource and RevocationLister keyed by serial.
type mapStatus map[string]Status

func (m mapStatus) CertificateStatus(_ context.Context, serial *big.Int) (Status, error) {
	return m[serial.String()], nil
}

func (m mapStatus) Revoked(context.Context) ([]x509.RevocationListEntry, error) {
	var out []x509.RevocationListEntry
	for s, st := range m {
		if st.Known && !st.RevokedAt.IsZero() {
			n, _ := new(big.Int).SetString(s, 10)
			out = append(out, x509.RevocationListEntry{SerialNumber: n, RevocationTime: st.RevokedAt, ReasonCode: st.Reason})
		}
	}
	return out, nil
}
