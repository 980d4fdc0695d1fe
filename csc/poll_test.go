package csc

import (
	"context"
	"errors"
	"testing"
	"time"
)

// memStore keeps tokens in memory (only what SignPolling needs reads them).
type memStore struct{ tokens map[string]*Token }

func (m *memStore) CreateToken(_ context.Context, t *Token) error {
	m.tokens[string(t.Hash)] = t
	return nil
}
func (m *memStore) Token(_ context.Context, hash []byte, kind string) (*Token, error) {
	if t, ok := m.tokens[string(hash)]; ok && t.Kind == kind {
		return t, nil
	}
	return nil, ErrTokenNotFound
}
func (m *memStore) UseToken(context.Context, []byte, time.Time) (bool, error)    { return false, nil }
func (m *memStore) RevokeToken(context.Context, []byte, string, time.Time) error { return nil }
func (m *memStore) RevokeAuthorizationTokens(context.Context, string, string, time.Time) error {
	return nil
}
func (m *memStore) CertificateOwner(context.Context, string) (string, error) {
	return "", ErrTokenNotFound
}
func (m *memStore) SetTokenData(_ context.Context, hash []byte, data string) error {
	m.tokens[string(hash)].Data = data
	return nil
}

func TestSignPolling(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	st := &memStore{tokens: map[string]*Token{}}
	s := New(Deps{Store: st, Now: func() time.Time { return now }}, Config{SignTimeout: time.Minute})
	p := &Principal{ClientID: "c1"}
	add := func(value, client, data string, created time.Time) {
		st.tokens[string(hashSecret(value))] = &Token{Hash: hashSecret(value), Kind: KindResponse, ClientID: client, Data: data,
			CreatedAt: created, ExpiresAt: created.Add(time.Hour)}
	}
	add("working", "c1", `{"done":false}`, now.Add(-time.Minute))
	add("lost", "c1", `{"done":false}`, now.Add(-3*time.Minute))
	add("done", "c1", `{"done":true,"signatures":["c2ln"]}`, now.Add(-time.Minute))
	add("refused", "c1", `{"done":true,"error":"invalid_request","errorDescription":"Invalid parameter hashes"}`, now.Add(-time.Minute))
	add("other", "c2", `{"done":true,"signatures":["c2ln"]}`, now.Add(-time.Minute))
	add("doc", "c1", `{"done":true,"doc":true,"documentWithSignature":["cGRm"],"signatureObject":["Y21z","Y21z"]}`, now.Add(-time.Minute))
	tests := []struct {
		id         string
		sigs       int
		docs, objs int
		pending    bool
		status     int
	}{
		{"working", 0, 0, 0, true, 0},
		{"lost", 0, 0, 0, false, 500},
		{"done", 1, 0, 0, false, 0},
		{"doc", 0, 1, 2, false, 0},
		{"refused", 0, 0, 0, false, 400},
		{"other", 0, 0, 0, false, 400},
		{"unknown", 0, 0, 0, false, 400},
		{"", 0, 0, 0, false, 400},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			res, err := s.SignPolling(context.Background(), p, tc.id)
			var ce *Error
			switch {
			case tc.status != 0:
				if !errors.As(err, &ce) || ce.Status != tc.status {
					t.Fatalf("got %+v %v, want status %d", res, err, tc.status)
				}
			case tc.pending:
				if err != nil || res != nil {
					t.Fatalf("got %+v %v, want pending", res, err)
				}
			default:
				if err != nil || res == nil || len(res.Signatures) != tc.sigs || len(res.DocumentWithSignature) != tc.docs ||
					len(res.SignatureObject) != tc.objs || res.Doc != (tc.docs+tc.objs > 0) {
					t.Fatalf("got %+v %v", res, err)
				}
			}
		})
	}
}
