package hsm

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
)

// hmacKeyLen is the length of HMAC keys: 32 bytes, the output size of
// SHA-256 (RFC 2104 advises keys no shorter than the output).
const hmacKeyLen = 32

// secretKeyTemplate matches secret keys labelled label.
func secretKeyTemplate(label string) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}
}

// EnsureHMACKey creates, unless one already exists, a 32-byte
// CKK_GENERIC_SECRET key labelled label, usable for CKA_SIGN and CKA_VERIFY
// only, sensitive, not extractable, private and stored on the token. It is
// idempotent.
func (t *Token) EnsureHMACKey(ctx context.Context, label string) error {
	if label == "" {
		return errors.New("hsm: ensure hmac key: empty label")
	}
	id := make([]byte, idLen)
	if _, err := rand.Read(id); err != nil {
		return fmt.Errorf("hsm: ensure hmac key: %w", err)
	}
	t.objMu.Lock()
	defer t.objMu.Unlock()
	return t.withSession(ctx, func(h pkcs11.SessionHandle) error {
		objs, err := t.findObjects(h, secretKeyTemplate(label), 1)
		if err != nil {
			return err
		}
		if len(objs) > 0 {
			return nil
		}
		tmpl := []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, hmacKeyLen),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
			pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
			pkcs11.NewAttribute(pkcs11.CKA_VERIFY, true),
			pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false),
			pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
			pkcs11.NewAttribute(pkcs11.CKA_WRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
			pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
		}
		mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_GENERIC_SECRET_KEY_GEN, nil)}
		if _, err := t.p.GenerateKey(h, mech, tmpl); err != nil {
			return fmt.Errorf("hsm: C_GenerateKey: %w", err)
		}
		return nil
	})
}

// errHandleUnknown stands for "no cached handle yet".
var errHandleUnknown = errors.New("hsm: handle not cached")

// HMAC computes HMAC-SHA256 of data inside the token (CKM_SHA256_HMAC) with
// the secret key labelled label. It returns ErrKeyNotFound or
// ErrAmbiguousKey unless exactly one secret key has that label.
func (t *Token) HMAC(ctx context.Context, label string, data []byte) ([]byte, error) {
	var mac []byte
	err := t.withSession(ctx, func(h pkcs11.SessionHandle) error {
		t.cacheMu.RLock()
		key, cached := t.secrets[label]
		t.cacheMu.RUnlock()
		mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_SHA256_HMAC, nil)}
		err := errHandleUnknown
		if cached {
			err = t.p.SignInit(h, mech, key)
		}
		if errors.Is(err, errHandleUnknown) || isRV(err, pkcs11.CKR_KEY_HANDLE_INVALID) || isRV(err, pkcs11.CKR_OBJECT_HANDLE_INVALID) {
			if key, err = t.findOne(h, secretKeyTemplate(label), label); err != nil {
				t.forget(label)
				return err
			}
			t.cacheMu.Lock()
			if t.secrets == nil {
				t.secrets = map[string]pkcs11.ObjectHandle{}
			}
			t.secrets[label] = key
			t.cacheMu.Unlock()
			err = t.p.SignInit(h, mech, key)
		}
		if err != nil {
			return fmt.Errorf("hsm: C_SignInit: %w", err)
		}
		if mac, err = t.p.Sign(h, data); err != nil {
			return fmt.Errorf("hsm: C_Sign: %w", err)
		}
		if len(mac) != sha256.Size {
			return fmt.Errorf("hsm: hmac of %d bytes, want %d", len(mac), sha256.Size)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return mac, nil
}
