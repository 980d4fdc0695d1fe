package store

import (
	"context"
	"time"

	"github.com/paraphe/paraphe/notify"
)

var _ notify.EventStore = (*Store)(nil)

type eventRow struct {
	ID        int64  `gorm:"primaryKey;autoIncrement"`
	UserID    string `gorm:"size:36;index:idx_events_user_id,priority:1;not null"`
	RequestID string `gorm:"size:36;not null"`
	Status    string `gorm:"size:16;not null"`
	CreatedAt time.Time
}

func (eventRow) TableName() string { return "device_events" }

// AppendEvent records that a request of the user changed and returns the event's id. On
// PostgreSQL the same transaction notifies the other replicas (the payload is the user id).
func (s *Store) AppendEvent(ctx context.Context, userID, requestID, status string) (id int64, err error) {
	const insert = "INSERT INTO device_events (user_id, request_id, status, created_at) VALUES (?, ?, ?, ?) RETURNING id"
	at := time.Now().UTC()
	if !s.postgres {
		// One statement is atomic by itself: no transaction around it (on SQLite an
		// explicit one costs a BEGIN, a COMMIT and a statement journal).
		err = s.raw.w.QueryRowContext(ctx, insert, userID, requestID, status, at).Scan(&id)
		return id, err
	}
	tx, err := s.raw.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = tx.QueryRowContext(ctx, s.q(insert), userID, requestID, status, at).Scan(&id); err != nil {
		return 0, err
	}
	if _, err = tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", notify.PostgresChannel, userID); err != nil {
		return 0, err
	}
	err = tx.Commit()
	return id, err
}

// EventsAfter returns the user's events with an id above after, oldest first.
func (s *Store) EventsAfter(ctx context.Context, userID string, after int64, limit int) ([]notify.Event, error) {
	var rows []eventRow
	if err := s.rdb.WithContext(ctx).Where("user_id = ? AND id > ?", userID, after).Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]notify.Event, len(rows))
	for i, r := range rows {
		out[i] = notify.Event{ID: r.ID, UserID: r.UserID, RequestID: r.RequestID, Status: r.Status, At: r.CreatedAt.UTC()}
	}
	return out, nil
}

// LastEventID returns the id of the user's newest event, 0 when none.
func (s *Store) LastEventID(ctx context.Context, userID string) (int64, error) {
	var id *int64
	if err := s.rdb.WithContext(ctx).Model(&eventRow{}).Where("user_id = ?", userID).Select("MAX(id)").Scan(&id).Error; err != nil {
		return 0, err
	}
	if id == nil {
		return 0, nil
	}
	return *id, nil
}

// PruneEvents deletes events older than the given time: a device that reconnects after
// that long gets the replay of pending requests instead.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) error {
	return s.db.WithContext(ctx).Where("created_at < ?", before.UTC()).Delete(&eventRow{}).Error
}
