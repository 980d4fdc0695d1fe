package client

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"path/filepath"
	"testing"
)

// TestNewStateSavesAndLoads: a state made with NewState carries its key (a client can
// sign with it) and survives Save and Load.
func TestNewStateSavesAndLoads(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewState("http://127.0.0.1:1", "dev-1", "user-1", key)
	if err != nil {
		t.Fatal(err)
	}
	if st.key == nil || !st.key.Equal(key) {
		t.Fatal("the state does not hold the key")
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Server != st.Server || got.DeviceID != "dev-1" || got.UserID != "user-1" || !got.key.Equal(key) {
		t.Fatalf("loaded %+v", got)
	}
}
