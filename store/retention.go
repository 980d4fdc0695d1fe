package store

import (
	"context"
	"crypto/sha256"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/retention"
	"github.com/paraphe/paraphe/signer"
)

var (
	_ audit.AnchorStore     = (*Store)(nil)
	_ retention.FileRecords = (*Store)(nil)
)

// auditAnchorRow is the single row (id 1) naming the last audit entry deleted by
// retention; verification starts after it.
type auditAnchorRow struct {
	ID       int   `gorm:"primaryKey;autoIncrement:false"`
	Seq      int64 `gorm:"not null"`
	Hash     []byte
	Seal     []byte // the last deleted entry's seal, so the anchor cannot be forged
	PrunedAt time.Time
}

func (auditAnchorRow) TableName() string { return "audit_anchor" }

// jobLeaseRow lets one process of several run a periodic job: the holder owns it until
// HeldUntil, so a crashed holder does not block the job forever.
type jobLeaseRow struct {
	Name      string `gorm:"primaryKey;size:64"`
	Holder    string `gorm:"size:64;not null"`
	HeldUntil time.Time
}

func (jobLeaseRow) TableName() string { return "job_leases" }

// retentionBatch bounds each transaction of the retention work, so that a run never
// holds the SQLite write lock for long and every IN list stays within the databases'
// parameter limits.
const retentionBatch = 500

// AuditAnchor returns the anchor left by PruneAudit; found is false when nothing was
// pruned yet.
func (s *Store) AuditAnchor(ctx context.Context) (audit.Anchor, bool, error) {
	var r auditAnchorRow
	if err := s.db.WithContext(ctx).Where("id = ?", 1).Take(&r).Error; err != nil {
		if isNotFound(err) {
			return audit.Anchor{}, false, nil
		}
		return audit.Anchor{}, false, err
	}
	return audit.Anchor{Seq: r.Seq, Hash: r.Hash, Seal: r.Seal, PrunedAt: r.PrunedAt.UTC()}, true, nil
}

// PruneAudit deletes the audit entries recorded before the given time, except the last
// entry of the log (the next append chains from it), and records the last deleted entry
// as the anchor, in one transaction serialized with appends. It returns the anchor and
// how many entries went; zero when none was old enough.
func (s *Store) PruneAudit(ctx context.Context, before, at time.Time) (audit.Anchor, int64, error) {
	var (
		out audit.Anchor
		n   int64
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", lockAudit).Error; err != nil {
				return err
			}
		}
		var last int64
		if err := tx.Model(&auditRow{}).Select("COALESCE(MAX(seq), 0)").Scan(&last).Error; err != nil {
			return err
		}
		var cut auditRow
		err := tx.Select("seq", "hash", "seal").Where("time < ? AND seq < ?", before.UTC(), last).Order("seq DESC").Limit(1).Take(&cut).Error
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		res := tx.Where("seq <= ?", cut.Seq).Delete(&auditRow{})
		if res.Error != nil {
			return res.Error
		}
		n = res.RowsAffected
		out = audit.Anchor{Seq: cut.Seq, Hash: cut.Hash, Seal: cut.Seal, PrunedAt: at.UTC()}
		return tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, UpdateAll: true}).
			Create(&auditAnchorRow{ID: 1, Seq: out.Seq, Hash: out.Hash, Seal: out.Seal, PrunedAt: out.PrunedAt}).Error
	})
	if err != nil {
		return audit.Anchor{}, 0, err
	}
	return out, n, nil
}

// MarkDownloaded records the integrator's first download of a document's result; the
// retention grace period runs from then. signer.ErrNotFound when there is no such
// document.
func (s *Store) MarkDownloaded(ctx context.Context, requestID string, index int, at time.Time) error {
	ok, err := s.execOne(ctx, "UPDATE signature_documents SET downloaded_at = ? WHERE request_id = ? AND idx = ? AND downloaded_at IS NULL", at.UTC(), requestID, index)
	if err != nil || ok {
		return err
	}
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&documentRow{}).Where("request_id = ? AND idx = ?", requestID, index).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return signer.ErrNotFound
	}
	return nil
}

// PurgeResults deletes the result bytes of documents downloaded before downloadedBefore
// or whose request finished before finishedBefore, keeping the SHA-256 of each result
// so the evidence still names what was returned. It returns how many results went.
func (s *Store) PurgeResults(ctx context.Context, downloadedBefore, finishedBefore, at time.Time) (int64, error) {
	db := s.db.WithContext(ctx)
	var total int64
	for {
		var keys []documentRow
		if err := db.Model(&documentRow{}).Select("request_id", "idx").
			Where("result IS NOT NULL AND ((downloaded_at IS NOT NULL AND downloaded_at <= ?) OR request_id IN (?))", downloadedBefore.UTC(),
				db.Model(&requestRow{}).Select("id").Where("finished_at IS NOT NULL AND finished_at <= ?", finishedBefore.UTC())).
			Order("request_id, idx").Limit(retentionBatch).Find(&keys).Error; err != nil {
			return total, err
		}
		for _, k := range keys {
			err := db.Transaction(func(tx *gorm.DB) error {
				var d documentRow
				if err := tx.Select("result").Where("request_id = ? AND idx = ? AND result IS NOT NULL", k.RequestID, k.Idx).Take(&d).Error; err != nil {
					if isNotFound(err) {
						return nil // purged meanwhile by another process
					}
					return err
				}
				sum := sha256.Sum256(d.Result)
				res := tx.Model(&documentRow{}).Where("request_id = ? AND idx = ? AND result IS NOT NULL", k.RequestID, k.Idx).
					Updates(map[string]any{"result": nil, "result_sha256": sum[:], "result_deleted_at": at.UTC()})
				total += res.RowsAffected
				return res.Error
			})
			if err != nil {
				return total, err
			}
		}
		if len(keys) < retentionBatch {
			return total, nil
		}
	}
}

// PseudonymizeRequests removes the personal details of requests that finished before
// the given time: the client IPs and the document names (which often name the person).
// Ids, digests, times and results stay. It returns how many requests changed.
func (s *Store) PseudonymizeRequests(ctx context.Context, finishedBefore, at time.Time) (int64, error) {
	pick := func(tx *gorm.DB) *gorm.DB {
		return tx.Model(&requestRow{}).Where("finished_at IS NOT NULL AND finished_at <= ? AND pseudonymized_at IS NULL", finishedBefore.UTC())
	}
	return s.requestBatches(ctx, pick, func(tx *gorm.DB, ids []string) (int64, error) {
		if err := tx.Model(&documentRow{}).Where("request_id IN ?", ids).Update("name", "").Error; err != nil {
			return 0, err
		}
		res := tx.Model(&requestRow{}).Where("id IN ? AND pseudonymized_at IS NULL", ids).
			Updates(map[string]any{"created_ip": "", "decided_ip": "", "description": "", "pseudonymized_at": at.UTC()})
		return res.RowsAffected, res.Error
	})
}

// DeleteRequests deletes requests that finished before the given time, with their
// documents, webhook deliveries and attempts, idempotency keys and device events: the
// end of the evidence retention period. It returns how many requests went.
func (s *Store) DeleteRequests(ctx context.Context, finishedBefore time.Time) (int64, error) {
	pick := func(tx *gorm.DB) *gorm.DB {
		return tx.Model(&requestRow{}).Where("finished_at IS NOT NULL AND finished_at <= ?", finishedBefore.UTC())
	}
	return s.requestBatches(ctx, pick, func(tx *gorm.DB, ids []string) (int64, error) {
		for _, m := range []any{&documentRow{}, &webhookAttemptRow{}, &webhookDeliveryRow{}, &idempotencyRow{}, &eventRow{}} {
			if err := tx.Where("request_id IN ?", ids).Delete(m).Error; err != nil {
				return 0, err
			}
		}
		res := tx.Where("id IN ?", ids).Delete(&requestRow{})
		return res.RowsAffected, res.Error
	})
}

// requestBatches applies fn to the requests pick selects, retentionBatch at a time, each
// batch in its own transaction (so a long run never holds the write lock for long), and
// returns the sum of what fn counted.
func (s *Store) requestBatches(ctx context.Context, pick func(*gorm.DB) *gorm.DB, fn func(tx *gorm.DB, ids []string) (int64, error)) (int64, error) {
	db := s.db.WithContext(ctx)
	var total int64
	for {
		var ids []string
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := pick(tx).Order("id").Limit(retentionBatch).Pluck("id", &ids).Error; err != nil {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
			n, err := fn(tx, ids)
			total += n
			return err
		})
		if err != nil {
			return total, err
		}
		if len(ids) < retentionBatch {
			return total, nil
		}
	}
}

// AcquireLease makes holder the owner of the named job until now+ttl, unless another
// holder owns it still. It reports whether holder owns it now.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	now = now.UTC()
	got := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&jobLeaseRow{Name: name, Holder: "", HeldUntil: time.Unix(0, 0).UTC()}).Error; err != nil {
			return err
		}
		res := tx.Model(&jobLeaseRow{}).Where("name = ? AND (held_until <= ? OR holder = ?)", name, now, holder).
			Updates(map[string]any{"holder": holder, "held_until": now.Add(ttl)})
		got = res.RowsAffected == 1
		return res.Error
	})
	return got, err
}

// ReleaseLease ends holder's lease on the named job; another holder's lease stays.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.db.WithContext(ctx).Model(&jobLeaseRow{}).Where("name = ? AND holder = ?", name, holder).
		Updates(map[string]any{"holder": "", "held_until": time.Unix(0, 0).UTC()}).Error
}

// PurgedFiles lists PDF-mode documents whose results retention deleted but whose files
// are still to be deleted, up to limit.
func (s *Store) PurgedFiles(ctx context.Context, limit int) ([]retention.DocumentKey, error) {
	var rows []documentRow
	if err := s.db.WithContext(ctx).Select("request_id", "idx").
		Where("result_deleted_at IS NOT NULL AND files_deleted_at IS NULL AND pdf_state <> ''").
		Order("request_id, idx").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]retention.DocumentKey, len(rows))
	for i, r := range rows {
		out[i] = retention.DocumentKey{RequestID: r.RequestID, Index: r.Idx}
	}
	return out, nil
}

// MarkFilesDeleted records that a document's files are gone.
func (s *Store) MarkFilesDeleted(ctx context.Context, k retention.DocumentKey, at time.Time) error {
	return s.db.WithContext(ctx).Model(&documentRow{}).Where("request_id = ? AND idx = ?", k.RequestID, k.Index).
		Update("files_deleted_at", at.UTC()).Error
}
