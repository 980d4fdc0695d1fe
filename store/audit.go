package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/paraphe/paraphe/audit"
)

var _ audit.Store = (*Store)(nil)

// AppendAudit appends one entry built from the current last one, with no other append in
// between: SQLite transactions take the write lock at BEGIN (immediate), PostgreSQL takes a
// transaction-scoped advisory lock.
func (s *Store) AppendAudit(ctx context.Context, build func(last audit.Entry, found bool) (audit.Entry, error)) (out audit.Entry, err error) {
	tx, err := s.raw.w.BeginTx(ctx, nil)
	if err != nil {
		return out, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if s.postgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", lockAudit); err != nil {
			return out, err
		}
	}
	var (
		last                          auditRow
		typ, actor, req, subj, detail nullString
	)
	found := true
	err = tx.QueryRowContext(ctx, s.q(`SELECT seq, "time", "type", actor, request_id, subject, detail, prev_hash, hash, seal FROM audit_log ORDER BY seq DESC LIMIT 1`)).
		Scan(&last.Seq, &last.Time, &typ, &actor, &req, &subj, &detail, &last.PrevHash, &last.Hash, &last.Seal)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		found = false
	case err != nil:
		return out, err
	}
	last.Type, last.Actor, last.RequestID, last.Subject, last.Detail = string(typ), string(actor), string(req), string(subj), string(detail)
	prev, err := toEntry(last)
	if err != nil {
		return out, err
	}
	if out, err = build(prev, found); err != nil {
		return out, err
	}
	d, err := json.Marshal(out.Event.Detail)
	if err != nil {
		return out, err
	}
	if _, err = tx.ExecContext(ctx, s.q(`INSERT INTO audit_log (seq, "time", "type", actor, request_id, subject, detail, prev_hash, hash, seal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		out.Seq, out.Time.UTC(), out.Event.Type, out.Event.Actor, out.Event.RequestID, out.Event.Subject, string(d), out.PrevHash, out.Hash, out.Seal); err != nil {
		return out, err
	}
	err = tx.Commit()
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
