package engine

import (
	"context"
	"crypto/x509"
	"fmt"

	"golang.org/x/crypto/ocsp"

	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/pdf"
)

var _ ValidationData = (*CAValidation)(nil)

// CAValidation answers B-LT's needs for certificates of the development PKI straight
// from its CA, the same answers the CA's /ocsp and /crl endpoints give: an OCSP
// response for each certificate issued by the issuing CA (signer, TSA), the issuing
// CA's CRL and the root's CRL (which covers the issuing CA itself). A certificate from
// another CA has no revocation source here, and is an error. It is safe for concurrent
// use.
type CAValidation struct {
	a  *ca.Authority
	st ca.Records
}

// NewCAValidation returns the validation data of a's certificates, their statuses read
// from records.
func NewCAValidation(a *ca.Authority, records ca.Records) *CAValidation {
	return &CAValidation{a: a, st: records}
}

// ForCertificates returns the certificates given, the CA certificates above them, an
// OCSP response for each one below the issuing CA, and both CRLs.
func (v *CAValidation) ForCertificates(ctx context.Context, certs []*x509.Certificate) (pdf.DSS, error) {
	var dss pdf.DSS
	seen := map[string]bool{}
	add := func(c *x509.Certificate) {
		if !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			dss.Certs = append(dss.Certs, c.Raw)
		}
	}
	issuing, root := v.a.Issuing(), v.a.Root()
	for _, c := range append(certs, issuing, root) {
		add(c)
	}
	for _, c := range certs {
		if c.Equal(issuing) || c.Equal(root) {
			continue
		}
		if err := c.CheckSignatureFrom(issuing); err != nil {
			return dss, fmt.Errorf("certificate %q is not from the development CA; no revocation source for it", c.Subject.CommonName)
		}
		req, err := ocsp.CreateRequest(c, issuing, nil)
		if err != nil {
			return dss, fmt.Errorf("ocsp request: %w", err)
		}
		resp, err := v.a.OCSP(ctx, req, v.st)
		if err != nil {
			return dss, fmt.Errorf("ocsp: %w", err)
		}
		dss.OCSPs = append(dss.OCSPs, resp)
	}
	crl, err := v.a.CRL(ctx, v.st)
	if err != nil {
		return dss, fmt.Errorf("crl: %w", err)
	}
	rootCRL, err := v.a.RootCRL(ctx)
	if err != nil {
		return dss, fmt.Errorf("root crl: %w", err)
	}
	dss.CRLs = append(dss.CRLs, crl, rootCRL)
	return dss, nil
}
