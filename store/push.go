package store

import (
	"context"
	"time"

	"gorm.io/gorm/clause"

	"github.com/paraphe/paraphe/webpush"
)

var _ webpush.Store = (*Store)(nil)

// pushSubscriptionRow is a browser's Web Push subscription. The endpoint is a
// capability URL of the browser's push service; the keys encrypt to that browser.
type pushSubscriptionRow struct {
	Endpoint  string `gorm:"primaryKey;size:1024"`
	UserID    string `gorm:"size:36;index;not null"`
	DeviceID  string `gorm:"size:36;index;not null"`
	P256DH    []byte `gorm:"column:p256dh;not null"`
	Auth      []byte `gorm:"not null"`
	CreatedAt time.Time
}

func (pushSubscriptionRow) TableName() string { return "push_subscriptions" }

// SavePushSubscription adds a subscription or replaces the one with its endpoint.
func (s *Store) SavePushSubscription(ctx context.Context, sub webpush.Subscription) error {
	row := pushSubscriptionRow{Endpoint: sub.Endpoint, UserID: sub.UserID, DeviceID: sub.DeviceID, P256DH: sub.P256DH, Auth: sub.Auth,
		CreatedAt: sub.CreatedAt.UTC()}
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "endpoint"}},
		DoUpdates: clause.AssignmentColumns([]string{"user_id", "device_id", "p256dh", "auth", "created_at"}),
	}).Create(&row).Error
}

// PushSubscriptions lists the user's subscriptions of active devices (every new request
// of the user asks).
func (s *Store) PushSubscriptions(ctx context.Context, userID string) ([]webpush.Subscription, error) {
	rows, err := s.raw.r.QueryContext(ctx, s.q(`SELECT p.endpoint, p.user_id, p.device_id, p.p256dh, p.auth, p.created_at
		FROM push_subscriptions AS p JOIN devices d ON d.id = p.device_id
		WHERE p.user_id = ? AND d.status = ? ORDER BY p.created_at`), userID, "active")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []webpush.Subscription{}
	for rows.Next() {
		var (
			sub                      webpush.Subscription
			endpoint, user, deviceID nullString
		)
		if err := rows.Scan(&endpoint, &user, &deviceID, &sub.P256DH, &sub.Auth, &sub.CreatedAt); err != nil {
			return nil, err
		}
		sub.Endpoint, sub.UserID, sub.DeviceID = string(endpoint), string(user), string(deviceID)
		out = append(out, sub)
	}
	return out, rows.Err()
}

// DeletePushSubscription removes the subscription of endpoint.
func (s *Store) DeletePushSubscription(ctx context.Context, endpoint string) error {
	return s.db.WithContext(ctx).Where("endpoint = ?", endpoint).Delete(&pushSubscriptionRow{}).Error
}
