package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"math/big"
	"time"
)

// crlValidity is the span between thisUpdate and nextUpdate of a CRL: one day,
// the usual upper bound for subscriber-certificate CRLs.
const crlValidity = 24 * time.Hour

// RevocationLister lists the revoked certificates of the issuing CA.
type RevocationLister interface {
	// Revoked returns one entry per revoked certificate (serial, revocation
	// time, ReasonCode).
	Revoked(ctx context.Context) ([]x509.RevocationListEntry, error)
}

// CRL returns a DER CRL of the issuing CA listing what lister returns:
// thisUpdate now, nextUpdate now+24h, signed with the issuing CA key. The CRL
// number is the current time in nanoseconds, raised when needed so that it
// strictly increases within the process (across processes it increases as
// long as their clocks agree). Reason codes outside RFC 5280 become
// unspecified.
func (a *Authority) CRL(ctx context.Context, lister RevocationLister) ([]byte, error) {
	if lister == nil {
		return nil, fmt.Errorf("ca: crl: no revocation lister")
	}
	entries, err := lister.Revoked(ctx)
	if err != nil {
		return nil, fmt.Errorf("ca: crl: list revoked certificates: %w", err)
	}
	clean := make([]x509.RevocationListEntry, 0, len(entries))
	for _, e := range entries {
		if e.SerialNumber == nil {
			return nil, fmt.Errorf("ca: crl: revoked entry without serial number")
		}
		clean = append(clean, x509.RevocationListEntry{
			SerialNumber:   e.SerialNumber,
			RevocationTime: e.RevocationTime.UTC(),
			ReasonCode:     crlReason(e.ReasonCode),
		})
	}
	return a.createCRL(ctx, clean, a.issuing, a.issuingKey)
}

// RootCRL returns a DER CRL of the root CA, the one the issuing CA
// certificate points to (BaseURL+"/crl/root"). The development root revokes
// nothing, so the list is empty; thisUpdate now, nextUpdate now+24h, signed
// with the root key. It gives validators revocation data for the issuing CA
// (B-LT needs it for the whole chain).
func (a *Authority) RootCRL(ctx context.Context) ([]byte, error) {
	return a.createCRL(ctx, nil, a.root, a.rootKey)
}

func (a *Authority) createCRL(ctx context.Context, entries []x509.RevocationListEntry, issuer *x509.Certificate, key crypto.Signer) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ca: crl: %w", err)
	}
	now := a.cfg.Now()
	tmpl := &x509.RevocationList{
		Number:                    big.NewInt(a.nextCRLNumber(now)),
		ThisUpdate:                now,
		NextUpdate:                now.Add(crlValidity),
		RevokedCertificateEntries: entries,
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuer, key)
	if err != nil {
		return nil, fmt.Errorf("ca: crl: %w", err)
	}
	return der, nil
}

// nextCRLNumber returns max(now in ns, last+1) and records it.
func (a *Authority) nextCRLNumber(now time.Time) int64 {
	for {
		last := a.lastCRLNumber.Load()
		n := now.UnixNano()
		if n <= last {
			n = last + 1
		}
		if a.lastCRLNumber.CompareAndSwap(last, n) {
			return n
		}
	}
}
