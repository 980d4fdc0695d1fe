package hsm

import (
	"context"
	"crypto"
	"errors"
	"io"
	"time"
)

// Keys adapts a Token to the small interfaces the packages that use keys declare: the
// CA's keys by label (FindKey, GenerateKey), the device service's user keys and HMACs
// (NewSigningKey, DestroySigningKey, HMAC), the engine's signing keys by reference
// (SigningKey), the audit log's seals (Sealer). It hands out crypto.Signer values, the
// standard library's contract for a key kept in a hardware module, rather than *Key.
// Keys is safe for concurrent use.
type Keys struct {
	t   *Token
	cfg KeysConfig
	// observe, when set, receives the duration and outcome of every signature made with
	// a key that SigningKey returns (see Observed).
	observe func(time.Duration, error)
}

// KeysConfig says what kind of key NewSigningKey makes for a user.
type KeysConfig struct {
	// UserKeyType is the type of users' signing keys: ECP256 or RSA3072.
	UserKeyType KeyType
	// Storage is where users' new keys are kept: StorageToken or StorageWrapped.
	Storage KeyStorage
}

// NewKeys returns the adapter of t.
func NewKeys(t *Token, cfg KeysConfig) *Keys { return &Keys{t: t, cfg: cfg} }

// Token returns the token the keys live in.
func (k *Keys) Token() *Token { return k.t }

// Observed returns a copy of k whose signing keys (SigningKey) report the duration and
// the outcome of each signature to observe (the HSM signing-time metric).
func (k *Keys) Observed(observe func(d time.Duration, err error)) *Keys {
	c := *k
	c.observe = observe
	return &c
}

// FindKey opens a key by label.
func (k *Keys) FindKey(ctx context.Context, label string) (crypto.Signer, error) {
	key, err := k.t.FindKey(ctx, label)
	if err != nil {
		return nil, err
	}
	return key, nil
}

// GenerateKey creates an EC P-256 key under label (CA, OCSP, TSA, checkpoint and VAPID
// keys).
func (k *Keys) GenerateKey(ctx context.Context, label string) (crypto.Signer, error) {
	key, err := k.t.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: ECP256})
	if err != nil {
		return nil, err
	}
	return key, nil
}

// FindOrGenerateKey opens the EC P-256 key of label, generating it when the token has
// none.
func (k *Keys) FindOrGenerateKey(ctx context.Context, label string) (crypto.Signer, error) {
	key, err := k.t.FindKey(ctx, label)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, ErrKeyNotFound) {
		return nil, err
	}
	return k.GenerateKey(ctx, label)
}

// SigningKey opens a user's signing key by the reference CreateSigningKey handed back.
func (k *Keys) SigningKey(ctx context.Context, ref KeyRef) (crypto.Signer, error) {
	key, err := k.t.Signer(ctx, ref)
	if err != nil {
		return nil, err
	}
	if k.observe != nil {
		return observedSigner{key, k.observe}, nil
	}
	return key, nil
}

// NewSigningKey creates a user's signing key named name, of the configured type and
// storage, and returns the reference to keep for it.
func (k *Keys) NewSigningKey(ctx context.Context, name string) (KeyRef, crypto.PublicKey, error) {
	c, err := k.t.CreateSigningKey(ctx, CreateKeyRequest{Name: name, Type: k.cfg.UserKeyType, Storage: k.cfg.Storage})
	if err != nil {
		return nil, nil, err
	}
	return c.Ref, c.Public, nil
}

// DestroySigningKey destroys a user's signing key.
func (k *Keys) DestroySigningKey(ctx context.Context, ref KeyRef) error {
	return k.t.DestroySigningKey(ctx, ref)
}

// DeleteKey destroys the key of label.
func (k *Keys) DeleteKey(ctx context.Context, label string) error {
	return k.t.DeleteKey(ctx, label)
}

// HMAC computes an HMAC-SHA256 with the secret key of label, inside the token.
func (k *Keys) HMAC(ctx context.Context, label string, data []byte) ([]byte, error) {
	return k.t.HMAC(ctx, label, data)
}

// Sealer returns what seals data with the secret key of label (an HMAC-SHA256 made
// inside the token): the audit log's seals.
func (k *Keys) Sealer(label string) Sealer { return Sealer{t: k.t, label: label} }

// Sealer seals data with an HMAC of one secret key of the token.
type Sealer struct {
	t     *Token
	label string
}

// Seal returns the HMAC-SHA256 of data under the sealer's key.
func (s Sealer) Seal(ctx context.Context, data []byte) ([]byte, error) {
	return s.t.HMAC(ctx, s.label, data)
}

// observedSigner reports each signature's duration and outcome.
type observedSigner struct {
	*Key
	observe func(time.Duration, error)
}

// Sign signs as Key.Sign does, and reports the signature.
func (o observedSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.SignContext(context.Background(), digest, opts)
}

// SignContext signs as Key.SignContext does (bounded wait for a session), and reports
// the signature.
func (o observedSigner) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	start := time.Now()
	sig, err := o.Key.SignContext(ctx, digest, opts)
	o.observe(time.Since(start), err)
	return sig, err
}

// Batch returns the key's signer for one batch (see BatchSigner), reporting each
// signature.
func (o observedSigner) Batch() crypto.Signer {
	return observedBatch{&BatchSigner{k: o.Key}, o.observe}
}

// observedBatch is a BatchSigner that reports each signature's duration and outcome.
type observedBatch struct {
	*BatchSigner
	observe func(time.Duration, error)
}

// Sign signs as BatchSigner.Sign does, and reports the signature.
func (o observedBatch) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return o.SignContext(context.Background(), digest, opts)
}

// SignContext signs as BatchSigner.SignContext does, and reports the signature.
func (o observedBatch) SignContext(ctx context.Context, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	start := time.Now()
	sig, err := o.BatchSigner.SignContext(ctx, digest, opts)
	o.observe(time.Since(start), err)
	return sig, err
}

// NewWrappedSigningKey creates a user's signing key named name, of the configured type,
// wrapped whatever the configured storage (key migration, EnsureWrapKey first).
func (k *Keys) NewWrappedSigningKey(ctx context.Context, name string) (KeyRef, crypto.PublicKey, error) {
	c, err := k.t.CreateSigningKey(ctx, CreateKeyRequest{Name: name, Type: k.cfg.UserKeyType, Storage: StorageWrapped})
	if err != nil {
		return nil, nil, err
	}
	return c.Ref, c.Public, nil
}

// EnsureWrapKey creates, unless it exists, the key-encryption key of wrapped keys (see
// Token.EnsureWrapKey).
func (k *Keys) EnsureWrapKey(ctx context.Context) error { return k.t.EnsureWrapKey(ctx) }
