package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/miekg/pkcs11"
)

// countObjects counts the token objects the user sees.
func countObjects(t *testing.T, tok *Token) int {
	t.Helper()
	var n int
	err := tok.withSession(context.Background(), func(h pkcs11.SessionHandle) error {
		objs, err := tok.findObjects(h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true)}, 0)
		n = len(objs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWrappedKeys(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()
	if err := tok.EnsureWrapKey(ctx); err != nil {
		t.Fatalf("EnsureWrapKey: %v", err)
	}
	before := countObjects(t, tok)
	t.Logf("key-encryption key trusted (keys CKA_WRAP_WITH_TRUSTED): %v", tok.kekTrusted)
	for _, typ := range []KeyType{ECP256, RSA3072} {
		t.Run(string(typ), func(t *testing.T) {
			c, err := tok.CreateSigningKey(ctx, CreateKeyRequest{Name: uniqueLabel(t, "wrapped"), Type: typ, Storage: StorageWrapped})
			if err != nil {
				t.Fatalf("CreateSigningKey: %v", err)
			}
			if n := countObjects(t, tok); n != before {
				t.Errorf("token objects %d → %d; a wrapped key must leave none", before, n)
			}
			if _, err := x509.ParsePKCS8PrivateKey(c.Ref); err == nil {
				t.Fatal("the reference parses as a private key")
			}
			key, err := tok.Signer(ctx, c.Ref)
			if err != nil {
				t.Fatalf("Signer: %v", err)
			}
			if key.Type() != typ || !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(c.Public) {
				t.Fatalf("Signer: type %s, public key differs from the one created", key.Type())
			}
			d := sha256.Sum256([]byte("wrapped " + string(typ)))
			for range 3 {
				sig, err := key.SignContext(ctx, d[:], crypto.SHA256)
				if err != nil {
					t.Fatalf("sign: %v", err)
				}
				switch pub := c.Public.(type) {
				case *ecdsa.PublicKey:
					if !ecdsa.VerifyASN1(pub, d[:], sig) {
						t.Fatal("ECDSA signature does not verify")
					}
				case *rsa.PublicKey:
					if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
						t.Fatal(err)
					}
				}
			}
			if n := countObjects(t, tok); n != before {
				t.Errorf("token objects %d → %d after signing; the unwrapped key must be destroyed", before, n)
			}
			// A changed blob does not unwrap (RFC 5649 integrity check).
			w, pub, _, _ := parseWrapped(c.Ref)
			w.Blob = append([]byte(nil), w.Blob...)
			w.Blob[len(w.Blob)/2] ^= 1
			bad, _ := w.ref()
			if k, err := tok.wrappedSigner(w, pub, bad); err != nil {
				t.Fatal(err)
			} else if _, err := k.SignContext(ctx, d[:], crypto.SHA256); err == nil {
				t.Error("a tampered blob signed")
			}
			if err := tok.DestroySigningKey(ctx, c.Ref); err != nil {
				t.Errorf("DestroySigningKey: %v", err)
			}
		})
	}
}

func TestWrappedRefMalformed(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()
	good, err := tok.CreateSigningKey(ctx, CreateKeyRequest{Name: uniqueLabel(t, "wrapped"), Type: ECP256, Storage: StorageWrapped})
	if err != nil {
		t.Fatal(err)
	}
	w, _, _, _ := parseWrapped(good.Ref)
	otherKEK := w
	otherKEK.KEK = "someone-else"
	noBlob := w
	noBlob.Blob = nil
	mk := func(w wrappedKey) KeyRef { r, _ := w.ref(); return r }
	tests := []struct {
		name string
		ref  KeyRef
	}{
		{"tag only", KeyRef{wrappedRefTag}},
		{"not DER", KeyRef{wrappedRefTag, 0x30, 0x03, 0x01}},
		{"trailing bytes", append(append(KeyRef{}, good.Ref...), 0)},
		{"no blob", mk(noBlob)},
		{"unknown wrapping key", mk(otherKEK)},
		{"too long", append(KeyRef{wrappedRefTag}, make([]byte, maxWrappedRef)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tok.Signer(ctx, tt.ref); !errors.Is(err, ErrBadKeyRef) {
				t.Errorf("Signer = %v, want ErrBadKeyRef", err)
			}
		})
	}
	if _, err := tok.CreateSigningKey(ctx, CreateKeyRequest{Name: "x", Type: ECP256, Storage: "cloud"}); err == nil {
		t.Error("unknown storage accepted")
	}
}

// FuzzParseWrapped: a reference read from the database never panics the parser.
func FuzzParseWrapped(f *testing.F) {
	f.Add([]byte{wrappedRefTag})
	f.Add([]byte("paraphe-user-1"))
	f.Add([]byte{wrappedRefTag, 0x30, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _, _ = parseWrapped(KeyRef(b))
	})
}
