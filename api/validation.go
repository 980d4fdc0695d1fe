package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/verify"
)

// Validator validates signed documents for the compliance team.
type Validator interface {
	// ValidatePDFAt validates every signature of the PDF of size bytes that
	// r reads; verify.ErrNotPDF for input that is not a PDF. It returns once
	// its work has stopped.
	ValidatePDFAt(ctx context.Context, r io.ReaderAt, size int64) (*verify.Report, error)
	// ValidateCMS validates a detached CMS over data or a digest (hash mode);
	// verify.ErrInvalidInput for unusable input.
	ValidateCMS(ctx context.Context, in verify.CMSInput) (*verify.Report, error)
}

var _ Validator = (*verify.Validator)(nil)

// DefaultValidations is the default of Limits.Validations: validation is
// CPU-bound and each one may hold the PDF parser's budget of decoded data,
// so a few at once keep both the cores and the memory for the signing path.
const DefaultValidations = 4

// CodeValidationsBusy is the problem code of a validation refused because
// Limits.Validations are already running (429).
const CodeValidationsBusy = "validations-busy"

// validate is POST /v1/validations: a PDF as the body (application/pdf) or
// as the multipart part "file"; or, in hash mode, the multipart parts
// "signature" (DER CMS) with "data" (the signed content) or "digest"
// (base64) and "digestAlgorithm" (SHA-256, SHA-384, SHA-512). The report is
// JSON, or an HTML page when the client accepts text/html.
//
// At most Limits.Validations run at once (429 beyond, before the body is
// read). A PDF is streamed to a temporary file and validated from there:
// memory does not grow with the upload, and nothing is kept once answered.
func (s *server) validate(c *gin.Context) {
	release, ok := s.validationSlot(c)
	if !ok {
		return
	}
	defer release()
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil {
		mt = ""
	}
	if !capBody(c, s.Limits.PDFBody) {
		tooLarge(c, s.Limits.PDFBody)
		return
	}
	body := c.Request.Body
	ctx := c.Request.Context()
	var rep *verify.Report
	switch mt {
	case "application/pdf", "application/octet-stream":
		f, size, ok := s.stageValidation(c, body)
		if !ok {
			return
		}
		defer removeStaged(f)
		rep, err = s.Validator.ValidatePDFAt(ctx, f, size)
	case "multipart/form-data":
		var in validationForm
		if !s.readValidationForm(c, body, params["boundary"], &in) {
			return
		}
		defer removeStaged(in.pdf)
		rep, err = s.validateForm(ctx, &in)
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

// validationSlot takes one of the Limits.Validations slots, or answers 503 when no
// validator is configured and 429 when every slot is taken.
func (s *server) validationSlot(c *gin.Context) (release func(), ok bool) {
	if s.Validator == nil {
		writeProblem(c, Problem{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Title: "Validation is not available"})
		return nil, false
	}
	select {
	case s.validations <- struct{}{}:
		return func() { <-s.validations }, true
	default:
		c.Header("Retry-After", "1")
		writeProblem(c, Problem{Status: http.StatusTooManyRequests, Code: CodeValidationsBusy, Title: "Too many validations at once",
			Detail: fmt.Sprintf("at most %d validations run at once; retry shortly", s.Limits.Validations)})
		return nil, false
	}
}

// bodyError answers a body that could not be read: 413 past the limit, else 400.
func (s *server) bodyError(c *gin.Context, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		tooLarge(c, s.Limits.PDFBody)
		return
	}
	badRequest(c, "could not read the body: "+err.Error())
}

// stageValidation copies r to a new temporary file and returns it, open,
// with its size; on failure it has answered and removed the file.
func (s *server) stageValidation(c *gin.Context, r io.Reader) (*os.File, int64, bool) {
	f, err := os.CreateTemp(s.TempDir, "paraphe-validation-*.pdf")
	if err != nil {
		fail(c, fmt.Errorf("api: staging a validation: %w", err))
		return nil, 0, false
	}
	n, err := io.CopyBuffer(f, r, make([]byte, uploadBuffer))
	if err != nil {
		removeStaged(f)
		s.bodyError(c, err)
		return nil, 0, false
	}
	return f, n, true
}

// removeStaged closes and removes a staged file (nil: nothing).
func removeStaged(f *os.File) {
	if f == nil {
		return
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// validationForm is a multipart validation: the PDF staged on disk, or the
// small parts of a hash-mode validation and the digests of its signed data.
type validationForm struct {
	pdf     *os.File
	pdfSize int64
	fields  map[string][]byte
	// dataDigests are the "data" part's digests (dataHashes), computed as it
	// streamed by: the signed content, up to a PDF upload's size, is never held.
	dataDigests map[crypto.Hash][]byte
}

// dataHashes are the algorithms a hash-mode validation's "data" part is
// digested with: every one a CMS signer may name (SHA-1 gets its own
// INDETERMINATE from the validator, not a missing digest).
var dataHashes = []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

// digestPart reads r (at most limit bytes) through every hash of dataHashes.
func digestPart(r io.Reader, limit int64) (map[crypto.Hash][]byte, error) {
	hs := make([]hash.Hash, len(dataHashes))
	ws := make([]io.Writer, len(dataHashes))
	for i, h := range dataHashes {
		hs[i] = h.New()
		ws[i] = hs[i]
	}
	n, err := io.CopyBuffer(io.MultiWriter(ws...), io.LimitReader(r, limit+1), make([]byte, uploadBuffer))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	out := make(map[crypto.Hash][]byte, len(dataHashes))
	for i, h := range dataHashes {
		out[h] = hs[i].Sum(nil)
	}
	return out, nil
}

// maxCMSPart bounds the in-memory parts of a hash-mode validation
// (signature, digest, algorithm): a CMS with its certificates, timestamp
// and revocation data is tens of kilobytes. The signed "data" may be as
// large as a PDF upload; it is digested as it streams (digestPart).
const maxCMSPart = 1 << 20

// readValidationForm reads a multipart body part by part: the part "file"
// goes to a temporary file, the others (hash mode) are read within their
// bounds. On failure it has answered and removed what it staged.
func (s *server) readValidationForm(c *gin.Context, body io.Reader, boundary string, in *validationForm) bool {
	if boundary == "" {
		badRequest(c, "malformed multipart body: no boundary")
		return false
	}
	in.fields = map[string][]byte{}
	mr := multipart.NewReader(bufio.NewReaderSize(body, uploadBuffer), boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return true
		}
		if err != nil {
			removeStaged(in.pdf)
			in.pdf = nil
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				s.bodyError(c, err)
			} else {
				badRequest(c, "malformed multipart body")
			}
			return false
		}
		name := part.FormName()
		switch {
		case name == "file" && in.pdf == nil:
			f, n, ok := s.stageValidation(c, part)
			part.Close()
			if !ok {
				return false
			}
			in.pdf, in.pdfSize = f, n
		case name == "data" && in.dataDigests == nil:
			d, err := digestPart(part, s.Limits.PDFBody)
			part.Close()
			if err != nil {
				removeStaged(in.pdf)
				in.pdf = nil
				s.bodyError(c, err)
				return false
			}
			in.dataDigests = d
		case name == "signature" || name == "digest" || name == "digestAlgorithm":
			b, err := io.ReadAll(io.LimitReader(part, maxCMSPart+1))
			part.Close()
			if err == nil && len(b) > maxCMSPart {
				err = &http.MaxBytesError{Limit: maxCMSPart}
			}
			if err != nil {
				removeStaged(in.pdf)
				in.pdf = nil
				s.bodyError(c, err)
				return false
			}
			if _, dup := in.fields[name]; !dup {
				in.fields[name] = b
			}
		default: // unknown parts are skipped, as form readers do
			if _, err := io.Copy(io.Discard, part); err != nil {
				part.Close()
				removeStaged(in.pdf)
				in.pdf = nil
				s.bodyError(c, err)
				return false
			}
			part.Close()
		}
	}
}

var errNoDocument = errors.New("api: send a part named file, or signature with data or digest")

// validateForm validates the parts of a multipart validation.
func (s *server) validateForm(ctx context.Context, form *validationForm) (*verify.Report, error) {
	if form.pdf != nil {
		return s.Validator.ValidatePDFAt(ctx, form.pdf, form.pdfSize)
	}
	part := func(name string) ([]byte, bool) {
		b, ok := form.fields[name]
		return b, ok
	}
	sig, ok := part("signature")
	if !ok {
		return nil, errNoDocument
	}
	in := verify.CMSInput{Signature: sig}
	if form.dataDigests != nil {
		in.DataDigests = form.dataDigests
		return s.Validator.ValidateCMS(ctx, in)
	}
	digest, ok := part("digest")
	if !ok {
		return nil, errNoDocument
	}
	var err error
	if in.Digest, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(digest))); err != nil {
		return nil, errors.Join(verify.ErrInvalidInput, errors.New("digest is not base64"))
	}
	alg, _ := part("digestAlgorithm")
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
