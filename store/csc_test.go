package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paraphe/paraphe/csc"
)

func TestCSCTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		mk := func(name, kind, req string, exp time.Time) []byte {
			h := sum(name)
			if err := s.CreateToken(ctx, &csc.Token{Hash: h, Kind: kind, ClientID: "c1", RequestID: req, CreatedAt: t0, ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
			return h
		}
		code := mk("code", csc.KindCode, "r1", t0.Add(time.Minute))
		sad1 := mk("sad1", csc.KindSAD, "r1", t0.Add(time.Hour))
		sad2 := mk("sad2", csc.KindSAD, "r2", t0.Add(time.Hour))
		at1 := mk("at1", csc.KindAccess, "r1", t0.Add(time.Hour))
		old := mk("old", csc.KindAccess, "", t0.Add(-48*time.Hour))
		if _, err := s.Token(ctx, code, csc.KindSAD); !errors.Is(err, csc.ErrTokenNotFound) {
			t.Fatalf("a code read as a SAD: %v", err)
		}
		for i, want := range []bool{true, false} {
			if ok, err := s.UseToken(ctx, code, t0); err != nil || ok != want {
				t.Fatalf("use %d: %v %v, want %v", i, ok, err, want)
			}
		}
		if err := s.RevokeToken(ctx, sad2, "another-client", t0); err != nil {
			t.Fatal(err)
		}
		if tok, _ := s.Token(ctx, sad2, csc.KindSAD); tok.RevokedAt != nil {
			t.Fatal("another client revoked a token")
		}
		if err := s.RevokeAuthorizationTokens(ctx, "r1", csc.KindSAD, t0); err != nil {
			t.Fatal(err)
		}
		if tok, _ := s.Token(ctx, sad1, csc.KindSAD); tok.RevokedAt == nil {
			t.Fatal("the authorization's SAD is not revoked")
		}
		if tok, _ := s.Token(ctx, sad2, csc.KindSAD); tok.RevokedAt != nil {
			t.Fatal("another authorization's SAD was revoked")
		}
		if tok, _ := s.Token(ctx, at1, csc.KindAccess); tok.RevokedAt != nil {
			t.Fatal("revoking the SADs revoked an access token")
		}
		if err := s.RevokeAuthorizationTokens(ctx, "r1", csc.KindAccess, t0); err != nil {
			t.Fatal(err)
		}
		if tok, _ := s.Token(ctx, at1, csc.KindAccess); tok.RevokedAt == nil {
			t.Fatal("the authorization's access token is not revoked")
		}
		if n, err := s.DeleteExpiredTokens(ctx, t0.Add(-24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("delete expired: %d %v", n, err)
		}
		if _, err := s.Token(ctx, old, csc.KindAccess); !errors.Is(err, csc.ErrTokenNotFound) {
			t.Fatalf("expired token kept: %v", err)
		}
		if _, err := s.CertificateOwner(ctx, "abcdef"); !errors.Is(err, csc.ErrTokenNotFound) {
			t.Fatalf("unknown certificate: %v", err)
		}
	})
}
