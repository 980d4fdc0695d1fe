package hsm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/miekg/pkcs11"

	"github.com/paraphe/paraphe/errkind"
)

// sessionFlags opens read-write sessions: key generation creates token
// objects.
const sessionFlags = pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION

// Token is a logged-in PKCS#11 token with a pool of sessions. It is safe for
// concurrent use by multiple goroutines.
type Token struct {
	mod    *module
	p      pkctx
	slotMu sync.Mutex // guards slot, which changes when a token comes back in another slot
	slot   uint
	label  string
	// epoch counts the losses of the whole token (device removed, token gone): a session
	// opened in an earlier epoch is dead even if it has not failed yet, and is reopened
	// before use.
	epoch atomic.Uint64
	pin   string // kept to log in again after a session is lost; never logged

	pool chan *session // free sessions; capacity = size
	size int
	done chan struct{} // closed by Close

	closeOnce sync.Once
	closeErr  error

	// objMu serializes the check-then-create sequences (GenerateKey,
	// EnsureHMACKey, DeleteKey) within this process. Other processes
	// sharing the token are not covered.
	objMu sync.Mutex

	// cache maps labels to keys and secret-key handles already found: a search
	// (C_FindObjects) costs more than a signature and grows with the number of
	// objects in the token (SoftHSM scans them all), while handles stay valid
	// for the process. A handle that became invalid (the object was destroyed,
	// perhaps by another process) is looked up again by label once.
	cacheMu sync.RWMutex
	keys    map[string]*Key
	secrets map[string]pkcs11.ObjectHandle
	// kekTrusted records whether the key-encryption key of wrapped storage is
	// CKA_TRUSTED (see EnsureWrapKey).
	kekTrusted bool
}

func (t *Token) cachedKey(label string) *Key {
	t.cacheMu.RLock()
	defer t.cacheMu.RUnlock()
	return t.keys[label]
}

func (t *Token) cacheKey(k *Key) {
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	if t.keys == nil {
		t.keys = map[string]*Key{}
	}
	t.keys[k.label] = k
}

func (t *Token) forget(label string) {
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	delete(t.keys, label)
	delete(t.secrets, label)
}

// session is a pool entry. A broken session is closed and marked !open; it
// is opened again (and logged in) the next time it is taken from the pool.
type session struct {
	h     pkcs11.SessionHandle
	open  bool
	epoch uint64 // Token.epoch when the session was opened
}

// Open loads cfg.Module (once per process and module path, see the package
// documentation), finds the one token labelled cfg.TokenLabel, logs in as
// user with the PIN read from cfg.PINFile, and opens cfg.Sessions sessions.
//
// Keys on the token are named by their label, which is the "object"
// attribute of their RFC 7512 URI: pkcs11:token=<TokenLabel>;object=<label>
// (see ParseURI). ctx bounds the whole opening. The caller must Close the
// Token.
//
// PKCS#11 keeps the login state per process and token: when another open
// Token of this process is already logged in to the same token, the module
// answers CKR_USER_ALREADY_LOGGED_IN without checking the PIN, so a wrong
// PIN file is only detected by the first Open.
func Open(ctx context.Context, cfg Config) (*Token, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	pin, err := readPIN(cfg.PINFile)
	if err != nil {
		return nil, err
	}
	mod, err := acquireModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	t := &Token{
		mod:   mod,
		p:     mod.p,
		label: cfg.TokenLabel,
		pin:   pin,
		size:  cfg.sessions(),
		done:  make(chan struct{}),
	}
	t.pool = make(chan *session, t.size)
	if err := t.open(ctx); err != nil {
		for len(t.pool) > 0 {
			t.closeSession(<-t.pool)
		}
		return nil, errors.Join(err, mod.release())
	}
	return t, nil
}

// open finds the slot, logs in and fills the pool.
func (t *Token) open(ctx context.Context) error {
	slot, err := findSlot(t.p, t.label)
	if err != nil {
		return err
	}
	t.slot = slot
	for range t.size {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("hsm: opening sessions: %w", err)
		}
		s := &session{}
		if err := t.reopen(s); err != nil {
			return err
		}
		t.pool <- s
	}
	return nil
}

// reopen opens a new session for s and makes sure the user is logged in.
// Login state is per application and token, so only the first session of a
// process really logs in; the others get CKR_USER_ALREADY_LOGGED_IN.
func (t *Token) reopen(s *session) error {
	epoch := t.epoch.Load()
	t.slotMu.Lock()
	slot := t.slot
	t.slotMu.Unlock()
	h, err := t.p.OpenSession(slot, sessionFlags)
	if tokenGone(err) || isRV(err, pkcs11.CKR_SLOT_ID_INVALID) {
		// The token came back (or will) in another slot: find it by its label again.
		if slot, ferr := findSlot(t.p, t.label); ferr == nil {
			t.slotMu.Lock()
			t.slot = slot
			t.slotMu.Unlock()
			h, err = t.p.OpenSession(slot, sessionFlags)
		}
	}
	if err != nil {
		return fmt.Errorf("hsm: C_OpenSession: %w", err)
	}
	if err := t.p.Login(h, pkcs11.CKU_USER, t.pin); err != nil && !isRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		_ = t.p.CloseSession(h)
		return fmt.Errorf("hsm: C_Login: %w", err)
	}
	s.h, s.open, s.epoch = h, true, epoch
	return nil
}

func (t *Token) closeSession(s *session) {
	if s.open {
		_ = t.p.CloseSession(s.h)
		s.open = false
	}
}

// acquire takes a free session, waiting at most until ctx is done.
func (t *Token) acquire(ctx context.Context) (*session, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hsm: waiting for a session: %w", err)
	}
	select {
	case <-t.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("hsm: waiting for a session: %w", ctx.Err())
	case s := <-t.pool:
		select {
		case <-t.done:
			t.pool <- s
			return nil, ErrClosed
		default:
		}
		if s.open && s.epoch < t.epoch.Load() {
			t.closeSession(s) // opened before the token was lost
		}
		if !s.open {
			if err := t.reopen(s); err != nil {
				t.pool <- s
				return nil, err
			}
			slog.Default().Info("hsm: session reopened", "token", t.label)
		}
		return s, nil
	}
}

// releaseSession returns s to the pool; when err shows the session is
// unusable, it is closed first and will be reopened on next use.
func (t *Token) releaseSession(s *session, err error) {
	if err != nil && sessionBroken(err) {
		slog.Default().Warn("hsm: dropping broken session", "token", t.label, "err", err)
		if tokenGone(err) && s.epoch == t.epoch.Load() {
			t.epoch.Add(1) // every other session of that epoch is dead too
		}
		t.closeSession(s)
	}
	t.pool <- s
}

// withSession runs fn with a session from the pool. When fn fails because the session
// or the token was lost (see sessionBroken), it runs fn once more on a session opened
// and logged in anew: fn must be safe to repeat (a signature, a search, an HMAC).
// Errors that mean the token cannot serve now (no session in time, a session that
// cannot be reopened, a device or session failure) are of kind errkind.Unavailable, so
// front ends answer "try again later" (503) rather than "internal error".
func (t *Token) withSession(ctx context.Context, fn func(h pkcs11.SessionHandle) error) error {
	err := t.withSessionOnce(ctx, fn)
	if err != nil && sessionBroken(err) {
		slog.Default().Info("hsm: retrying on a new session", "token", t.label)
		err = t.withSessionOnce(ctx, fn)
	}
	return err
}

// withSessionOnce runs fn with a session from the pool, once: for steps that must not be
// repeated blindly (creating token objects).
func (t *Token) withSessionOnce(ctx context.Context, fn func(h pkcs11.SessionHandle) error) error {
	s, err := t.acquire(ctx)
	if err != nil {
		return errkind.Wrap(errkind.Unavailable, err)
	}
	err = fn(s.h)
	t.releaseSession(s, err)
	if sessionBroken(err) {
		return errkind.Wrap(errkind.Unavailable, err)
	}
	return err
}

// Close waits for operations in progress (a C_Sign that hangs in the module
// makes Close wait too), closes the sessions, and releases
// the module (finalizing it when this was its last user). Later calls on t
// or its keys return ErrClosed. Close is idempotent.
func (t *Token) Close() error {
	t.closeOnce.Do(func() {
		close(t.done)
		for range t.size {
			t.closeSession(<-t.pool)
		}
		t.closeErr = t.mod.release()
	})
	return t.closeErr
}

// Ping checks that a session is usable and logged in, for readiness probes.
// It waits for a free session at most until ctx is done.
func (t *Token) Ping(ctx context.Context) error {
	return t.withSessionOnce(ctx, func(h pkcs11.SessionHandle) error {
		info, err := t.p.GetSessionInfo(h)
		if err != nil {
			return fmt.Errorf("hsm: C_GetSessionInfo: %w", err)
		}
		if info.State != pkcs11.CKS_RW_USER_FUNCTIONS && info.State != pkcs11.CKS_RO_USER_FUNCTIONS {
			// Report as not logged in, so releaseSession reopens it.
			return fmt.Errorf("hsm: session not logged in (state %d): %w", info.State, pkcs11.Error(pkcs11.CKR_USER_NOT_LOGGED_IN))
		}
		return nil
	})
}

// CountObjects returns the number of token objects (CKA_TOKEN) the user sees: what a
// deployment watches against the HSM's capacity.
func (t *Token) CountObjects(ctx context.Context) (int, error) {
	var n int
	err := t.withSession(ctx, func(h pkcs11.SessionHandle) error {
		objs, err := t.findObjects(h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true)}, 0)
		n = len(objs)
		return err
	})
	return n, err
}

// Label returns the label of the token.
func (t *Token) Label() string { return t.label }

// findObjects returns the handles of objects matching tmpl, at most max of
// them (max <= 0: all).
func (t *Token) findObjects(h pkcs11.SessionHandle, tmpl []*pkcs11.Attribute, max int) ([]pkcs11.ObjectHandle, error) {
	if err := t.p.FindObjectsInit(h, tmpl); err != nil {
		return nil, fmt.Errorf("hsm: C_FindObjectsInit: %w", err)
	}
	var all []pkcs11.ObjectHandle
	var ferr error
	for max <= 0 || len(all) < max {
		batch := 16
		if max > 0 && max-len(all) < batch {
			batch = max - len(all)
		}
		objs, _, err := t.p.FindObjects(h, batch)
		if err != nil {
			ferr = fmt.Errorf("hsm: C_FindObjects: %w", err)
			break
		}
		if len(objs) == 0 {
			break
		}
		all = append(all, objs...)
	}
	if err := t.p.FindObjectsFinal(h); err != nil && ferr == nil {
		ferr = fmt.Errorf("hsm: C_FindObjectsFinal: %w", err)
	}
	if ferr != nil {
		return nil, ferr
	}
	return all, nil
}

// findOne returns the one object matching tmpl: ErrKeyNotFound when none,
// ErrAmbiguousKey when several.
func (t *Token) findOne(h pkcs11.SessionHandle, tmpl []*pkcs11.Attribute, label string) (pkcs11.ObjectHandle, error) {
	objs, err := t.findObjects(h, tmpl, 2)
	if err != nil {
		return 0, err
	}
	switch len(objs) {
	case 0:
		return 0, fmt.Errorf("%w: %q", ErrKeyNotFound, label)
	case 1:
		return objs[0], nil
	default:
		return 0, fmt.Errorf("%w: label %q", ErrAmbiguousKey, label)
	}
}

// attributes reads the values of the given attribute types from o.
func (t *Token) attributes(h pkcs11.SessionHandle, o pkcs11.ObjectHandle, types ...uint) (map[uint][]byte, error) {
	tmpl := make([]*pkcs11.Attribute, len(types))
	for i, typ := range types {
		tmpl[i] = pkcs11.NewAttribute(typ, nil)
	}
	attrs, err := t.p.GetAttributeValue(h, o, tmpl)
	if err != nil {
		return nil, fmt.Errorf("hsm: C_GetAttributeValue: %w", err)
	}
	m := make(map[uint][]byte, len(attrs))
	for _, a := range attrs {
		m[a.Type] = a.Value
	}
	return m, nil
}
