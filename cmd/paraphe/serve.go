package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/paraphe/paraphe/api"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/notify"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/store"
)

func cmdServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c common
	c.register(fs)
	listen := fs.String("listen", "", "listen address (default 127.0.0.1:8080)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "serve [--listen ADDR] [--data DIR]"); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	log := newLogger(cfg.LogLevel)
	_, statErr := os.Stat(cfg.DataDir)
	firstStart := errors.Is(statErr, os.ErrNotExist)

	e, err := openEnv(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.withCA(ctx); err != nil {
		return err
	}
	hub := notify.NewHub()
	devices := e.devices()
	requests := signer.New(signer.Deps{
		Store: e.store, Ids: e.store, Keys: e.keys, Approvals: devices, Audit: e.audit, Notify: hub,
		Chain: e.ca.Chain(), Log: log,
	}, signer.Config{
		DefaultTTL: time.Duration(cfg.Requests.DefaultExpiry), MaxTTL: time.Duration(cfg.Requests.MaxExpiry),
		IconChoices: cfg.Requests.IconChoices, MaxPending: cfg.Requests.MaxPending,
	})
	handler, err := api.New(api.Deps{
		Integrators: e.integrators(), Requests: requests, Devices: devices,
		PKI: pki{a: e.ca, st: e.store}, Waiter: hub,
		Ready:          map[string]api.Checker{"database": e.store, "hsm": e.token},
		Log:            log,
		Limits:         api.Limits{JSONBody: cfg.Limits.JSONBody},
		TrustedProxies: cfg.TrustedProxies,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler: handler,
		// Slow clients may not hold connections open: headers within 10 s; bodies (PDFs up
		// to the upload limit) and answers within 2 minutes; long polls stay below that.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() { sweep(bg, requests, log) })

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("paraphe listening", "addr", ln.Addr().String(), "data", cfg.DataDir, "postgres", e.store.Postgres())
	printNextSteps(cfg.DataDir, "http://"+ln.Addr().String(), firstStart)

	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopBG()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// sweep expires pending requests on time even when nobody reads them.
func sweep(ctx context.Context, s *signer.Service, log interface{ Warn(string, ...any) }) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.ExpireDue(ctx); err != nil && ctx.Err() == nil {
				log.Warn("expiry sweep", "err", err)
			}
		}
	}
}

func printNextSteps(dataDir, url string, first bool) {
	state := "reusing the data in"
	if first {
		state = "created a new SoftHSM token, development CA and database in"
	}
	fmt.Fprintf(os.Stdout, `Paraphe is running at %s (%s %s).

Next, in another terminal:
  bin/paraphe integrators add --data %s "My HR platform"      # API key, shown once
  bin/paraphe users add --data %s --given-name Alice --surname Martin \
      --email alice@example.test --phone +32470123456           # activation code
  bin/paraphe-device --state alice.json enroll --server %s --code CODE --pin 71294
Then follow README.md ("Five minutes with Paraphe"). Stop with Ctrl-C.
`, url, state, dataDir, dataDir, dataDir, url)
}

// pki adapts the CA and the store's certificate records to the API.
type pki struct {
	a  *ca.Authority
	st *store.Store
}

func (p pki) Root() *x509.Certificate    { return p.a.Root() }
func (p pki) Issuing() *x509.Certificate { return p.a.Issuing() }
func (p pki) OCSP(ctx context.Context, req []byte) ([]byte, error) {
	return p.a.OCSP(ctx, req, p.st)
}
func (p pki) CRL(ctx context.Context) ([]byte, error)     { return p.a.CRL(ctx, p.st) }
func (p pki) RootCRL(ctx context.Context) ([]byte, error) { return p.a.RootCRL(ctx) }
