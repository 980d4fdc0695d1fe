// Package client is the reference device client: what a signer's phone app does. It
// keeps the device's P-256 key and ids in a state file, signs every call with the device
// key, and approves a request by signing the canonical challenge rebuilt from what it
// shows the signer. Client is safe for concurrent use; several processes may read one
// state file at once (it is replaced atomically).
package client

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// State is what the device keeps between calls. The device key plays the part of a
// phone's hardware-backed key: it never leaves this file.
type State struct {
	Server     string `json:"server"`
	DeviceID   string `json:"deviceId"`
	UserID     string `json:"userId"`
	DeviceKey  []byte `json:"deviceKey"` // PKCS#8 DER
	EnrolledAt string `json:"enrolledAt"`
	key        *ecdsa.PrivateKey
}

// NewState returns the state of a device enrolled with key by other means than Enroll
// (a load generator enrolling many devices on one HTTP client).
func NewState(server, deviceID, userID string, key *ecdsa.PrivateKey) (*State, error) {
	pk8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	return &State{Server: server, DeviceID: deviceID, UserID: userID, DeviceKey: pk8, key: key}, nil
}

// Load reads a state file.
func Load(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no device state in %s: enroll first", path)
		}
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state file %s is damaged: %v", path, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(s.DeviceKey)
	if err != nil {
		return nil, fmt.Errorf("state file %s: device key: %v", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || s.DeviceID == "" || s.Server == "" {
		return nil, fmt.Errorf("state file %s is incomplete: enroll again", path)
	}
	s.key = ek
	return &s, nil
}

// Save writes the state atomically (temporary file, then rename), so concurrent readers
// never see half a file.
func (s *State) Save(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".paraphe-device-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
