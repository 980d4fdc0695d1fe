package csc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/signer"
)

// tokens is a Store in memory with the SQL store's conditional updates.
type tokens struct {
	mu    sync.Mutex
	byKey map[string]*Token
	owner map[string]string // certificate serial → user
}

func (m *tokens) CreateToken(_ context.Context, t *Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *t
	m.byKey[string(t.Hash)] = &c
	return nil
}

func (m *tokens) Token(_ context.Context, hash []byte, kind string) (*Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.byKey[string(hash)]
	if !ok || t.Kind != kind {
		return nil, ErrTokenNotFound
	}
	c := *t
	return &c, nil
}

func (m *tokens) UseToken(_ context.Context, hash []byte, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.byKey[string(hash)]
	if !ok || t.UsedAt != nil || t.RevokedAt != nil {
		return false, nil
	}
	t.UsedAt = &at
	return true, nil
}

func (m *tokens) RevokeToken(_ context.Context, hash []byte, clientID string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.byKey[string(hash)]; ok && t.ClientID == clientID && t.RevokedAt == nil {
		t.RevokedAt = &at
	}
	return nil
}

func (m *tokens) RevokeAuthorizationTokens(_ context.Context, requestID, kind string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.byKey {
		if t.RequestID == requestID && t.Kind == kind && t.RevokedAt == nil {
			t.RevokedAt = &at
		}
	}
	return nil
}

func (m *tokens) SetTokenData(_ context.Context, hash []byte, data string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byKey[string(hash)].Data = data
	return nil
}

func (m *tokens) CertificateOwner(_ context.Context, serial string) (string, error) {
	if u, ok := m.owner[serial]; ok {
		return u, nil
	}
	return "", ErrTokenNotFound
}

// oneSigner is the workflow and the identities of one signer, whose authorization the
// test settles by hand; Consume only counts its calls.
type oneSigner struct {
	id       signer.Identity
	req      *signer.Request
	consumed int
}

func (o *oneSigner) Identity(context.Context, string) (signer.Identity, error) { return o.id, nil }

func (o *oneSigner) Create(_ context.Context, in signer.CreateInput) (*signer.Request, bool, error) {
	o.req = &signer.Request{ID: "req-1", IntegratorID: in.IntegratorID, UserID: in.UserID, Format: signer.FormatRaw,
		Status: signer.StatusPending, IconID: "icon-1", ExpiresAt: time.Now().Add(time.Hour)}
	return o.req, true, nil
}

func (o *oneSigner) Authorization(_ context.Context, integratorID, id string) (*signer.Request, error) {
	if o.req == nil || o.req.ID != id || o.req.IntegratorID != integratorID {
		return nil, signer.ErrNotFound
	}
	c := *o.req
	return &c, nil
}

func (o *oneSigner) Consume(_ context.Context, in signer.ConsumeInput, _ signer.SignFunc) ([][]byte, error) {
	o.consumed++
	return make([][]byte, len(in.Digests)), nil
}

func (o *oneSigner) SignPDF(context.Context, signer.SignPDFInput) ([]byte, []byte, error) {
	return nil, nil, errors.New("not used")
}

func (o *oneSigner) SignCMS(context.Context, signer.SignCMSInput) ([][]byte, error) {
	return nil, errors.New("not used")
}

type clients struct{}

func (clients) AuthenticateClient(context.Context, string, string) (*integrator.Integrator, error) {
	return nil, integrator.ErrUnauthenticated
}

func (clients) Client(_ context.Context, id string) (*integrator.Integrator, error) {
	return &integrator.Integrator{ID: id}, nil
}

// TestSADLifetime: a SAD works for its client and credential until its 5 minutes are
// over; extendTransaction renews it (the old one dies) within the authorization's own
// time, never past it; a refused call reaches no signature.
func TestSADLifetime(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0xabc), Subject: pkix.Name{CommonName: "Ada"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig := &oneSigner{id: signer.Identity{UserID: "user-1", Enrolled: true, CertificateDER: der}}
	s := New(Deps{Store: &tokens{byKey: map[string]*Token{}, owner: map[string]string{"abc": "user-1"}}, Clients: clients{},
		Requests: sig, Identities: sig, Now: func() time.Time { return now }}, Config{})
	ctx := context.Background()
	a := &Principal{ClientID: "client-a", Scope: ScopeService}
	b := &Principal{ClientID: "client-b", Scope: ScopeService}
	h := base64.StdEncoding.EncodeToString(make([]byte, 32))
	handle, _, err := s.Authorize(ctx, a, AuthorizeRequest{CredentialID: "abc", NumSignatures: 1, Hashes: []string{h},
		HashAlgorithmOID: OIDSHA256, AuthDataIDs: []string{"phone"}})
	if err != nil {
		t.Fatal(err)
	}
	until := now.Add(time.Hour)
	sig.req.Status, sig.req.AuthorizedUntil = signer.StatusAuthorized, &until
	chk, err := s.AuthorizeCheck(ctx, a, handle)
	if err != nil || chk.SAD == "" || chk.ExpiresIn != 300 {
		t.Fatalf("authorizeCheck: %+v %v", chk, err)
	}
	if _, err := s.AuthorizeCheck(ctx, a, handle); err == nil {
		t.Fatal("the handle gave a second SAD")
	}
	sign := func(p *Principal, cred, sad string) error {
		_, _, err := s.SignHash(ctx, p, SignHashRequest{CredentialID: cred, SAD: sad, Hashes: []string{h}, HashAlgorithmOID: OIDSHA256,
			SignAlgo: OIDECDSASHA256})
		return err
	}
	var ce *Error
	for _, tc := range []struct {
		name string
		p    *Principal
		cred string
	}{{"another client", b, "abc"}, {"another credential", a, "abd"}} {
		if err := sign(tc.p, tc.cred, chk.SAD); !errors.As(err, &ce) || ce.Status != 400 {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	if err := sign(a, "abc", chk.SAD); err != nil {
		t.Fatalf("the SAD within its time: %v", err)
	}
	// Renewed before its end: the old one dies, the new one lives 5 minutes more.
	now = now.Add(4 * time.Minute)
	ext, err := s.Extend(ctx, a, "abc", chk.SAD)
	if err != nil || ext.SAD == chk.SAD {
		t.Fatalf("extend: %+v %v", ext, err)
	}
	if err := sign(a, "abc", chk.SAD); !errors.As(err, &ce) {
		t.Fatalf("the extended-away SAD: %v", err)
	}
	now = now.Add(4 * time.Minute) // 8 minutes after the first SAD
	if err := sign(a, "abc", ext.SAD); err != nil {
		t.Fatalf("the renewed SAD within its time: %v", err)
	}
	// Expired: refused, and it cannot be renewed.
	now = now.Add(2 * time.Minute)
	if err := sign(a, "abc", ext.SAD); !errors.As(err, &ce) || ce.Status != 400 {
		t.Fatalf("an expired SAD: %v", err)
	}
	if _, err := s.Extend(ctx, a, "abc", ext.SAD); !errors.As(err, &ce) {
		t.Fatalf("an expired SAD renewed: %v", err)
	}
	// Near the authorization's end, a renewed SAD lives only until then.
	now = until.Add(-time.Minute)
	next, _, err := s.newSAD(ctx, "client-a", "abc", sig.req)
	if err != nil {
		t.Fatal(err)
	}
	ext, err = s.Extend(ctx, a, "abc", next)
	if err != nil || ext.ExpiresIn != 60 {
		t.Fatalf("extend near the end: %+v %v", ext, err)
	}
	if sig.consumed != 2 {
		t.Fatalf("%d consumptions reached the workflow, want the 2 allowed", sig.consumed)
	}
}
