package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Live revocation checking. Validation is offline by default (the contract's rule:
// embedded data only, an answer within 10 s); with Options.Online, a certificate for
// which the document carries nothing is asked about at its issuer's OCSP responder
// (authorityInfoAccess) and, failing that, its CRL distribution point.

// onlineTimeout bounds one fetch: a slow responder must not eat the 10 s of a file.
const onlineTimeout = 3 * time.Second

// maxOnlineAnswer caps an OCSP response or CRL read from the network: real ones are a
// few kilobytes to a few megabytes for the largest CRLs.
const maxOnlineAnswer = 8 << 20

// fetcher asks issuers about certificates; it records nothing outside the run.
type fetcher struct {
	ctx    context.Context
	client *http.Client
}

func (r *run) fetcher(ctx context.Context) *fetcher {
	if !r.opts.Online {
		return nil
	}
	c := r.opts.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: onlineTimeout}
	}
	return &fetcher{ctx: ctx, client: c}
}

// ocsp returns a DER OCSP response about cert from its responder, or nil.
func (f *fetcher) ocsp(cert, issuer *x509.Certificate) []byte {
	if f == nil || len(cert.OCSPServer) == 0 {
		return nil
	}
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		return nil
	}
	return f.post(cert.OCSPServer[0], "application/ocsp-request", req)
}

// crl returns a DER CRL from cert's first HTTP distribution point, or nil.
func (f *fetcher) crl(cert *x509.Certificate) []byte {
	if f == nil {
		return nil
	}
	for _, u := range cert.CRLDistributionPoints {
		if b := f.get(u); b != nil {
			return b
		}
	}
	return nil
}

func (f *fetcher) post(url, ctype string, body []byte) []byte {
	ctx, cancel := context.WithTimeout(f.ctx, onlineTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req.Header.Set("Content-Type", ctype)
	return f.do(req)
}

func (f *fetcher) get(url string) []byte {
	ctx, cancel := context.WithTimeout(f.ctx, onlineTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	return f.do(req)
}

func (f *fetcher) do(req *http.Request) []byte {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return nil
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxOnlineAnswer+1))
	if err != nil || len(b) > maxOnlineAnswer {
		return nil
	}
	return b
}
