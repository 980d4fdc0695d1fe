package hsm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/miekg/pkcs11"
)

// softhsmModules lists where distributions install SoftHSM2's PKCS#11
// library, most common first.
var softhsmModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",                   // Debian, Ubuntu, Alpine
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",  // Debian/Ubuntu multiarch
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so", // Debian/Ubuntu arm64
	"/usr/lib64/pkcs11/libsofthsm2.so",                  // Fedora, RHEL
	"/usr/lib64/softhsm/libsofthsm.so",                  // Fedora, RHEL (older)
	"/usr/lib/pkcs11/libsofthsm2.so",                    // Arch, Fedora 32-bit
	"/usr/local/lib/softhsm/libsofthsm2.so",             // source builds, Homebrew on Intel macOS
	"/opt/homebrew/lib/softhsm/libsofthsm2.so",          // Homebrew on Apple silicon
}

// FindSoftHSMModule returns the path of SoftHSM2's PKCS#11 library from the
// usual Debian, Ubuntu, Fedora, Alpine, Arch and macOS locations, or an
// error telling to install softhsm2.
func FindSoftHSMModule() (string, error) {
	for _, p := range softhsmModules {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", errors.New("hsm: libsofthsm2.so not found; install softhsm2 (apt install softhsm2, dnf install softhsm, apk add softhsm, brew install softhsm)")
}

// SoftHSM file names under the directory given to InitSoftHSM.
const (
	softhsmConfFile = "softhsm2.conf"
	softhsmTokenDir = "tokens"
	userPINFile     = "user.pin"
	soPINFile       = "so.pin"
)

// InitSoftHSM prepares a SoftHSM2 token labelled label under dir and returns
// the Config to Open it. It is meant for development and tests.
//
// It writes dir/softhsm2.conf (tokens in dir/tokens, file backend, log
// level ERROR) and sets SOFTHSM2_CONF to it in the process environment.
// SoftHSM2 reads that variable only at C_Initialize, so this must happen
// before the module is first loaded in the process: InitSoftHSM fails if the
// module is already loaded (by an open Token) with another configuration;
// once every Token is closed the module is unloaded and a new configuration
// can be used. Call it at start-up, before other goroutines use PKCS#11:
// setting the environment is not safe while C code reads it.
//
// The first time, it creates a random user PIN in dir/user.pin and a random
// security officer PIN in dir/so.pin (both mode 0600). The SO PIN is kept so
// that an operator can reset the user PIN or re-initialize the token with
// softhsm2-util; anyone who can read dir can read the token files anyway.
// All tokens created under one dir share these PINs. When no initialized
// token carries label, it initializes the free slot (C_InitToken) and sets
// the user PIN (C_InitPIN). A second call with the same dir and label reuses
// the token and PIN.
func InitSoftHSM(ctx context.Context, dir, label string) (Config, error) {
	if label == "" || len(label) > maxTokenLabel {
		return Config{}, fmt.Errorf("hsm: softhsm: token label must be 1 to %d bytes", maxTokenLabel)
	}
	module, err := FindSoftHSMModule()
	if err != nil {
		return Config{}, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return Config{}, fmt.Errorf("hsm: softhsm: %w", err)
	}
	tokens := filepath.Join(dir, softhsmTokenDir)
	if err := os.MkdirAll(tokens, 0o700); err != nil {
		return Config{}, fmt.Errorf("hsm: softhsm: %w", err)
	}
	conf := filepath.Join(dir, softhsmConfFile)
	content := fmt.Sprintf("# Written by paraphe (hsm.InitSoftHSM).\ndirectories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		return Config{}, fmt.Errorf("hsm: softhsm: %w", err)
	}
	cfg := Config{Module: module, TokenLabel: label, PINFile: filepath.Join(dir, userPINFile)}

	mod, err := acquireModuleEnv(module, conf)
	if err != nil {
		return Config{}, err
	}
	err = initSoftHSMToken(ctx, mod.p, dir, label)
	return cfg, errors.Join(err, mod.release())
}

// initSoftHSMToken initializes the token labelled label unless it exists.
func initSoftHSMToken(ctx context.Context, p pkctx, dir, label string) error {
	_, err := findSlot(p, label)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrTokenNotFound) {
		return err
	}
	userPIN, err := ensurePINFile(filepath.Join(dir, userPINFile), !exists)
	if err != nil {
		return err
	}
	if exists {
		return nil
	}
	soPIN, err := ensurePINFile(filepath.Join(dir, soPINFile), true)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("hsm: softhsm: %w", err)
	}
	free, err := freeSlot(p)
	if err != nil {
		return err
	}
	if err := p.InitToken(free, soPIN, label); err != nil {
		return fmt.Errorf("hsm: softhsm: C_InitToken: %w", err)
	}
	// SoftHSM2 gives an initialized token a new slot ID: look it up again.
	slot, err := findSlot(p, label)
	if err != nil {
		return fmt.Errorf("hsm: softhsm: after C_InitToken: %w", err)
	}
	h, err := p.OpenSession(slot, sessionFlags)
	if err != nil {
		return fmt.Errorf("hsm: softhsm: C_OpenSession: %w", err)
	}
	defer p.CloseSession(h)
	if err := p.Login(h, pkcs11.CKU_SO, soPIN); err != nil {
		return fmt.Errorf("hsm: softhsm: C_Login as SO: %w", err)
	}
	defer p.Logout(h)
	if err := p.InitPIN(h, userPIN); err != nil {
		return fmt.Errorf("hsm: softhsm: C_InitPIN: %w", err)
	}
	return nil
}

// freeSlot returns a slot whose token is not initialized yet; SoftHSM2
// always offers one.
func freeSlot(p pkctx) (uint, error) {
	slots, err := p.GetSlotList(true)
	if err != nil {
		return 0, fmt.Errorf("hsm: softhsm: C_GetSlotList: %w", err)
	}
	for _, s := range slots {
		info, err := p.GetTokenInfo(s)
		if err != nil {
			return 0, fmt.Errorf("hsm: softhsm: C_GetTokenInfo: %w", err)
		}
		if info.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			return s, nil
		}
	}
	return 0, errors.New("hsm: softhsm: no free slot")
}

// ensurePINFile returns the PIN stored in path, creating a random one (mode
// 0600) when the file does not exist and create is true.
func ensurePINFile(path string, create bool) (string, error) {
	pin, err := readPIN(path)
	if err == nil {
		return pin, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if !create {
		return "", fmt.Errorf("hsm: softhsm: the token exists but its PIN file %s is missing", path)
	}
	b := make([]byte, 16) // 128 bits: a PIN nobody types, only reads from the file
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("hsm: softhsm: %w", err)
	}
	pin = hex.EncodeToString(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("hsm: softhsm: %w", err)
	}
	if _, err := f.WriteString(pin + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("hsm: softhsm: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("hsm: softhsm: writing %s: %w", path, err)
	}
	return pin, nil
}
