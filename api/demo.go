package api

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/signer"
)

// Demo is the integrator's demo page (paraphe serve --demo): the page itself, and a
// small JSON API that acts as one built-in integrator, so that the page needs no API
// key. It is for development and showing Paraphe: anyone who reaches it can ask any
// signer for a signature in the demo integrator's name.
type Demo struct {
	// IntegratorID is the integrator the demo acts as.
	IntegratorID string
	// Page serves /demo and its script and style.
	Page http.Handler
}

// mountWeb adds the phone web app and, when enabled, the demo page. They are pages, not
// the API: openapi.yaml does not list them.
func (s *server) mountWeb(r *gin.Engine) {
	if s.App != nil {
		app := gin.WrapH(s.App)
		r.GET("/app", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/app/") })
		r.GET("/app/*file", app)
		r.HEAD("/app/*file", app)
	}
	if s.Demo == nil {
		return
	}
	page := gin.WrapH(s.Demo.Page)
	r.GET("/demo", page)
	r.GET("/demo/demo.js", page)
	r.GET("/demo/demo.css", page)
	d := r.Group("/demo/api", s.demoIntegrator)
	d.POST("/requests", s.demoCreate)
	d.GET("/requests/:id", s.demoStatus)
	d.GET("/requests/:id/document", s.demoDocument)
	d.GET("/requests/:id/validation", s.demoValidation)
}

// demoIntegrator makes the demo's calls those of its integrator.
func (s *server) demoIntegrator(c *gin.Context) {
	c.Set(ctxLogger, logger(c).With("integratorId", s.Demo.IntegratorID, "demo", true))
	c.Next()
}

// demoCreate is a PDF-mode request (multipart: file, signer, level) for one document.
func (s *server) demoCreate(c *gin.Context) {
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != "multipart/form-data" {
		writeProblem(c, Problem{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedType, Title: "Unsupported media type", Detail: "send multipart/form-data"})
		return
	}
	ci, ok := s.pdfInput(c)
	if !ok {
		return
	}
	defer s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
	if len(ci.PDFs) != 1 {
		badRequest(c, "send exactly one PDF")
		return
	}
	// Anyone who reaches the demo page speaks for its integrator: it must not choose
	// where that integrator's webhooks go.
	if ci.CallbackURL != "" {
		writeProblem(c, Problem{Status: http.StatusUnprocessableEntity, Code: CodeInvalid, Title: "Invalid request",
			Detail: "the demo page takes no callbackUrl"})
		return
	}
	if ci.Level == "" {
		ci.Level = signer.LevelBB
	}
	ci.IntegratorID = s.Demo.IntegratorID
	r, _, err := s.Requests.Create(c.Request.Context(), ci)
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, requestView(r, true))
}

func (s *server) demoStatus(c *gin.Context) {
	r, err := s.Requests.Get(c.Request.Context(), s.Demo.IntegratorID, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, requestView(r, false))
}

func (s *server) demoDocument(c *gin.Context) {
	r, res, err := s.Requests.Result(c.Request.Context(), s.Demo.IntegratorID, c.Param("id"), 0)
	if err != nil {
		fail(c, err)
		return
	}
	defer res.Close()
	c.Header("Content-Disposition", `attachment; filename="`+safeFilename(r.Documents[0].Name)+`"`)
	c.DataFromReader(http.StatusOK, res.Size(), "application/pdf", res, nil)
}

// demoValidation validates the signed PDF as POST /v1/validations does.
func (s *server) demoValidation(c *gin.Context) {
	release, ok := s.validationSlot(c)
	if !ok {
		return
	}
	defer release()
	b, err := s.demoResult(c.Request.Context(), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	rep, err := s.Validator.ValidatePDFAt(c.Request.Context(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

func (s *server) demoResult(ctx context.Context, id string) ([]byte, error) {
	_, res, err := s.Requests.Result(ctx, s.Demo.IntegratorID, id, 0)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	return io.ReadAll(io.LimitReader(res, s.Limits.PDFBody+1<<20))
}
