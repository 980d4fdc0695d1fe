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

// PushSubscriptions lists the user's subscriptions of active devices.
func (s *Store) PushSubscriptions(ctx context.Context, userID string) ([]webpush.Subscription, error) {
	var rows []pushSubscriptionRow
	err := s.rdb.WithContext(ctx).Table("push_subscriptions AS p").Select("p.*").
		Joins("JOIN devices d ON d.id = p.device_id").
		Where("p.user_id = ? AND d.status = ?", userID, "active").Order("p.created_at").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]webpush.Subscription, len(rows))
	for i, r := range rows {
		out[i] = webpush.Subscription{UserID: r.UserID, DeviceID: r.DeviceID, Endpoint: r.Endpoint, P256DH: r.P256DH, Auth: r.Auth, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// DeletePushSubscription removes the subscription of endpoint.
func (s *Store) DeletePushSubscription(ctx context.Context, endpoint string) error {
	return s.db.WithContext(ctx).Where("endpoint = ?", endpoint).Delete(&pushSubscriptionRow{}).Error
}
