package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/paraphe/paraphe/integrator"
)

var _ integrator.Store = (*Store)(nil)

// CreateIntegrator inserts an integrator.
func (s *Store) CreateIntegrator(ctx context.Context, in *integrator.Integrator) error {
	return s.db.WithContext(ctx).Create(&integratorRow{ID: in.ID, Name: in.Name, APIKeyHash: in.APIKeyHash, CreatedAt: in.CreatedAt.UTC(),
		RedirectURIs: strings.Join(in.RedirectURIs, "\n")}).Error
}

// IntegratorByKeyHash finds an integrator by the hash of its API key (every integrator
// call authenticates with it).
func (s *Store) IntegratorByKeyHash(ctx context.Context, hash []byte) (*integrator.Integrator, error) {
	return s.integratorWhere(ctx, "api_key_hash = ?", hash)
}

// Integrator loads an integrator by id.
func (s *Store) Integrator(ctx context.Context, id string) (*integrator.Integrator, error) {
	return s.integratorWhere(ctx, "id = ?", id)
}

func (s *Store) integratorWhere(ctx context.Context, cond string, arg any) (*integrator.Integrator, error) {
	var (
		r                     integratorRow
		id, name, redirectURI nullString
	)
	err := s.queryRow(ctx, "SELECT id, name, api_key_hash, created_at, redirect_uris FROM integrators WHERE "+cond, arg).
		Scan(&id, &name, &r.APIKeyHash, &r.CreatedAt, &redirectURI)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, integrator.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	r.ID, r.Name, r.RedirectURIs = string(id), string(name), string(redirectURI)
	return toIntegrator(r), nil
}

func toIntegrator(r integratorRow) *integrator.Integrator {
	in := &integrator.Integrator{ID: r.ID, Name: r.Name, APIKeyHash: r.APIKeyHash, CreatedAt: r.CreatedAt}
	if r.RedirectURIs != "" {
		in.RedirectURIs = strings.Split(r.RedirectURIs, "\n")
	}
	return in
}
