package store

import (
	"context"
	"encoding/json"

	"gorm.io/gorm"

	"github.com/paraphe/paraphe/audit"
)

var _ audit.Store = (*Store)(nil)

// AppendAudit appends one entry built from the current last one, with no other append in
// between: SQLite transactions take the write lock at BEGIN (immediate), PostgreSQL takes a
// transaction-scoped advisory lock.
func (s *Store) AppendAudit(ctx context.Context, build func(last audit.Entry, found bool) (audit.Entry, error)) (audit.Entry, error) {
	var out audit.Entry
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.postgres {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", lockAudit).Error; err != nil {
				return err
			}
		}
		var last auditRow
		found := true
		if err := tx.Order("seq DESC").Limit(1).Take(&last).Error; err != nil {
			if !isNotFound(err) {
				return err
			}
			found = false
		}
		prev, err := toEntry(last)
		if err != nil {
			return err
		}
		if out, err = build(prev, found); err != nil {
			return err
		}
		detail, err := json.Marshal(out.Event.Detail)
		if err != nil {
			return err
		}
		return tx.Create(&auditRow{Seq: out.Seq, Time: out.Time.UTC(), Type: out.Event.Type, Actor: out.Event.Actor,
			RequestID: out.Event.RequestID, Subject: out.Event.Subject, Detail: string(detail), PrevHash: out.PrevHash, Hash: out.Hash, Seal: out.Seal}).Error
	})
	return out, err
}

// AuditEntries returns up to limit entries after afterSeq, in order.
func (s *Store) AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]audit.Entry, error) {
	var rows []auditRow
	if err := s.db.WithContext(ctx).Where("seq > ?", afterSeq).Order("seq").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	return toEntries(rows)
}

func toEntries(rows []auditRow) ([]audit.Entry, error) {
	out := make([]audit.Entry, len(rows))
	for i, r := range rows {
		e, err := toEntry(r)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func toEntry(r auditRow) (audit.Entry, error) {
	e := audit.Entry{Seq: r.Seq, Time: r.Time.UTC(), PrevHash: r.PrevHash, Hash: r.Hash, Seal: r.Seal,
		Event: audit.Event{Type: r.Type, Actor: r.Actor, RequestID: r.RequestID, Subject: r.Subject}}
	if r.Detail != "" && r.Detail != "null" {
		if err := json.Unmarshal([]byte(r.Detail), &e.Event.Detail); err != nil {
			return e, err
		}
	}
	return e, nil
}

// AuditForRequest returns a request's audit entries in chain order.
func (s *Store) AuditForRequest(ctx context.Context, requestID string) ([]audit.Entry, error) {
	var rows []auditRow
	if err := s.db.WithContext(ctx).Where("request_id = ?", requestID).Order("seq").Find(&rows).Error; err != nil {
		return nil, err
	}
	return toEntries(rows)
}

// LastAuditEntry returns the newest entry (audit checkpoints).
func (s *Store) LastAuditEntry(ctx context.Context) (audit.Entry, bool, error) {
	var r auditRow
	err := s.db.WithContext(ctx).Order("seq DESC").Limit(1).Take(&r).Error
	if isNotFound(err) {
		return audit.Entry{}, false, nil
	}
	if err != nil {
		return audit.Entry{}, false, err
	}
	e, err := toEntry(r)
	return e, err == nil, err
}
