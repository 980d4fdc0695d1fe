package store

import (
	"context"
	"time"

	"github.com/paraphe/paraphe/signer"
)

type idempotencyRow struct {
	IntegratorID string    `gorm:"primaryKey;size:36"`
	Key          string    `gorm:"primaryKey;size:255"`
	BodyHash     []byte    `gorm:"not null"`
	RequestID    string    `gorm:"size:36;not null"`
	CreatedAt    time.Time `gorm:"index"`
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// IdempotentRequest finds the request an integrator created with this key since the given
// time.
func (s *Store) IdempotentRequest(ctx context.Context, integratorID, key string, since time.Time) (signer.Idempotency, bool, error) {
	var r idempotencyRow
	err := s.db.WithContext(ctx).Where("integrator_id = ? AND key = ? AND created_at > ?", integratorID, key, since.UTC()).Take(&r).Error
	if isNotFound(err) {
		return signer.Idempotency{}, false, nil
	}
	if err != nil {
		return signer.Idempotency{}, false, err
	}
	return signer.Idempotency{Key: r.Key, BodyHash: r.BodyHash, RequestID: r.RequestID}, true, nil
}

// PruneIdempotencyKeys forgets keys older than the given time.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, before time.Time) error {
	return s.db.WithContext(ctx).Where("created_at < ?", before.UTC()).Delete(&idempotencyRow{}).Error
}
