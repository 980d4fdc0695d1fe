package store

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// rateBucketRow is one shared token bucket, kept as its theoretical arrival time (GCRA,
// the generic cell rate algorithm): the moment, in Unix seconds, at which the bucket will
// be full again. One number per key makes taking a token one conditional upsert.
type rateBucketRow struct {
	Bucket string  `gorm:"primaryKey;size:300"`
	TAT    float64 `gorm:"column:tat;not null"`
}

func (rateBucketRow) TableName() string { return "rate_buckets" }

// maxBucketKey bounds a bucket name: a limiter name and an integrator id, a device id or
// a client address fit in far less; longer keys are cut, never refused.
const maxBucketKey = 300

// pruneOneIn is how often (one call in pruneOneIn) a Take also deletes buckets that have
// been full for a while: forgetting a full bucket changes nothing, and the table then
// holds the keys of the last minutes only.
const pruneOneIn = 1000

// Take takes one token from the shared bucket key, refilled at perSecond and holding at
// most burst, for every replica on this database at once (api.Buckets). It is one
// conditional upsert: a bucket whose next theoretical arrival time would lie more than
// burst/perSecond ahead refuses, and the answer says how long until a token is there.
func (s *Store) Take(ctx context.Context, key string, perSecond float64, burst int) (bool, time.Duration, error) {
	if perSecond <= 0 {
		return true, 0, nil
	}
	if len(key) > maxBucketKey {
		key = key[:maxBucketKey]
	}
	burst = max(burst, 1)
	interval := 1 / perSecond
	tau := float64(burst) * interval
	now := float64(time.Now().UnixMicro()) / 1e6
	db := s.db.WithContext(ctx)
	var tats []float64
	err := db.Raw(`INSERT INTO rate_buckets (bucket, tat) VALUES (?, ?)
ON CONFLICT (bucket) DO UPDATE SET tat = (CASE WHEN rate_buckets.tat > ? THEN rate_buckets.tat ELSE ? END) + ?
WHERE (CASE WHEN rate_buckets.tat > ? THEN rate_buckets.tat ELSE ? END) + ? - ? <= ?
RETURNING tat`, key, now+interval, now, now, interval, now, now, interval, now, tau).Scan(&tats).Error
	if err != nil {
		return false, 0, fmt.Errorf("store: rate bucket: %w", err)
	}
	if rand.IntN(pruneOneIn) == 0 {
		_ = db.Exec(`DELETE FROM rate_buckets WHERE tat < ?`, now-60).Error
	}
	if len(tats) == 1 {
		return true, 0, nil
	}
	var row rateBucketRow
	if err := db.Where("bucket = ?", key).Take(&row).Error; err != nil {
		return false, 0, fmt.Errorf("store: rate bucket: %w", err)
	}
	wait := math.Max(row.TAT, now) + interval - tau - now
	return false, time.Duration(math.Max(wait, 0) * float64(time.Second)), nil
}
