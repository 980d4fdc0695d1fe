package app

import (
	"context"
	"crypto/x509"
	"net/http"
	"time"

	"github.com/paraphe/paraphe/api"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/notify"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/store"
)

// Service is the assembled HTTP service and the workers behind it.
type Service struct {
	Handler  http.Handler
	Requests *signer.Service
	Hub      *notify.Hub
}

// NewService opens the HSM and the CA if needed and builds the HTTP handler.
func (e *Env) NewService(ctx context.Context) (*Service, error) {
	if err := e.WithCA(ctx); err != nil {
		return nil, err
	}
	cfg := e.Cfg
	hub := notify.NewHub()
	devices := e.Devices()
	requests := signer.New(signer.Deps{
		Store: e.Store, Ids: e.Store, Keys: e.Keys, Approvals: devices, Audit: e.Audit, Notify: hub,
		Chain: e.CA.Chain(), Log: e.Log,
	}, signer.Config{
		DefaultTTL: time.Duration(cfg.Requests.DefaultExpiry), MaxTTL: time.Duration(cfg.Requests.MaxExpiry),
		IconChoices: cfg.Requests.IconChoices, MaxPending: cfg.Requests.MaxPending,
	})
	h, err := api.New(api.Deps{
		Integrators: e.Integrators(), Requests: requests, Devices: devices,
		PKI: pki{a: e.CA, st: e.Store}, Waiter: hub,
		Ready:          map[string]api.Checker{"database": e.Store, "hsm": e.Token},
		Log:            e.Log,
		Limits:         api.Limits{JSONBody: cfg.Limits.JSONBody},
		TrustedProxies: cfg.TrustedProxies,
	})
	if err != nil {
		return nil, err
	}
	return &Service{Handler: h, Requests: requests, Hub: hub}, nil
}

// RunWorkers does the service's own periodic work until ctx ends: expiring pending
// requests on time even when nobody reads them.
func (s *Service) RunWorkers(ctx context.Context, log interface{ Warn(string, ...any) }) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Requests.ExpireDue(ctx); err != nil && ctx.Err() == nil {
				log.Warn("expiry sweep", "err", err)
			}
		}
	}
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
