package store

import (
	"context"
	"crypto/x509"
	"math/big"

	"github.com/paraphe/paraphe/ca"
)

var (
	_ ca.StatusSource     = (*Store)(nil)
	_ ca.RevocationLister = (*Store)(nil)
)

// CertificateStatus tells the OCSP responder what the store knows of a serial.
func (s *Store) CertificateStatus(ctx context.Context, serial *big.Int) (ca.Status, error) {
	var r certificateRow
	err := s.db.WithContext(ctx).Where("serial = ?", serial.Text(16)).Take(&r).Error
	if isNotFound(err) {
		return ca.Status{}, nil
	}
	if err != nil {
		return ca.Status{}, err
	}
	st := ca.Status{Known: true, Reason: r.Reason}
	if r.RevokedAt != nil {
		st.RevokedAt = *r.RevokedAt
	}
	return st, nil
}

// Revoked lists revoked certificates for the CRL.
func (s *Store) Revoked(ctx context.Context) ([]x509.RevocationListEntry, error) {
	var rows []certificateRow
	if err := s.db.WithContext(ctx).Select("serial", "revoked_at", "reason").Where("revoked_at IS NOT NULL").Order("revoked_at").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]x509.RevocationListEntry, 0, len(rows))
	for _, r := range rows {
		n, ok := new(big.Int).SetString(r.Serial, 16)
		if !ok {
			continue
		}
		out = append(out, x509.RevocationListEntry{SerialNumber: n, RevocationTime: *r.RevokedAt, ReasonCode: r.Reason})
	}
	return out, nil
}

// CertificateDER returns an issued certificate by its lowercase hex serial.
func (s *Store) CertificateDER(ctx context.Context, serial string) ([]byte, error) {
	var r certificateRow
	if err := s.db.WithContext(ctx).Select("der").Where("serial = ?", serial).Take(&r).Error; err != nil {
		return nil, err
	}
	return r.DER, nil
}
