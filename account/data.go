package account

import (
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/hsm"
)

// The types below are what account's storage (Store, PrivacyStore) returns; the store
// package builds them, so that storage stays an adapter of this package.

// UserData is everything the store holds about a user, for the right of access.
// Secrets (PIN verifier, device public keys, activation code hashes) are not included:
// they are not readable data about the person.
type UserData struct {
	User         *device.User
	Devices      []DeviceData
	Activations  []ActivationData
	Requests     []RequestData
	Certificates []CertificateData
	// PushSubscriptions are the browsers that the user's devices registered for Web Push.
	PushSubscriptions []PushSubscriptionData
}

// PushSubscriptionData is one Web Push subscription (the browser's keys are not part
// of it: they are secrets of the browser, useless to the user).
type PushSubscriptionData struct {
	DeviceID  string
	Endpoint  string
	CreatedAt time.Time
}

// DeviceData is one enrolled phone.
type DeviceData struct {
	ID        string
	Status    string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// ActivationData is one activation code (its validity only; the code is not kept).
type ActivationData struct {
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// RequestData is one signature request made to the user.
type RequestData struct {
	ID             string
	IntegratorID   string
	IntegratorName string
	Status         string
	Reason         string
	Format         string
	Level          string
	DeviceID       string
	Documents      []string // names, in order
	CreatedIP      string
	DecidedIP      string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	ApprovedAt     *time.Time
	FinishedAt     *time.Time
}

// CertificateData is one certificate issued to the user.
type CertificateData struct {
	Serial    string
	NotBefore time.Time
	NotAfter  time.Time
	RevokedAt *time.Time
	Reason    int
}

// ErasedRecords is what the store's EraseUser did.
type ErasedRecords struct {
	// AlreadyErased is true when the user had been erased before; nothing changed.
	AlreadyErased bool
	// OldKeyRef is the user's signing key in the HSM, for the caller to destroy.
	OldKeyRef      hsm.KeyRef
	DeletedDevices []string
	RevokedSerials []string
}

// AccountChange is what Block and Reactivate did.
type AccountChange struct {
	OldKeyRef       hsm.KeyRef // the user's former signing key, for the caller to destroy
	RevokedDevices  []string
	RevokedSerials  []string
	PendingRequests []string // still pending, or live authorizations: the caller cancels them through the signer
}
