package store

import (
	"bytes"
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/paraphe/paraphe/account"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/signer"
)

// RevocationReasonSuperseded is RFC 5280's CRLReason superseded: the key and certificate
// were replaced at re-activation.
const RevocationReasonSuperseded = 4

// Reactivate revokes the user's devices and current certificate, clears the signing key
// and PIN verifier, stores a new activation code and makes the user await enrollment;
// all at once. Old activation codes stop working.
func (s *Store) Reactivate(ctx context.Context, userID string, act device.Activation, at time.Time) (account.AccountChange, error) {
	at = at.UTC()
	var out account.AccountChange
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u userRow
		if err := tx.Where("id = ?", userID).Take(&u).Error; err != nil {
			if isNotFound(err) {
				return device.ErrUserNotFound
			}
			return err
		}
		out.OldKeyRef = u.KeyRef
		if err := revokeDevices(tx, userID, at, &out); err != nil {
			return err
		}
		if err := tx.Model(&certificateRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Pluck("serial", &out.RevokedSerials).Error; err != nil {
			return err
		}
		if err := tx.Model(&certificateRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).
			Updates(map[string]any{"revoked_at": at, "reason": RevocationReasonSuperseded}).Error; err != nil {
			return err
		}
		if err := tx.Model(&activationRow{}).Where("user_id = ? AND used_at IS NULL", userID).Update("used_at", at).Error; err != nil {
			return err
		}
		if err := tx.Create(&activationRow{CodeHash: act.CodeHash, UserID: userID, ExpiresAt: act.ExpiresAt.UTC()}).Error; err != nil {
			return err
		}
		if err := pendingOf(tx, userID, &out); err != nil {
			return err
		}
		return tx.Model(&userRow{}).Where("id = ?", userID).Updates(map[string]any{
			"status": string(device.UserPending), "pin_verifier": nil, "pin_failures": 0, "locked": false,
			"key_ref": nil, "cert_serial": "", "blocked_at": nil,
		}).Error
	})
	return out, err
}

// Block marks the user blocked and revokes the devices, at once. Certificates stay
// valid for signatures already made; the signing key stays in the HSM until re-activation
// replaces it.
func (s *Store) Block(ctx context.Context, userID string, at time.Time) (account.AccountChange, error) {
	at = at.UTC()
	var out account.AccountChange
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("id = ?", userID).Updates(map[string]any{"status": string(device.UserBlocked), "blocked_at": at})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return device.ErrUserNotFound
		}
		if err := revokeDevices(tx, userID, at, &out); err != nil {
			return err
		}
		return pendingOf(tx, userID, &out)
	})
	return out, err
}

func revokeDevices(tx *gorm.DB, userID string, at time.Time, out *account.AccountChange) error {
	if err := tx.Model(&deviceRow{}).Where("user_id = ? AND status = ?", userID, string(device.DeviceActive)).Pluck("id", &out.RevokedDevices).Error; err != nil {
		return err
	}
	return tx.Model(&deviceRow{}).Where("user_id = ? AND status = ?", userID, string(device.DeviceActive)).
		Updates(map[string]any{"status": string(device.DeviceRevoked), "revoked_at": at}).Error
}

func pendingOf(tx *gorm.DB, userID string, out *account.AccountChange) error {
	return tx.Model(&requestRow{}).Where("user_id = ? AND status IN ?", userID,
		[]string{string(signer.StatusPending), string(signer.StatusAuthorized)}).Pluck("id", &out.PendingRequests).Error
}

// UsersByPhone finds users by phone number (E.164).
func (s *Store) UsersByPhone(ctx context.Context, phone string) ([]*device.User, error) {
	var rows []userRow
	if err := s.db.WithContext(ctx).Where("phone = ?", phone).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]*device.User, len(rows))
	for i, r := range rows {
		out[i] = toUser(r)
	}
	return out, nil
}

// SetPINVerifier replaces the user's PIN verifier and clears the failure count.
func (s *Store) SetPINVerifier(ctx context.Context, userID string, verifier []byte) error {
	return s.db.WithContext(ctx).Model(&userRow{}).Where("id = ? AND locked = ?", userID, false).
		Updates(map[string]any{"pin_verifier": verifier, "pin_failures": 0}).Error
}

// AddRefusal counts a refusal (by the signer or by a wrong icon) for the operators.
func (s *Store) AddRefusal(ctx context.Context, userID string) error {
	return s.db.WithContext(ctx).Exec("UPDATE users SET refusals = refusals + 1 WHERE id = ?", userID).Error
}

// HistoryForUser lists a user's requests newest first, with document names only, starting
// after the cursor (the createdAt and id of the last request of the previous page).
func (s *Store) HistoryForUser(ctx context.Context, userID string, before *signer.Cursor, limit int) ([]*signer.Request, error) {
	db := s.rdb.WithContext(ctx)
	q := db.Where("user_id = ?", userID)
	if before != nil {
		t := before.CreatedAt.UTC()
		q = q.Where("(created_at < ? OR (created_at = ? AND id < ?))", t, t, before.ID)
	}
	var rows []requestRow
	if err := q.Order("created_at DESC, id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return withDocuments(db.Select("request_id", "idx", "name", "hash", "digest"), rows)
}

var _ device.MigrationStore = (*Store)(nil)

// ActiveKeyHolders lists the active users that hold a signing key, by id, at most limit
// after the id after (paging through every user).
func (s *Store) ActiveKeyHolders(ctx context.Context, after string, limit int) ([]device.KeyHolder, error) {
	var rows []userRow
	if err := s.db.WithContext(ctx).Select("id", "key_ref").
		Where("status = ? AND key_ref IS NOT NULL AND id > ?", string(device.UserActive), after).
		Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]device.KeyHolder, len(rows))
	for i, r := range rows {
		out[i] = device.KeyHolder{UserID: r.ID, KeyRef: r.KeyRef}
	}
	return out, nil
}

// ErrKeyChanged is returned by ReplaceKey when the user's key is no longer the one to
// replace (re-activated, blocked, or migrated by another process meanwhile).
var ErrKeyChanged = errors.New("store: the user's key changed meanwhile")

// ReplaceKey gives an active user a new signing key and its certificate in place of old,
// and revokes the certificates of the old key (superseded), all at once. It returns the
// revoked serials.
func (s *Store) ReplaceKey(ctx context.Context, userID string, old, next hsm.KeyRef, cert device.Certificate, at time.Time) ([]string, error) {
	at = at.UTC()
	var revoked []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u userRow
		if err := tx.Where("id = ? AND status = ?", userID, string(device.UserActive)).Take(&u).Error; err != nil {
			if isNotFound(err) {
				return ErrKeyChanged
			}
			return err
		}
		if !bytes.Equal(u.KeyRef, old) {
			return ErrKeyChanged
		}
		if err := tx.Model(&certificateRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Pluck("serial", &revoked).Error; err != nil {
			return err
		}
		if err := tx.Model(&certificateRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).
			Updates(map[string]any{"revoked_at": at, "reason": RevocationReasonSuperseded}).Error; err != nil {
			return err
		}
		if err := tx.Create(&certificateRow{Serial: cert.Serial, UserID: userID, DER: cert.DER, NotBefore: cert.NotBefore.UTC(), NotAfter: cert.NotAfter.UTC()}).Error; err != nil {
			return err
		}
		res := tx.Model(&userRow{}).Where("id = ? AND key_ref = ?", userID, []byte(old)).
			Updates(map[string]any{"key_ref": []byte(next), "cert_serial": cert.Serial})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return ErrKeyChanged
		}
		return nil
	})
	return revoked, err
}
