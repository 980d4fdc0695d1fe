package store

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/paraphe/paraphe/ca"
)

func TestCertificates(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		ctx0 := context.Background()
		if got, err := s.Revoked(ctx0); err != nil || len(got) != 0 {
			t.Fatalf("Revoked on an empty store = %v, %v", got, err)
		}
		revoked1 := t0.Add(2 * time.Hour)
		revoked2 := t0.Add(time.Hour)
		rows := []certificateRow{
			{Serial: "1a2b3c", UserID: "u1", DER: []byte("good"), NotBefore: t0, NotAfter: t0.AddDate(3, 0, 0)},
			{Serial: "ff0001", UserID: "u2", DER: []byte("revoked-1"), NotBefore: t0, NotAfter: t0.AddDate(3, 0, 0), RevokedAt: &revoked1, Reason: 1},
			{Serial: "7", UserID: "u3", DER: []byte("revoked-2"), NotBefore: t0, NotAfter: t0.AddDate(3, 0, 0), RevokedAt: &revoked2, Reason: 0},
		}
		for i := range rows {
			if err := s.db.Create(&rows[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name   string
			serial *big.Int
			want   ca.Status
		}{
			{"unknown", big.NewInt(0x1a2b3d), ca.Status{}},
			{"good", big.NewInt(0x1a2b3c), ca.Status{Known: true}},
			{"revoked key compromise", big.NewInt(0xff0001), ca.Status{Known: true, RevokedAt: revoked1, Reason: 1}},
			{"revoked unspecified", big.NewInt(7), ca.Status{Known: true, RevokedAt: revoked2}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.CertificateStatus(ctx, tc.serial)
				if err != nil {
					t.Fatal(err)
				}
				if got.Known != tc.want.Known || !got.RevokedAt.Equal(tc.want.RevokedAt) || got.Reason != tc.want.Reason {
					t.Fatalf("CertificateStatus = %+v, want %+v", got, tc.want)
				}
			})
		}
		got, err := s.Revoked(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Oldest revocation first.
		want := []struct {
			serial int64
			at     time.Time
			reason int
		}{{7, revoked2, 0}, {0xff0001, revoked1, 1}}
		if len(got) != len(want) {
			t.Fatalf("Revoked = %d entries, want %d", len(got), len(want))
		}
		for i, w := range want {
			if got[i].SerialNumber.Cmp(big.NewInt(w.serial)) != 0 || !got[i].RevocationTime.Equal(w.at) || got[i].ReasonCode != w.reason {
				t.Fatalf("Revoked[%d] = %+v, want serial %x at %v reason %d", i, got[i], w.serial, w.at, w.reason)
			}
		}
	})
}
