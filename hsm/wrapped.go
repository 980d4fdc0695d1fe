package hsm

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/miekg/pkcs11"
)

// KeyStorage says where users' signing keys are kept.
type KeyStorage string

// Key storages. StorageToken keeps each key as a token object (the default); StorageWrapped
// keeps only a blob outside the token, the key wrapped under a token key (see
// CreateSigningKey), so that the token holds the same few objects whatever the number of
// users: real HSMs hold a few thousand keys, and SoftHSM's object search is linear.
const (
	StorageToken   KeyStorage = "token"
	StorageWrapped KeyStorage = "wrapped"
)

// Validate reports whether s is a known storage ("" means StorageToken).
func (s KeyStorage) Validate() error {
	switch s {
	case "", StorageToken, StorageWrapped:
		return nil
	}
	return fmt.Errorf("hsm: key storage must be %q or %q, got %q", StorageToken, StorageWrapped, s)
}

// WrapKeyLabel names the AES key-encryption key that wraps users' keys: a token object,
// sensitive and never extractable, usable for wrapping and unwrapping only.
const WrapKeyLabel = "paraphe-wrap-kek"

// wrapKeyLen is the length of the key-encryption key: AES-256.
const wrapKeyLen = 32

// wrappedRefTag starts the bytes of a wrapped key's reference. Label references are
// printable, so a control byte tells the two forms apart (see KeyRef).
const wrappedRefTag = 0x01

// maxWrappedRef bounds a wrapped reference: an RSA-4096 key wrapped in PKCS#8 is under
// 3 KiB, its public key under 600 bytes; 16 KiB rejects a corrupt column before any
// parsing or HSM call.
const maxWrappedRef = 16 << 10

// Wrapped reports whether r refers to a wrapped key (kept outside the token) rather than
// to a token object: what `paraphe keys migrate` looks for.
func (r KeyRef) Wrapped() bool { return len(r) > 0 && r[0] == wrappedRefTag }

// wrappedKey is the content of a wrapped key's reference, DER-encoded after the tag.
type wrappedKey struct {
	Type   string // KeyType
	KEK    string // label of the key-encryption key
	Public []byte // PKIX SubjectPublicKeyInfo
	Blob   []byte // the private key, CKM_AES_KEY_WRAP_PAD under the KEK
}

func (w wrappedKey) ref() (KeyRef, error) {
	der, err := asn1.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("hsm: encode wrapped key: %w", err)
	}
	return append(KeyRef{wrappedRefTag}, der...), nil
}

// parseWrapped decodes a wrapped reference; ok is false when r is not of that form.
func parseWrapped(r KeyRef) (w wrappedKey, pub any, ok bool, err error) {
	if len(r) == 0 || r[0] != wrappedRefTag {
		return w, nil, false, nil
	}
	if len(r) > maxWrappedRef {
		return w, nil, true, ErrBadKeyRef
	}
	rest, err := asn1.Unmarshal(r[1:], &w)
	if err != nil || len(rest) != 0 || len(w.Blob) == 0 || w.KEK == "" {
		return w, nil, true, ErrBadKeyRef
	}
	if pub, err = x509.ParsePKIXPublicKey(w.Public); err != nil {
		return w, nil, true, fmt.Errorf("%w: public key: %w", ErrBadKeyRef, err)
	}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
	case *rsa.PublicKey:
		if p.N.BitLen() < minRSABits {
			return w, nil, true, fmt.Errorf("%w: RSA key of %d bits", ErrBadKeyRef, p.N.BitLen())
		}
	default:
		return w, nil, true, fmt.Errorf("%w: public key %T", ErrBadKeyRef, pub)
	}
	return w, pub, true, nil
}

// wrapMech is CKM_AES_KEY_WRAP_PAD (RFC 5649): AES key wrap with padding, which takes a
// PKCS#8 private key of any length and detects any change to the blob on unwrapping.
func wrapMech() []*pkcs11.Mechanism {
	return []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_WRAP_PAD, nil)}
}

// EnsureWrapKey creates, unless it exists, the AES-256 key-encryption key of wrapped key
// storage (WrapKeyLabel). It is marked CKA_TRUSTED where the module lets this user do so,
// and the keys it wraps are then CKA_WRAP_WITH_TRUSTED: no other key can export them.
// It is idempotent.
func (t *Token) EnsureWrapKey(ctx context.Context) error {
	return t.withSession(ctx, func(h pkcs11.SessionHandle) error {
		_, _, err := t.wrapKey(h)
		return err
	})
}

// wrapKey returns the handle of the key-encryption key, creating it the first time, and
// whether it is trusted.
func (t *Token) wrapKey(h pkcs11.SessionHandle) (pkcs11.ObjectHandle, bool, error) {
	t.cacheMu.RLock()
	k, ok := t.secrets[WrapKeyLabel]
	trusted := t.kekTrusted
	t.cacheMu.RUnlock()
	if ok {
		return k, trusted, nil
	}
	t.objMu.Lock()
	defer t.objMu.Unlock()
	objs, err := t.findObjects(h, secretKeyTemplate(WrapKeyLabel), 2)
	if err != nil {
		return 0, false, err
	}
	switch len(objs) {
	case 0:
		if k, err = t.createWrapKey(h); err != nil {
			return 0, false, err
		}
	case 1:
		k = objs[0]
	default:
		return 0, false, fmt.Errorf("%w: label %q", ErrAmbiguousKey, WrapKeyLabel)
	}
	a, err := t.attributes(h, k, pkcs11.CKA_TRUSTED)
	trusted = err == nil && len(a[pkcs11.CKA_TRUSTED]) == 1 && a[pkcs11.CKA_TRUSTED][0] == 1
	t.cacheMu.Lock()
	if t.secrets == nil {
		t.secrets = map[string]pkcs11.ObjectHandle{}
	}
	t.secrets[WrapKeyLabel] = k
	t.kekTrusted = trusted
	t.cacheMu.Unlock()
	return k, trusted, nil
}

func (t *Token) createWrapKey(h pkcs11.SessionHandle) (pkcs11.ObjectHandle, error) {
	id := make([]byte, idLen)
	if _, err := rand.Read(id); err != nil {
		return 0, fmt.Errorf("hsm: wrap key: %w", err)
	}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_AES),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, wrapKeyLen),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_WRAP, true),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, true),
		pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false),
		pkcs11.NewAttribute(pkcs11.CKA_VERIFY, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, WrapKeyLabel),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_AES_KEY_GEN, nil)}
	// Only the security officer may set CKA_TRUSTED on most modules (SoftHSM among them);
	// the user then gets an untrusted key-encryption key, still never extractable.
	k, err := t.p.GenerateKey(h, mech, append(tmpl, pkcs11.NewAttribute(pkcs11.CKA_TRUSTED, true)))
	if err != nil {
		k, err = t.p.GenerateKey(h, mech, tmpl)
	}
	if err != nil {
		return 0, fmt.Errorf("hsm: C_GenerateKey (wrap key): %w", err)
	}
	return k, nil
}

// createWrapped generates a key pair as session objects, wraps the private half under the
// key-encryption key, and destroys both: only the reference (type, public key, blob) is
// left, outside the token.
func (t *Token) createWrapped(ctx context.Context, req CreateKeyRequest) (CreatedKey, error) {
	id := make([]byte, idLen)
	if _, err := rand.Read(id); err != nil {
		return CreatedKey{}, fmt.Errorf("hsm: create wrapped key: %w", err)
	}
	var out CreatedKey
	err := t.withSession(ctx, func(h pkcs11.SessionHandle) error {
		kek, trusted, err := t.wrapKey(h)
		if err != nil {
			return err
		}
		pubT, privT, mech, err := keyPairTemplates(req.Type, req.Name, id, false)
		if err != nil {
			return err
		}
		// Extractable only so that the token can wrap it; with a trusted KEK, only
		// trusted keys may wrap it.
		privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true))
		if trusted {
			privT = append(privT, pkcs11.NewAttribute(pkcs11.CKA_WRAP_WITH_TRUSTED, true))
		}
		pubH, privH, err := t.p.GenerateKeyPair(h, []*pkcs11.Mechanism{pkcs11.NewMechanism(mech, nil)}, pubT, privT)
		if err != nil {
			return fmt.Errorf("hsm: C_GenerateKeyPair: %w", err)
		}
		defer func() {
			_ = t.p.DestroyObject(h, privH)
			_ = t.p.DestroyObject(h, pubH)
		}()
		k, err := t.loadKey(h, req.Name, privH, pubH)
		if err != nil {
			return err
		}
		blob, err := t.p.WrapKey(h, wrapMech(), kek, privH)
		if err != nil {
			return fmt.Errorf("hsm: C_WrapKey: %w", err)
		}
		spki, err := x509.MarshalPKIXPublicKey(k.pub)
		if err != nil {
			return fmt.Errorf("hsm: create wrapped key: %w", err)
		}
		ref, err := wrappedKey{Type: string(k.typ), KEK: WrapKeyLabel, Public: spki, Blob: blob}.ref()
		if err != nil {
			return err
		}
		out = CreatedKey{Ref: ref, Public: k.pub}
		return nil
	})
	return out, err
}

// wrappedSigner returns the Key of a wrapped reference: its private half is unwrapped
// into the token for each signature only (see signWrapped).
func (t *Token) wrappedSigner(w wrappedKey, pub any, ref KeyRef) (*Key, error) {
	typ := KeyType(w.Type)
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if typ != ECP256 || p.Curve != curves[0].curve {
			return nil, fmt.Errorf("%w: key type %q", ErrBadKeyRef, w.Type)
		}
	case *rsa.PublicKey:
		typ = KeyType(fmt.Sprintf("RSA-%d", p.N.BitLen()))
	}
	if w.KEK != WrapKeyLabel {
		return nil, fmt.Errorf("%w: unknown wrapping key %q", ErrBadKeyRef, w.KEK)
	}
	return &Key{tok: t, label: ref.String(), typ: typ, pub: pub, wrapped: &w}, nil
}

// signWrapped unwraps the key as a session object (not on the token, private, sensitive,
// not extractable, for signing only), signs input with it, and destroys it.
func (k *Key) signWrapped(ctx context.Context, mech *pkcs11.Mechanism, input []byte) ([]byte, error) {
	t := k.tok
	var sig []byte
	err := t.withSession(ctx, func(h pkcs11.SessionHandle) error {
		kek, _, err := t.wrapKey(h)
		if err != nil {
			return err
		}
		keyType := uint(pkcs11.CKK_EC)
		if _, ok := k.pub.(*rsa.PublicKey); ok {
			keyType = pkcs11.CKK_RSA
		}
		tmpl := []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, keyType),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
			pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
			pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
			pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		}
		priv, err := t.p.UnwrapKey(h, wrapMech(), kek, k.wrapped.Blob, tmpl)
		if isRV(err, pkcs11.CKR_KEY_HANDLE_INVALID) || isRV(err, pkcs11.CKR_UNWRAPPING_KEY_HANDLE_INVALID) || isRV(err, pkcs11.CKR_OBJECT_HANDLE_INVALID) {
			t.forget(WrapKeyLabel)
			if kek, _, err = t.wrapKey(h); err != nil {
				return err
			}
			priv, err = t.p.UnwrapKey(h, wrapMech(), kek, k.wrapped.Blob, tmpl)
		}
		if err != nil {
			return fmt.Errorf("hsm: C_UnwrapKey: %w", err)
		}
		defer func() { _ = t.p.DestroyObject(h, priv) }()
		if err := t.p.SignInit(h, []*pkcs11.Mechanism{mech}, priv); err != nil {
			return fmt.Errorf("hsm: C_SignInit: %w", err)
		}
		if sig, err = t.p.Sign(h, input); err != nil {
			return fmt.Errorf("hsm: C_Sign: %w", err)
		}
		return nil
	})
	return sig, err
}
