// Package app assembles Paraphe's parts (store, HSM token, audit log, development CA,
// built-in TSA, services, HTTP handler) from a configuration, for the server, the
// operator CLI and end-to-end tests. It holds wiring only: the adapters between a
// package's interface and a concrete part live beside the interface or the part.
//
// Parts open in one fixed order, each step needing only the ones before it, and close in
// reverse order:
//
//	store → HSM token (its secret keys, the checkpoint and VAPID keys) → audit log
//	      → CA → built-in TSA (when this server uses it) → domain services → HTTP service
//
// Build opens all of it (paraphe serve, tests, bench). The operator commands take the
// prefix they need: Open (store, token, audit log), OpenCA (and an existing CA),
// BuildDomain (and the domain services). Only Build and InitCA create a missing CA: its
// certificates carry URLs under the base URL the server publishes, which only the
// process that serves (or the operator who names the TLS host) knows.
package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/blob"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/config"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/engine"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/store"
	"github.com/paraphe/paraphe/tsa"
)

// Env is the set of opened parts. Open fills Store, Token, Keys, CheckpointKey,
// VAPIDKey and Audit; OpenCA, InitCA, BuildDomain and Build add CA; Build adds TSA when
// the server uses its built-in TSA. The parts are safe for concurrent use.
type Env struct {
	Cfg   config.Config
	Log   *slog.Logger
	Store *store.Store
	Token *hsm.Token
	Keys  *hsm.Keys
	// CheckpointKey signs audit checkpoints (in the HSM).
	CheckpointKey crypto.Signer
	// VAPIDKey signs Web Push messages (in the HSM); nil when Web Push is disabled.
	VAPIDKey crypto.Signer
	Audit    *audit.Log
	CA       *ca.Authority
	// TSA is the built-in time-stamping authority, nil unless this server uses it.
	TSA     *tsa.Server
	TSACert *x509.Certificate
	closer  []func() error
}

// NewLogger returns a JSON logger on stderr at the given level.
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// ErrNoCA is returned by OpenCA and BuildDomain for a data folder that holds no CA yet.
var ErrNoCA = errors.New("app: no CA in the data folder yet: run paraphe serve once (it creates the CA with the URLs it serves)")

// Open validates the configuration, creates the data folder, and opens the parts every
// command needs, in order: the store, the HSM token (the embedded SoftHSM2 token created
// on first use; its secret keys, the audit checkpoint key and the VAPID key made when
// missing), and the audit log (sealed by the token).
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (*Env, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	st, err := store.Open(ctx, store.Config{URL: cfg.DatabaseURL, SQLitePath: filepath.Join(cfg.DataDir, "paraphe.db")})
	if err != nil {
		return nil, err
	}
	e := &Env{Cfg: cfg, Log: log, Store: st}
	e.closer = append(e.closer, st.Close)
	if err := e.openHSM(ctx); err != nil {
		e.Close()
		return nil, err
	}
	e.Audit = audit.New(audit.Deps{Store: st, Sealer: e.Keys.Sealer(AuditSealLabel)})
	return e, nil
}

// OpenCA is Open followed by the development CA, which must exist (ErrNoCA otherwise):
// for operator commands that issue certificates without serving (keys migrate).
func OpenCA(ctx context.Context, cfg config.Config, log *slog.Logger) (*Env, error) {
	return openWithCA(ctx, cfg, log, false)
}

// InitCA is Open followed by the development CA, created when the data folder has none,
// its URLs under cfg.BaseURL(): for paraphe ca server-cert, which may come before the
// first start, and for Build.
func InitCA(ctx context.Context, cfg config.Config, log *slog.Logger) (*Env, error) {
	return openWithCA(ctx, cfg, log, true)
}

func openWithCA(ctx context.Context, cfg config.Config, log *slog.Logger, create bool) (*Env, error) {
	// Checked before Open creates anything: a command run on the wrong --data must not
	// leave a half-made data folder behind.
	if !create && !ca.Exists(filepath.Join(cfg.DataDir, "ca")) {
		return nil, fmt.Errorf("%w (looked in %s)", ErrNoCA, cfg.DataDir)
	}
	e, err := Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := e.openCA(ctx); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// BuildDomain opens the store, the HSM token, the audit log and the existing CA
// (ErrNoCA when there is none), then builds the domain services: for the operator
// commands that act as the server does (users add, reactivate, block, erase, export,
// evidence). What one process changes, the other hears of through the store (device
// events, the webhook outbox). The built-in TSA is not opened: these commands make no
// time-stamps, and the domain's TSA client asks the configured URLs over HTTP.
func BuildDomain(ctx context.Context, cfg config.Config, log *slog.Logger) (*Domain, error) {
	e, err := OpenCA(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	d, err := e.NewDomain(ctx)
	if err != nil {
		e.Close()
		return nil, err
	}
	return d, nil
}

// Build opens everything paraphe serve runs, in order: the store, the HSM token and its
// keys, the audit log, the CA (created on first start with the URLs of cfg.BaseURL()),
// the built-in TSA (only when this server uses it: no TSA configured, or its own /tsa
// among those configured), the domain services and the HTTP service.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger) (*Service, error) {
	e, err := InitCA(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if e.servesBuiltinTSA() {
		if err := e.openTSA(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	d, err := e.NewDomain(ctx)
	if err != nil {
		e.Close()
		return nil, err
	}
	s, err := newService(ctx, d)
	if err != nil {
		e.Close()
		return nil, err
	}
	return s, nil
}

// Labels of the HSM keys the service keeps beside the CA's and the users'.
const (
	// CheckpointKeyLabel names the HSM key that signs audit checkpoints.
	CheckpointKeyLabel = "paraphe-audit-checkpoint"
	// AuditSealLabel names the HSM secret key that seals audit entries.
	AuditSealLabel = "paraphe-audit-seal"
	// PINKeyLabel names the HSM secret key PIN verifiers come from.
	PINKeyLabel = device.DefaultPINKeyLabel
	// VAPIDKeyLabel names the HSM key that signs Web Push messages (RFC 8292).
	VAPIDKeyLabel = "paraphe-webpush-vapid"
)

// Checkpoint signs the audit log's current head.
func (e *Env) Checkpoint(ctx context.Context) (audit.Checkpoint, error) {
	return e.Audit.NewCheckpoint(ctx, e.CheckpointKey, time.Now())
}

// openHSM opens the token: the configured PKCS#11 module, or the embedded SoftHSM2 token
// under the data folder, created on first use. It makes sure the secret keys (PIN
// verifiers, webhook secrets, audit seals), the key-encryption key (wrapped key
// storage), the checkpoint key and the VAPID key (Web Push enabled) exist.
func (e *Env) openHSM(ctx context.Context) error {
	hc := e.Cfg.HSM
	if hc.Module == "" {
		var err error
		hc, err = hsm.InitSoftHSM(ctx, filepath.Join(e.Cfg.DataDir, "hsm"), "paraphe")
		if err != nil {
			return err
		}
	}
	t, err := hsm.Open(ctx, hc)
	if err != nil {
		return err
	}
	e.Token = t
	e.closer = append(e.closer, t.Close)
	for _, l := range []string{PINKeyLabel, integrator.WebhookKeyLabel, AuditSealLabel} {
		if err := t.EnsureHMACKey(ctx, l); err != nil {
			return err
		}
	}
	e.Keys = hsm.NewKeys(t, hsm.KeysConfig{UserKeyType: e.Cfg.KeyType, Storage: e.Cfg.KeyStorage})
	if e.Cfg.KeyStorage == hsm.StorageWrapped {
		if err := t.EnsureWrapKey(ctx); err != nil {
			return fmt.Errorf("key-encryption key: %w", err)
		}
	}
	if e.CheckpointKey, err = e.Keys.FindOrGenerateKey(ctx, CheckpointKeyLabel); err != nil {
		return fmt.Errorf("audit checkpoint key: %w", err)
	}
	if !e.Cfg.WebPush.Disabled {
		if e.VAPIDKey, err = e.Keys.FindOrGenerateKey(ctx, VAPIDKeyLabel); err != nil {
			return fmt.Errorf("web push key: %w", err)
		}
	}
	return nil
}

// openCA opens (on first use, creates) the development CA.
func (e *Env) openCA(ctx context.Context) error {
	a, err := ca.Open(ctx, filepath.Join(e.Cfg.DataDir, "ca"), e.Keys, ca.Config{
		BaseURL: e.Cfg.BaseURL(), Country: e.Cfg.Country, Logger: e.Log,
		IsKeyNotFound: func(err error) bool { return errors.Is(err, hsm.ErrKeyNotFound) },
	})
	if err != nil {
		return err
	}
	e.CA = a
	return nil
}

// Blobs returns where PDF mode keeps documents (see config.Config.Blobs).
func (e *Env) Blobs() (signer.Blobs, error) {
	backend := e.Cfg.Blobs
	if backend == "" {
		backend = "dir"
		if e.Store.Postgres() {
			backend = "database"
		}
	}
	if backend == "database" {
		return e.Store.Blobs(filepath.Join(e.Cfg.DataDir, "tmp"))
	}
	return blob.NewDir(filepath.Join(e.Cfg.DataDir, "blobs"))
}

// Close closes what was opened, in reverse order.
func (e *Env) Close() {
	for i := len(e.closer) - 1; i >= 0; i-- {
		if err := e.closer[i](); err != nil {
			e.Log.Warn("close", "err", err)
		}
	}
	e.closer = nil
}

// Integrators returns the integrator service, over the parts Open opened.
func (e *Env) Integrators() *integrator.Service {
	return integrator.New(integrator.Deps{Store: e.Store, MAC: e.Keys, Audit: e.Audit})
}

// The token's adapter satisfies the key interfaces of the packages it is given to.
var (
	_ ca.Keys          = (*hsm.Keys)(nil)
	_ device.HSM       = (*hsm.Keys)(nil)
	_ integrator.MACer = (*hsm.Keys)(nil)
	_ engine.Keys      = (*hsm.Keys)(nil)
	_ audit.Sealer     = hsm.Sealer{}
)
