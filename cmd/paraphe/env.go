package main

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/config"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/store"
)

// common holds the flags every command takes.
type common struct {
	data        string
	configFile  string
	databaseURL string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "./data", "data folder (SQLite file, SoftHSM token, CA certificates)")
	fs.StringVar(&c.configFile, "config", "", "YAML configuration file")
	fs.StringVar(&c.databaseURL, "database-url", "", "PostgreSQL URL (postgres://...) instead of the SQLite file")
}

func (c *common) load() (config.Config, error) {
	cfg, err := config.Load(c.configFile, c.data)
	if err != nil {
		return cfg, err
	}
	if c.configFile != "" && c.data != "./data" {
		abs, err := filepath.Abs(c.data)
		if err != nil {
			return cfg, err
		}
		cfg.DataDir = abs
	}
	if c.databaseURL != "" {
		cfg.DatabaseURL = c.databaseURL
	}
	return cfg, nil
}

// env is the set of opened parts a command works with. Parts are opened on demand and
// closed in reverse order.
type env struct {
	cfg    config.Config
	log    *slog.Logger
	store  *store.Store
	audit  *audit.Log
	token  *hsm.Token
	keys   *hsmKeys
	ca     *ca.Authority
	closer []func() error
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

func openEnv(ctx context.Context, cfg config.Config, log *slog.Logger) (*env, error) {
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
	e := &env{cfg: cfg, log: log, store: st}
	e.closer = append(e.closer, st.Close)
	e.audit = audit.New(st, nil)
	return e, nil
}

// PIN verifiers and webhook secrets come from these HSM secret keys.
const pinKeyLabel = "paraphe-pin-verifier"

// withHSM opens the token: the configured PKCS#11 module, or the embedded SoftHSM2 token
// under the data folder, created on first use. It makes sure the secret keys exist.
func (e *env) withHSM(ctx context.Context) error {
	if e.token != nil {
		return nil
	}
	hc := e.cfg.HSM
	if hc.Module == "" {
		var err error
		hc, err = hsm.InitSoftHSM(ctx, filepath.Join(e.cfg.DataDir, "hsm"), "paraphe")
		if err != nil {
			return err
		}
	}
	t, err := hsm.Open(ctx, hc)
	if err != nil {
		return err
	}
	e.token = t
	e.closer = append(e.closer, t.Close)
	for _, l := range []string{pinKeyLabel, integrator.WebhookKeyLabel} {
		if err := t.EnsureHMACKey(ctx, l); err != nil {
			return err
		}
	}
	e.keys = &hsmKeys{t: t, userKeys: e.cfg.KeyType}
	return nil
}

// withCA opens (on first use, creates) the development CA.
func (e *env) withCA(ctx context.Context) error {
	if e.ca != nil {
		return nil
	}
	if err := e.withHSM(ctx); err != nil {
		return err
	}
	a, err := ca.Open(ctx, filepath.Join(e.cfg.DataDir, "ca"), e.keys, ca.Config{
		BaseURL: e.cfg.BaseURL(), Country: e.cfg.Country, Logger: e.log,
		IsKeyNotFound: func(err error) bool { return errors.Is(err, hsm.ErrKeyNotFound) },
	})
	if err != nil {
		return err
	}
	e.ca = a
	return nil
}

func (e *env) close() {
	for i := len(e.closer) - 1; i >= 0; i-- {
		if err := e.closer[i](); err != nil {
			e.log.Warn("close", "err", err)
		}
	}
}

func (e *env) integrators() *integrator.Service {
	return integrator.NewService(e.store, e.keys, e.audit, nil)
}

func (e *env) devices() *device.Service {
	var issuer device.Issuer
	if e.ca != nil {
		issuer = e.ca
	}
	return device.NewService(e.store, e.keys, issuer, e.audit, device.Config{PINKeyLabel: pinKeyLabel, Country: e.cfg.Country}, nil, e.log)
}

// hsmKeys adapts the token to the small interfaces the domain packages declare.
type hsmKeys struct {
	t        *hsm.Token
	userKeys hsm.KeyType
}

var (
	_ ca.Keys    = (*hsmKeys)(nil)
	_ device.HSM = (*hsmKeys)(nil)
)

// FindKey opens a key by label.
func (k *hsmKeys) FindKey(ctx context.Context, label string) (crypto.Signer, error) {
	key, err := k.t.FindKey(ctx, label)
	if err != nil {
		return nil, err
	}
	return key, nil
}

// SigningKey opens a user's signing key by label.
func (k *hsmKeys) SigningKey(ctx context.Context, label string) (crypto.Signer, error) {
	return k.FindKey(ctx, label)
}

// GenerateKey creates an EC P-256 key (CA, OCSP and TSA keys).
func (k *hsmKeys) GenerateKey(ctx context.Context, label string) (crypto.Signer, error) {
	key, err := k.t.GenerateKey(ctx, hsm.GenerateKeyRequest{Label: label, Type: hsm.ECP256})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// NewSigningKey creates a user's signing key of the configured type.
func (k *hsmKeys) NewSigningKey(ctx context.Context, label string) (crypto.PublicKey, error) {
	key, err := k.t.GenerateKey(ctx, hsm.GenerateKeyRequest{Label: label, Type: k.userKeys})
	if err != nil {
		return nil, err
	}
	return key.Public(), nil
}

// DeleteKey destroys a key.
func (k *hsmKeys) DeleteKey(ctx context.Context, label string) error {
	return k.t.DeleteKey(ctx, label)
}

// HMAC computes an HMAC in the token.
func (k *hsmKeys) HMAC(ctx context.Context, label string, data []byte) ([]byte, error) {
	return k.t.HMAC(ctx, label, data)
}

func trimNL(s string) string { return strings.TrimRight(s, "\r\n") }
