package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/signer"
)

// Integrators authenticates API keys and names integrators.
type Integrators interface {
	Authenticate(ctx context.Context, apiKey string) (*integrator.Integrator, error)
	Name(ctx context.Context, id string) string
}

// Requests is the signing workflow as the integrator-facing routes use it: requests
// are created, read, cancelled and collected by the integrator that owns them.
type Requests interface {
	Create(ctx context.Context, in signer.CreateInput) (*signer.Request, bool, error)
	Get(ctx context.Context, integratorID, id string) (*signer.Request, error)
	Result(ctx context.Context, integratorID, id string, index int) (*signer.Request, signer.Output, error)
	StageUpload(ctx context.Context, r io.Reader, limit int64) (string, error)
	DropUploads(ctx context.Context, in []signer.PDFInput)
	Cancel(ctx context.Context, integratorID, id string) error
	Evidence(ctx context.Context, integratorID, id string) (*signer.Evidence, error)
}

// DeviceRequests is the signing workflow as the device-facing routes use it: a device
// sees, approves or refuses its own signer's requests and reads their history.
type DeviceRequests interface {
	Pending(ctx context.Context, dev *device.Device) ([]*signer.Request, error)
	ForDevice(ctx context.Context, dev *device.Device, id string) (*signer.Request, error)
	Approve(ctx context.Context, dev *device.Device, in signer.ApproveInput) (*signer.Request, error)
	Refuse(ctx context.Context, dev *device.Device, id, ip string) error
	History(ctx context.Context, dev *device.Device, before *signer.Cursor, limit int) ([]*signer.Request, error)
}

// Devices enrolls and authenticates devices.
type Devices interface {
	Enroll(ctx context.Context, req device.EnrollRequest) (device.Enrolled, error)
	Authenticate(ctx context.Context, header, method, path string, body []byte) (*device.Device, error)
	ChangePIN(ctx context.Context, dev *device.Device, oldPIN, newPIN string) error
	// StillActive reports whether a device authenticated earlier may still be served
	// (long-lived streams ask it as they go).
	StillActive(ctx context.Context, deviceID string) (bool, error)
}

// PKI serves the development CA's public material.
type PKI interface {
	Root() *x509.Certificate
	Issuing() *x509.Certificate
	OCSP(ctx context.Context, request []byte) ([]byte, error)
	CRL(ctx context.Context) ([]byte, error)
	RootCRL(ctx context.Context) ([]byte, error)
}

// Waiter lets device calls wait for a user's requests to change.
type Waiter interface {
	Subscribe(userID string) (<-chan string, func())
}

// Checker is one readiness dependency (database, HSM).
type Checker interface {
	Ping(ctx context.Context) error
}

// Limits bounds request bodies. Each limit says why it has its value.
type Limits struct {
	// JSONBody caps JSON bodies: 1 MiB holds hundreds of digests and names.
	JSONBody int64
	// PDFBody caps PDF uploads (signing and validation): 50 MB by default, configurable.
	PDFBody int64
	// DeviceBody caps device calls: an approval is a few hundred bytes.
	DeviceBody int64
	// MaxWait caps a device's long poll, below the server's write timeout.
	MaxWait time.Duration
	// Validations caps the validations (POST /v1/validations) running at
	// once; more get 429. Each holds up to the PDF parser's budget of
	// decoded data (pdf.Limits) and a core: 4 by default.
	Validations int
}

// Defaults of Limits (see Limits.withDefaults; DefaultValidations too).
const (
	DefaultJSONBody   = 1 << 20
	DefaultPDFBody    = 50_000_000
	DefaultDeviceBody = 64 << 10
	DefaultMaxWait    = 25 * time.Second
)

// withDefaults fills the zero fields of l: the one place the API's limits default.
func (l Limits) withDefaults() Limits {
	if l.JSONBody == 0 {
		l.JSONBody = DefaultJSONBody
	}
	if l.PDFBody == 0 {
		l.PDFBody = DefaultPDFBody
	}
	if l.DeviceBody == 0 {
		l.DeviceBody = DefaultDeviceBody
	}
	if l.MaxWait == 0 {
		l.MaxWait = DefaultMaxWait
	}
	if l.Validations <= 0 {
		l.Validations = DefaultValidations
	}
	return l
}

// Deps are the services behind the API.
type Deps struct {
	Integrators Integrators
	Requests    Requests
	// DeviceRequests serves the device routes (one signer.Service usually
	// satisfies both Requests and DeviceRequests).
	DeviceRequests DeviceRequests
	Devices        Devices
	Accounts       Accounts
	Webhooks       WebhookLog
	Checkpoints    Checkpointer
	Validator      Validator
	// PDFLimits bound every PDF parse a request makes (creation, validation,
	// the B-LT extension after approval); zero fields take pdf's defaults.
	PDFLimits pdf.Limits
	// TempDir receives validation bodies while they are validated (the
	// system's temporary directory when empty); each file is removed with
	// its request.
	TempDir string
	PKI     PKI
	Waiter  Waiter
	Events  Events
	Ready   map[string]Checker
	Log     *slog.Logger
	Limits  Limits
	// TrustedProxies are the proxies whose X-Forwarded-For is believed; none by default.
	TrustedProxies []string
	// TSA answers RFC 3161 requests at POST /tsa.
	TSA http.Handler
	// Metrics serves GET /metrics (Prometheus); nil answers 404.
	Metrics http.Handler
	// HTTPStats observes every request (route, method, status, latency).
	HTTPStats interface {
		ObserveHTTP(route, method string, status int, d time.Duration)
	}
	// RateLimit limits each integrator; IPLimit each client address on public POSTs;
	// DeviceLimit each enrolled device (after its call is authenticated).
	RateLimit   *RateLimiter
	IPLimit     *RateLimiter
	TSALimit    *RateLimiter
	DeviceLimit *RateLimiter
	// DeviceIPLimit limits each client address on the device routes, before the call
	// is authenticated.
	DeviceIPLimit *RateLimiter
	// PKILimit limits each client address on /ocsp, /crl and /crl/root.
	PKILimit *RateLimiter
	// Push registers Web Push subscriptions; nil answers 404.
	Push WebPush
	// App serves the phone web app under /app/; nil serves none.
	App http.Handler
	// Demo serves the integrator's demo page at /demo; nil serves none.
	Demo *Demo
	// CSC serves the Cloud Signature Consortium API under /csc/; nil: not served.
	CSC CSC
	// BehindTLSProxy believes X-Forwarded-Proto from TrustedProxies (and from no one
	// else) to tell requests that came over https.
	BehindTLSProxy bool
}

type server struct {
	Deps
	// validations holds one token per validation running (Limits.Validations).
	validations chan struct{}
}

const (
	ctxRequestID  = "paraphe.requestID"
	ctxLogger     = "paraphe.logger"
	ctxIntegrator = "paraphe.integrator"
	ctxDevice     = "paraphe.device"
)

// New builds the HTTP handler.
func New(d Deps) (http.Handler, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	d.Limits = d.Limits.withDefaults()
	if d.RateLimit == nil {
		d.RateLimit = NewRateLimiter(0, 0)
	}
	if d.IPLimit == nil {
		d.IPLimit = NewRateLimiter(0, 0)
	}
	if d.TSALimit == nil {
		d.TSALimit = NewRateLimiter(0, 0)
	}
	if d.DeviceLimit == nil {
		d.DeviceLimit = NewRateLimiter(0, 0)
	}
	if d.DeviceIPLimit == nil {
		d.DeviceIPLimit = NewRateLimiter(0, 0)
	}
	if d.PKILimit == nil {
		d.PKILimit = NewRateLimiter(0, 0)
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("api: trusted proxies: %w", err)
	}
	r.HandleMethodNotAllowed = true
	s := &server{Deps: d, validations: make(chan struct{}, d.Limits.Validations)}
	proxies, err := parseProxies(d.TrustedProxies)
	if err != nil {
		return nil, err
	}
	r.Use(s.secureScheme(proxies), s.requestID, s.accessLog, s.recover, s.pdfLimits)
	r.NoRoute(func(c *gin.Context) {
		if isCSC(c) {
			cscStatus(c, http.StatusNotFound, "No such CSC method")
			return
		}
		writeProblem(c, Problem{Status: http.StatusNotFound, Code: CodeNotFound, Title: "No such resource"})
	})
	r.NoMethod(func(c *gin.Context) {
		if isCSC(c) {
			cscStatus(c, http.StatusMethodNotAllowed, "CSC methods are called with POST")
			return
		}
		writeProblem(c, Problem{Status: http.StatusMethodNotAllowed, Code: CodeNotAllowed, Title: "Method not allowed"})
	})

	perKey := d.RateLimit.Middleware(func(c *gin.Context) string { return integratorOf(c).ID })
	byIP := d.IPLimit.Middleware(func(c *gin.Context) string { return c.ClientIP() })
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.readyz)
	r.GET("/openapi.yaml", s.openapi)
	r.GET("/metrics", s.metrics)
	r.GET("/v1/icons/:file", s.icon)
	r.GET("/v1/ca/root.pem", s.rootPEM)
	r.GET("/v1/ca/issuing.cer", s.issuingDER)
	byIPPKI := d.PKILimit.Middleware(func(c *gin.Context) string { return c.ClientIP() })
	r.POST("/ocsp", byIPPKI, s.ocspPost)
	r.GET("/ocsp/*request", byIPPKI, s.ocspGet)
	r.GET("/crl", byIPPKI, s.crl)
	r.GET("/crl/root", byIPPKI, s.rootCRL)
	r.GET("/pds/en", s.pds)
	r.POST("/tsa", d.TSALimit.Middleware(func(c *gin.Context) string { return c.ClientIP() }), s.tsa)

	in := r.Group("/v1/signature-requests", s.integratorAuth, perKey)
	in.POST("", s.createRequest)
	in.GET("/:id", s.getRequest)
	in.GET("/:id/documents/:index", s.getDocument)
	in.DELETE("/:id", s.cancelRequest)
	in.GET("/:id/webhook-deliveries", s.webhookDeliveries)
	in.GET("/:id/evidence", s.evidence)

	r.POST("/v1/validations", s.integratorAuth, perKey, s.validate)
	r.POST("/v1/devices/enroll", byIP, s.enroll)
	byIPDevice := d.DeviceIPLimit.Middleware(func(c *gin.Context) string { return c.ClientIP() })
	dev := r.Group("/v1/device", byIPDevice, s.deviceAuth, d.DeviceLimit.Middleware(func(c *gin.Context) string { return deviceOf(c).ID }))
	dev.GET("/requests", s.devicePending)
	dev.GET("/requests/:id", s.deviceRequest)
	dev.POST("/requests/:id/approve", s.approve)
	dev.POST("/requests/:id/refuse", s.refuse)
	dev.GET("/events", s.deviceEvents)
	dev.GET("/history", s.deviceHistory)
	dev.POST("/pin", s.changePIN)
	dev.POST("/push-subscriptions", s.pushSubscribe)
	r.GET("/v1/webpush/key", s.webPushKey)
	r.POST("/v1/accounts/block", byIP, s.blockAccount)
	s.mountWeb(r)
	s.routeCSC(r)
	return r, nil
}

func (s *server) tsa(c *gin.Context) {
	if s.TSA == nil {
		writeProblem(c, Problem{Status: http.StatusNotFound, Code: CodeNotFound, Title: "No built-in TSA"})
		return
	}
	s.TSA.ServeHTTP(c.Writer, c.Request)
}

func (s *server) metrics(c *gin.Context) {
	if s.Metrics == nil {
		writeProblem(c, Problem{Status: http.StatusNotFound, Code: CodeNotFound, Title: "Metrics are not enabled"})
		return
	}
	s.Metrics.ServeHTTP(c.Writer, c.Request)
}

func (s *server) requestID(c *gin.Context) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	c.Set(ctxRequestID, id)
	c.Set(ctxLogger, s.Log.With("requestId", id))
	c.Header("X-Request-Id", id)
	c.Next()
}

// accessLog logs method, route and status; never bodies, queries or headers, which may
// carry PINs, keys or activation codes.
func (s *server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(unmatched)"
	}
	d := time.Since(start)
	logger(c).Info("http", "method", c.Request.Method, "route", route, "status", c.Writer.Status(),
		"ms", d.Milliseconds(), "ip", c.ClientIP())
	if s.HTTPStats != nil && route != "/v1/device/events" {
		s.HTTPStats.ObserveHTTP(c.FullPath(), c.Request.Method, c.Writer.Status(), d)
	}
}

// pdfLimits puts the configured PDF limits on the request's context: every
// parse the request leads to (and the signing it detaches) uses them.
func (s *server) pdfLimits(c *gin.Context) {
	c.Request = c.Request.WithContext(pdf.WithLimits(c.Request.Context(), s.PDFLimits))
	c.Next()
}

func (s *server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logger(c).Error("panic", "value", fmt.Sprint(v))
			writeProblem(c, Problem{Status: http.StatusInternalServerError, Code: CodeInternal, Title: "Internal error"})
		}
	}()
	c.Next()
}

func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	out := gin.H{}
	ok := true
	for name, ch := range s.Ready {
		if err := ch.Ping(ctx); err != nil {
			logger(c).Warn("not ready", "dependency", name, "err", err)
			out[name] = "unavailable"
			ok = false
		} else {
			out[name] = "ok"
		}
	}
	if !ok {
		c.Header("Content-Type", "application/problem+json")
		c.JSON(http.StatusServiceUnavailable, gin.H{"type": problemBase + CodeUnavailable, "title": "Not ready",
			"status": http.StatusServiceUnavailable, "checks": out})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": out})
}

// capBody caps the request body at limit bytes. It reports false for a client that waits
// on "Expect: 100-continue" with a declared Content-Length already past the limit: that
// body is refused before any of it is sent, so the client reads the 413 instead of a
// connection reset halfway through its upload. A client that sends its body straight
// away is read up to the limit as before: answering it unread would close the
// connection on megabytes still arriving, which resets it before the answer is read.
func capBody(c *gin.Context, limit int64) bool {
	if c.Request.ContentLength > limit && strings.EqualFold(c.Request.Header.Get("Expect"), "100-continue") {
		return false
	}
	c.Set(rawBodyKey, c.Request.Body)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	return true
}

const rawBodyKey = "paraphe.rawBody"

// Past its limit, a body still arriving is read and dropped for a while after the 413
// (a lingering close): the connection then closes on a client that has finished sending
// and reads the answer, not on unread bytes, which would reset it first. Bounded, so a
// client cannot hold the connection or make the server read much.
const (
	lingerBytes = 8 << 20
	lingerTime  = 2 * time.Second
)

// tooLarge answers 413 for a body past limit bytes.
func tooLarge(c *gin.Context, limit int64) {
	writeProblem(c, Problem{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge, Title: "Body too large",
		Detail: fmt.Sprintf("the body may have at most %d bytes", limit)})
	linger(c)
}

// linger drops what is left of an oversized body (see lingerBytes), after the answer.
func linger(c *gin.Context) {
	v, ok := c.Get(rawBodyKey)
	if !ok {
		return // refused before any of it was sent
	}
	body, ok := v.(io.Reader)
	if !ok {
		return
	}
	c.Writer.Flush()
	_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, body, lingerBytes)
}

// readBody reads a capped body; a larger one is answered 413.
func readBody(c *gin.Context, limit int64) ([]byte, bool) {
	if !capBody(c, limit) {
		tooLarge(c, limit)
		return nil, false
	}
	b, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge(c, limit)
			return nil, false
		}
		badRequest(c, "could not read the body")
		return nil, false
	}
	return b, true
}

// decodeJSON checks the content type and decodes strictly: unknown fields, trailing data
// and malformed JSON are 400.
func decodeJSON(c *gin.Context, body []byte, v any) bool {
	if !isJSON(c) {
		writeProblem(c, Problem{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedType,
			Title: "Unsupported media type", Detail: "send application/json"})
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		badRequest(c, "malformed JSON: "+err.Error())
		return false
	}
	if dec.More() {
		badRequest(c, "malformed JSON: data after the object")
		return false
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		badRequest(c, "malformed JSON: data after the object")
		return false
	}
	return true
}

func isJSON(c *gin.Context) bool {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	return err == nil && mt == "application/json"
}
