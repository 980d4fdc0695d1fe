package cades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestBatchSameAsSign: with a deterministic signature (RSA PKCS#1 v1.5), a Batch gives
// byte for byte what Sign gives for each digest; with ECDSA the result parses and
// verifies the same way. Signing from many goroutines at once is what the engine does.
func TestBatchSameAsSign(t *testing.T) {
	p := getPKI(t)
	at := time.Date(2031, 5, 17, 10, 11, 12, 0, time.UTC)
	for _, kc := range []keyCase{keyCases[0], keyCases[3], keyCases[5]} {
		for _, h := range hashCases {
			t.Run(fmt.Sprintf("%s/%v", kc.name, h), func(t *testing.T) {
				key := mustKey(t, kc.key)
				cert := p.signerCert(key.Public())
				stub := &tsaStub{p: p}
				req := SignRequest{Hash: h, Signer: key, Certificate: cert, Chain: []*x509.Certificate{p.caCert, cert},
					SigningTime: at, RSAPSS: kc.pss}
				b, err := NewBatch(req)
				if err != nil {
					t.Fatal(err)
				}
				digests := make([][]byte, 16)
				out := make([][]byte, len(digests))
				var wg sync.WaitGroup
				for i := range digests {
					digests[i] = digestOf(h, []byte(fmt.Sprint("document ", i)))
					wg.Go(func() {
						var err error
						if out[i], err = b.Sign(context.Background(), digests[i]); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				for i, d := range digests {
					one := req
					one.Digest = d
					want, err := Sign(context.Background(), one)
					if err != nil {
						t.Fatal(err)
					}
					if kc.key != "P-256" && !kc.pss && !bytes.Equal(out[i], want) {
						t.Fatalf("digest %d: batch and Sign differ", i)
					}
					sd, err := Parse(out[i])
					if err != nil {
						t.Fatal(err)
					}
					checkRoundTrip(t, sd, cert, p.caCert, h, d, at)
					if _, err := sd.Verify(d); err != nil {
						t.Fatalf("digest %d: %v", i, err)
					}
				}
				// With a time-stamping authority every signature gets its token.
				req.Timestamper = stub
				if b, err = NewBatch(req); err != nil {
					t.Fatal(err)
				}
				cms, err := b.Sign(context.Background(), digests[0])
				if err != nil {
					t.Fatal(err)
				}
				if sd, err := Parse(cms); err != nil || len(sd.Signers[0].SignatureTimestamps) != 1 {
					t.Fatalf("B-T batch signature: %v", err)
				}
			})
		}
	}
}

// selfChecking is a signer that says it checks its signatures, and lies: the batch then
// trusts it, which is why only signers that really do (hsm.Key) may say so.
type selfChecking struct {
	crypto.Signer
	checks bool
}

func (s selfChecking) VerifiesSignatures() bool { return s.checks }

func TestBatchChecksSignatures(t *testing.T) {
	p := getPKI(t)
	key := mustKey(t, "P-256")
	cert := p.signerCert(key.Public())
	d := digestOf(crypto.SHA256, []byte("x"))
	tests := []struct {
		name    string
		checks  bool
		wantErr bool
	}{{"signer does not check: the batch does", false, true}, {"signer checks: the batch trusts it", true, false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := selfChecking{Signer: badSigner{key}, checks: tt.checks}
			b, err := NewBatch(SignRequest{Hash: crypto.SHA256, Signer: bad, Certificate: cert})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Sign(context.Background(), d); (err != nil) != tt.wantErr {
				t.Fatalf("Sign = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	b, err := NewBatch(SignRequest{Hash: crypto.SHA256, Signer: key, Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sign(context.Background(), d[:20]); err == nil {
		t.Fatal("a short digest was signed")
	}
	if _, err := NewBatch(SignRequest{Hash: crypto.SHA256, Signer: mustKey(t, "P-384"), Certificate: cert}); err == nil {
		t.Fatal("a batch with another key than the certificate's")
	}
}
