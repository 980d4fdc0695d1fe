package api

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/verify"
)

// Validator validates signed documents for the compliance team.
type Validator interface {
	// ValidatePDF validates every signature of a PDF; verify.ErrNotPDF for
	// input that is not a PDF.
	ValidatePDF(ctx context.Context, pdf []byte) (*verify.Report, error)
	// ValidateCMS validates a detached CMS over data or a digest (hash mode);
	// verify.ErrInvalidInput for unusable input.
	ValidateCMS(ctx context.Context, in verify.CMSInput) (*verify.Report, error)
}

var _ Validator = (*verify.Validator)(nil)

// validate is POST /v1/validations: a PDF as the body (application/pdf) or
// as the multipart part "file"; or, in hash mode, the multipart parts
// "signature" (DER CMS) with "data" (the signed content) or "digest"
// (base64) and "digestAlgorithm" (SHA-256, SHA-384, SHA-512). The report is
// JSON, or an HTML page when the client accepts text/html.
func (s *server) validate(c *gin.Context) {
	if s.Validator == nil {
		writeProblem(c, Problem{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Title: "Validation is not available"})
		return
	}
	body, ok := readBody(c, s.Limits.PDFBody)
	if !ok {
		return
	}
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil {
		mt = ""
	}
	ctx := c.Request.Context()
	var rep *verify.Report
	switch mt {
	case "application/pdf", "application/octet-stream":
		rep, err = s.Validator.ValidatePDF(ctx, body)
	case "multipart/form-data":
		var form *multipart.Form
		form, err = multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(s.Limits.PDFBody)
		if err != nil {
			badRequest(c, "malformed multipart body")
			return
		}
		defer func() { _ = form.RemoveAll() }()
		rep, err = s.validateForm(ctx, form)
	default:
		writeProblem(c, Problem{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedType,
			Title: "Unsupported media type", Detail: "send application/pdf or multipart/form-data"})
		return
	}
	switch {
	case errors.Is(err, verify.ErrNotPDF), errors.Is(err, verify.ErrInvalidInput), errors.Is(err, errNoDocument):
		writeProblem(c, Problem{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Title: "The document cannot be validated", Detail: err.Error()})
		return
	case err != nil:
		fail(c, err)
		return
	}
	if wantsHTML(c.GetHeader("Accept")) {
		var page bytes.Buffer
		if err := verify.WriteHTML(&page, rep); err != nil {
			fail(c, err)
			return
		}
		c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		c.Data(http.StatusOK, "text/html; charset=utf-8", page.Bytes())
		return
	}
	c.JSON(http.StatusOK, rep)
}

var errNoDocument = errors.New("api: send a part named file, or signature with data or digest")

// validateForm reads the multipart parts of a validation.
func (s *server) validateForm(ctx context.Context, form *multipart.Form) (*verify.Report, error) {
	part := func(name string) ([]byte, bool, error) {
		if fh := form.File[name]; len(fh) > 0 {
			f, err := fh[0].Open()
			if err != nil {
				return nil, false, err
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			return b, true, err
		}
		if v := form.Value[name]; len(v) > 0 {
			return []byte(v[0]), true, nil
		}
		return nil, false, nil
	}
	if pdf, ok, err := part("file"); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return s.Validator.ValidatePDF(ctx, pdf)
	}
	sig, ok, err := part("signature")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNoDocument
	}
	in := verify.CMSInput{Signature: sig}
	if data, ok, err := part("data"); err != nil {
		return nil, err
	} else if ok {
		in.Data = data
		return s.Validator.ValidateCMS(ctx, in)
	}
	digest, ok, err := part("digest")
	if err != nil || !ok {
		return nil, errNoDocument
	}
	if in.Digest, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(digest))); err != nil {
		return nil, errors.Join(verify.ErrInvalidInput, errors.New("digest is not base64"))
	}
	alg, _, _ := part("digestAlgorithm")
	switch strings.ToUpper(strings.TrimSpace(string(alg))) {
	case "SHA-256", "":
		in.DigestAlgorithm = crypto.SHA256
	case "SHA-384":
		in.DigestAlgorithm = crypto.SHA384
	case "SHA-512":
		in.DigestAlgorithm = crypto.SHA512
	default:
		return nil, errors.Join(verify.ErrInvalidInput, errors.New("digestAlgorithm must be SHA-256, SHA-384 or SHA-512"))
	}
	return s.Validator.ValidateCMS(ctx, in)
}

// wantsHTML reports whether the Accept header prefers an HTML page.
func wantsHTML(accept string) bool {
	for _, a := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(a))
		if err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
			return true
		}
	}
	return false
}
