package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/paraphe/paraphe/app"
	"github.com/paraphe/paraphe/hsm"
)

func cmdServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c common
	c.register(fs)
	listen := fs.String("listen", "", "listen address (default 127.0.0.1:8080)")
	demo := fs.Bool("demo", false, "serve the integrator's demo page at /demo")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate (chain)")
	tlsKey := fs.String("tls-key", "", "the PEM private key of --tls-cert")
	behind := fs.Bool("behind-tls-proxy", false, "plain HTTP behind a TLS-terminating proxy (X-Forwarded-Proto believed from trustedProxies)")
	keyStorage := fs.String("key-storage", "", "where new users' signing keys are kept: token or wrapped (default: the config's keyStorage, token)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error()}
	}
	if err := wantArgs(pos, 0, "serve [--listen ADDR] [--data DIR] [--tls-cert FILE --tls-key FILE | --behind-tls-proxy] [--demo] [--key-storage token|wrapped]"); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *demo {
		cfg.Demo = true
	}
	if *keyStorage != "" {
		cfg.KeyStorage = hsm.KeyStorage(*keyStorage)
		if err := cfg.KeyStorage.Validate(); err != nil {
			return usageError{err.Error()}
		}
	}
	if *tlsCert != "" || *tlsKey != "" {
		cfg.TLS.CertFile, cfg.TLS.KeyFile = *tlsCert, *tlsKey
	}
	if *behind {
		cfg.BehindTLSProxy = true
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := cfg.CheckListen(); err != nil {
		return err
	}
	var tlsConf *tls.Config
	if cfg.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("serve: TLS certificate: %w", err)
		}
		// TLS 1.2 and up; HTTP/2 is offered through ALPN.
		tlsConf = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	}
	log := app.NewLogger(cfg.LogLevel)
	_, statErr := os.Stat(cfg.DataDir)
	firstStart := errors.Is(statErr, os.ErrNotExist)

	svc, err := app.Build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer svc.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler: svc.Handler,
		// Slow clients may not hold connections open: headers within 10 s; bodies (PDFs up
		// to the upload limit) and answers within 2 minutes; long polls stay below that.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsConf,
	}
	var wg sync.WaitGroup
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() { svc.RunWorkers(bg, log) })

	errc := make(chan error, 2)
	var msrv *http.Server
	if cfg.Metrics.Listen != "" {
		// Metrics on an address of their own (for the operator's scraper only).
		mln, err := net.Listen("tcp", cfg.Metrics.Listen)
		if err != nil {
			stopBG()
			wg.Wait()
			return fmt.Errorf("metrics listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", svc.MetricsHandler)
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
		go func() { errc <- msrv.Serve(mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	log.Info("paraphe listening", "addr", ln.Addr().String(), "tls", tlsConf != nil, "behindTLSProxy", cfg.BehindTLSProxy,
		"data", cfg.DataDir, "postgres", svc.Store.Postgres(), "development", cfg.IsDevelopment())
	if cfg.IsDevelopment() {
		// Said out loud: the embedded SoftHSM2 token makes a development server unless
		// the configuration says otherwise (config.IsDevelopment).
		log.Warn("development mode: loopback callback URLs accepted, /metrics public without a token; "+
			"not for production (set development: false, or configure a real HSM module)",
			"loopbackCallbacks", cfg.LoopbackCallbacks(), "publicMetrics", cfg.PublicMetrics())
	}
	printNextSteps(cfg.DataDir, scheme+"://"+ln.Addr().String(), firstStart)

	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Shutdown(sctx)
		if msrv != nil {
			_ = msrv.Shutdown(sctx)
		}
		cancel()
	}
	if msrv != nil {
		_ = msrv.Close()
	}
	srv.Close()
	stopBG()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
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
