package ca

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"math/big"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Public caching. The public endpoints (/ocsp, /crl, /crl/root) are open to anyone and
// share the HSM with users' signatures: signing a fresh answer for every call would let
// anyone keep the CA keys busy. Their answers are reused while fresh enough:
const (
	// publicOCSPFor: an OCSP answer is reused for this long (thisUpdate is then at most
	// five minutes old, of its one-hour validity). The status is read for every call and
	// is part of the cache key, so a revocation is answered at once, never from a cache.
	publicOCSPFor = 5 * time.Minute
	// publicCRLFor: a CRL is reissued once an hour (of its 24-hour validity) when its
	// content has not changed; a revocation changes the content, and so reissues it.
	publicCRLFor = time.Hour
	// publicOCSPMaxEntries bounds the OCSP cache (about 2 KB per answer): far above the
	// certificates relying parties ask about within five minutes.
	publicOCSPMaxEntries = 10_000
)

// PublicResponder answers the public revocation endpoints from the Authority with the
// caching above. Answers embedded in signatures (B-LT) are made fresh by the Authority
// itself, never taken from here: they must be produced after the signature's time.
// A PublicResponder is safe for concurrent use.
type PublicResponder struct {
	a   *Authority
	now func() time.Time

	mu   sync.Mutex // guards ocsp
	ocsp map[string]cachedAnswer
	// crlMu guards the CRLs, and is held while one is signed: concurrent callers wait
	// for it rather than sign their own.
	crlMu   sync.Mutex
	crl     cachedAnswer
	crlKey  [32]byte
	rootCRL cachedAnswer
}

type cachedAnswer struct {
	der []byte
	at  time.Time
}

// NewPublicResponder wraps a for the public endpoints.
func NewPublicResponder(a *Authority) *PublicResponder {
	return &PublicResponder{a: a, now: a.cfg.Now, ocsp: map[string]cachedAnswer{}}
}

// OCSP answers as Authority.OCSP does, reusing for publicOCSPFor an answer already
// signed for the same CertID and the same status.
func (p *PublicResponder) OCSP(ctx context.Context, request []byte, src StatusSource) ([]byte, error) {
	req, err := ocsp.ParseRequest(request)
	if err != nil || req.SerialNumber == nil || len(request) > maxOCSPRequest || !p.a.isIssuingCA(req) || src == nil {
		return p.a.OCSP(ctx, request, src) // an error answer, unsigned and cheap
	}
	st, err := src.CertificateStatus(ctx, req.SerialNumber)
	if err != nil {
		return p.a.OCSP(ctx, request, src)
	}
	if !st.Known {
		// A serial this CA never issued: every new one would be a new answer to sign,
		// so none is. The answer is "unauthorized", unsigned, as a responder of
		// pre-produced answers gives for a certificate it has no status of (RFC 5019,
		// 2.2.3); the Authority itself still signs "unknown" (RFC 6960) for its callers.
		return ocsp.UnauthorizedErrorResponse, nil
	}
	key := ocspCacheKey(req, st)
	now := p.now()
	p.mu.Lock()
	c, ok := p.ocsp[key]
	p.mu.Unlock()
	if ok && now.Sub(c.at) < publicOCSPFor && !now.Before(c.at) {
		return c.der, nil
	}
	der, err := p.a.OCSP(ctx, request, src)
	if err != nil {
		return der, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ocsp) >= publicOCSPMaxEntries {
		for k, v := range p.ocsp {
			if now.Sub(v.at) >= publicOCSPFor {
				delete(p.ocsp, k)
			}
		}
		if len(p.ocsp) >= publicOCSPMaxEntries {
			clear(p.ocsp)
		}
	}
	p.ocsp[key] = cachedAnswer{der: der, at: now}
	return der, nil
}

// ocspCacheKey names an answer: the request's CertID and the status it gets.
func ocspCacheKey(req *ocsp.Request, st Status) string {
	var b bytes.Buffer
	b.WriteByte(byte(req.HashAlgorithm))
	for _, part := range [][]byte{req.IssuerNameHash, req.IssuerKeyHash, req.SerialNumber.Bytes()} {
		_ = binary.Write(&b, binary.BigEndian, uint16(len(part)))
		b.Write(part)
	}
	if st.Known {
		b.WriteByte(1)
	}
	_ = binary.Write(&b, binary.BigEndian, st.RevokedAt.UnixNano())
	_ = binary.Write(&b, binary.BigEndian, int64(st.Reason))
	return b.String()
}

// CRL answers as Authority.CRL does, reissuing only when the revoked certificates
// changed or publicCRLFor passed.
func (p *PublicResponder) CRL(ctx context.Context, lister RevocationLister) ([]byte, error) {
	if lister == nil {
		return p.a.CRL(ctx, lister)
	}
	entries, err := lister.Revoked(ctx)
	if err != nil {
		return p.a.CRL(ctx, lister)
	}
	// The fingerprint of the content, whatever order the lister gives.
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(x, y x509.RevocationListEntry) int {
		if x.SerialNumber == nil || y.SerialNumber == nil {
			return 0
		}
		return x.SerialNumber.Cmp(y.SerialNumber)
	})
	h := sha256.New()
	for _, e := range sorted {
		serial := e.SerialNumber
		if serial == nil {
			serial = new(big.Int)
		}
		_ = binary.Write(h, binary.BigEndian, uint16(len(serial.Bytes())))
		h.Write(serial.Bytes())
		_ = binary.Write(h, binary.BigEndian, e.RevocationTime.UnixNano())
		_ = binary.Write(h, binary.BigEndian, int64(e.ReasonCode))
	}
	var key [32]byte
	copy(key[:], h.Sum(nil))
	now := p.now()
	p.crlMu.Lock()
	defer p.crlMu.Unlock()
	if p.crl.der != nil && p.crlKey == key && now.Sub(p.crl.at) < publicCRLFor && !now.Before(p.crl.at) {
		return p.crl.der, nil
	}
	der, err := p.a.CRL(ctx, listed(entries))
	if err != nil {
		return nil, err
	}
	p.crl, p.crlKey = cachedAnswer{der: der, at: now}, key
	return der, nil
}

// RootCRL answers as Authority.RootCRL does, reissuing once per publicCRLFor.
func (p *PublicResponder) RootCRL(ctx context.Context) ([]byte, error) {
	now := p.now()
	p.crlMu.Lock()
	defer p.crlMu.Unlock()
	if p.rootCRL.der != nil && now.Sub(p.rootCRL.at) < publicCRLFor && !now.Before(p.rootCRL.at) {
		return p.rootCRL.der, nil
	}
	der, err := p.a.RootCRL(ctx)
	if err != nil {
		return nil, err
	}
	p.rootCRL = cachedAnswer{der: der, at: now}
	return der, nil
}

// listed is a RevocationLister of entries already read.
type listed []x509.RevocationListEntry

func (l listed) Revoked(context.Context) ([]x509.RevocationListEntry, error) { return l, nil }
