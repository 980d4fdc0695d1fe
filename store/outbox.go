package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/paraphe/paraphe/notify"
	"github.com/paraphe/paraphe/signer"
)

var _ notify.OutboxStore = (*Store)(nil)

// webhookDeliveryRow is one webhook of the outbox. A delivery is live (claimable) while
// delivered_at and given_up_at are both null; the partial index covers exactly those.
type webhookDeliveryRow struct {
	ID            int64     `gorm:"primaryKey;autoIncrement"`
	RequestID     string    `gorm:"size:36;uniqueIndex;not null"`
	IntegratorID  string    `gorm:"size:36;not null"`
	URL           string    `gorm:"size:2048;not null"`
	Body          []byte    `gorm:"not null"`
	Attempts      int       `gorm:"not null;default:0"`
	NextAttemptAt time.Time `gorm:"not null;index:idx_webhook_deliveries_due,where:delivered_at IS NULL AND given_up_at IS NULL"`
	CreatedAt     time.Time
	DeliveredAt   *time.Time
	GivenUpAt     *time.Time
	LastError     string `gorm:"size:300"`
	LastStatus    int    `gorm:"not null;default:0"`
}

func (webhookDeliveryRow) TableName() string { return "webhook_deliveries" }

// webhookAttemptRow is one try at a delivery; request_id is copied from the delivery so
// a request's attempts are listed without a join.
type webhookAttemptRow struct {
	ID            int64     `gorm:"primaryKey;autoIncrement"`
	DeliveryID    int64     `gorm:"index;not null"`
	RequestID     string    `gorm:"size:36;index;not null"`
	At            time.Time `gorm:"not null"`
	Status        int       `gorm:"not null;default:0"`
	Error         string    `gorm:"size:300"`
	Delivered     bool      `gorm:"not null;default:false"`
	NextAttemptAt *time.Time
}

func (webhookAttemptRow) TableName() string { return "webhook_attempts" }

// outboxTime is how outbox times are written: UTC (SQLite compares them as text) and
// whole microseconds (PostgreSQL's precision), so what is read back equals what was
// written on both databases.
func outboxTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func outboxUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// EnqueueWebhook stores a delivery; a second one for the same request is ignored.
func (s *Store) EnqueueWebhook(ctx context.Context, d notify.Delivery) error {
	row := webhookDeliveryRow{
		RequestID: d.RequestID, IntegratorID: d.IntegratorID, URL: d.URL, Body: d.Body,
		NextAttemptAt: outboxTime(d.NextAttemptAt), CreatedAt: outboxTime(d.CreatedAt),
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "request_id"}}, DoNothing: true}).
		Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: enqueue webhook: %w", err)
	}
	return nil
}

// ClaimWebhooks leases due deliveries by moving their next attempt to now+lease, in one
// statement on PostgreSQL (rows locked by another replica's claim are skipped) and in
// one immediate transaction, which holds SQLite's write lock from BEGIN, on SQLite.
// Deliveries of the integrators in skip are not claimed.
func (s *Store) ClaimWebhooks(ctx context.Context, now time.Time, limit int, lease time.Duration, skip []string) ([]notify.Delivery, error) {
	now = outboxTime(now)
	until := outboxTime(now.Add(lease))
	var rows []webhookDeliveryRow
	db := s.db.WithContext(ctx)
	// "NOT IN ()" is not SQL: without integrators to skip, the condition is left out.
	due, args := "delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= ?", []any{now}
	if len(skip) > 0 {
		due += " AND integrator_id NOT IN ?"
		args = append(args, skip)
	}
	var err error
	if s.postgres {
		err = db.Raw(`UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id IN (
			SELECT id FROM webhook_deliveries WHERE `+due+`
			ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING *`, append(append([]any{until}, args...), limit)...).Scan(&rows).Error
	} else {
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Where(due, args...).Order("next_attempt_at, id").Limit(limit).Find(&rows).Error; err != nil {
				return err
			}
			if len(rows) == 0 {
				return nil
			}
			ids := make([]int64, len(rows))
			for i := range rows {
				ids[i] = rows[i].ID
				rows[i].NextAttemptAt = until
			}
			return tx.Model(&webhookDeliveryRow{}).Where("id IN ?", ids).Update("next_attempt_at", until).Error
		})
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim webhooks: %w", err)
	}
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		out[i] = notify.Delivery{
			ID: r.ID, RequestID: r.RequestID, IntegratorID: r.IntegratorID, URL: r.URL, Body: r.Body, Attempts: r.Attempts,
			NextAttemptAt: r.NextAttemptAt.UTC(), CreatedAt: r.CreatedAt.UTC(), DeliveredAt: outboxUTC(r.DeliveredAt),
			LastError: r.LastError, LastStatus: r.LastStatus,
		}
	}
	return out, nil
}

// RecordWebhookAttempt appends an attempt and, if the delivery is still live, moves it
// to delivered, to its next attempt, or to given up — one conditional update.
func (s *Store) RecordWebhookAttempt(ctx context.Context, id int64, a notify.Attempt) error {
	at := outboxTime(a.At)
	row := webhookAttemptRow{DeliveryID: id, At: at, Status: a.Status, Error: a.Error, Delivered: a.Delivered}
	upd := map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_status": a.Status, "last_error": a.Error}
	switch {
	case a.Delivered:
		upd["delivered_at"] = at
	case a.NextAttemptAt != nil:
		next := outboxTime(*a.NextAttemptAt)
		row.NextAttemptAt = &next
		upd["next_attempt_at"] = next
	default:
		upd["given_up_at"] = at
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var d webhookDeliveryRow
		if err := tx.Select("id", "request_id").Where("id = ?", id).Take(&d).Error; err != nil {
			if isNotFound(err) {
				return notify.ErrNoDelivery
			}
			return err
		}
		row.RequestID = d.RequestID
		if err := tx.Model(&webhookDeliveryRow{}).Where("id = ? AND delivered_at IS NULL AND given_up_at IS NULL", id).
			Updates(upd).Error; err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return fmt.Errorf("store: record webhook attempt %d: %w", id, err)
	}
	return nil
}

// WebhookAttempts lists a request's webhook attempts, oldest first.
func (s *Store) WebhookAttempts(ctx context.Context, requestID string) ([]notify.Attempt, error) {
	var rows []webhookAttemptRow
	if err := s.db.WithContext(ctx).Where("request_id = ?", requestID).Order("at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: webhook attempts: %w", err)
	}
	out := make([]notify.Attempt, len(rows))
	for i, r := range rows {
		out[i] = notify.Attempt{DeliveryID: r.DeliveryID, At: r.At.UTC(), Status: r.Status, Error: r.Error,
			Delivered: r.Delivered, NextAttemptAt: outboxUTC(r.NextAttemptAt)}
	}
	return out, nil
}

// OwedWebhook is a final request with a callback URL and no queued delivery.
type OwedWebhook struct {
	RequestID, IntegratorID, URL, Status string
}

// OwedWebhooks finds requests that reached a final state before the given time with a
// callback URL but no delivery in the outbox: the process stopped between the state
// change and the queueing. The sweep that calls it queues them (once: deliveries are
// unique per request).
func (s *Store) OwedWebhooks(ctx context.Context, finishedBefore time.Time, limit int) ([]OwedWebhook, error) {
	var rows []requestRow
	err := s.db.WithContext(ctx).Model(&requestRow{}).Select("id", "integrator_id", "callback_url", "status").
		Where("callback_url <> '' AND finished_at IS NOT NULL AND finished_at < ? AND status IN ?", finishedBefore.UTC(),
			[]string{string(signer.StatusSigned), string(signer.StatusRefused), string(signer.StatusExpired),
				string(signer.StatusCancelled), string(signer.StatusFailed)}).
		Where("NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.request_id = signature_requests.id)").
		Order("finished_at").Limit(limit).Find(&rows).Error
	out := make([]OwedWebhook, len(rows))
	for i, r := range rows {
		out[i] = OwedWebhook{RequestID: r.ID, IntegratorID: r.IntegratorID, URL: r.CallbackURL, Status: r.Status}
	}
	return out, err
}
