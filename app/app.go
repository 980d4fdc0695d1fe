// Package app assembles Paraphe's parts (store, HSM token, development CA, services, HTTP
// handler) from a configuration, for the server, the operator CLI and end-to-end tests.
// Parts are opened on demand and closed in reverse order.
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
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/store"
	"github.com/paraphe/paraphe/tsa"
)

// Env is the set of opened parts. It is not safe to open parts concurrently; once
// opened, the parts themselves are safe for concurrent use.
type Env struct {
	Cfg   config.Config
	Log   *slog.Logger
	Store *store.Store
	Audit *audit.Log
	Token *hsm.Token
	Keys  *HSMKeys
	CA    *ca.Authority
	// CheckpointKey signs audit checkpoints (in the HSM).
	CheckpointKey crypto.Signer
	TSA           *tsa.Server
	TSACert       *x509.Certificate
	closer        []func() error
}

// NewLogger returns a JSON logger on stderr at the given level.
func NewLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// Open validates the configuration, creates the data folder and opens the store.
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
	// The audit log is sealed by the HSM, so every process that writes it opens the token.
	if err := e.WithHSM(ctx); err != nil {
		e.Close()
		return nil, err
	}
	e.Audit = audit.New(st, nil).WithSealer(auditSealer{e.Keys})
	return e, nil
}

// CheckpointKeyLabel names the HSM key that signs audit checkpoints.
const CheckpointKeyLabel = "paraphe-audit-checkpoint"

// Checkpoint signs the audit log's current head.
func (e *Env) Checkpoint(ctx context.Context) (audit.Checkpoint, error) {
	return e.Audit.NewCheckpoint(ctx, e.CheckpointKey, time.Now())
}

// AuditSealLabel names the HSM secret key that seals audit entries.
const AuditSealLabel = "paraphe-audit-seal"

// auditSealer seals audit entries with an HMAC inside the HSM.
type auditSealer struct{ k *HSMKeys }

func (s auditSealer) Seal(ctx context.Context, data []byte) ([]byte, error) {
	return s.k.HMAC(ctx, AuditSealLabel, data)
}

// PIN verifiers and webhook secrets come from these HSM secret keys.
const PINKeyLabel = "paraphe-pin-verifier"

// WithHSM opens the token: the configured PKCS#11 module, or the embedded SoftHSM2 token
// under the data folder, created on first use. It makes sure the secret keys exist.
func (e *Env) WithHSM(ctx context.Context) error {
	if e.Token != nil {
		return nil
	}
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
	e.Keys = &HSMKeys{t: t, userKeys: e.Cfg.KeyType, storage: e.Cfg.KeyStorage}
	if e.Cfg.KeyStorage == hsm.StorageWrapped {
		if err := t.EnsureWrapKey(ctx); err != nil {
			return fmt.Errorf("key-encryption key: %w", err)
		}
	}
	key, err := e.Keys.FindKey(ctx, CheckpointKeyLabel)
	if errors.Is(err, hsm.ErrKeyNotFound) {
		key, err = e.Keys.GenerateKey(ctx, CheckpointKeyLabel)
	}
	if err != nil {
		return fmt.Errorf("audit checkpoint key: %w", err)
	}
	e.CheckpointKey = key
	return nil
}

// WithCA opens (on first use, creates) the development CA.
func (e *Env) WithCA(ctx context.Context) error {
	if e.CA != nil {
		return nil
	}
	if err := e.WithHSM(ctx); err != nil {
		return err
	}
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
}

// Integrators returns the integrator service (needs WithHSM).
func (e *Env) Integrators() *integrator.Service {
	return integrator.NewService(e.Store, e.Keys, e.Audit, nil)
}

// Devices returns the device service (enrollment needs WithCA).
func (e *Env) Devices() *device.Service { return e.devices(e.Store) }

func (e *Env) devices(st device.Store) *device.Service {
	var issuer device.Issuer
	if e.CA != nil {
		issuer = e.CA
	}
	return device.NewService(st, e.Keys, issuer, e.Audit, device.Config{PINKeyLabel: PINKeyLabel, Country: e.Cfg.Country}, nil, e.Log)
}

// HSMKeys adapts the token to the small interfaces the domain packages declare.
type HSMKeys struct {
	t        *hsm.Token
	userKeys hsm.KeyType
	storage  hsm.KeyStorage // where new users' keys are kept
}

var (
	_ ca.Keys    = (*HSMKeys)(nil)
	_ device.HSM = (*HSMKeys)(nil)
)

// FindKey opens a key by label.
func (k *HSMKeys) FindKey(ctx context.Context, label string) (crypto.Signer, error) {
	key, err := k.t.FindKey(ctx, label)
	if err != nil {
		return nil, err
	}
	return key, nil
}

// SigningKey opens a user's signing key by the reference the HSM handed back.
func (k *HSMKeys) SigningKey(ctx context.Context, ref hsm.KeyRef) (crypto.Signer, error) {
	key, err := k.t.Signer(ctx, ref)
	if err != nil {
		return nil, err
	}
	return key, nil
}

// GenerateKey creates an EC P-256 key (CA, OCSP and TSA keys).
func (k *HSMKeys) GenerateKey(ctx context.Context, label string) (crypto.Signer, error) {
	key, err := k.t.GenerateKey(ctx, hsm.GenerateKeyRequest{Label: label, Type: hsm.ECP256})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// NewSigningKey creates a user's signing key of the configured type.
func (k *HSMKeys) NewSigningKey(ctx context.Context, name string) (hsm.KeyRef, crypto.PublicKey, error) {
	c, err := k.t.CreateSigningKey(ctx, hsm.CreateKeyRequest{Name: name, Type: k.userKeys, Storage: k.storage})
	if err != nil {
		return nil, nil, err
	}
	return c.Ref, c.Public, nil
}

// DestroySigningKey destroys a user's signing key.
func (k *HSMKeys) DestroySigningKey(ctx context.Context, ref hsm.KeyRef) error {
	return k.t.DestroySigningKey(ctx, ref)
}

// DeleteKey destroys a key.
func (k *HSMKeys) DeleteKey(ctx context.Context, label string) error {
	return k.t.DeleteKey(ctx, label)
}

// HMAC computes an HMAC in the token.
func (k *HSMKeys) HMAC(ctx context.Context, label string, data []byte) ([]byte, error) {
	return k.t.HMAC(ctx, label, data)
}
