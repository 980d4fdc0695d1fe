package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBatchSigner signs a batch on several goroutines with each key type: every
// signature verifies, and the signer says it checks its own signatures.
func TestBatchSigner(t *testing.T) {
	tok := openToken(t, 4)
	ctx := context.Background()
	for _, tt := range []struct {
		typ     KeyType
		storage KeyStorage
		opts    crypto.SignerOpts
		n       int
	}{
		{ECP256, StorageToken, crypto.SHA256, 64},
		{ECP256, StorageToken, crypto.SHA384, 16},
		{ECP256, StorageWrapped, crypto.SHA256, 16},
		{RSA3072, StorageToken, crypto.SHA256, 8},
		{RSA3072, StorageToken, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}, 4},
	} {
		t.Run(fmt.Sprintf("%s %s %v", tt.typ, tt.storage, tt.opts.HashFunc()), func(t *testing.T) {
			c, err := tok.CreateSigningKey(ctx, CreateKeyRequest{Name: uniqueLabel(t, "batch"), Type: tt.typ, Storage: tt.storage})
			if err != nil {
				t.Fatal(err)
			}
			key, err := tok.Signer(ctx, c.Ref)
			if err != nil {
				t.Fatal(err)
			}
			b := key.Batch()
			if v, ok := b.(interface{ VerifiesSignatures() bool }); !ok || !v.VerifiesSignatures() {
				t.Fatal("the batch signer does not say it checks its signatures")
			}
			if pub, ok := b.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(key.Public()) {
				t.Fatal("the batch signer's public key is not the key's")
			}
			sigs := make([][]byte, tt.n)
			errs := make([]error, tt.n)
			var wg sync.WaitGroup
			for i := range tt.n {
				wg.Go(func() {
					sigs[i], errs[i] = b.(*BatchSigner).SignContext(ctx, hashOf(tt.opts.HashFunc(), fmt.Sprint("doc ", i)), tt.opts)
				})
			}
			wg.Wait()
			for i := range tt.n {
				if errs[i] != nil {
					t.Fatalf("signature %d: %v", i, errs[i])
				}
				verify(t, key.Public(), hashOf(tt.opts.HashFunc(), fmt.Sprint("doc ", i)), sigs[i], tt.opts)
			}
		})
	}
}

// TestBatchSignerChecks gives a batch signer a key whose public half is not the one the
// token signs with (a mixed-up key): the first signature of every batch is refused,
// every RSA signature is refused, and of the ECDSA signatures after the first some, not
// all, are verified in full (one in spotCheckOneIn at random: that all of 300 pass
// unchecked has a probability of about 4e-9).
func TestBatchSignerChecks(t *testing.T) {
	tok := openToken(t, 2)
	ctx := context.Background()
	mixed := func(t *testing.T, typ KeyType) *Key {
		a, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "signs"), Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		b, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "claims"), Type: typ})
		if err != nil {
			t.Fatal(err)
		}
		return &Key{tok: tok, label: a.label, id: a.id, typ: a.typ, pub: b.pub, priv: a.priv}
	}
	t.Run("ECDSA", func(t *testing.T) {
		key := mixed(t, ECP256)
		digest := hashOf(crypto.SHA256, "x")
		if _, err := key.SignContext(ctx, digest, crypto.SHA256); err == nil || !strings.Contains(err.Error(), "does not verify") {
			t.Fatalf("single signature with a mixed-up key: %v", err)
		}
		for range 3 {
			if _, err := key.Batch().Sign(nil, digest, crypto.SHA256); err == nil || !strings.Contains(err.Error(), "does not verify") {
				t.Fatalf("first signature of a batch with a mixed-up key: %v", err)
			}
		}
		b := key.Batch()
		_, _ = b.Sign(nil, digest, crypto.SHA256) // the first, refused above
		refused := 0
		const n = 300
		for range n {
			if _, err := b.Sign(nil, digest, crypto.SHA256); err != nil {
				if !strings.Contains(err.Error(), "does not verify") {
					t.Fatal(err)
				}
				refused++
			}
		}
		if refused == 0 || refused == n {
			t.Fatalf("%d of %d later signatures were verified in full; want some, not all", refused, n)
		}
	})
	t.Run("RSA", func(t *testing.T) {
		key := mixed(t, RSA3072)
		b := key.Batch()
		for i := range 3 {
			if _, err := b.Sign(nil, hashOf(crypto.SHA256, "x"), crypto.SHA256); err == nil || !strings.Contains(err.Error(), "does not verify") {
				t.Fatalf("RSA signature %d of a batch with a mixed-up key: %v", i, err)
			}
		}
	})
}

// TestECDSADERRange: the token's r||s output is refused when its length is wrong or r or
// s is outside [1, n-1]; a value in range is encoded.
func TestECDSADERRange(t *testing.T) {
	pub := &ecdsa.PublicKey{Curve: elliptic.P256()}
	n := elliptic.P256().Params().N
	word := func(v *big.Int) []byte { return v.FillBytes(make([]byte, 32)) }
	one, zero := big.NewInt(1), big.NewInt(0)
	nMinus1 := new(big.Int).Sub(n, one)
	for _, tt := range []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"in range", append(word(one), word(nMinus1)...), true},
		{"short", append(word(one), word(one)[1:]...), false},
		{"r zero", append(word(zero), word(one)...), false},
		{"s zero", append(word(one), word(zero)...), false},
		{"r = n", append(word(n), word(one)...), false},
		{"s = n", append(word(one), word(n)...), false},
		{"all ones", append(word(new(big.Int).Lsh(one, 256).Sub(new(big.Int).Lsh(one, 256), one)), word(one)...), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			der, err := ecdsaDER(pub, tt.raw)
			if (err == nil) != tt.ok || (tt.ok && len(der) == 0) {
				t.Fatalf("ecdsaDER = %x, %v; want ok %v", der, err, tt.ok)
			}
		})
	}
}

// TestObservedBatch: a signing key from Keys.Observed keeps reporting each signature
// when it signs a batch, and its batch signer still checks its signatures.
func TestObservedBatch(t *testing.T) {
	tok := openToken(t, 2)
	ctx := context.Background()
	keys := NewKeys(tok, KeysConfig{UserKeyType: ECP256, Storage: StorageToken})
	ref, _, err := keys.NewSigningKey(ctx, uniqueLabel(t, "observed"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := 0
	key, err := keys.Observed(func(_ time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			seen++
		}
	}).SigningKey(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	bk, ok := key.(interface{ Batch() crypto.Signer })
	if !ok {
		t.Fatalf("%T has no batch signer", key)
	}
	b := bk.Batch()
	if v, ok := b.(interface{ VerifiesSignatures() bool }); !ok || !v.VerifiesSignatures() {
		t.Fatalf("%T does not say it checks its signatures", b)
	}
	for i := range 3 {
		d := hashOf(crypto.SHA256, fmt.Sprint("doc ", i))
		sig, err := b.(interface {
			SignContext(context.Context, []byte, crypto.SignerOpts) ([]byte, error)
		}).SignContext(ctx, d, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, key.Public(), d, sig, crypto.SHA256)
	}
	if _, err := b.Sign(nil, hashOf(crypto.SHA256, "x"), crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	if seen != 4 {
		t.Fatalf("%d signatures reported, want 4", seen)
	}
}
