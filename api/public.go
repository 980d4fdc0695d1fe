package api

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/icons"
)

func (s *server) icon(c *gin.Context) {
	id, ok := strings.CutSuffix(c.Param("file"), ".svg")
	svg, found := icons.SVG(id)
	if !ok || !found {
		writeProblem(c, Problem{Status: http.StatusNotFound, Code: CodeNotFound, Title: "No such icon"})
		return
	}
	c.Header("Cache-Control", "public, max-age=86400")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "image/svg+xml", svg)
}

func (s *server) rootPEM(c *gin.Context) {
	c.Data(http.StatusOK, "application/x-pem-file", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.PKI.Root().Raw}))
}

func (s *server) issuingDER(c *gin.Context) {
	c.Data(http.StatusOK, "application/pkix-cert", s.PKI.Issuing().Raw)
}

// ocspMaxRequest bounds OCSP requests: a request for one certificate is about 100 bytes.
const ocspMaxRequest = 16 << 10

func (s *server) ocspPost(c *gin.Context) {
	body, ok := readBody(c, ocspMaxRequest)
	if !ok {
		return
	}
	s.ocspAnswer(c, body)
}

// ocspGet serves RFC 6960 appendix A.1 GET requests: base64 of the DER request, URL-encoded.
func (s *server) ocspGet(c *gin.Context) {
	raw := strings.TrimPrefix(c.Param("request"), "/")
	if un, err := url.PathUnescape(raw); err == nil {
		raw = un
	}
	der, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(der) > ocspMaxRequest {
		der = []byte{} // answered malformedRequest by the responder
	}
	s.ocspAnswer(c, der)
}

func (s *server) ocspAnswer(c *gin.Context, req []byte) {
	resp, err := s.PKI.OCSP(c.Request.Context(), req)
	if err != nil {
		if resp == nil {
			fail(c, err)
			return
		}
		// The responder answered internalError: send that, keep the cause in the log.
		logger(c).Error("ocsp", "err", err)
	}
	c.Data(http.StatusOK, "application/ocsp-response", resp)
}

func (s *server) crl(c *gin.Context) { s.sendCRL(c, s.PKI.CRL) }

func (s *server) rootCRL(c *gin.Context) { s.sendCRL(c, s.PKI.RootCRL) }

func (s *server) sendCRL(c *gin.Context, make func(context.Context) ([]byte, error)) {
	der, err := make(c.Request.Context())
	if err != nil {
		fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/pkix-crl", der)
}

// pdsPage is the PKI disclosure statement the certificates' QcPDS statement points to.
const pdsPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Paraphe development CA: PKI disclosure statement</title></head>
<body>
<h1>Paraphe development CA: PKI disclosure statement</h1>
<p>This certification authority is the built-in <strong>development</strong> CA of a Paraphe installation.
It issues certificates of the EU qualified profile (ETSI EN 319 412-2/-5, policy QCP-n-qscd) so that the
whole signing chain can be tested, but it is <strong>not</strong> a qualified trust service provider and is
on no EU trusted list. Signatures made with its certificates are not qualified electronic signatures.</p>
<p>Keys of users, of the CA, of the OCSP responder and of the time-stamping unit are generated and kept in a
PKCS#11 module and never leave it. Revocation status is published by OCSP (<code>/ocsp</code>) and CRL
(<code>/crl</code>, <code>/crl/root</code>).</p>
</body></html>
`

func (s *server) pds(c *gin.Context) {
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(pdsPage))
}
