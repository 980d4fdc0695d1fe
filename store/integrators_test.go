package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paraphe/paraphe/integrator"
)

func TestIntegrators(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		created := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
		in := &integrator.Integrator{ID: "11111111-1111-1111-1111-111111111111", Name: "Notary One", APIKeyHash: sum("key-1"), CreatedAt: created}
		if err := s.CreateIntegrator(ctx, in); err != nil {
			t.Fatalf("CreateIntegrator: %v", err)
		}

		tests := []struct {
			name    string
			get     func() (*integrator.Integrator, error)
			want    *integrator.Integrator
			wantErr error
		}{
			{"by key hash", func() (*integrator.Integrator, error) { return s.IntegratorByKeyHash(ctx, sum("key-1")) }, in, nil},
			{"by id", func() (*integrator.Integrator, error) { return s.Integrator(ctx, in.ID) }, in, nil},
			{"unknown key hash", func() (*integrator.Integrator, error) { return s.IntegratorByKeyHash(ctx, sum("key-2")) }, nil, integrator.ErrNotFound},
			{"empty key hash", func() (*integrator.Integrator, error) { return s.IntegratorByKeyHash(ctx, nil) }, nil, integrator.ErrNotFound},
			{"unknown id", func() (*integrator.Integrator, error) { return s.Integrator(ctx, "nope") }, nil, integrator.ErrNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tc.get()
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.want == nil {
					if got != nil {
						t.Fatalf("got %+v, want nil", got)
					}
					return
				}
				if got.ID != tc.want.ID || got.Name != tc.want.Name || string(got.APIKeyHash) != string(tc.want.APIKeyHash) || !got.CreatedAt.Equal(tc.want.CreatedAt) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
			})
		}

		t.Run("duplicate key hash rejected", func(t *testing.T) {
			dup := &integrator.Integrator{ID: "22222222-2222-2222-2222-222222222222", Name: "Copycat", APIKeyHash: sum("key-1"), CreatedAt: created}
			if err := s.CreateIntegrator(ctx, dup); err == nil {
				t.Fatal("second integrator with the same API key hash was accepted")
			}
			if _, err := s.Integrator(ctx, dup.ID); !errors.Is(err, integrator.ErrNotFound) {
				t.Fatalf("rejected integrator is stored: err = %v", err)
			}
		})
		t.Run("duplicate id rejected", func(t *testing.T) {
			dup := &integrator.Integrator{ID: in.ID, Name: "Other", APIKeyHash: sum("key-3"), CreatedAt: created}
			if err := s.CreateIntegrator(ctx, dup); err == nil {
				t.Fatal("second integrator with the same id was accepted")
			}
		})
	})
}
