package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/store"
)

// Migration is what `paraphe keys migrate` did.
type Migration struct {
	Migrated int      `json:"migrated"` // users whose token key was replaced by a wrapped one
	Skipped  int      `json:"skipped"`  // users already on wrapped keys
	Failed   []string `json:"failed"`   // user ids left on their token key (see the log)
}

// migratePage is how many users one read of the store returns.
const migratePage = 200

// MigrateKeys moves every active user from a token key to a wrapped one, and removes the
// token copies. PKCS#11 cannot wrap a key made non-extractable, which every token key of
// Paraphe is, so each user gets a new key, generated in the HSM and wrapped there, with a
// new certificate of the same subject; the old certificate is revoked (superseded: the
// signatures it made stay valid) and the old key destroyed. The user's device, PIN and
// history do not change. A user whose key changes meanwhile (re-activated, blocked) is
// left alone. MigrateKeys needs the CA (WithCA).
func (e *Env) MigrateKeys(ctx context.Context) (Migration, error) {
	if e.CA == nil {
		return Migration{}, errors.New("app: migrate keys: the CA is not open")
	}
	if err := e.Token.EnsureWrapKey(ctx); err != nil {
		return Migration{}, err
	}
	out := Migration{Failed: []string{}}
	after := ""
	for {
		page, err := e.Store.ActiveKeyHolders(ctx, after, migratePage)
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
			if err := e.migrateKey(ctx, h); err != nil {
				e.Log.Error("key not migrated", "user", h.UserID, "err", err)
				out.Failed = append(out.Failed, h.UserID)
				continue
			}
			out.Migrated++
		}
	}
}

func (e *Env) migrateKey(ctx context.Context, h store.KeyHolder) error {
	u, err := e.Store.User(ctx, h.UserID)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	c, err := e.Token.CreateSigningKey(ctx, hsm.CreateKeyRequest{
		Name: "paraphe-user-" + u.ID + "-" + now.Format("20060102T150405.000000"), Type: e.Cfg.KeyType, Storage: hsm.StorageWrapped,
	})
	if err != nil {
		return fmt.Errorf("new key: %w", err)
	}
	cert, err := e.CA.IssueUser(ctx, ca.IssueRequest{
		Subject:   ca.UserSubject{GivenName: u.GivenName, Surname: u.Surname, SerialNumber: "PAR-" + u.ID, Country: u.Country},
		PublicKey: c.Public,
	})
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	revoked, err := e.Store.ReplaceKey(ctx, u.ID, h.KeyRef, c.Ref, device.Certificate{
		Serial: cert.SerialNumber.Text(16), UserID: u.ID, DER: cert.Raw, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
	}, now)
	if err != nil {
		return err
	}
	record := func(ev audit.Event) {
		if _, err := e.Audit.Record(ctx, ev); err != nil {
			e.Log.Error("audit record failed", "type", ev.Type, "err", err)
		}
	}
	record(audit.Event{Type: audit.KeyGenerated, Actor: audit.Operator, Subject: u.ID, Detail: map[string]string{"keyLabel": c.Ref.String(), "storage": "wrapped"}})
	record(audit.Event{Type: audit.CertificateIssued, Actor: audit.Operator, Subject: u.ID, Detail: map[string]string{"serial": cert.SerialNumber.Text(16)}})
	for _, serial := range revoked {
		record(audit.Event{Type: audit.CertificateRevoked, Actor: audit.Operator, Subject: u.ID, Detail: map[string]string{"serial": serial, "reason": "superseded"}})
	}
	if err := e.Token.DestroySigningKey(ctx, h.KeyRef); err != nil && !errors.Is(err, hsm.ErrKeyNotFound) {
		e.Log.Warn("old token key not destroyed", "user", u.ID, "key", h.KeyRef.String(), "err", err)
	}
	return nil
}
