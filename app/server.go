package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/paraphe/paraphe/account"
	"github.com/paraphe/paraphe/api"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/config"
	"github.com/paraphe/paraphe/csc"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/engine"
	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/metrics"
	"github.com/paraphe/paraphe/notify"
	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/ratelimit"
	"github.com/paraphe/paraphe/retention"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/tsl"
	"github.com/paraphe/paraphe/verify"
	"github.com/paraphe/paraphe/web"
	"github.com/paraphe/paraphe/webpush"
)

// Domain is the set of domain services over the opened parts (see NewDomain).
type Domain struct {
	*Env
	Devices     *device.Service
	Requests    *signer.Service
	Accounts    *account.Service
	Integrators *integrator.Service
	Hub         *notify.Hub
	Notifier    *notify.Notifier
	Webhooks    *notify.Webhooks
	Metrics     *metrics.Metrics
	Push        *notify.PushGateway // nil when not configured
	WebPush     *webpush.Sender     // nil when disabled
	CSC         *csc.Service
}

// NewDomain builds the domain services over the parts e opened, which must include the
// CA (OpenCA, InitCA). Each call builds a new set, as another replica would: tests use
// it to play a second process over the same store and token. Closing the Domain closes
// e.
func (e *Env) NewDomain(ctx context.Context) (*Domain, error) {
	if e.CA == nil {
		return nil, errors.New("app: the domain services need the CA: open it first (OpenCA, InitCA)")
	}
	cfg := e.Cfg
	m := metrics.New()
	m.SetPendingFunc(pendingGauge(e.Store))
	hub := notify.NewHub()
	var push *notify.PushGateway
	var err error
	if cfg.Push.URL != "" {
		secret, err := os.ReadFile(cfg.Push.SecretFile)
		if err != nil {
			return nil, fmt.Errorf("push gateway secret: %w", err)
		}
		if push, err = notify.NewPushGateway(notify.PushDeps{Log: e.Log}, notify.PushConfig{URL: cfg.Push.URL, Secret: strings.TrimSpace(string(secret))}); err != nil {
			return nil, err
		}
	}
	var pushers []notify.Pusher
	if push != nil {
		pushers = append(pushers, push)
	}
	var wp *webpush.Sender
	if e.VAPIDKey != nil {
		if wp, err = e.webPush(); err != nil {
			return nil, err
		}
		pushers = append(pushers, wp)
	}
	notifier := notify.NewNotifier(notify.NotifierDeps{Store: e.Store, Hub: hub, Pushers: pushers, Log: e.Log})
	devices := device.New(device.Deps{Store: e.Store, HSM: e.Keys, Issuer: e.CA, Audit: e.Audit, Metrics: m, Log: e.Log},
		device.Config{PINKeyLabel: PINKeyLabel, Country: cfg.Country})
	integrators := e.Integrators()
	policy := notify.CallbackPolicy{AllowLoopback: cfg.LoopbackCallbacks(), AllowPrivate: cfg.Webhooks.AllowPrivate}
	hooks := notify.NewWebhooks(notify.WebhookDeps{Store: e.Store, Secrets: integrators, Metrics: m, Log: e.Log}, notify.WebhookConfig{Policy: policy})
	blobs, err := e.Blobs()
	if err != nil {
		return nil, err
	}
	ts, err := e.timestamper()
	if err != nil {
		return nil, err
	}
	eng := engine.New(engine.Deps{
		Keys: e.Keys.Observed(m.HSMSign), Files: blobs, TSA: ts, Validation: engine.NewCAValidation(e.CA, e.Store), Chain: e.CA.Chain(),
		Parallel: cfg.HSM.Sessions, // 0: the default pool, as the token's
	})
	requests := signer.New(signer.Deps{
		Store: e.Store, Auths: e.Store, Ids: e.Store, Engine: eng, Approvals: devices, Metrics: m, Audit: e.Audit, Notify: notifier,
		Webhooks: hooks, Log: e.Log, Blobs: blobs,
	}, signer.Config{
		DefaultTTL: time.Duration(cfg.Requests.DefaultExpiry), MaxTTL: time.Duration(cfg.Requests.MaxExpiry),
		IconChoices: cfg.Requests.IconChoices, MaxPending: cfg.Requests.MaxPending,
		CheckCallback: func(u string) error { return notify.ValidateCallbackURL(u, policy) },
	})
	cscService := csc.New(csc.Deps{Store: e.Store, Clients: integrators, Requests: requests, Identities: e.Store, TSA: ts,
		Chain: e.CA.Chain(), Log: e.Log}, csc.Config{BaseURL: cfg.BaseURL(), Region: cfg.Country})
	return &Domain{
		Env:     e,
		Devices: devices, Requests: requests, Integrators: integrators, Hub: hub, Notifier: notifier, Webhooks: hooks, Metrics: m, Push: push, WebPush: wp,
		CSC:      cscService,
		Accounts: account.New(account.Deps{Store: e.Store, Devices: devices, Requests: requests, Audit: e.Audit, Log: e.Log}),
	}, nil
}

// Service is the assembled HTTP service and the workers behind it.
type Service struct {
	*Domain
	retention *retention.Job
	Handler   http.Handler
	// MetricsHandler serves GET /metrics on the separate address of metrics.listen
	// (behind the bearer token when metrics.tokenFile is set).
	MetricsHandler http.Handler
	// pdfLimits bound the PDF parses of the background work too (a signing
	// resumed after a crash extends a document to B-LT as an approval does).
	pdfLimits pdf.Limits
}

// newService builds the HTTP handler and the background work over d.
func newService(ctx context.Context, d *Domain) (*Service, error) {
	e := d.Env
	rj, err := e.RetentionJob()
	if err != nil {
		return nil, err
	}
	m := d.Metrics
	rl := e.Cfg.RateLimits
	anchors := []*x509.Certificate{e.CA.Root()}
	files, err := e.Cfg.TrustFiles()
	if err != nil {
		return nil, err
	}
	more, err := verify.LoadAnchors(files...)
	if err != nil {
		return nil, err
	}
	anchors = append(anchors, more...)
	var lists *tsl.Set
	if len(e.Cfg.TrustedLists) > 0 {
		if lists, err = tsl.Load(ctx, e.Cfg.TrustedLists, tsl.Options{}); err != nil {
			return nil, fmt.Errorf("app: trustedLists: %w", err)
		}
	}
	tmp, err := validationTempDir(e.Cfg.DataDir)
	if err != nil {
		return nil, err
	}
	metricsH, mainMetrics, err := e.metricsHandlers(m.Handler())
	if err != nil {
		return nil, err
	}
	// The development TSA answers the public only while it is one of the TSAs this
	// server uses: once qualified TSAs are configured it would only be a free signing
	// oracle of the development CA's chain.
	var publicTSA http.Handler
	if e.TSA != nil {
		publicTSA = e.TSA
	}
	var wp api.WebPush
	if d.WebPush != nil {
		wp = d.WebPush
	}
	var demo *api.Demo
	if e.Cfg.Demo {
		id, err := e.demoIntegrator(ctx, d.Integrators)
		if err != nil {
			return nil, err
		}
		demo = &api.Demo{IntegratorID: id, Page: web.Demo()}
	}
	buckets, err := e.sharedBuckets(ctx)
	if err != nil {
		return nil, err
	}
	limiter := func(name string, perSecond float64, burst int) *api.RateLimiter {
		l := api.NewRateLimiter(perSecond, burst)
		if buckets != nil {
			l.Shared(buckets, name)
		}
		return l
	}
	h, err := api.New(api.Deps{
		Push: wp, App: web.App(), Demo: demo, BehindTLSProxy: e.Cfg.BehindTLSProxy,
		Integrators: d.Integrators, Requests: d.Requests, DeviceRequests: d.Requests, Devices: d.Devices, Accounts: d.Accounts, Webhooks: d.Webhooks, Checkpoints: e,
		PKI: ca.NewPublished(e.CA, e.Store), Waiter: d.Hub, Events: e.Store, TSA: publicTSA,
		Metrics: mainMetrics, HTTPStats: m,
		RateLimit:      limiter("key", rl.PerKey, rl.PerKeyBurst),
		IPLimit:        limiter("ip", rl.PerIP, rl.PerIPBurst),
		TSALimit:       limiter("tsa", rl.TSAPerIP, rl.TSABurst),
		DeviceLimit:    limiter("device", rl.PerDevice, rl.PerDeviceBurst),
		DeviceIPLimit:  limiter("device-ip", rl.DevicePerIP, rl.DevicePerIPBurst),
		PKILimit:       limiter("pki", rl.PKIPerIP, rl.PKIBurst),
		Validator:      verify.New(verify.Options{Anchors: anchors, TrustedLists: lists}),
		TempDir:        tmp,
		PDFLimits:      PDFLimits(e.Cfg.Limits.PDF),
		Ready:          map[string]api.Checker{"database": e.Store, "hsm": e.Token},
		Log:            e.Log,
		Limits:         api.Limits{JSONBody: e.Cfg.Limits.JSONBody, PDFBody: e.Cfg.Limits.PDFBody, Validations: e.Cfg.Limits.Validations},
		TrustedProxies: e.Cfg.TrustedProxies,
		CSC:            d.CSC,
	})
	if err != nil {
		return nil, err
	}
	return &Service{Domain: d, Handler: h, MetricsHandler: metricsH, retention: rj, pdfLimits: PDFLimits(e.Cfg.Limits.PDF)}, nil
}

// webPush builds the Web Push sender over the VAPID key.
func (e *Env) webPush() (*webpush.Sender, error) {
	wc := e.Cfg.WebPush
	return webpush.NewSender(webpush.Deps{Store: e.Store, Key: e.VAPIDKey, Log: e.Log}, webpush.Config{
		Subject: wc.Subject, TTL: time.Duration(wc.TTL),
		// Loopback push services only on a development server, as for webhooks.
		Policy: notify.CallbackPolicy{AllowLoopback: wc.AllowLoopback && e.Cfg.IsDevelopment(), AllowPrivate: wc.AllowPrivate},
	})
}

// demoIntegrator returns the integrator the demo page acts as: the one named in
// DataDir/demo-integrator, made on first use. Its API key is never shown (the demo
// calls the services directly).
func (e *Env) demoIntegrator(ctx context.Context, in *integrator.Service) (string, error) {
	file := filepath.Join(e.Cfg.DataDir, "demo-integrator")
	if b, err := os.ReadFile(file); err == nil {
		id := strings.TrimSpace(string(b))
		if _, err := e.Store.Integrator(ctx, id); err == nil {
			return id, nil
		}
	}
	out, err := in.Add(ctx, "Paraphe demo")
	if err != nil {
		return "", fmt.Errorf("demo integrator: %w", err)
	}
	if err := os.WriteFile(file, []byte(out.ID+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("demo integrator: %w", err)
	}
	return out.ID, nil
}

// Worker is one periodic background job of the service: run every interval (and once at
// start) until the context ends; an error is logged and the job runs again next time.
type Worker struct {
	Name     string
	Interval time.Duration
	Run      func(ctx context.Context) error
}

// Daemon is a long-running background loop that returns when its context ends.
type Daemon struct {
	Name string
	Run  func(ctx context.Context)
}

// resumeEvery is how often a replica looks for approved requests whose signer stopped.
// With the 10 s signing lease, a request approved when a process died is signed again
// within about 12 s of the crash (plus its signing time), inside the contract's 30 s.
const resumeEvery = 2 * time.Second

// Workers lists the periodic jobs: expiring pending requests on time even when nobody
// reads them, resuming approvals a stopped process left (signer.ResumeApproved), and
// queueing webhooks owed by requests that ended while a process stopped.
func (s *Service) Workers() []Worker {
	return []Worker{
		{Name: "expiry sweep", Interval: time.Second, Run: s.Requests.ExpireDue},
		{Name: "resume sweep", Interval: resumeEvery, Run: s.Requests.ResumeApproved},
		{Name: "webhook sweep", Interval: 10 * time.Second, Run: s.queueOwedWebhooks},
	}
}

// Daemons lists the long-running loops: webhook delivery from the outbox, public block
// requests, retention, the push channels, and PostgreSQL notifications between replicas.
func (s *Service) Daemons() []Daemon {
	d := []Daemon{
		{Name: "webhooks", Run: s.Webhooks.Run},
		{Name: "public blocks", Run: s.Accounts.RunPublicBlocks},
		{Name: "retention", Run: s.retention.Loop},
	}
	if s.Push != nil {
		d = append(d, Daemon{Name: "push gateway", Run: s.Push.Run})
	}
	if s.WebPush != nil {
		d = append(d, Daemon{Name: "web push", Run: s.WebPush.Run})
	}
	if u := s.Cfg.DatabaseURL; u != "" {
		d = append(d, Daemon{Name: "postgres listen", Run: func(ctx context.Context) { notify.ListenPostgres(ctx, u, s.Hub, s.Log) }})
	}
	return d
}

// RunWorkers runs the daemons and the workers until ctx ends, and returns once they all
// stopped.
func (s *Service) RunWorkers(ctx context.Context, log interface{ Warn(string, ...any) }) {
	ctx = pdf.WithLimits(ctx, s.pdfLimits)
	var wg sync.WaitGroup
	for _, d := range s.Daemons() {
		wg.Go(func() { d.Run(ctx) })
	}
	for _, w := range s.Workers() {
		wg.Go(func() { runWorker(ctx, w, log) })
	}
	wg.Wait()
}

// runWorker runs w at start and then every w.Interval until ctx ends.
func runWorker(ctx context.Context, w Worker, log interface{ Warn(string, ...any) }) {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		if err := w.Run(ctx); err != nil && ctx.Err() == nil {
			log.Warn(w.Name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// queueOwedWebhooks queues the callbacks of requests that ended while the process was
// stopping (state changed, webhook not yet queued). Ten seconds of grace leave the normal
// path its time; the delivery then still comes within the contract's 30 seconds.
func (s *Service) queueOwedWebhooks(ctx context.Context) error {
	owed, err := s.Store.OwedWebhooks(ctx, time.Now().Add(-10*time.Second), 100)
	if err != nil {
		return err
	}
	for _, o := range owed {
		if err := s.Webhooks.Enqueue(ctx, o.IntegratorID, o.RequestID, o.URL, o.Status); err != nil {
			return err
		}
	}
	return nil
}

// PDFLimits converts the configured PDF limits (zero fields take pdf's defaults).
func PDFLimits(l config.PDFLimits) pdf.Limits {
	return pdf.Limits{Objects: l.Objects, Revisions: l.Revisions, StreamBytes: l.StreamBytes,
		DecodedBytes: l.DecodedBytes, CacheBytes: l.CacheBytes, ObjectReads: l.ObjectReads, Elements: l.Elements}
}

// validationTempDir returns the folder of the data directory that holds validation
// bodies while they are validated (documents stay with the service's data, not in a
// shared /tmp), created if needed. Files older than an hour there were left by a crash
// (a validation lasts seconds) and are removed.
func validationTempDir(dataDir string) (string, error) {
	dir := filepath.Join(dataDir, "validations")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("validation folder: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("validation folder: %w", err)
	}
	for _, de := range entries {
		if fi, err := de.Info(); err == nil && fi.Mode().IsRegular() && time.Since(fi.ModTime()) > time.Hour {
			_ = os.Remove(filepath.Join(dir, de.Name()))
		}
	}
	return dir, nil
}

// sharedBuckets is where the replicas keep their rate-limit buckets together, so that N
// replicas do not allow N times the configured rates: Redis when rateLimits.redisURL is
// set, else PostgreSQL when the store is; nil (each process its own) with SQLite, where
// one process serves.
func (e *Env) sharedBuckets(ctx context.Context) (api.Buckets, error) {
	if u := e.Cfg.RateLimits.RedisURL; u != "" {
		r, err := ratelimit.OpenRedis(ctx, u)
		if err != nil {
			return nil, err
		}
		e.closer = append(e.closer, r.Close)
		return r, nil
	}
	if e.Store.Postgres() {
		return e.Store, nil
	}
	return nil, nil
}
