package integrator

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/paraphe/paraphe/audit"
)

type memStore struct{ byHash map[string]*Integrator }

func (m *memStore) CreateIntegrator(_ context.Context, in *Integrator) error {
	m.byHash[string(in.APIKeyHash)] = in
	return nil
}
func (m *memStore) IntegratorByKeyHash(_ context.Context, h []byte) (*Integrator, error) {
	if in, ok := m.byHash[string(h)]; ok {
		return in, nil
	}
	return nil, ErrNotFound
}
func (m *memStore) Integrator(_ context.Context, id string) (*Integrator, error) {
	for _, in := range m.byHash {
		if in.ID == id {
			return in, nil
		}
	}
	return nil, ErrNotFound
}

// hmacStub stands in for the HSM: a deterministic keyed function, enough to check that
// the secret is derived per integrator and never stored.
type hmacStub struct{}

func (hmacStub) HMAC(_ context.Context, label string, data []byte) ([]byte, error) {
	return append([]byte(label+":"), data...)[:32], nil
}

type nopAudit struct{}

func (nopAudit) Record(context.Context, audit.Event) (audit.Entry, error) { return audit.Entry{}, nil }

func TestAddAndAuthenticate(t *testing.T) {
	st := &memStore{byHash: map[string]*Integrator{}}
	s := New(Deps{Store: st, MAC: hmacStub{}, Audit: nopAudit{}})
	ctx := context.Background()
	a, err := s.Add(ctx, "Acme HR")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.APIKey, "pk_") || len(a.APIKey) < 40 {
		t.Fatalf("API key %q", a.APIKey)
	}
	for _, in := range st.byHash {
		if bytes.Contains(in.APIKeyHash, []byte(a.APIKey)) {
			t.Fatal("API key stored in the clear")
		}
	}
	got, err := s.Authenticate(ctx, a.APIKey)
	if err != nil || got.ID != a.ID {
		t.Fatalf("authenticate: %v", err)
	}
	for _, bad := range []string{"", "pk_", a.APIKey + "x", strings.TrimPrefix(a.APIKey, "pk_"), strings.Repeat("pk_x", 100)} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	again, _ := s.WebhookSecret(ctx, a.ID)
	if again != a.WebhookSecret {
		t.Fatal("webhook secret not reproducible")
	}
	for _, name := range []string{"", "  ", "a\x00b", strings.Repeat("x", 201)} {
		if _, err := s.Add(ctx, name); !errors.Is(err, ErrInvalid) {
			t.Errorf("name %q accepted", name)
		}
	}
}
