package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/paraphe/paraphe/signer"
)

var _ signer.AuthorizationStore = (*Store)(nil)

// ReserveDocuments reserves one free occurrence of each digest of an authorized request,
// all or none, in one transaction. Each occurrence is taken by a conditional update
// (reserved_at IS NULL): on PostgreSQL a second transaction racing for the same row waits
// for the first, then finds it taken and gives everything back; SQLite has one writer.
func (s *Store) ReserveDocuments(ctx context.Context, requestID string, digests [][]byte, now time.Time) ([]int, error) {
	now = now.UTC()
	out := make([]int, len(digests))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var live int64
		if err := tx.Model(&requestRow{}).Where("id = ? AND status = ? AND authorized_until > ?", requestID,
			string(signer.StatusAuthorized), now).Count(&live).Error; err != nil {
			return err
		}
		if live != 1 {
			return signer.ErrNotAuthorized
		}
		var free []documentRow
		if err := tx.Select("idx", "digest").Where("request_id = ? AND reserved_at IS NULL AND result IS NULL", requestID).
			Order("idx").Find(&free).Error; err != nil {
			return err
		}
		taken := make([]bool, len(free))
		for i, d := range digests {
			j := -1
			for k, f := range free {
				if !taken[k] && bytes.Equal(f.Digest, d) {
					j = k
					break
				}
			}
			if j < 0 {
				return fmt.Errorf("%w: digest %d", signer.ErrNotCovered, i)
			}
			taken[j] = true
			out[i] = free[j].Idx
		}
		for _, idx := range out {
			res := tx.Model(&documentRow{}).Where("request_id = ? AND idx = ? AND reserved_at IS NULL", requestID, idx).
				Update("reserved_at", now)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected != 1 {
				return fmt.Errorf("%w: occurrence %d was taken meanwhile", signer.ErrNotCovered, idx)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReleaseDocuments frees reserved occurrences that hold no result.
func (s *Store) ReleaseDocuments(ctx context.Context, requestID string, indexes []int) error {
	if len(indexes) == 0 {
		return nil
	}
	return s.db.WithContext(ctx).Model(&documentRow{}).Where("request_id = ? AND idx IN ? AND result IS NULL", requestID, indexes).
		Update("reserved_at", nil).Error
}

// CompleteDocuments stores the results of reserved occurrences and, when none is left
// unsigned, moves the request authorized → signed; all in one transaction.
func (s *Store) CompleteDocuments(ctx context.Context, requestID string, indexes []int, results [][]byte, at time.Time) (bool, error) {
	if len(indexes) != len(results) {
		return false, fmt.Errorf("store: %d results for %d documents", len(results), len(indexes))
	}
	done := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		n, err := s.setResults(tx, requestID, indexes, results, "d.reserved_at IS NOT NULL AND d.result IS NULL")
		if err != nil {
			return err
		}
		if n != int64(len(indexes)) {
			return fmt.Errorf("store: request %s: %d of %d occurrences are not reserved or already signed", requestID, int64(len(indexes))-n, len(indexes))
		}
		var left int64
		if err := tx.Model(&documentRow{}).Where("request_id = ? AND result IS NULL", requestID).Count(&left).Error; err != nil {
			return err
		}
		if left > 0 {
			return nil
		}
		res := tx.Model(&requestRow{}).Where("id = ? AND status = ?", requestID, string(signer.StatusAuthorized)).
			Updates(map[string]any{"status": string(signer.StatusSigned), "finished_at": at.UTC()})
		if res.Error != nil {
			return res.Error
		}
		done = res.RowsAffected == 1
		return nil
	})
	return done, err
}

// ExpiredAuthorizations lists authorized requests whose authorization ended by now.
func (s *Store) ExpiredAuthorizations(ctx context.Context, now time.Time) ([]signer.ExpiredAuthorization, error) {
	db := s.db.WithContext(ctx)
	var ids []string
	if err := db.Model(&requestRow{}).Where("status = ? AND authorized_until <= ?", string(signer.StatusAuthorized), now.UTC()).
		Limit(500).Pluck("id", &ids).Error; err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var used []string
	if err := db.Model(&documentRow{}).Distinct("request_id").Where("request_id IN ? AND result IS NOT NULL", ids).
		Pluck("request_id", &used).Error; err != nil {
		return nil, err
	}
	out := make([]signer.ExpiredAuthorization, len(ids))
	for i, id := range ids {
		out[i] = signer.ExpiredAuthorization{RequestID: id, Used: slices.Contains(used, id)}
	}
	return out, nil
}
