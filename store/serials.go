package store

import (
	"context"
	"math/big"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/paraphe/paraphe/device"
)

// counterRow holds named monotonic counters (time-stamp serial numbers).
type counterRow struct {
	Name  string `gorm:"primaryKey;size:64"`
	Value int64  `gorm:"not null"`
}

func (counterRow) TableName() string { return "counters" }

// NextTimestampSerial returns the next serial number of the built-in TSA: unique across
// restarts and replicas, since the increment is one statement on the shared database.
func (s *Store) NextTimestampSerial(ctx context.Context) (*big.Int, error) {
	v, err := s.next(ctx, "tsa-serial")
	if err != nil {
		return nil, err
	}
	return big.NewInt(v), nil
}

func (s *Store) next(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&counterRow{Name: name, Value: 0}).Error; err != nil {
			return err
		}
		if err := tx.Exec("UPDATE counters SET value = value + 1 WHERE name = ?", name).Error; err != nil {
			return err
		}
		return tx.Model(&counterRow{}).Where("name = ?", name).Select("value").Scan(&v).Error
	})
	return v, err
}

// RecordCertificate stores a certificate the CA issued outside enrollment (the TSA's), so
// that OCSP knows it; recording the same serial again is a no-op.
func (s *Store) RecordCertificate(ctx context.Context, c device.Certificate) error {
	return s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&certificateRow{
		Serial: c.Serial, UserID: c.UserID, DER: c.DER, NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}).Error
}
