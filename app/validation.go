package app

import (
	"context"
	"crypto/x509"
	"fmt"

	"golang.org/x/crypto/ocsp"

	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/store"
)

// caValidationData answers B-LT's needs for certificates of the development PKI straight
// from the CA, the same answers its /ocsp and /crl endpoints give: an OCSP response for
// each certificate issued by the issuing CA (signer, TSA), the issuing CA's CRL and the
// root's CRL (which covers the issuing CA itself).
type caValidationData struct {
	a  *ca.Authority
	st *store.Store
}

func (v caValidationData) ForCertificates(ctx context.Context, certs []*x509.Certificate) (pdf.DSS, error) {
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
