package store

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/paraphe/paraphe/account"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
)

// RevocationReasonCessation is RFC 5280's CRLReason cessationOfOperation: the account was
// erased and its signing key destroyed.
const RevocationReasonCessation = 5

// UserData collects what is held about a user; device.ErrUserNotFound when absent.
func (s *Store) UserData(ctx context.Context, userID string) (*account.UserData, error) {
	db := s.db.WithContext(ctx)
	var out account.UserData
	err := db.Transaction(func(tx *gorm.DB) error {
		var u userRow
		if err := tx.Where("id = ?", userID).Take(&u).Error; err != nil {
			if isNotFound(err) {
				return device.ErrUserNotFound
			}
			return err
		}
		out.User = toUser(u)
		out.User.PINVerifier = nil
		var devs []deviceRow
		if err := tx.Select("id", "status", "created_at", "revoked_at").Where("user_id = ?", userID).Order("created_at, id").Find(&devs).Error; err != nil {
			return err
		}
		for _, d := range devs {
			out.Devices = append(out.Devices, account.DeviceData{ID: d.ID, Status: d.Status, CreatedAt: d.CreatedAt.UTC(), RevokedAt: utcPtr(d.RevokedAt)})
		}
		var acts []activationRow
		if err := tx.Select("expires_at", "used_at").Where("user_id = ?", userID).Order("expires_at").Find(&acts).Error; err != nil {
			return err
		}
		for _, a := range acts {
			out.Activations = append(out.Activations, account.ActivationData{ExpiresAt: a.ExpiresAt.UTC(), UsedAt: utcPtr(a.UsedAt)})
		}
		var certs []certificateRow
		if err := tx.Select("serial", "not_before", "not_after", "revoked_at", "reason").Where("user_id = ?", userID).Order("not_before, serial").Find(&certs).Error; err != nil {
			return err
		}
		for _, c := range certs {
			out.Certificates = append(out.Certificates, account.CertificateData{Serial: c.Serial, NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(),
				RevokedAt: utcPtr(c.RevokedAt), Reason: c.Reason})
		}
		var subs []pushSubscriptionRow
		if err := tx.Select("device_id", "endpoint", "created_at").Where("user_id = ?", userID).Order("created_at, endpoint").Find(&subs).Error; err != nil {
			return err
		}
		for _, p := range subs {
			out.PushSubscriptions = append(out.PushSubscriptions, account.PushSubscriptionData{DeviceID: p.DeviceID, Endpoint: p.Endpoint, CreatedAt: p.CreatedAt.UTC()})
		}
		return userRequests(tx, userID, &out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func userRequests(tx *gorm.DB, userID string, out *account.UserData) error {
	var rows []requestRow
	if err := tx.Where("user_id = ?", userID).Order("created_at, id").Find(&rows).Error; err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	ids := make([]string, len(rows))
	integrators := map[string]string{}
	for i, r := range rows {
		ids[i] = r.ID
		integrators[r.IntegratorID] = ""
	}
	var docs []documentRow
	names := map[string][]string{}
	// Batches keep the IN list within every database's parameter limit.
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		docs = docs[:0]
		if err := tx.Select("request_id", "idx", "name").Where("request_id IN ?", ids[start:end]).Order("request_id, idx").Find(&docs).Error; err != nil {
			return err
		}
		for _, d := range docs {
			names[d.RequestID] = append(names[d.RequestID], d.Name)
		}
	}
	iids := make([]string, 0, len(integrators))
	for id := range integrators {
		iids = append(iids, id)
	}
	var ins []integratorRow
	if err := tx.Select("id", "name").Where("id IN ?", iids).Find(&ins).Error; err != nil {
		return err
	}
	for _, in := range ins {
		integrators[in.ID] = in.Name
	}
	for _, r := range rows {
		out.Requests = append(out.Requests, account.RequestData{
			ID: r.ID, IntegratorID: r.IntegratorID, IntegratorName: integrators[r.IntegratorID], Status: r.Status, Reason: r.Reason,
			Format: r.Format, Level: r.Level, DeviceID: r.DeviceID, Documents: names[r.ID], CreatedIP: r.CreatedIP, DecidedIP: r.DecidedIP,
			CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), ApprovedAt: utcPtr(r.ApprovedAt), FinishedAt: utcPtr(r.FinishedAt),
		})
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// EraseUser removes a user's personal data, in one transaction: identity fields emptied
// and status "erased", PIN verifier and signing-key reference cleared, devices, their
// nonces, activation codes and device events deleted, the client IPs of the user's
// requests emptied, and current certificates revoked (cessationOfOperation, since the
// key will be destroyed). Requests, documents, certificates and audit entries stay under
// the user id, which no longer leads to a person. ErrOpenRequests while a request is
// pending or approved; device.ErrUserNotFound for an unknown user.
//
// On SQLite, secure_delete overwrites the old bytes in the database file and a
// checkpoint then truncates the write-ahead log, which held the old page images. On
// PostgreSQL the touched tables are vacuumed so the dead row versions are reclaimed.
func (s *Store) EraseUser(ctx context.Context, userID string, at time.Time) (account.ErasedRecords, error) {
	at = at.UTC()
	var out account.ErasedRecords
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var u userRow
		if err := tx.Select("id", "status", "key_ref").Where("id = ?", userID).Take(&u).Error; err != nil {
			if isNotFound(err) {
				return device.ErrUserNotFound
			}
			return err
		}
		out.AlreadyErased = u.Status == string(device.UserErased)
		// The status changes first: a request created concurrently on PostgreSQL sees
		// the user as not enrolled from here on.
		if err := tx.Model(&userRow{}).Where("id = ?", userID).Updates(map[string]any{
			"given_name": "", "surname": "", "email": "", "phone": "", "country": "",
			"status": string(device.UserErased), "pin_verifier": nil, "pin_failures": 0, "locked": false,
			"key_ref": nil, "cert_serial": "",
		}).Error; err != nil {
			return err
		}
		var open int64
		if err := tx.Model(&requestRow{}).Where("user_id = ? AND status IN ?", userID,
			[]string{string(signer.StatusPending), string(signer.StatusApproved), string(signer.StatusAuthorized)}).Count(&open).Error; err != nil {
			return err
		}
		if open > 0 {
			return account.ErrOpenRequests
		}
		out.OldKeyRef = u.KeyRef
		if err := tx.Model(&deviceRow{}).Where("user_id = ?", userID).Order("id").Pluck("id", &out.DeletedDevices).Error; err != nil {
			return err
		}
		if len(out.DeletedDevices) > 0 {
			if err := tx.Where("device_id IN ?", out.DeletedDevices).Delete(&deviceNonceRow{}).Error; err != nil {
				return err
			}
		}
		if err := tx.Where("user_id = ?", userID).Delete(&deviceRow{}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Delete(&activationRow{}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Delete(&eventRow{}).Error; err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Delete(&pushSubscriptionRow{}).Error; err != nil {
			return err
		}
		if err := tx.Model(&requestRow{}).Where("user_id = ? AND (created_ip <> '' OR decided_ip <> '' OR description <> '')", userID).
			Updates(map[string]any{"created_ip": "", "decided_ip": "", "description": ""}).Error; err != nil {
			return err
		}
		if err := tx.Model(&certificateRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).Order("serial").Pluck("serial", &out.RevokedSerials).Error; err != nil {
			return err
		}
		return tx.Model(&certificateRow{}).Where("user_id = ? AND revoked_at IS NULL", userID).
			Updates(map[string]any{"revoked_at": at, "reason": RevocationReasonCessation}).Error
	})
	if err != nil {
		return account.ErasedRecords{}, err
	}
	return out, s.compact(ctx, "users", "devices", "activations", "device_nonces")
}

// compact makes deleted bytes leave the storage: on SQLite the write-ahead log is
// checkpointed and truncated (secure_delete already zeroed the database file's free
// space); on PostgreSQL the tables are vacuumed.
func (s *Store) compact(ctx context.Context, tables ...string) error {
	db := s.db.WithContext(ctx)
	if s.postgres {
		for _, t := range tables {
			if err := db.Exec("VACUUM " + t).Error; err != nil {
				return err
			}
		}
		return nil
	}
	var busy, logFrames, checkpointed int
	if err := s.ckpt.hold(func() error {
		return db.Raw("PRAGMA wal_checkpoint(TRUNCATE)").Row().Scan(&busy, &logFrames, &checkpointed)
	}); err != nil {
		return err
	}
	if busy != 0 {
		return errors.New("store: the write-ahead log could not be truncated (a reader held it); run the erasure again")
	}
	return nil
}
