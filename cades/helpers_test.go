package cades

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/paraphe/paraphe/internal/testenv"
)

// testPKI is a tiny in-memory PKI: a root CA, a TSA certificate and key.
type testPKI struct {
	caKey   *ecdsa.PrivateKey
	caCert  *x509.Certificate
	tsaKey  *ecdsa.PrivateKey
	tsaCert *x509.Certificate
}

var (
	pkiOnce sync.Once
	pki     *testPKI
	keyMu   sync.Mutex
	keys    = map[string]crypto.Signer{}
)

func mustKey(t testing.TB, name string) crypto.Signer {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keys[name]; ok {
		return k
	}
	var k crypto.Signer
	var err error
	switch name {
	case "P-256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "P-384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "P-224":
		k, err = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	case "RSA-1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case "RSA-2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "RSA-3072":
		k, err = rsa.GenerateKey(rand.Reader, 3072)
	default:
		t.Fatalf("unknown key %q", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	keys[name] = k
	return k
}

func getPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		p := &testPKI{}
		var err error
		if p.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		now := time.Now()
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "Paraphe Test Root CA", Organization: []string{"Paraphe"}},
			NotBefore:             now.Add(-time.Hour),
			NotAfter:              now.Add(24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, p.caKey.Public(), p.caKey)
		if err != nil {
			panic(err)
		}
		if p.caCert, err = x509.ParseCertificate(der); err != nil {
			panic(err)
		}
		if p.tsaKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		p.tsaCert = p.issue(&x509.Certificate{
			Subject:     pkix.Name{CommonName: "Paraphe Test TSA"},
			KeyUsage:    x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
		}, p.tsaKey.Public())
		pki = p
	})
	return pki
}

var serial int64 = 100

// issue signs tmpl for pub with the CA.
func (p *testPKI) issue(tmpl *x509.Certificate, pub crypto.PublicKey) *x509.Certificate {
	keyMu.Lock()
	serial++
	tmpl.SerialNumber = new(big.Int).Lsh(big.NewInt(serial), 70) // a long serial, as real CAs use
	keyMu.Unlock()
	now := time.Now()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, pub, p.caKey)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

func (p *testPKI) signerCert(pub crypto.PublicKey) *x509.Certificate {
	return p.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "Alice Signer", Country: []string{"BE"}},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}, pub)
}

// tsaStub is a Timestamper returning real RFC 3161 tokens made by
// github.com/digitorus/timestamp with the test TSA key.
type tsaStub struct {
	p        *testPKI
	tamper   bool // return a token over another imprint
	err      error
	calls    int
	mu       sync.Mutex
	lastHash crypto.Hash
}

var testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}

func (s *tsaStub) Timestamp(_ context.Context, digest []byte, hash crypto.Hash) ([]byte, error) {
	s.mu.Lock()
	s.calls++
	s.lastHash = hash
	s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	msg := append([]byte(nil), digest...)
	if s.tamper {
		msg[0] ^= 0xff
	}
	ts := timestamp.Timestamp{
		HashAlgorithm:     hash,
		HashedMessage:     msg,
		Time:              time.Now().UTC().Truncate(time.Second),
		Policy:            testPolicy,
		AddTSACertificate: true,
	}
	resp, err := ts.CreateResponseWithOpts(s.p.tsaCert, s.p.tsaKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	parsed, err := timestamp.ParseResponse(resp)
	if err != nil {
		return nil, err
	}
	return parsed.RawToken, nil
}

func writePEM(t testing.TB, path string, certs ...*x509.Certificate) {
	t.Helper()
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func needOpenSSL(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		testenv.Missing(t, "openssl not found in PATH: skipping the external CMS verification")
	}
	return path
}

// opensslVerify runs openssl cms -verify on a detached DER signature.
func opensslVerify(t testing.TB, openssl, dir string, sig []byte, contentFile, caFile string) ([]byte, error) {
	t.Helper()
	sigFile := filepath.Join(dir, "sig.der")
	if err := os.WriteFile(sigFile, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(openssl, "cms", "-verify", "-inform", "DER", "-in", sigFile, "-binary",
		"-content", contentFile, "-CAfile", caFile, "-purpose", "any", "-out", os.DevNull)
	return cmd.CombinedOutput()
}

func opensslPrint(t testing.TB, openssl, dir string, sig []byte) string {
	t.Helper()
	sigFile := filepath.Join(dir, "print.der")
	if err := os.WriteFile(sigFile, sig, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "cms", "-cmsout", "-print", "-inform", "DER", "-in", sigFile).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -cmsout -print: %v\n%s", err, out)
	}
	return string(out)
}
