package app

import (
	"errors"

	"github.com/paraphe/paraphe/device"
)

// KeyMigration returns the migration of users' token keys to wrapped keys (paraphe keys
// migrate) over the opened parts, which must include the CA (OpenCA): each user gets a
// new certificate.
func (e *Env) KeyMigration() (*device.KeyMigration, error) {
	if e.CA == nil {
		return nil, errors.New("app: key migration needs the CA: open it first (OpenCA)")
	}
	return device.NewKeyMigration(device.MigrationDeps{Store: e.Store, Keys: e.Keys, Issuer: e.CA, Audit: e.Audit, Log: e.Log}), nil
}
