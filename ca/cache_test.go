package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"math/big"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestPublicOCSPCache: the same question with the same status is answered from the
// cache for five minutes; a revocation, another hash or time past that signs anew.
func TestPublicOCSPCache(t *testing.T) {
	f := newOCSPFixture(t)
	clk := &testClock{t: time.Now()}
	p := NewPublicResponder(f.a)
	p.now = clk.now
	ask := func(cert *x509.Certificate, h crypto.Hash) ([]byte, *ocsp.Response) {
		t.Helper()
		req, err := ocspRequest(cert, f.a.Issuing(), h)
		if err != nil {
			t.Fatal(err)
		}
		der, err := p.OCSP(context.Background(), req, f.src)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ocsp.ParseResponseForCert(der, cert, f.a.Issuing())
		if err != nil {
			t.Fatalf("ParseResponseForCert: %v", err)
		}
		return der, resp
	}
	first, r := ask(f.good, crypto.SHA1)
	if r.Status != ocsp.Good {
		t.Fatalf("status %d, want good", r.Status)
	}
	clk.add(publicOCSPFor - time.Second)
	if again, _ := ask(f.good, crypto.SHA1); !bytes.Equal(again, first) {
		t.Fatal("the same question within five minutes was signed again")
	}
	if other, _ := ask(f.good, crypto.SHA256); bytes.Equal(other, first) {
		t.Fatal("a question with another CertID hash got the cached answer")
	}
	if rev, _ := ask(f.revoked, crypto.SHA1); bytes.Equal(rev, first) {
		t.Fatal("another certificate got the cached answer")
	}

	// Revoked now: answered at once, not from the cache.
	f.src[f.good.SerialNumber.String()] = Status{Known: true, RevokedAt: clk.now().Add(-time.Minute).Truncate(time.Second), Reason: ocsp.KeyCompromise}
	if _, r := ask(f.good, crypto.SHA1); r.Status != ocsp.Revoked {
		t.Fatalf("after the revocation: status %d, want revoked", r.Status)
	}
	revoked, _ := ask(f.good, crypto.SHA1)
	clk.add(2 * time.Second) // past five minutes since the first answer
	if again, _ := ask(f.good, crypto.SHA1); !bytes.Equal(again, revoked) {
		t.Fatal("the revoked answer was not reused")
	}
	clk.add(publicOCSPFor)
	if again, _ := ask(f.good, crypto.SHA1); bytes.Equal(again, revoked) {
		t.Fatal("an answer older than five minutes was reused")
	}

	// A serial never issued: "unauthorized", unsigned, whatever the serial.
	for _, serial := range []int64{424242, 424243} {
		unknown := *f.good
		unknown.SerialNumber = big.NewInt(serial)
		req, err := ocspRequest(&unknown, f.a.Issuing(), crypto.SHA1)
		if err != nil {
			t.Fatal(err)
		}
		if der, err := p.OCSP(context.Background(), req, f.src); err != nil || !bytes.Equal(der, ocsp.UnauthorizedErrorResponse) {
			t.Fatalf("serial %d never issued: %x, %v", serial, der, err)
		}
	}

	// Malformed requests are answered without signing nor caching.
	if der, err := p.OCSP(context.Background(), []byte("junk"), f.src); err != nil || !bytes.Equal(der, ocsp.MalformedRequestErrorResponse) {
		t.Fatalf("junk: %x, %v", der, err)
	}
}

// TestPublicCRLCache: a CRL is reissued when a certificate is revoked or after an hour,
// not for every call.
func TestPublicCRLCache(t *testing.T) {
	f := newOCSPFixture(t)
	clk := &testClock{t: time.Now()}
	p := NewPublicResponder(f.a)
	p.now = clk.now
	ctx := context.Background()
	crl := func() ([]byte, *x509.RevocationList) {
		t.Helper()
		der, err := p.CRL(ctx, f.src)
		if err != nil {
			t.Fatal(err)
		}
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		return der, l
	}
	first, l := crl()
	if len(l.RevokedCertificateEntries) != 1 {
		t.Fatalf("%d entries, want 1", len(l.RevokedCertificateEntries))
	}
	clk.add(publicCRLFor - time.Second)
	if again, _ := crl(); !bytes.Equal(again, first) {
		t.Fatal("an unchanged CRL was signed again within the hour")
	}
	f.src[f.good.SerialNumber.String()] = Status{Known: true, RevokedAt: clk.now().Truncate(time.Second), Reason: ocsp.Superseded}
	second, l := crl()
	if len(l.RevokedCertificateEntries) != 2 {
		t.Fatalf("after a revocation: %d entries, want 2", len(l.RevokedCertificateEntries))
	}
	for range 5 { // the lister's order varies (a map): the content is what counts
		if again, _ := crl(); !bytes.Equal(again, second) {
			t.Fatal("an unchanged CRL of two entries was signed again")
		}
	}
	clk.add(publicCRLFor)
	if third, _ := crl(); bytes.Equal(third, second) {
		t.Fatal("a CRL older than an hour was reused")
	}

	root1, err := p.RootCRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	if root2, _ := p.RootCRL(ctx); !bytes.Equal(root2, root1) {
		t.Fatal("the root CRL was signed again within the hour")
	}
	clk.add(publicCRLFor)
	if root3, _ := p.RootCRL(ctx); bytes.Equal(root3, root1) {
		t.Fatal("a root CRL older than an hour was reused")
	}
}
