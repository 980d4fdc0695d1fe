package ca

import (
	"context"
	"crypto/x509"
)

// Records is what the public endpoints read about the certificates the CA issued: their
// statuses (OCSP) and the revoked ones (CRL).
type Records interface {
	StatusSource
	RevocationLister
}

// Published is the CA's public face for a web front end: its certificates, and OCSP and
// CRL answers over the issued certificates' records, from a PublicResponder's cache so
// that anonymous calls cannot keep the CA keys busy. It is safe for concurrent use.
type Published struct {
	r   *PublicResponder
	rec Records
}

// NewPublished returns the public face of a over rec.
func NewPublished(a *Authority, rec Records) *Published {
	return &Published{r: NewPublicResponder(a), rec: rec}
}

// Root returns the root CA certificate.
func (p *Published) Root() *x509.Certificate { return p.r.a.Root() }

// Issuing returns the issuing CA certificate.
func (p *Published) Issuing() *x509.Certificate { return p.r.a.Issuing() }

// OCSP answers an RFC 6960 request (DER) as PublicResponder.OCSP does.
func (p *Published) OCSP(ctx context.Context, request []byte) ([]byte, error) {
	return p.r.OCSP(ctx, request, p.rec)
}

// CRL returns the issuing CA's CRL as PublicResponder.CRL does.
func (p *Published) CRL(ctx context.Context) ([]byte, error) { return p.r.CRL(ctx, p.rec) }

// RootCRL returns the root's CRL as PublicResponder.RootCRL does.
func (p *Published) RootCRL(ctx context.Context) ([]byte, error) { return p.r.RootCRL(ctx) }
