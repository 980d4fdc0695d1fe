package hsm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/miekg/pkcs11"
)

// softhsmConfEnv is the variable SoftHSM2 reads at C_Initialize.
const softhsmConfEnv = "SOFTHSM2_CONF"

// module is one loaded and initialized PKCS#11 library, shared by every
// Token of the process that names the same file.
type module struct {
	key  string // registry key: the resolved path
	p    pkctx
	refs int    // guarded by registry.mu
	conf string // SOFTHSM2_CONF when the module was initialized
	// finalize is false when the library had already been initialized by
	// someone else in the process: then C_Finalize is not ours to call.
	finalize bool
}

// registry holds the modules loaded in this process.
var registry = struct {
	mu   sync.Mutex
	mods map[string]*module
}{mods: map[string]*module{}}

// loadModule loads a PKCS#11 library. Tests replace it.
var loadModule = func(path string) (pkctx, error) {
	p := pkcs11.New(path)
	if p == nil {
		return nil, fmt.Errorf("hsm: cannot load pkcs11 module %s", path)
	}
	return p, nil
}

// moduleKey names a library file so that two spellings of one path share a
// module.
func moduleKey(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return filepath.Clean(path)
}

// acquireModule returns the module for path, loading and initializing it the
// first time. Each successful call must be paired with release.
func acquireModule(path string) (*module, error) {
	return acquireModuleEnv(path, "")
}

// acquireModuleEnv is acquireModule that, when softhsmConf is not empty,
// sets SOFTHSM2_CONF before loading, and refuses a module already loaded
// with another configuration (SoftHSM2 reads it only at C_Initialize).
func acquireModuleEnv(path, softhsmConf string) (*module, error) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	key := moduleKey(path)
	if m, ok := registry.mods[key]; ok {
		if softhsmConf != "" && m.conf != softhsmConf {
			return nil, fmt.Errorf("hsm: module %s is already loaded with %s=%q; close every token using it first", path, softhsmConfEnv, m.conf)
		}
		m.refs++
		return m, nil
	}
	if softhsmConf != "" {
		if err := os.Setenv(softhsmConfEnv, softhsmConf); err != nil {
			return nil, fmt.Errorf("hsm: setting %s: %w", softhsmConfEnv, err)
		}
	}
	p, err := loadModule(path)
	if err != nil {
		return nil, err
	}
	m := &module{key: key, p: p, refs: 1, conf: os.Getenv(softhsmConfEnv), finalize: true}
	if err := p.Initialize(); err != nil {
		if !isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			p.Destroy()
			return nil, fmt.Errorf("hsm: C_Initialize %s: %w", path, err)
		}
		m.finalize = false
	}
	registry.mods[key] = m
	return m, nil
}

// release drops one reference; the last one finalizes and unloads the
// module, so that the next load starts afresh.
func (m *module) release() error {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	m.refs--
	if m.refs > 0 {
		return nil
	}
	if m.refs < 0 {
		return errors.New("hsm: module released more often than acquired")
	}
	delete(registry.mods, m.key)
	var err error
	if m.finalize {
		if ferr := m.p.Finalize(); ferr != nil {
			err = fmt.Errorf("hsm: C_Finalize: %w", ferr)
		}
	}
	m.p.Destroy()
	return err
}

// findSlot returns the slot holding the one initialized token labelled
// label.
func findSlot(p pkctx, label string) (uint, error) {
	slots, err := p.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("hsm: C_GetSlotList: %w", err)
	}
	var found []uint
	for _, s := range slots {
		info, err := p.GetTokenInfo(s)
		if err != nil {
			return 0, fmt.Errorf("hsm: C_GetTokenInfo slot %d: %w", s, err)
		}
		if info.Flags&pkcs11.CKF_TOKEN_INITIALIZED != 0 && trimLabel(info.Label) == label {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("%w: no token labelled %q", ErrTokenNotFound, label)
	case 1:
		return found[0], nil
	default:
		return 0, fmt.Errorf("hsm: %d tokens labelled %q, want exactly one", len(found), label)
	}
}

// trimLabel removes the blank (or NUL) padding of a CK_TOKEN_INFO label.
func trimLabel(s string) string {
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == 0) {
		s = s[:len(s)-1]
	}
	return s
}
