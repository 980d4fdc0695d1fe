package hsm

import (
	"context"
	"crypto"
	"testing"
)

func benchmarkSign(b *testing.B, typ KeyType) {
	tok := openToken(b, DefaultSessions)
	ctx := context.Background()
	key, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(b, "bench"), Type: typ})
	if err != nil {
		b.Fatal(err)
	}
	digest := hashOf(crypto.SHA256, "benchmark")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := key.SignContext(ctx, digest, crypto.SHA256); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSignP256 measures parallel ECDSA P-256 signing through the pool.
func BenchmarkSignP256(b *testing.B) { benchmarkSign(b, ECP256) }

// BenchmarkSignRSA3072 measures parallel RSA-3072 PKCS#1 v1.5 signing.
func BenchmarkSignRSA3072(b *testing.B) { benchmarkSign(b, RSA3072) }
