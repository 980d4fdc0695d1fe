package tsa

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// testPKI is a tiny CA: a root and a TSA certificate it issued.
type testPKI struct {
	rootKey *ecdsa.PrivateKey
	root    *x509.Certificate
	tsaKey  *ecdsa.PrivateKey
	tsa     *x509.Certificate
}

var oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{}
	var err error
	if p.rootKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Paraphe Test Root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.rootKey.PublicKey, p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.root, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	if p.tsaKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	p.tsa = p.issueTSA(t, p.tsaKey, true)
	return p
}

// issueTSA issues a TSA certificate for key with EKU timeStamping, critical or not.
func (p *testPKI) issueTSA(t testing.TB, key crypto.Signer, critical bool) *x509.Certificate {
	t.Helper()
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "Paraphe Test TSA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: critical, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.root, key.Public(), p.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *testPKI) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

func writePEM(t testing.TB, path string, c *x509.Certificate) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// memSerials counts in memory.
type memSerials struct{ n atomic.Int64 }

func (m *memSerials) NextTimestampSerial(context.Context) (*big.Int, error) {
	return big.NewInt(m.n.Add(1)), nil
}

// fileSerials persists the last serial in a file, replaced atomically.
type fileSerials struct {
	mu   sync.Mutex
	path string
}

func (f *fileSerials) NextTimestampSerial(ctx context.Context) (*big.Int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	last := new(big.Int)
	b, err := os.ReadFile(f.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if _, ok := last.SetString(strings.TrimSpace(string(b)), 10); !ok {
			return nil, fmt.Errorf("corrupt serial file")
		}
	}
	next := last.Add(last, big.NewInt(1))
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(next.String()+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return nil, err
	}
	return next, nil
}

// failingSerials always fails.
type failingSerials struct{}

func (failingSerials) NextTimestampSerial(context.Context) (*big.Int, error) {
	return nil, errors.New("store down")
}

func newTestServer(t testing.TB, p *testPKI, serials Serials, cfg ServerConfig) *Server {
	t.Helper()
	if serials == nil {
		serials = &memSerials{}
	}
	s, err := NewServer(p.tsaKey, p.tsa, []*x509.Certificate{p.root}, serials, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func newTestClient(t testing.TB, cfg Config, roots *x509.CertPool) *Client {
	t.Helper()
	c, err := NewClient(cfg, roots, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

// tokenInfo parses a token with digitorus/timestamp, a parser independent of
// this package's encoder (it also checks the signature when certificates are
// included).
func tokenInfo(t testing.TB, token []byte) *timestamp.Timestamp {
	t.Helper()
	f, err := timestamp.Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
