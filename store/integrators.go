package store

import (
	"context"
	"strings"

	"github.com/paraphe/paraphe/integrator"
)

var _ integrator.Store = (*Store)(nil)

// CreateIntegrator inserts an integrator.
func (s *Store) CreateIntegrator(ctx context.Context, in *integrator.Integrator) error {
	return s.db.WithContext(ctx).Create(&integratorRow{ID: in.ID, Name: in.Name, APIKeyHash: in.APIKeyHash, CreatedAt: in.CreatedAt.UTC(),
		RedirectURIs: strings.Join(in.RedirectURIs, "\n")}).Error
}

// IntegratorByKeyHash finds an integrator by the hash of its API key.
func (s *Store) IntegratorByKeyHash(ctx context.Context, hash []byte) (*integrator.Integrator, error) {
	var r integratorRow
	if err := s.rdb.WithContext(ctx).Where("api_key_hash = ?", hash).Take(&r).Error; err != nil {
		if isNotFound(err) {
			return nil, integrator.ErrNotFound
		}
		return nil, err
	}
	return toIntegrator(r), nil
}

// Integrator loads an integrator by id.
func (s *Store) Integrator(ctx context.Context, id string) (*integrator.Integrator, error) {
	var r integratorRow
	if err := s.rdb.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		if isNotFound(err) {
			return nil, integrator.ErrNotFound
		}
		return nil, err
	}
	return toIntegrator(r), nil
}

func toIntegrator(r integratorRow) *integrator.Integrator {
	in := &integrator.Integrator{ID: r.ID, Name: r.Name, APIKeyHash: r.APIKeyHash, CreatedAt: r.CreatedAt}
	if r.RedirectURIs != "" {
		in.RedirectURIs = strings.Split(r.RedirectURIs, "\n")
	}
	return in
}
