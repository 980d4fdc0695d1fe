package store

import (
	"context"
	"time"

	"github.com/paraphe/paraphe/csc"
)

// cscTokenRow is a CSC API secret, kept only as its SHA-256.
type cscTokenRow struct {
	Hash         []byte `gorm:"primaryKey"`
	Kind         string `gorm:"size:16;not null"`
	ClientID     string `gorm:"size:36;not null"`
	Scope        string `gorm:"size:16"`
	CredentialID string `gorm:"size:64"`
	RequestID    string `gorm:"size:36;index"`
	Data         string
	CreatedAt    time.Time
	ExpiresAt    time.Time `gorm:"index"`
	UsedAt       *time.Time
	RevokedAt    *time.Time
}

func (cscTokenRow) TableName() string { return "csc_tokens" }

var _ csc.Store = (*Store)(nil)

// CreateToken stores a CSC secret by its hash.
func (s *Store) CreateToken(ctx context.Context, t *csc.Token) error {
	return s.db.WithContext(ctx).Create(&cscTokenRow{Hash: t.Hash, Kind: t.Kind, ClientID: t.ClientID, Scope: t.Scope,
		CredentialID: t.CredentialID, RequestID: t.RequestID, Data: t.Data, CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC()}).Error
}

// Token returns a CSC secret of a kind by its hash.
func (s *Store) Token(ctx context.Context, hash []byte, kind string) (*csc.Token, error) {
	var r cscTokenRow
	if err := s.db.WithContext(ctx).Where("hash = ? AND kind = ?", hash, kind).Take(&r).Error; err != nil {
		if isNotFound(err) {
			return nil, csc.ErrTokenNotFound
		}
		return nil, err
	}
	return &csc.Token{Hash: r.Hash, Kind: r.Kind, ClientID: r.ClientID, Scope: r.Scope, CredentialID: r.CredentialID,
		RequestID: r.RequestID, Data: r.Data, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, UsedAt: r.UsedAt, RevokedAt: r.RevokedAt}, nil
}

// UseToken marks a secret used, once.
func (s *Store) UseToken(ctx context.Context, hash []byte, at time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&cscTokenRow{}).Where("hash = ? AND used_at IS NULL AND revoked_at IS NULL", hash).
		Update("used_at", at.UTC())
	return res.RowsAffected == 1, res.Error
}

// RevokeToken revokes one of a client's secrets.
func (s *Store) RevokeToken(ctx context.Context, hash []byte, clientID string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&cscTokenRow{}).Where("hash = ? AND client_id = ? AND revoked_at IS NULL", hash, clientID).
		Update("revoked_at", at.UTC()).Error
}

// RevokeAuthorizationTokens revokes the secrets of a kind issued for an authorization.
func (s *Store) RevokeAuthorizationTokens(ctx context.Context, requestID, kind string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&cscTokenRow{}).Where("request_id = ? AND kind = ? AND revoked_at IS NULL", requestID, kind).
		Update("revoked_at", at.UTC()).Error
}

// SetTokenData replaces a secret's data.
func (s *Store) SetTokenData(ctx context.Context, hash []byte, data string) error {
	return s.db.WithContext(ctx).Model(&cscTokenRow{}).Where("hash = ?", hash).Update("data", data).Error
}

// CertificateOwner returns the user a certificate was issued to.
func (s *Store) CertificateOwner(ctx context.Context, serial string) (string, error) {
	var c certificateRow
	if err := s.rdb.WithContext(ctx).Select("user_id").Where("serial = ?", serial).Take(&c).Error; err != nil {
		if isNotFound(err) {
			return "", csc.ErrTokenNotFound
		}
		return "", err
	}
	if c.UserID == "" {
		return "", csc.ErrTokenNotFound
	}
	return c.UserID, nil
}

// DeleteExpiredTokens deletes CSC secrets that expired before a time (retention).
func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Where("expires_at < ?", before.UTC()).Delete(&cscTokenRow{})
	return res.RowsAffected, res.Error
}
