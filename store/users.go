package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/signer"
)

var (
	_ device.Store      = (*Store)(nil)
	_ signer.Identities = (*Store)(nil)
)

// CreateUser inserts a user and its activation code together.
func (s *Store) CreateUser(ctx context.Context, u *device.User, a device.Activation) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(fromUser(u)).Error; err != nil {
			return err
		}
		return tx.Create(&activationRow{CodeHash: a.CodeHash, UserID: a.UserID, ExpiresAt: a.ExpiresAt.UTC()}).Error
	})
}

// User loads a user.
func (s *Store) User(ctx context.Context, id string) (*device.User, error) {
	var (
		r                                                       userRow
		uid, given, surname, email, phone, country, status, ser nullString
		blocked                                                 sql.NullTime
	)
	err := s.queryRow(ctx, `SELECT id, given_name, surname, email, phone, country, status, pin_verifier, pin_failures, locked,
		refusals, blocked_at, key_ref, cert_serial, created_at FROM users WHERE id = ?`, id).
		Scan(&uid, &given, &surname, &email, &phone, &country, &status, &r.PINVerifier, &r.PINFailures, &r.Locked,
			&r.Refusals, &blocked, &r.KeyRef, &ser, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, device.ErrUserNotFound
	}
	if err != nil {
		return nil, err
	}
	r.ID, r.GivenName, r.Surname, r.Email, r.Phone, r.Country = string(uid), string(given), string(surname), string(email), string(phone), string(country)
	r.Status, r.CertSerial, r.BlockedAt = string(status), string(ser), timePtr(blocked)
	return toUser(r), nil
}

// Activation loads an activation code by its hash.
func (s *Store) Activation(ctx context.Context, codeHash []byte) (*device.Activation, error) {
	var r activationRow
	if err := s.db.WithContext(ctx).Where("code_hash = ?", codeHash).Take(&r).Error; err != nil {
		if isNotFound(err) {
			return nil, device.ErrActivation
		}
		return nil, err
	}
	return &device.Activation{UserID: r.UserID, CodeHash: r.CodeHash, ExpiresAt: r.ExpiresAt, UsedAt: r.UsedAt}, nil
}

// Enroll writes a whole enrollment in one transaction.
// The code must belong to the enrolled user, and a blocked user stays blocked
// (device.ErrBlocked) even if blocked after the caller's own check.
func (s *Store) Enroll(ctx context.Context, e device.Enrollment) error {
	e.At = e.At.UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&activationRow{}).Where("code_hash = ? AND user_id = ? AND used_at IS NULL AND expires_at > ?", e.CodeHash, e.Device.UserID, e.At).
			Update("used_at", e.At)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return device.ErrActivation
		}
		if err := tx.Model(&deviceRow{}).Where("user_id = ? AND status = ?", e.Device.UserID, string(device.DeviceActive)).
			Updates(map[string]any{"status": string(device.DeviceRevoked), "revoked_at": e.At}).Error; err != nil {
			return err
		}
		d := e.Device
		if err := tx.Create(&deviceRow{ID: d.ID, UserID: d.UserID, PublicKey: d.PublicKey, Status: string(d.Status), CreatedAt: d.CreatedAt.UTC()}).Error; err != nil {
			return err
		}
		c := e.Certificate
		if err := tx.Create(&certificateRow{Serial: c.Serial, UserID: c.UserID, DER: c.DER, NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}).Error; err != nil {
			return err
		}
		res = tx.Model(&userRow{}).Where("id = ? AND status <> ?", d.UserID, string(device.UserBlocked)).Updates(map[string]any{
			"status": string(device.UserActive), "pin_verifier": e.PINVerifier, "pin_failures": 0, "locked": false,
			"key_ref": []byte(e.KeyRef), "cert_serial": c.Serial,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return device.ErrBlocked
		}
		return nil
	})
}

// Device loads a device (every device call authenticates with it).
func (s *Store) Device(ctx context.Context, id string) (*device.Device, error) {
	var (
		r                 deviceRow
		did, user, status nullString
	)
	err := s.queryRow(ctx, "SELECT id, user_id, public_key, status, created_at FROM devices WHERE id = ?", id).
		Scan(&did, &user, &r.PublicKey, &status, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, device.ErrDeviceNotFound
	}
	if err != nil {
		return nil, err
	}
	return &device.Device{ID: string(did), UserID: string(user), PublicKey: r.PublicKey, Status: device.DeviceStatus(status), CreatedAt: r.CreatedAt}, nil
}

// UseNonce records a device call nonce; a second use is device.ErrReplay. Expired nonces
// are pruned on the way, since the time window already refuses their calls: at most
// once every noncePruneEvery, and on the next call once a nonce this process stored has
// expired (every device call comes here: a DELETE each time would be a statement more
// per call for rows that are almost never there).
func (s *Store) UseNonce(ctx context.Context, deviceID, nonce string, keepUntil time.Time) error {
	now := time.Now().UTC()
	if s.nonces.due(now) {
		if _, err := s.raw.w.ExecContext(ctx, s.q("DELETE FROM device_nonces WHERE expires_at < ?"), now.Add(-time.Minute)); err != nil {
			return err
		}
	}
	_, err := s.raw.w.ExecContext(ctx, s.q("INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES (?, ?, ?)"), deviceID, nonce, keepUntil.UTC())
	if isDuplicate(s.translate(err)) {
		return device.ErrReplay
	}
	if err == nil {
		s.nonces.stored(keepUntil.UTC())
	}
	return err
}

// noncePruneEvery bounds how long expired device nonces (of other processes) stay.
const noncePruneEvery = time.Minute

// noncePruner decides when UseNonce prunes expired nonces.
type noncePruner struct {
	mu       sync.Mutex
	last     time.Time // the last prune; zero: never (the first call prunes)
	earliest time.Time // the earliest expiry of the nonces stored since; zero: none
}

// due reports whether a prune is due at now, and if so counts it as done.
func (p *noncePruner) due(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.last.IsZero() && now.Sub(p.last) < noncePruneEvery && (p.earliest.IsZero() || !p.earliest.Before(now.Add(-time.Minute))) {
		return false
	}
	p.last, p.earliest = now, time.Time{}
	return true
}

// stored notes the expiry of a nonce just stored.
func (p *noncePruner) stored(until time.Time) {
	p.mu.Lock()
	if p.earliest.IsZero() || until.Before(p.earliest) {
		p.earliest = until
	}
	p.mu.Unlock()
}

// ReservePINAttempt takes one of the user's max PIN attempts before the PIN is judged,
// in one conditional update: the failure count goes up by one unless the user is locked
// or max attempts are already counted (judged wrong, or being judged). It returns the
// attempt's number (1..max), device.ErrLocked when the user is locked, or
// device.ErrPINBusy when the remaining attempts are all being judged. However many calls
// race, at most max PINs are judged between two right ones.
func (s *Store) ReservePINAttempt(ctx context.Context, userID string, max int) (int, error) {
	// The usual case in one statement: the attempt is taken and its number read back.
	var n int
	err := s.db.WithContext(ctx).Raw("UPDATE users SET pin_failures = pin_failures + 1 WHERE id = ? AND locked = ? AND pin_failures < ? RETURNING pin_failures",
		userID, false, max).Row().Scan(&n)
	if !errors.Is(err, sql.ErrNoRows) {
		return n, err
	}
	// No attempt left to take: say why (locked, busy or no such user) from one snapshot.
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE users SET pin_failures = pin_failures + 1 WHERE id = ? AND locked = ? AND pin_failures < ?", userID, false, max)
		if res.Error != nil {
			return res.Error
		}
		var r userRow
		if err := tx.Select("pin_failures", "locked").Where("id = ?", userID).Take(&r).Error; err != nil {
			if isNotFound(err) {
				return device.ErrUserNotFound
			}
			return err
		}
		switch {
		case res.RowsAffected == 1:
			n = r.PINFailures
			return nil
		case r.Locked:
			return device.ErrLocked
		default:
			return device.ErrPINBusy
		}
	})
	return n, err
}

// PINAttemptWrong settles attempt n (from ReservePINAttempt) as a wrong PIN: the attempt
// stays counted, and the max-th locks the user, unless a right PIN cleared the count in
// the meantime. It reports whether the user is locked.
func (s *Store) PINAttemptWrong(ctx context.Context, userID string, n, max int) (bool, error) {
	if n < max {
		return false, nil
	}
	res := s.db.WithContext(ctx).Model(&userRow{}).Where("id = ? AND pin_failures >= ?", userID, max).Update("locked", true)
	return res.RowsAffected == 1, res.Error
}

// PINAttemptRight settles an attempt as the right PIN: the failure count goes back to
// zero. A user locked while the PIN was being judged stays locked (device.ErrLocked).
func (s *Store) PINAttemptRight(ctx context.Context, userID string) error {
	res, err := s.raw.w.ExecContext(ctx, s.q("UPDATE users SET pin_failures = 0 WHERE id = ? AND locked = ?"), userID, false)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		if err != nil {
			return err
		}
		return device.ErrLocked
	}
	return nil
}

// PINAttemptUnjudged gives back an attempt whose PIN could not be judged (the HSM
// failed), so that an outage does not lock anyone.
func (s *Store) PINAttemptUnjudged(ctx context.Context, userID string) error {
	return s.db.WithContext(ctx).Exec("UPDATE users SET pin_failures = pin_failures - 1 WHERE id = ? AND locked = ? AND pin_failures > 0", userID, false).Error
}

// Identity tells the signer whether a user can sign and with which key. One statement
// reads the user, the current certificate unless revoked, and the count of active
// devices (it runs twice in every request: at creation and before signing).
func (s *Store) Identity(ctx context.Context, userID string) (signer.Identity, error) {
	var (
		id, status, serial nullString
		keyRef, der        []byte
		locked             bool
		active             int64
	)
	err := s.queryRow(ctx, `SELECT u.id, u.status, u.key_ref, u.cert_serial, u.locked, c.der,
		(SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.status = ?)
		FROM users u LEFT JOIN certificates c ON c.serial = u.cert_serial AND c.revoked_at IS NULL
		WHERE u.id = ?`, string(device.DeviceActive), userID).Scan(&id, &status, &keyRef, &serial, &locked, &der, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return signer.Identity{}, signer.ErrSignerNotFound
	}
	if err != nil {
		return signer.Identity{}, err
	}
	out := signer.Identity{UserID: string(id), Blocked: status == nullString(device.UserBlocked), KeyRef: hsm.KeyRef(keyRef)}
	if status != nullString(device.UserActive) || serial == "" || locked || der == nil {
		return out, nil
	}
	out.CertificateDER = der
	out.Enrolled = active > 0
	return out, nil
}

func fromUser(u *device.User) *userRow {
	return &userRow{ID: u.ID, GivenName: u.GivenName, Surname: u.Surname, Email: u.Email, Phone: u.Phone, Country: u.Country,
		Status: string(u.Status), PINVerifier: u.PINVerifier, PINFailures: u.PINFailures, Locked: u.Locked,
		KeyRef: u.KeyRef, CertSerial: u.CertSerial, CreatedAt: u.CreatedAt.UTC()}
}

func toUser(r userRow) *device.User {
	return &device.User{ID: r.ID, GivenName: r.GivenName, Surname: r.Surname, Email: r.Email, Phone: r.Phone, Country: r.Country,
		Status: device.UserStatus(r.Status), PINVerifier: r.PINVerifier, PINFailures: r.PINFailures, Locked: r.Locked,
		Refusals: r.Refusals, BlockedAt: r.BlockedAt, KeyRef: hsm.KeyRef(r.KeyRef), CertSerial: r.CertSerial, CreatedAt: r.CreatedAt}
}
