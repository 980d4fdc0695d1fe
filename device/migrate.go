package device

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/hsm"
)

// KeyHolder is an active user and the reference of their signing key.
type KeyHolder struct {
	UserID string
	KeyRef hsm.KeyRef
}

// MigrationStore is what key migration needs from storage.
type MigrationStore interface {
	// ActiveKeyHolders lists the active users that hold a signing key, by id, at most
	// limit after the id after.
	ActiveKeyHolders(ctx context.Context, after string, limit int) ([]KeyHolder, error)
	User(ctx context.Context, id string) (*User, error)
	// ReplaceKey gives an active user next and its certificate in place of old, and
	// revokes the certificates of old (superseded), all at once; it fails when the
	// user's key is no longer old. It returns the revoked serials.
	ReplaceKey(ctx context.Context, userID string, old, next hsm.KeyRef, cert Certificate, at time.Time) ([]string, error)
}

// WrappedKeys makes wrapped signing keys and destroys token ones.
type WrappedKeys interface {
	// EnsureWrapKey makes the key-encryption key of wrapped keys unless it exists.
	EnsureWrapKey(ctx context.Context) error
	// NewWrappedSigningKey creates a wrapped signing key named name.
	NewWrappedSigningKey(ctx context.Context, name string) (hsm.KeyRef, crypto.PublicKey, error)
	DestroySigningKey(ctx context.Context, ref hsm.KeyRef) error
}

// MigrationDeps are the KeyMigration's collaborators.
type MigrationDeps struct {
	Store  MigrationStore
	Keys   WrappedKeys
	Issuer Issuer
	Audit  Auditor
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives the users left on their token key; nil: slog.Default().
	Log *slog.Logger
}

// KeyMigration moves users from token keys to wrapped keys (paraphe keys migrate).
type KeyMigration struct {
	d MigrationDeps
}

// NewKeyMigration returns a KeyMigration. It has nothing to tune.
func NewKeyMigration(d MigrationDeps) *KeyMigration {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &KeyMigration{d: d}
}

// Migration is what a migration did.
type Migration struct {
	Migrated int      // users whose token key was replaced by a wrapped one
	Skipped  int      // users already on wrapped keys
	Failed   []string // user ids left on their token key (see the log)
}

// migratePage is how many users one read of the store returns.
const migratePage = 200

// Run moves every active user from a token key to a wrapped one, and removes the token
// copies. PKCS#11 cannot wrap a key made non-extractable, which every token key of
// Paraphe is, so each user gets a new key, generated in the HSM and wrapped there, with
// a new certificate of the same subject; the old certificate is revoked (superseded: the
// signatures it made stay valid) and the old key destroyed. The user's device, PIN and
// history do not change. A user whose key changes meanwhile (re-activated, blocked) is
// left alone and listed in Failed.
func (m *KeyMigration) Run(ctx context.Context) (Migration, error) {
	if err := m.d.Keys.EnsureWrapKey(ctx); err != nil {
		return Migration{}, err
	}
	out := Migration{Failed: []string{}}
	after := ""
	for {
		page, err := m.d.Store.ActiveKeyHolders(ctx, after, migratePage)
		if err != nil {
			return out, err
		}
		if len(page) == 0 {
			return out, nil
		}
		after = page[len(page)-1].UserID
		for _, h := range page {
			if h.KeyRef.Wrapped() {
				out.Skipped++
				continue
			}
			if err := m.migrate(ctx, h); err != nil {
				m.d.Log.Error("key not migrated", "user", h.UserID, "err", err)
				out.Failed = append(out.Failed, h.UserID)
				continue
			}
			out.Migrated++
		}
	}
}

func (m *KeyMigration) migrate(ctx context.Context, h KeyHolder) error {
	u, err := m.d.Store.User(ctx, h.UserID)
	if err != nil {
		return err
	}
	now := m.d.Now().UTC()
	ref, pub, err := m.d.Keys.NewWrappedSigningKey(ctx, "paraphe-user-"+u.ID+"-"+now.Format("20060102T150405.000000"))
	if err != nil {
		return fmt.Errorf("new key: %w", err)
	}
	cert, err := m.d.Issuer.IssueUser(ctx, ca.IssueRequest{
		Subject:   ca.UserSubject{GivenName: u.GivenName, Surname: u.Surname, SerialNumber: "PAR-" + u.ID, Country: u.Country},
		PublicKey: pub,
	})
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	revoked, err := m.d.Store.ReplaceKey(ctx, u.ID, h.KeyRef, ref, Certificate{
		Serial: cert.SerialNumber.Text(16), UserID: u.ID, DER: cert.Raw, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
	}, now)
	if err != nil {
		return err
	}
	record := func(ev audit.Event) {
		if _, err := m.d.Audit.Record(ctx, ev); err != nil {
			m.d.Log.Error("audit record failed", "type", ev.Type, "err", err)
		}
	}
	record(audit.Event{Type: audit.KeyGenerated, Actor: audit.Operator, Subject: u.ID, Detail: map[string]string{"keyLabel": ref.String(), "storage": "wrapped"}})
	record(audit.Event{Type: audit.CertificateIssued, Actor: audit.Operator, Subject: u.ID, Detail: map[string]string{"serial": cert.SerialNumber.Text(16)}})
	for _, serial := range revoked {
		record(audit.Event{Type: audit.CertificateRevoked, Actor: audit.Operator, Subject: u.ID, Detail: map[string]string{"serial": serial, "reason": "superseded"}})
	}
	if err := m.d.Keys.DestroySigningKey(ctx, h.KeyRef); err != nil && !errors.Is(err, hsm.ErrKeyNotFound) {
		m.d.Log.Warn("old token key not destroyed", "user", u.ID, "key", h.KeyRef.String(), "err", err)
	}
	return nil
}
