package device

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/ca"
	"github.com/paraphe/paraphe/hsm"
)

type migStore struct {
	holders  []KeyHolder
	changed  map[string]bool // users whose key changed meanwhile
	replaced map[string]hsm.KeyRef
}

func (m *migStore) ActiveKeyHolders(_ context.Context, after string, limit int) ([]KeyHolder, error) {
	var out []KeyHolder
	for _, h := range m.holders {
		if h.UserID > after && len(out) < limit {
			out = append(out, h)
		}
	}
	return out, nil
}

func (m *migStore) User(_ context.Context, id string) (*User, error) {
	return &User{ID: id, GivenName: "Ada", Surname: "Lovelace", Country: "BE", Status: UserActive}, nil
}

func (m *migStore) ReplaceKey(_ context.Context, userID string, _, next hsm.KeyRef, _ Certificate, _ time.Time) ([]string, error) {
	if m.changed[userID] {
		return nil, errors.New("key changed meanwhile")
	}
	m.replaced[userID] = next
	return []string{"old-" + userID}, nil
}

type migKeys struct{ made, destroyed []string }

func (k *migKeys) EnsureWrapKey(context.Context) error { return nil }

func (k *migKeys) NewWrappedSigningKey(_ context.Context, name string) (hsm.KeyRef, crypto.PublicKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	k.made = append(k.made, name)
	return hsm.LabelRef(name), key.Public(), nil
}

func (k *migKeys) DestroySigningKey(_ context.Context, ref hsm.KeyRef) error {
	k.destroyed = append(k.destroyed, ref.String())
	return nil
}

type migIssuer struct{}

func (migIssuer) IssueUser(_ context.Context, req ca.IssueRequest) (*x509.Certificate, error) {
	return &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: req.Subject.GivenName}, PublicKey: req.PublicKey}, nil
}

type migAudit struct{ events []audit.Event }

func (a *migAudit) Record(_ context.Context, ev audit.Event) (audit.Entry, error) {
	a.events = append(a.events, ev)
	return audit.Entry{}, nil
}

// TestKeyMigration: every token key is replaced (new key, certificate, audit entries, old
// key destroyed); a user whose key changed meanwhile is left alone and listed as failed,
// with nothing destroyed.
func TestKeyMigration(t *testing.T) {
	tests := []struct {
		name     string
		users    []string
		changed  []string
		migrated int
	}{
		{"nobody", nil, nil, 0},
		{"two users", []string{"u1", "u2"}, nil, 2},
		{"one changed meanwhile", []string{"u1", "u2", "u3"}, []string{"u2"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &migStore{changed: map[string]bool{}, replaced: map[string]hsm.KeyRef{}}
			for _, u := range tc.users {
				st.holders = append(st.holders, KeyHolder{UserID: u, KeyRef: hsm.LabelRef("token-" + u)})
			}
			for _, u := range tc.changed {
				st.changed[u] = true
			}
			keys, aud := &migKeys{}, &migAudit{}
			m, err := NewKeyMigration(MigrationDeps{Store: st, Keys: keys, Issuer: migIssuer{}, Audit: aud}).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if m.Migrated != tc.migrated || !slices.Equal(m.Failed, append([]string{}, tc.changed...)) {
				t.Fatalf("migration %+v, want %d migrated, failed %v", m, tc.migrated, tc.changed)
			}
			if len(keys.destroyed) != tc.migrated || len(aud.events) != 3*tc.migrated {
				t.Fatalf("%d keys destroyed, %d audit events; want %d and %d", len(keys.destroyed), len(aud.events), tc.migrated, 3*tc.migrated)
			}
			for _, u := range tc.changed {
				if slices.Contains(keys.destroyed, "token-"+u) {
					t.Fatalf("the key of %s, which changed meanwhile, was destroyed", u)
				}
			}
		})
	}
}
