package api

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/signer"
)

// uploadBuffer is the read buffer of a PDF upload.
const uploadBuffer = 256 << 10

// nopHash stands in when no body hash is needed.
type nopHash struct{}

func (nopHash) Write(p []byte) (int, error) { return len(p), nil }
func (nopHash) Sum(b []byte) []byte         { return b }
func (nopHash) Reset()                      {}
func (nopHash) Size() int                   { return 0 }
func (nopHash) BlockSize() int              { return 64 }

// maxFormField bounds a non-file multipart field: ids, levels, reasons are short.
const maxFormField = 4 << 10

// pdfInput reads a PDF-mode multipart body as a stream: each file part goes straight to
// the blob store (memory does not grow with the file), the other parts are small fields.
// The whole body is capped at the PDF upload limit (413 beyond) and hashed on the way
// for Idempotency-Key.
func (s *server) pdfInput(c *gin.Context) (signer.CreateInput, bool) {
	ci := signer.CreateInput{Format: signer.FormatPAdES}
	if !capBody(c, s.Limits.PDFBody+1<<20) {
		tooLarge(c, s.Limits.PDFBody)
		return ci, false
	}
	body := c.Request.Body
	_, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || params["boundary"] == "" {
		badRequest(c, "malformed multipart body: no boundary")
		return ci, false
	}
	// multipart reads through a 4 KiB buffer: a large one in front turns a 50 MB upload's
	// tens of thousands of socket reads into a few hundred.
	mr := multipart.NewReader(bufio.NewReaderSize(body, uploadBuffer), params["boundary"])
	// The body is hashed only for an Idempotency-Key: it costs a pass over the upload.
	h := hash.Hash(nopHash{})
	if c.GetHeader("Idempotency-Key") != "" {
		h = sha256.New()
	}
	var page, rect string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				tooLarge(c, s.Limits.PDFBody)
			} else {
				badRequest(c, "malformed multipart body: "+err.Error())
			}
			s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
			return ci, false
		}
		name := part.FormName()
		fmt.Fprintf(h, "%s\x00", name)
		if name == "file" {
			key, err := s.Requests.StageUpload(c.Request.Context(), io.TeeReader(part, h), s.Limits.PDFBody)
			part.Close()
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) || errors.Is(err, signer.ErrTooLarge) {
					tooLarge(c, s.Limits.PDFBody)
				} else {
					fail(c, err)
				}
				s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
				return ci, false
			}
			fn := part.FileName()
			if fn == "" {
				fn = fmt.Sprintf("document-%d.pdf", len(ci.PDFs)+1)
			}
			ci.PDFs = append(ci.PDFs, signer.PDFInput{Name: fn, UploadKey: key})
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFormField+1))
		part.Close()
		if err != nil || len(b) > maxFormField {
			badRequest(c, "field "+name+" is too long or unreadable")
			s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
			return ci, false
		}
		h.Write(b)
		v := strings.TrimSpace(string(b))
		switch name {
		case "signer":
			ci.UserID = v
		case "level":
			ci.Level = signer.Level(v)
		case "format":
			if v != string(signer.FormatPAdES) {
				badRequest(c, "format must be PAdES in PDF mode")
				s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
				return ci, false
			}
		case "callbackUrl":
			ci.CallbackURL = v
		case "reason":
			ci.PDF.Reason = v
		case "location":
			ci.PDF.Location = v
		case "field":
			ci.PDF.Field = v
		case "expiresIn":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				badRequest(c, `expiresIn must be a positive duration such as "90s" or "5m"`)
				s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
				return ci, false
			}
			ci.ExpiresIn = d
		case "appearancePage":
			page = v
		case "appearanceRect":
			rect = v
		default:
			badRequest(c, "unknown field "+strconv.Quote(name))
			s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
			return ci, false
		}
	}
	if ci.UserID == "" {
		badRequest(c, "signer is required")
		s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
		return ci, false
	}
	if page != "" || rect != "" {
		ap, err := parseAppearance(page, rect)
		if err != nil {
			badRequest(c, err.Error())
			s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
			return ci, false
		}
		ci.PDF.Appearance = ap
	}
	ci.BodyHash = h.Sum(nil)
	return ci, true
}

// parseAppearance reads a visible signature's page (1-based) and rectangle "x1,y1,x2,y2"
// in PDF points.
func parseAppearance(page, rect string) (*pdf.Appearance, error) {
	p, err := strconv.Atoi(page)
	if err != nil || p < 1 {
		return nil, errors.New("appearancePage must be a page number from 1")
	}
	parts := strings.Split(rect, ",")
	if len(parts) != 4 {
		return nil, errors.New(`appearanceRect must be "x1,y1,x2,y2" in points`)
	}
	var r [4]float64
	for i, s := range parts {
		if r[i], err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return nil, errors.New(`appearanceRect must be "x1,y1,x2,y2" in points`)
		}
	}
	return &pdf.Appearance{Page: p, Rect: r}, nil
}
