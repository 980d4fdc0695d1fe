package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/icons"
	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/notify"
	"github.com/paraphe/paraphe/signer"
)

func (s *server) integratorAuth(c *gin.Context) {
	h := c.GetHeader("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || key == "" {
		c.Header("WWW-Authenticate", `Bearer realm="paraphe"`)
		fail(c, integrator.ErrUnauthenticated)
		return
	}
	in, err := s.Integrators.Authenticate(c.Request.Context(), strings.TrimSpace(key))
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="paraphe", error="invalid_token"`)
		fail(c, err)
		return
	}
	c.Set(ctxIntegrator, in)
	c.Set(ctxLogger, logger(c).With("integratorId", in.ID))
	c.Next()
}

func integratorOf(c *gin.Context) *integrator.Integrator {
	return c.MustGet(ctxIntegrator).(*integrator.Integrator)
}

type documentIn struct {
	Name            string `json:"name"`
	Digest          string `json:"digest"`
	DigestAlgorithm string `json:"digestAlgorithm"`
}

type createIn struct {
	Signer      string       `json:"signer"`
	Documents   []documentIn `json:"documents"`
	Format      string       `json:"format"`
	Level       string       `json:"level"`
	CallbackURL string       `json:"callbackUrl"`
	ExpiresIn   string       `json:"expiresIn"`
}

type iconOut struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	SVG   string `json:"svg"`
}

type documentOut struct {
	Name            string `json:"name"`
	Digest          string `json:"digest"`
	DigestAlgorithm string `json:"digestAlgorithm"`
	URL             string `json:"url,omitempty"`
}

type requestOut struct {
	ID         string        `json:"id"`
	Status     string        `json:"status"`
	Reason     string        `json:"reason,omitempty"`
	Format     string        `json:"format"`
	Level      string        `json:"level"`
	Signer     string        `json:"signer"`
	Icon       *iconOut      `json:"icon,omitempty"`
	CreatedAt  time.Time     `json:"createdAt"`
	ExpiresAt  time.Time     `json:"expiresAt"`
	FinishedAt *time.Time    `json:"finishedAt,omitempty"`
	Documents  []documentOut `json:"documents"`
}

func iconView(id string) *iconOut {
	ic, ok := icons.Lookup(id)
	if !ok {
		return &iconOut{ID: id, Label: id, SVG: "/v1/icons/" + id + ".svg"}
	}
	return &iconOut{ID: ic.ID, Label: ic.Label, SVG: "/v1/icons/" + ic.ID + ".svg"}
}

func requestView(r *signer.Request, withIcon bool) requestOut {
	out := requestOut{ID: r.ID, Status: string(r.Status), Reason: r.Reason, Format: string(r.Format), Level: string(r.Level),
		Signer: r.UserID, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, FinishedAt: r.FinishedAt}
	if withIcon {
		out.Icon = iconView(r.IconID)
	}
	out.Documents = make([]documentOut, len(r.Documents))
	for i, d := range r.Documents {
		out.Documents[i] = documentOut{Name: d.Name, Digest: base64.StdEncoding.EncodeToString(d.Digest), DigestAlgorithm: signer.HashName(d.Hash)}
		if r.Status == signer.StatusSigned {
			out.Documents[i].URL = "/v1/signature-requests/" + r.ID + "/documents/" + strconv.Itoa(i)
		}
	}
	return out
}

func (s *server) createRequest(c *gin.Context) {
	var ci signer.CreateInput
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt == "multipart/form-data" {
		var ok bool
		if ci, ok = s.pdfInput(c); !ok {
			return
		}
		defer s.Requests.DropUploads(c.Request.Context(), ci.PDFs)
	} else {
		body, ok := readBody(c, s.Limits.JSONBody)
		if !ok {
			return
		}
		var in createIn
		if !decodeJSON(c, body, &in) {
			return
		}
		var err error
		if ci, err = createInput(in); err != nil {
			fail(c, err)
			return
		}
		sum := sha256.Sum256(body)
		ci.BodyHash = sum[:]
	}
	ci.IntegratorID = integratorOf(c).ID
	ci.IdempotencyKey = c.GetHeader("Idempotency-Key")
	ci.ClientIP = c.ClientIP()
	r, created, err := s.Requests.Create(c.Request.Context(), ci)
	if err != nil {
		fail(c, err)
		return
	}
	c.Header("Location", "/v1/signature-requests/"+r.ID)
	code := http.StatusCreated
	if !created {
		c.Header("Idempotent-Replayed", "true")
		code = http.StatusOK
	}
	c.JSON(code, requestView(r, true))
}

// createInput turns the JSON body into the service's input; wrong shapes are ErrInvalid.
func createInput(in createIn) (signer.CreateInput, error) {
	ci := signer.CreateInput{UserID: in.Signer, Format: signer.Format(in.Format), Level: signer.Level(in.Level), CallbackURL: in.CallbackURL}
	if in.Signer == "" {
		return ci, invalid("signer is required")
	}
	if in.Format == "" {
		ci.Format = signer.FormatCAdES
	}
	if in.ExpiresIn != "" {
		d, err := time.ParseDuration(in.ExpiresIn)
		if err != nil || d <= 0 {
			return ci, invalid("expiresIn must be a positive duration such as \"90s\" or \"5m\"")
		}
		ci.ExpiresIn = d
	}
	for i, d := range in.Documents {
		h, err := signer.ParseHash(d.DigestAlgorithm)
		if err != nil {
			return ci, invalid("documents[" + strconv.Itoa(i) + "]: " + err.Error())
		}
		dg, err := base64.StdEncoding.DecodeString(d.Digest)
		if err != nil {
			return ci, invalid("documents[" + strconv.Itoa(i) + "]: digest is not standard base64")
		}
		ci.Documents = append(ci.Documents, signer.DocumentInput{Name: d.Name, Hash: h, Digest: dg})
	}
	return ci, nil
}

func invalid(detail string) error { return &detailError{base: signer.ErrInvalid, detail: detail} }

type detailError struct {
	base   error
	detail string
}

func (e *detailError) Error() string { return e.detail }
func (e *detailError) Unwrap() error { return e.base }

func (s *server) getRequest(c *gin.Context) {
	r, err := s.Requests.Get(c.Request.Context(), integratorOf(c).ID, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, requestView(r, true))
}

func (s *server) getDocument(c *gin.Context) {
	idx, err := strconv.Atoi(c.Param("index"))
	if err != nil {
		fail(c, signer.ErrDocumentIndex)
		return
	}
	r, res, err := s.Requests.Result(c.Request.Context(), integratorOf(c).ID, c.Param("id"), idx)
	if err != nil {
		fail(c, err)
		return
	}
	defer res.Close()
	ct, ext := "application/pkcs7-signature", ".p7s"
	switch r.Format {
	case signer.FormatPAdES:
		ct, ext = "application/pdf", ""
	case signer.FormatRaw:
		// A CSC authorization keeps the raw signature value (signHash) or the CMS of the
		// PDF signDoc returned, as its evidence.
		ct, ext = "application/octet-stream", ".sig"
	}
	c.Header("Content-Disposition", `attachment; filename="`+safeFilename(r.Documents[idx].Name)+ext+`"`)
	c.DataFromReader(http.StatusOK, res.Size(), ct, res, nil)
}

// safeFilename keeps a header-safe file name.
func safeFilename(n string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, n)
}

func (s *server) cancelRequest(c *gin.Context) {
	if err := s.Requests.Cancel(c.Request.Context(), integratorOf(c).ID, c.Param("id")); err != nil {
		fail(c, err)
		return
	}
	r, err := s.Requests.Get(c.Request.Context(), integratorOf(c).ID, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, requestView(r, false))
}

// WebhookLog lists the delivery attempts of a request's webhook.
type WebhookLog interface {
	Attempts(ctx context.Context, requestID string) ([]notify.Attempt, error)
}

type attemptOut struct {
	At            time.Time  `json:"at"`
	Status        int        `json:"status,omitempty"`
	Error         string     `json:"error,omitempty"`
	Delivered     bool       `json:"delivered"`
	NextAttemptAt *time.Time `json:"nextAttemptAt,omitempty"`
}

func (s *server) webhookDeliveries(c *gin.Context) {
	r, err := s.Requests.Get(c.Request.Context(), integratorOf(c).ID, c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	as, err := s.Webhooks.Attempts(c.Request.Context(), r.ID)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]attemptOut, len(as))
	for i, a := range as {
		out[i] = attemptOut{At: a.At, Status: a.Status, Error: a.Error, Delivered: a.Delivered, NextAttemptAt: a.NextAttemptAt}
	}
	c.JSON(http.StatusOK, gin.H{"id": r.ID, "callbackUrl": r.CallbackURL, "attempts": out})
}
