package hsm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/pkcs11"

	"github.com/paraphe/paraphe/internal/testenv"
)

func TestConfigValidate(t *testing.T) {
	good := Config{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "paraphe", PINFile: "/run/secrets/pin"}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{"ok", func(*Config) {}, ""},
		{"ok with sessions", func(c *Config) { c.Sessions = MaxSessions }, ""},
		{"no module", func(c *Config) { c.Module = "" }, "module is required"},
		{"no token label", func(c *Config) { c.TokenLabel = "" }, "tokenLabel is required"},
		{"long token label", func(c *Config) { c.TokenLabel = strings.Repeat("x", 33) }, "tokenLabel is 33 bytes"},
		{"no pin file", func(c *Config) { c.PINFile = "" }, "pinFile is required"},
		{"negative sessions", func(c *Config) { c.Sessions = -1 }, "sessions must be"},
		{"too many sessions", func(c *Config) { c.Sessions = MaxSessions + 1 }, "sessions must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	if got := (Config{}).sessions(); got != DefaultSessions {
		t.Errorf("default sessions = %d, want %d", got, DefaultSessions)
	}
}

func TestReadPIN(t *testing.T) {
	tests := []struct {
		name, content, want string
		wantErr             bool
	}{
		{"newline", "1234\n", "1234", false},
		{"crlf", "1234\r\n", "1234", false},
		{"bare", "1234", "1234", false},
		{"only one newline trimmed", "1234\n\n", "1234\n", false},
		{"inner space kept", " 12 34\n", " 12 34", false},
		{"empty", "\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "pin")
			if err := os.WriteFile(p, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readPIN(p)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("readPIN = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := readPIN(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("readPIN of a missing file succeeded")
	}
}

// hashOf returns the digest of msg with h.
func hashOf(h crypto.Hash, msg string) []byte {
	w := h.New()
	w.Write([]byte(msg))
	return w.Sum(nil)
}

// verify checks sig with the standard library.
func verify(t *testing.T, pub crypto.PublicKey, digest, sig []byte, opts crypto.SignerOpts) {
	t.Helper()
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			t.Fatal("ECDSA signature does not verify")
		}
	case *rsa.PublicKey:
		if pss, ok := opts.(*rsa.PSSOptions); ok {
			// Verify with the exact salt length the signer promised.
			want := &rsa.PSSOptions{SaltLength: pss.SaltLength, Hash: pss.Hash}
			if want.SaltLength == rsa.PSSSaltLengthAuto {
				want.SaltLength = pss.Hash.Size()
			}
			if err := rsa.VerifyPSS(pub, opts.HashFunc(), digest, sig, want); err != nil {
				t.Fatalf("PSS signature does not verify: %v", err)
			}
			return
		}
		if err := rsa.VerifyPKCS1v15(pub, opts.HashFunc(), digest, sig); err != nil {
			t.Fatalf("PKCS#1 v1.5 signature does not verify: %v", err)
		}
	default:
		t.Fatalf("unexpected public key %T", pub)
	}
}

func TestGenerateAndSign(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()
	ec, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "ec"), Type: ECP256})
	if err != nil {
		t.Fatalf("GenerateKey EC: %v", err)
	}
	rsaKey, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "rsa"), Type: RSA3072})
	if err != nil {
		t.Fatalf("GenerateKey RSA: %v", err)
	}
	if pub, ok := ec.Public().(*ecdsa.PublicKey); !ok || pub.Curve.Params().Name != "P-256" {
		t.Fatalf("EC public key = %T %v", ec.Public(), ec.Public())
	}
	if pub, ok := rsaKey.Public().(*rsa.PublicKey); !ok || pub.N.BitLen() != 3072 || pub.E != 65537 {
		t.Fatalf("RSA public key = %T", rsaKey.Public())
	}
	if ec.Type() != ECP256 || rsaKey.Type() != RSA3072 {
		t.Fatalf("types = %q, %q", ec.Type(), rsaKey.Type())
	}

	tests := []struct {
		name string
		key  *Key
		opts crypto.SignerOpts
	}{
		{"ecdsa sha256", ec, crypto.SHA256},
		{"ecdsa sha384", ec, crypto.SHA384},
		{"ecdsa sha512", ec, crypto.SHA512},
		{"rsa pkcs1 sha256", rsaKey, crypto.SHA256},
		{"rsa pkcs1 sha384", rsaKey, crypto.SHA384},
		{"rsa pkcs1 sha512", rsaKey, crypto.SHA512},
		{"rsa pss sha256 equals hash", rsaKey, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}},
		{"rsa pss sha384 auto", rsaKey, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: crypto.SHA384}},
		{"rsa pss sha512 salt 20", rsaKey, &rsa.PSSOptions{SaltLength: 20, Hash: crypto.SHA512}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			digest := hashOf(tt.opts.HashFunc(), "document "+tt.name)
			sig, err := tt.key.SignContext(ctx, digest, tt.opts)
			if err != nil {
				t.Fatalf("SignContext: %v", err)
			}
			verify(t, tt.key.Public(), digest, sig, tt.opts)
			// The signature must not verify another digest.
			other := hashOf(tt.opts.HashFunc(), "another document")
			if _, ok := tt.key.Public().(*ecdsa.PublicKey); ok {
				if ecdsa.VerifyASN1(tt.key.Public().(*ecdsa.PublicKey), other, sig) {
					t.Fatal("signature verifies another digest")
				}
			}
			// crypto.Signer path.
			sig2, err := tt.key.Sign(nil, digest, tt.opts)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			verify(t, tt.key.Public(), digest, sig2, tt.opts)
		})
	}

	bad := []struct {
		name    string
		key     *Key
		digest  []byte
		opts    crypto.SignerOpts
		wantErr string
	}{
		{"short digest", ec, make([]byte, 31), crypto.SHA256, "digest is 31 bytes"},
		{"long digest", rsaKey, make([]byte, 48), crypto.SHA256, "digest is 48 bytes"},
		{"sha1", rsaKey, make([]byte, 20), crypto.SHA1, "unsupported hash"},
		{"no hash", ec, make([]byte, 32), crypto.Hash(0), "unsupported hash"},
		{"nil opts", ec, make([]byte, 32), nil, "nil SignerOpts"},
		{"pss on ecdsa", ec, make([]byte, 32), &rsa.PSSOptions{Hash: crypto.SHA256}, "PSS options"},
		{"negative salt", rsaKey, make([]byte, 32), &rsa.PSSOptions{Hash: crypto.SHA256, SaltLength: -7}, "salt length"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.key.SignContext(ctx, tt.digest, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("SignContext = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// boolAttr decodes a CK_BBOOL.
func boolAttr(t *testing.T, b []byte) bool {
	t.Helper()
	if len(b) != 1 {
		t.Fatalf("CK_BBOOL of %d bytes", len(b))
	}
	return b[0] != 0
}

func TestKeyAttributes(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()
	tests := []struct {
		typ    KeyType
		secret uint // an attribute holding private key material
	}{
		{ECP256, pkcs11.CKA_VALUE},
		{RSA3072, pkcs11.CKA_PRIVATE_EXPONENT},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			label := uniqueLabel(t, "attr")
			key, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: tt.typ})
			if err != nil {
				t.Fatal(err)
			}
			err = tok.withSession(ctx, func(h pkcs11.SessionHandle) error {
				priv, err := tok.findOne(h, privateKeyTemplate(label), label)
				if err != nil {
					return err
				}
				a, err := tok.attributes(h, priv, pkcs11.CKA_TOKEN, pkcs11.CKA_PRIVATE, pkcs11.CKA_SENSITIVE,
					pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_SIGN, pkcs11.CKA_DECRYPT, pkcs11.CKA_ALWAYS_SENSITIVE,
					pkcs11.CKA_NEVER_EXTRACTABLE, pkcs11.CKA_LABEL, pkcs11.CKA_ID)
				if err != nil {
					return err
				}
				want := map[uint]bool{
					pkcs11.CKA_TOKEN: true, pkcs11.CKA_PRIVATE: true, pkcs11.CKA_SENSITIVE: true,
					pkcs11.CKA_EXTRACTABLE: false, pkcs11.CKA_SIGN: true, pkcs11.CKA_DECRYPT: false,
					pkcs11.CKA_ALWAYS_SENSITIVE: true, pkcs11.CKA_NEVER_EXTRACTABLE: true,
				}
				for typ, w := range want {
					if got := boolAttr(t, a[typ]); got != w {
						t.Errorf("attribute %#x = %v, want %v", typ, got, w)
					}
				}
				if string(a[pkcs11.CKA_LABEL]) != label {
					t.Errorf("private CKA_LABEL = %q", a[pkcs11.CKA_LABEL])
				}
				if len(a[pkcs11.CKA_ID]) != idLen || !bytes.Equal(a[pkcs11.CKA_ID], key.id) {
					t.Errorf("private CKA_ID = %x, key id %x", a[pkcs11.CKA_ID], key.id)
				}
				// The private key material cannot be read.
				_, err = tok.attributes(h, priv, tt.secret)
				if !isRV(err, pkcs11.CKR_ATTRIBUTE_SENSITIVE) {
					t.Errorf("reading private material: err = %v, want CKR_ATTRIBUTE_SENSITIVE", err)
				}
				// The public half shares label and id.
				pubs, err := tok.findObjects(h, publicKeyTemplate(key.id), 0)
				if err != nil {
					return err
				}
				if len(pubs) != 1 {
					t.Fatalf("%d public keys with the id, want 1", len(pubs))
				}
				pa, err := tok.attributes(h, pubs[0], pkcs11.CKA_LABEL, pkcs11.CKA_TOKEN)
				if err != nil {
					return err
				}
				if string(pa[pkcs11.CKA_LABEL]) != label || !boolAttr(t, pa[pkcs11.CKA_TOKEN]) {
					t.Errorf("public key label %q token %v", pa[pkcs11.CKA_LABEL], pa[pkcs11.CKA_TOKEN])
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: "x", Type: "EC-P192"}); err == nil {
		t.Error("GenerateKey with an unsupported type succeeded")
	}
	if _, err := tok.GenerateKey(ctx, GenerateKeyRequest{Type: ECP256}); err == nil {
		t.Error("GenerateKey with an empty label succeeded")
	}
}

// rawGenerate creates an EC key pair labelled label without the existence
// check of GenerateKey, to build ambiguous tokens.
func rawGenerate(t *testing.T, tok *Token, label string) {
	t.Helper()
	err := tok.withSession(context.Background(), func(h pkcs11.SessionHandle) error {
		id := []byte(label + time.Now().String())
		_, _, err := tok.p.GenerateKeyPair(h,
			[]*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_EC_KEY_PAIR_GEN, nil)},
			[]*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
				pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, curves[0].params),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
				pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			},
			[]*pkcs11.Attribute{
				pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
				pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
				pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
				pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFindKey(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()

	label := uniqueLabel(t, "find")
	gen, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: ECP256})
	if err != nil {
		t.Fatal(err)
	}
	ambiguous := uniqueLabel(t, "twice")
	rawGenerate(t, tok, ambiguous)
	rawGenerate(t, tok, ambiguous)

	tests := []struct {
		name    string
		label   string
		wantErr error
	}{
		{"found", label, nil},
		{"not found", uniqueLabel(t, "missing"), ErrKeyNotFound},
		{"ambiguous", ambiguous, ErrAmbiguousKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := tok.FindKey(ctx, tt.label)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("FindKey = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if key.Label() != label || !key.Public().(*ecdsa.PublicKey).Equal(gen.Public()) || !bytes.Equal(key.id, gen.id) {
				t.Fatal("FindKey returned another key than GenerateKey made")
			}
			digest := hashOf(crypto.SHA256, "x")
			sig, err := key.SignContext(ctx, digest, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			verify(t, gen.Public(), digest, sig, crypto.SHA256)
		})
	}

	if _, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: RSA3072}); !errors.Is(err, ErrKeyExists) {
		t.Errorf("GenerateKey on an existing label = %v, want ErrKeyExists", err)
	}
	if err := tok.DeleteKey(ctx, ambiguous); !errors.Is(err, ErrAmbiguousKey) {
		t.Errorf("DeleteKey ambiguous = %v, want ErrAmbiguousKey", err)
	}
}

func TestDeleteKey(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()
	for _, typ := range []KeyType{ECP256, RSA3072} {
		t.Run(string(typ), func(t *testing.T) {
			label := uniqueLabel(t, "del")
			key, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: typ})
			if err != nil {
				t.Fatal(err)
			}
			if err := tok.DeleteKey(ctx, label); err != nil {
				t.Fatalf("DeleteKey: %v", err)
			}
			if _, err := tok.FindKey(ctx, label); !errors.Is(err, ErrKeyNotFound) {
				t.Fatalf("FindKey after delete = %v, want ErrKeyNotFound", err)
			}
			err = tok.withSession(ctx, func(h pkcs11.SessionHandle) error {
				objs, err := tok.findObjects(h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ID, key.id)}, 0)
				if len(objs) != 0 {
					t.Errorf("%d objects left with the key's CKA_ID", len(objs))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := key.SignContext(ctx, hashOf(crypto.SHA256, "x"), crypto.SHA256); !errors.Is(err, ErrKeyNotFound) {
				t.Fatalf("signing with a deleted key = %v, want ErrKeyNotFound", err)
			}
			if err := tok.DeleteKey(ctx, label); !errors.Is(err, ErrKeyNotFound) {
				t.Fatalf("second DeleteKey = %v, want ErrKeyNotFound", err)
			}
			// The label can be used again.
			if _, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: typ}); err != nil {
				t.Fatalf("GenerateKey after delete: %v", err)
			}
		})
	}
}

// A Key whose label now names another key (deleted and generated again)
// must refuse to sign rather than sign with the new key.
func TestKeyReplacedUnderSameLabel(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()
	label := uniqueLabel(t, "replaced")
	old, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: ECP256})
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.DeleteKey(ctx, label); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: ECP256}); err != nil {
		t.Fatal(err)
	}
	sig, err := old.SignContext(ctx, hashOf(crypto.SHA256, "x"), crypto.SHA256)
	if err == nil || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("SignContext with a replaced key = %x, %v; want a 'replaced' error", sig, err)
	}
}

func TestHMAC(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()
	l1, l2 := uniqueLabel(t, "hmac1"), uniqueLabel(t, "hmac2")
	for _, l := range []string{l1, l1, l2} { // l1 twice: idempotent
		if err := tok.EnsureHMACKey(ctx, l); err != nil {
			t.Fatalf("EnsureHMACKey(%s): %v", l, err)
		}
	}
	err := tok.withSession(ctx, func(h pkcs11.SessionHandle) error {
		objs, err := tok.findObjects(h, secretKeyTemplate(l1), 0)
		if err != nil {
			return err
		}
		if len(objs) != 1 {
			t.Fatalf("%d secret keys labelled %s, want 1", len(objs), l1)
		}
		a, err := tok.attributes(h, objs[0], pkcs11.CKA_SENSITIVE, pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_PRIVATE,
			pkcs11.CKA_TOKEN, pkcs11.CKA_SIGN, pkcs11.CKA_VERIFY, pkcs11.CKA_VALUE_LEN, pkcs11.CKA_KEY_TYPE)
		if err != nil {
			return err
		}
		for typ, w := range map[uint]bool{pkcs11.CKA_SENSITIVE: true, pkcs11.CKA_EXTRACTABLE: false,
			pkcs11.CKA_PRIVATE: true, pkcs11.CKA_TOKEN: true, pkcs11.CKA_SIGN: true, pkcs11.CKA_VERIFY: true} {
			if got := boolAttr(t, a[typ]); got != w {
				t.Errorf("attribute %#x = %v, want %v", typ, got, w)
			}
		}
		if n, _ := ulong(a[pkcs11.CKA_VALUE_LEN]); n != hmacKeyLen {
			t.Errorf("CKA_VALUE_LEN = %d", n)
		}
		if kt, _ := ulong(a[pkcs11.CKA_KEY_TYPE]); kt != pkcs11.CKK_GENERIC_SECRET {
			t.Errorf("CKA_KEY_TYPE = %#x", kt)
		}
		if _, err := tok.attributes(h, objs[0], pkcs11.CKA_VALUE); !isRV(err, pkcs11.CKR_ATTRIBUTE_SENSITIVE) {
			t.Errorf("reading CKA_VALUE: err = %v, want CKR_ATTRIBUTE_SENSITIVE", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	mac := func(label, data string) []byte {
		t.Helper()
		m, err := tok.HMAC(ctx, label, []byte(data))
		if err != nil {
			t.Fatalf("HMAC: %v", err)
		}
		if len(m) != sha256.Size {
			t.Fatalf("HMAC of %d bytes", len(m))
		}
		return m
	}
	a := mac(l1, "user-1:12345")
	tests := []struct {
		name      string
		label     string
		data      string
		wantEqual bool
	}{
		{"deterministic", l1, "user-1:12345", true},
		{"other data", l1, "user-1:12346", false},
		{"other key", l2, "user-1:12345", false},
		{"empty data", l1, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bytes.Equal(mac(tt.label, tt.data), a); got != tt.wantEqual {
				t.Fatalf("equal = %v, want %v", got, tt.wantEqual)
			}
		})
	}
	// A plain SHA-256 is not what the token computes.
	if sum := sha256.Sum256([]byte("user-1:12345")); bytes.Equal(sum[:], a) {
		t.Error("HMAC equals an unkeyed SHA-256")
	}
	if _, err := tok.HMAC(ctx, uniqueLabel(t, "nokey"), []byte("x")); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("HMAC with a missing key = %v, want ErrKeyNotFound", err)
	}
	if err := tok.EnsureHMACKey(ctx, ""); err == nil {
		t.Error("EnsureHMACKey with an empty label succeeded")
	}
}

func TestConcurrentSign(t *testing.T) {
	tok := openToken(t, 3)
	ctx := context.Background()
	ec, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "ec"), Type: ECP256})
	if err != nil {
		t.Fatal(err)
	}
	rk, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "rsa"), Type: RSA3072})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			key := ec
			if i%5 == 0 {
				key = rk
			}
			digest := hashOf(crypto.SHA256, strings.Repeat("a", i))
			sig, err := key.SignContext(ctx, digest, crypto.SHA256)
			if err != nil {
				errs <- err
				return
			}
			switch pub := key.Public().(type) {
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(pub, digest, sig) {
					errs <- errors.New("bad ECDSA signature")
				}
			case *rsa.PublicKey:
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig); err != nil {
					errs <- err
				}
			}
			if i%10 == 0 {
				if _, err := tok.HMAC(ctx, "absent", nil); !errors.Is(err, ErrKeyNotFound) {
					errs <- err
				}
				if err := tok.Ping(ctx); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(tok.pool); got != 3 {
		t.Errorf("%d sessions back in the pool, want 3", got)
	}
}

func TestPoolExhausted(t *testing.T) {
	tok := openToken(t, 1)
	ctx := context.Background()
	key, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "ec"), Type: ECP256})
	if err != nil {
		t.Fatal(err)
	}
	s, err := tok.acquire(ctx) // take the only session
	if err != nil {
		t.Fatal(err)
	}

	deadline, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := key.SignContext(deadline, hashOf(crypto.SHA256, "x"), crypto.SHA256); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SignContext with an exhausted pool = %v, want DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waited %v", waited)
	}

	cancelled, cancel2 := context.WithCancel(ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel2() }()
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"ping", tok.Ping},
		{"find", func(ctx context.Context) error { _, err := tok.FindKey(ctx, key.Label()); return err }},
		{"hmac", func(ctx context.Context) error { _, err := tok.HMAC(ctx, "k", nil); return err }},
		{"generate", func(ctx context.Context) error {
			_, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: "never", Type: ECP256})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(cancelled); !errors.Is(err, context.Canceled) {
				t.Fatalf("= %v, want context.Canceled", err)
			}
		})
	}

	tok.releaseSession(s, nil)
	if _, err := key.SignContext(ctx, hashOf(crypto.SHA256, "x"), crypto.SHA256); err != nil {
		t.Fatalf("SignContext after the session came back: %v", err)
	}
}

func TestReopen(t *testing.T) {
	if skipReason != "" {
		testenv.Missing(t, "%s", skipReason)
	}
	ctx := context.Background()
	tok, err := Open(ctx, testCfg)
	if err != nil {
		t.Fatal(err)
	}
	label := uniqueLabel(t, "persist")
	key, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: ECP256})
	if err != nil {
		t.Fatal(err)
	}
	hmacLabel := uniqueLabel(t, "hmac")
	if err := tok.EnsureHMACKey(ctx, hmacLabel); err != nil {
		t.Fatal(err)
	}
	mac1, err := tok.HMAC(ctx, hmacLabel, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := tok.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	registry.mu.Lock()
	loaded := len(registry.mods)
	registry.mu.Unlock()
	if loaded != 0 {
		t.Fatalf("%d modules still loaded after the last Close", loaded)
	}
	if _, err := tok.FindKey(ctx, label); !errors.Is(err, ErrClosed) {
		t.Errorf("FindKey after Close = %v, want ErrClosed", err)
	}
	if _, err := key.SignContext(ctx, hashOf(crypto.SHA256, "x"), crypto.SHA256); !errors.Is(err, ErrClosed) {
		t.Errorf("Sign after Close = %v, want ErrClosed", err)
	}
	if err := tok.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}

	tok2 := openToken(t, 0)
	if err := tok2.Ping(ctx); err != nil {
		t.Fatalf("Ping after reopen: %v", err)
	}
	again, err := tok2.FindKey(ctx, label)
	if err != nil {
		t.Fatalf("FindKey after reopen: %v", err)
	}
	if !again.Public().(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Fatal("key changed across reopen")
	}
	digest := hashOf(crypto.SHA256, "after reopen")
	sig, err := again.SignContext(ctx, digest, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, key.Public(), digest, sig, crypto.SHA256)
	mac2, err := tok2.HMAC(ctx, hmacLabel, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mac1, mac2) {
		t.Error("HMAC key changed across reopen")
	}

	// Two Tokens at once share one module; closing one leaves the other working.
	tok3, err := Open(ctx, testCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok3.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tok2.Ping(ctx); err != nil {
		t.Fatalf("Ping after closing a sibling Token: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if skipReason != "" {
		testenv.Missing(t, "%s", skipReason)
	}
	dir := t.TempDir()
	wrongPIN := filepath.Join(dir, "wrong.pin")
	if err := os.WriteFile(wrongPIN, []byte("00000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
		is      error
	}{
		{"invalid config", func(c *Config) { c.TokenLabel = "" }, "tokenLabel is required", nil},
		{"missing pin file", func(c *Config) { c.PINFile = filepath.Join(dir, "none") }, "reading pin file", nil},
		{"missing module", func(c *Config) { c.Module = filepath.Join(dir, "libnone.so") }, "cannot load", nil},
		{"unknown token", func(c *Config) { c.TokenLabel = "no-such-token" }, "", ErrTokenNotFound},
		{"wrong pin", func(c *Config) { c.PINFile = wrongPIN }, "CKR_PIN_INCORRECT", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testCfg
			tt.edit(&cfg)
			tok, err := Open(context.Background(), cfg)
			if err == nil {
				tok.Close()
				t.Fatal("Open succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("Open = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Open = %v, want error containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "00000000") {
				t.Fatal("error message contains the PIN")
			}
			registry.mu.Lock()
			defer registry.mu.Unlock()
			if len(registry.mods) != 0 {
				t.Fatal("a failed Open left the module loaded")
			}
		})
	}
}

// flaky closes the session behind the pool's back on the first C_Sign, as a
// network HSM fail-over would, and reports the error the module then gives.
type flaky struct {
	pkctx
	mu    sync.Mutex
	fired bool
}

func (f *flaky) Sign(sh pkcs11.SessionHandle, msg []byte) ([]byte, error) {
	f.mu.Lock()
	fire := !f.fired
	f.fired = true
	f.mu.Unlock()
	if fire {
		if err := f.pkctx.CloseSession(sh); err != nil {
			return nil, err
		}
		return nil, pkcs11.Error(pkcs11.CKR_SESSION_HANDLE_INVALID)
	}
	return f.pkctx.Sign(sh, msg)
}

func TestBrokenSessionIsReopened(t *testing.T) {
	tok := openToken(t, 1)
	ctx := context.Background()
	key, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "ec"), Type: ECP256})
	if err != nil {
		t.Fatal(err)
	}
	tok.p = &flaky{pkctx: tok.p}
	digest := hashOf(crypto.SHA256, "x")
	// The lost session is closed, a new one opened and logged in, and the signature
	// made on it: the caller sees nothing.
	sig, err := key.SignContext(ctx, digest, crypto.SHA256)
	if err != nil {
		t.Fatalf("SignContext when the session is lost: %v", err)
	}
	verify(t, key.Public(), digest, sig, crypto.SHA256)
	if err := tok.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// unplugged makes the token go away and come back, as a USB HSM pulled out or a network
// HSM restarted: while away, calls on sessions fail with CKR_DEVICE_REMOVED and new
// sessions with CKR_TOKEN_NOT_PRESENT; once back, the sessions of before are dead
// (CKR_SESSION_HANDLE_INVALID) and only new ones work.
type unplugged struct {
	pkctx
	mu     sync.Mutex
	away   bool
	live   map[pkcs11.SessionHandle]bool // sessions opened since the token is back
	opens  int
	logins int
}

func (u *unplugged) set(away bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.away = away
	if away {
		u.live = map[pkcs11.SessionHandle]bool{}
	}
}

// check returns the error a call on sh gets now.
func (u *unplugged) check(sh pkcs11.SessionHandle) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case u.away:
		return pkcs11.Error(pkcs11.CKR_DEVICE_REMOVED)
	case u.live != nil && !u.live[sh]:
		return pkcs11.Error(pkcs11.CKR_SESSION_HANDLE_INVALID)
	}
	return nil
}

func (u *unplugged) OpenSession(slot, flags uint) (pkcs11.SessionHandle, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.away {
		return 0, pkcs11.Error(pkcs11.CKR_TOKEN_NOT_PRESENT)
	}
	h, err := u.pkctx.OpenSession(slot, flags)
	if err == nil {
		u.opens++
		if u.live != nil {
			u.live[h] = true
		}
	}
	return h, err
}

func (u *unplugged) Login(sh pkcs11.SessionHandle, userType uint, pin string) error {
	u.mu.Lock()
	u.logins++
	u.mu.Unlock()
	return u.pkctx.Login(sh, userType, pin)
}

func (u *unplugged) SignInit(sh pkcs11.SessionHandle, m []*pkcs11.Mechanism, o pkcs11.ObjectHandle) error {
	if err := u.check(sh); err != nil {
		return err
	}
	return u.pkctx.SignInit(sh, m, o)
}

func (u *unplugged) GetSessionInfo(sh pkcs11.SessionHandle) (pkcs11.SessionInfo, error) {
	if err := u.check(sh); err != nil {
		return pkcs11.SessionInfo{}, err
	}
	return u.pkctx.GetSessionInfo(sh)
}

// TestTokenLostAndBack: while the token is away signatures fail and Ping (readiness)
// says so; once it is back, the sessions are opened and logged in again without
// reopening the Token, and signing works at the first try.
func TestTokenLostAndBack(t *testing.T) {
	tok := openToken(t, 2)
	ctx := context.Background()
	key, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "ec"), Type: ECP256})
	if err != nil {
		t.Fatal(err)
	}
	u := &unplugged{pkctx: tok.p}
	tok.p = u
	digest := hashOf(crypto.SHA256, "unplugged")
	u.set(true)
	if _, err := key.SignContext(ctx, digest, crypto.SHA256); err == nil {
		t.Fatal("signed while the token was away")
	}
	if err := tok.Ping(ctx); err == nil {
		t.Fatal("Ping says ready while the token is away")
	}
	u.set(false)
	for i := range 4 { // more signatures than sessions: every session of before is replaced
		sig, err := key.SignContext(ctx, digest, crypto.SHA256)
		if err != nil {
			t.Fatalf("signature %d after the token came back: %v", i, err)
		}
		verify(t, key.Public(), digest, sig, crypto.SHA256)
	}
	if err := tok.Ping(ctx); err != nil {
		t.Fatalf("Ping after the token came back: %v", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.opens < 2 || u.logins < 2 {
		t.Errorf("%d sessions opened and %d logins after the token came back, want both sessions reopened and logged in", u.opens, u.logins)
	}
}
