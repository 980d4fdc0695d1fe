package signer_test

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
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/engine"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/signer"
)

// memStore is an in-memory signer.Store with the same conditional semantics as the SQL
// store: a transition happens only from the listed states, a nonce rotates only from the
// current one, and a signing lease is claimed only once it ran out.
type memStore struct {
	mu       sync.Mutex
	reqs     map[string]*signer.Request
	lease    map[string]time.Time
	attempt  map[string]int
	refusals map[string]int
}

func newMemStore() *memStore {
	return &memStore{reqs: map[string]*signer.Request{}, lease: map[string]time.Time{}, attempt: map[string]int{}, refusals: map[string]int{}}
}

// clone returns a deep enough copy for callers to hold without seeing later changes.
func clone(r *signer.Request) *signer.Request {
	c := *r
	c.IconChoices = slices.Clone(r.IconChoices)
	c.Documents = slices.Clone(r.Documents)
	return &c
}

func (m *memStore) CreateRequest(_ context.Context, r *signer.Request, maxPending int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.reqs[r.ID]; ok {
		return errors.New("memstore: duplicate id")
	}
	if maxPending > 0 {
		n := 0
		for _, o := range m.reqs {
			if o.IntegratorID == r.IntegratorID && o.UserID == r.UserID && o.Status == signer.StatusPending && o.ExpiresAt.After(r.CreatedAt) {
				n++
			}
		}
		if n >= maxPending {
			return signer.ErrTooManyPending
		}
	}
	m.reqs[r.ID] = clone(r)
	return nil
}

func (m *memStore) Request(_ context.Context, id string) (*signer.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reqs[id]
	if !ok {
		return nil, signer.ErrNotFound
	}
	return clone(r), nil
}

func (m *memStore) RequestHead(ctx context.Context, id string) (*signer.Request, error) {
	r, err := m.Request(ctx, id)
	if err != nil {
		return nil, err
	}
	r.Documents = nil
	return r, nil
}

func (m *memStore) PendingForUser(_ context.Context, userID string, now time.Time) ([]*signer.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*signer.Request
	for _, r := range m.reqs {
		if r.UserID == userID && r.Status == signer.StatusPending && r.ExpiresAt.After(now) {
			out = append(out, clone(r))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func (m *memStore) CountPendingForUser(_ context.Context, integratorID, userID string, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.reqs {
		if r.IntegratorID == integratorID && r.UserID == userID && r.Status == signer.StatusPending && r.ExpiresAt.After(now) {
			n++
		}
	}
	return n, nil
}

func (m *memStore) Transition(_ context.Context, id string, from []signer.Status, c signer.Change) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reqs[id]
	if !ok || !slices.Contains(from, r.Status) {
		return false, nil
	}
	r.Status, r.Reason = c.To, c.Reason
	if c.DeviceID != "" {
		r.DeviceID, r.ChosenIcon, r.DecidedIP = c.DeviceID, c.ChosenIcon, c.ClientIP
	}
	at := c.At
	switch {
	case c.To == signer.StatusApproved || c.To == signer.StatusAuthorized:
		r.ApprovedAt = &at
		if c.To == signer.StatusAuthorized {
			until := c.Until
			r.AuthorizedUntil = &until
		}
		if !c.LeaseUntil.IsZero() {
			m.lease[id], m.attempt[id] = c.LeaseUntil, 1
		}
	case c.To.Final():
		r.FinishedAt = &at
	}
	return true, nil
}

func (m *memStore) RotateNonce(_ context.Context, id, old, next string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reqs[id]
	if !ok || r.Nonce != old {
		return false, nil
	}
	r.Nonce = next
	return true, nil
}

func (m *memStore) CompleteSigned(_ context.Context, id string, results [][]byte, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reqs[id]
	if !ok || r.Status != signer.StatusApproved || len(results) != len(r.Documents) {
		return false, nil
	}
	for i := range r.Documents {
		r.Documents[i].Result = results[i]
	}
	r.Status, r.FinishedAt = signer.StatusSigned, &at
	return true, nil
}

func (m *memStore) ExpireDue(_ context.Context, now time.Time) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for id, r := range m.reqs {
		if r.Status == signer.StatusPending && !now.Before(r.ExpiresAt) {
			r.Status, r.Reason, r.FinishedAt = signer.StatusExpired, signer.ReasonExpired, &now
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (m *memStore) HistoryForUser(_ context.Context, userID string, _ *signer.Cursor, limit int) ([]*signer.Request, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*signer.Request
	for _, r := range m.reqs {
		if r.UserID == userID {
			out = append(out, clone(r))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out[:min(limit, len(out))], nil
}

func (m *memStore) IdempotentRequest(context.Context, string, string, time.Time) (signer.Idempotency, bool, error) {
	return signer.Idempotency{}, false, nil
}

func (m *memStore) AuditForRequest(context.Context, string) ([]audit.Entry, error) { return nil, nil }

func (m *memStore) CertificateDER(context.Context, string) ([]byte, error) { return nil, nil }

func (m *memStore) MarkDownloaded(context.Context, string, int, time.Time) error { return nil }

func (m *memStore) ClaimApproved(_ context.Context, now, until time.Time, limit int) ([]signer.Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []signer.Claim
	for id, r := range m.reqs {
		if len(out) < limit && r.Status == signer.StatusApproved && m.lease[id].Before(now) {
			m.lease[id] = until
			m.attempt[id]++
			out = append(out, signer.Claim{RequestID: id, Attempt: m.attempt[id]})
		}
	}
	return out, nil
}

func (m *memStore) ExtendLease(_ context.Context, id string, attempt int, until time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reqs[id]
	if !ok || r.Status != signer.StatusApproved || m.attempt[id] != attempt {
		return false, nil
	}
	m.lease[id] = until
	return true, nil
}

func (m *memStore) AddRefusal(_ context.Context, userID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refusals[userID]++
	return nil
}

var _ signer.Store = (*memStore)(nil)

// clock is a fake clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ids is the signer's identity source; blocked can be flipped by a test.
type ids struct {
	mu      sync.Mutex
	id      signer.Identity
	blocked bool
}

func (f *ids) Identity(_ context.Context, userID string) (signer.Identity, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if userID != f.id.UserID {
		return signer.Identity{}, signer.ErrSignerNotFound
	}
	id := f.id
	id.Blocked = f.blocked
	return id, nil
}

// approvals checks the device signature for real (device.VerifyBytes) and the PIN
// against a fixed one, counting failures and locking at five as the device service does.
type approvals struct {
	mu       sync.Mutex
	pin      string
	failures int
}

func (a *approvals) VerifyApproval(dev *device.Device, challenge, sig []byte) error {
	return device.VerifyBytes(dev.PublicKey, challenge, sig)
}

func (a *approvals) VerifyPIN(_ context.Context, _ *device.Device, pin string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failures >= device.MaxPINFailures {
		return device.ErrLocked
	}
	if pin == a.pin {
		a.failures = 0
		return nil
	}
	a.failures++
	if a.failures >= device.MaxPINFailures {
		return device.ErrLocked
	}
	return &device.WrongPINError{AttemptsLeft: device.MaxPINFailures - a.failures}
}

// auditLog keeps the events recorded.
type auditLog struct {
	mu     sync.Mutex
	events []audit.Event
}

func (l *auditLog) Record(_ context.Context, ev audit.Event) (audit.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	return audit.Entry{Seq: int64(len(l.events)), Event: ev}, nil
}

func (l *auditLog) types(requestID string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e.RequestID == requestID {
			out = append(out, e.Type)
		}
	}
	return out
}

// notes keeps the device notifications.
type notes struct {
	mu   sync.Mutex
	seen []string
}

func (n *notes) RequestChanged(_ context.Context, _, requestID, status string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.seen = append(n.seen, requestID+" "+status)
}

// userKeys holds the user's software signing key under its reference.
type userKeys struct {
	ref   hsm.KeyRef
	key   crypto.Signer
	opens int
	mu    sync.Mutex
}

func (k *userKeys) SigningKey(_ context.Context, ref hsm.KeyRef) (crypto.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.opens++
	if string(ref) != string(k.ref) {
		return nil, hsm.ErrKeyNotFound
	}
	return k.key, nil
}

// world is a signer.Service over fakes, a device with its key, and the user's key and
// self-issued certificate.
type world struct {
	svc    *signer.Service
	store  *memStore
	clock  *clock
	ids    *ids
	pins   *approvals
	audit  *auditLog
	notes  *notes
	keys   *userKeys
	dev    *device.Device
	devKey *ecdsa.PrivateKey
}

const userID = "user-1"

func newWorld(t *testing.T) *world {
	t.Helper()
	userKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Ada Lovelace"},
		NotBefore: start.Add(-time.Hour), NotAfter: start.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageContentCommitment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, userKey.Public(), userKey)
	if err != nil {
		t.Fatal(err)
	}
	devKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(devKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	w := &world{
		store: newMemStore(), clock: &clock{now: start}, pins: &approvals{pin: "13579"}, audit: &auditLog{}, notes: &notes{},
		keys:   &userKeys{ref: hsm.LabelRef("paraphe-user-1"), key: userKey},
		dev:    &device.Device{ID: "dev-1", UserID: userID, PublicKey: spki, Status: device.DeviceActive},
		devKey: devKey,
	}
	w.ids = &ids{id: signer.Identity{UserID: userID, Enrolled: true, KeyRef: w.keys.ref, CertificateDER: der}}
	w.svc = signer.New(signer.Deps{
		Store: w.store, Ids: w.ids, Engine: engine.New(engine.Deps{Keys: w.keys}), Approvals: w.pins,
		Audit: w.audit, Notify: w.notes, Now: w.clock.Now,
	}, signer.Config{SignLease: 10 * time.Second, MaxSignAttempts: 2})
	return w
}

// create makes a pending hash-mode request of two documents.
func (w *world) create(t *testing.T) *signer.Request {
	t.Helper()
	d1 := make([]byte, 32)
	d2 := make([]byte, 48)
	d2[0] = 1
	r, created, err := w.svc.Create(context.Background(), signer.CreateInput{
		IntegratorID: "integrator-1", UserID: userID, Format: signer.FormatCAdES, Level: signer.LevelBB,
		Documents: []signer.DocumentInput{{Name: "a.pdf", Hash: crypto.SHA256, Digest: d1}, {Name: "b.pdf", Hash: crypto.SHA384, Digest: d2}},
	})
	if err != nil || !created {
		t.Fatalf("Create: %v (created %v)", err, created)
	}
	return r
}

// approval builds what the device sends for r with the given icon and PIN, signed over
// the challenge of the request's current nonce.
func (w *world) approval(t *testing.T, r *signer.Request, icon, pin string) signer.ApproveInput {
	t.Helper()
	cur, err := w.store.Request(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := device.SignBytes(w.devKey, signer.ChallengeOf(cur, icon, cur.Nonce))
	if err != nil {
		t.Fatal(err)
	}
	return signer.ApproveInput{RequestID: r.ID, Icon: icon, PIN: pin, Nonce: cur.Nonce, Signature: sig, ClientIP: "192.0.2.1"}
}

func (w *world) status(t *testing.T, id string) (signer.Status, string) {
	t.Helper()
	r, err := w.store.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status, r.Reason
}

// otherIcon returns an icon among the choices that is not the right one.
func otherIcon(r *signer.Request) string {
	for _, c := range r.IconChoices {
		if c != r.IconID {
			return c
		}
	}
	return ""
}
