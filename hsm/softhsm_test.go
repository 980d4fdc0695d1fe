package hsm

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paraphe/paraphe/internal/testenv"
)

func TestFindSoftHSMModule(t *testing.T) {
	if skipReason != "" {
		testenv.Missing(t, "%s", skipReason)
	}
	p, err := FindSoftHSMModule()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(filepath.Base(p), "softhsm") {
		t.Fatalf("FindSoftHSMModule = %s", p)
	}
	saved := softhsmModules
	t.Cleanup(func() { softhsmModules = saved })
	softhsmModules = []string{filepath.Join(t.TempDir(), "libsofthsm2.so")}
	if _, err := FindSoftHSMModule(); err == nil || !strings.Contains(err.Error(), "install softhsm2") {
		t.Fatalf("FindSoftHSMModule without a library = %v, want an install hint", err)
	}
}

func TestInitSoftHSM(t *testing.T) {
	if skipReason != "" {
		testenv.Missing(t, "%s", skipReason)
	}
	ctx := context.Background()
	pinBefore, err := os.ReadFile(testCfg.PINFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{userPINFile, soPINFile, softhsmConfFile} {
		st, err := os.Stat(filepath.Join(testDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := st.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, perm)
		}
	}
	if got := os.Getenv(softhsmConfEnv); got != filepath.Join(testDir, softhsmConfFile) {
		t.Errorf("%s = %q", softhsmConfEnv, got)
	}

	// Idempotent, with the module unloaded and while a Token holds it.
	tok := openToken(t, 1)
	for _, name := range []string{"while open", "after close"} {
		t.Run(name, func(t *testing.T) {
			if name == "after close" {
				if err := tok.Close(); err != nil {
					t.Fatal(err)
				}
			}
			cfg, err := InitSoftHSM(ctx, testDir, testTokenLabel)
			if err != nil {
				t.Fatalf("InitSoftHSM again: %v", err)
			}
			cfg.Sessions = testCfg.Sessions
			if cfg != testCfg {
				t.Fatalf("config %+v, want %+v", cfg, testCfg)
			}
			pin, err := os.ReadFile(cfg.PINFile)
			if err != nil || string(pin) != string(pinBefore) {
				t.Fatalf("PIN file changed (%v)", err)
			}
			t2, err := Open(ctx, cfg)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := t2.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}

	// A second token in the same directory shares the PINs.
	cfg2, err := InitSoftHSM(ctx, testDir, "paraphe-second")
	if err != nil {
		t.Fatalf("InitSoftHSM second label: %v", err)
	}
	t2, err := Open(ctx, cfg2)
	if err != nil {
		t.Fatalf("Open second token: %v", err)
	}
	if _, err := t2.FindKey(ctx, "anything"); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("FindKey on a fresh token = %v", err)
	}

	// Another directory needs another SOFTHSM2_CONF: refused while loaded.
	other := t.TempDir()
	if _, err := InitSoftHSM(ctx, other, "other"); err == nil || !strings.Contains(err.Error(), "already loaded") {
		t.Fatalf("InitSoftHSM of another dir while loaded = %v, want 'already loaded'", err)
	}
	if got := os.Getenv(softhsmConfEnv); got != filepath.Join(testDir, softhsmConfFile) {
		t.Fatalf("a refused InitSoftHSM changed %s to %q", softhsmConfEnv, got)
	}
	if err := t2.Close(); err != nil {
		t.Fatal(err)
	}

	// Once unloaded, another directory works in the same process; then go
	// back to the package's token for the other tests.
	t.Cleanup(func() {
		if _, err := InitSoftHSM(ctx, testDir, testTokenLabel); err != nil {
			t.Errorf("restoring the test token: %v", err)
		}
	})
	ocfg, err := InitSoftHSM(ctx, other, "other")
	if err != nil {
		t.Fatalf("InitSoftHSM of another dir after close: %v", err)
	}
	ot, err := Open(ctx, ocfg)
	if err != nil {
		t.Fatalf("Open other: %v", err)
	}
	defer ot.Close()
	if _, err := ot.GenerateKey(ctx, GenerateKeyRequest{Label: "k", Type: ECP256}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other, softhsmTokenDir)); err != nil {
		t.Fatal(err)
	}
	// The test token is not visible through the other configuration.
	cfg := testCfg
	if _, err := Open(ctx, cfg); !errors.Is(err, ErrTokenNotFound) {
		t.Fatalf("Open of the test token under another config = %v, want ErrTokenNotFound", err)
	}

	if _, err := InitSoftHSM(ctx, t.TempDir(), strings.Repeat("x", 33)); err == nil {
		t.Error("InitSoftHSM with a 33-byte label succeeded")
	}
}

// TestOpenSSLVerify checks signatures with an independent implementation.
func TestOpenSSLVerify(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		testenv.Missing(t, "openssl not installed, skipping the openssl cross-check")
	}
	tok := openToken(t, 0)
	ctx := context.Background()
	for _, typ := range []KeyType{ECP256, RSA3072} {
		t.Run(string(typ), func(t *testing.T) {
			key, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: uniqueLabel(t, "openssl"), Type: typ})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			der, err := x509.MarshalPKIXPublicKey(key.Public())
			if err != nil {
				t.Fatal(err)
			}
			pubPath := filepath.Join(dir, "pub.pem")
			if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			msg := []byte("the document to sign")
			msgPath := filepath.Join(dir, "msg")
			otherPath := filepath.Join(dir, "other")
			sigPath := filepath.Join(dir, "sig")
			os.WriteFile(msgPath, msg, 0o600)
			os.WriteFile(otherPath, []byte("another document"), 0o600)
			sig, err := key.SignContext(ctx, hashOf(crypto.SHA256, string(msg)), crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(sigPath, sig, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, isEC := key.Public().(*ecdsa.PublicKey); isEC != (typ == ECP256) {
				t.Fatal("wrong public key type")
			}
			out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, msgPath).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "Verified OK") {
				t.Fatalf("openssl rejects the signature: %v\n%s", err, out)
			}
			if out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, otherPath).CombinedOutput(); err == nil {
				t.Fatalf("openssl accepts the signature over another message:\n%s", out)
			}
		})
	}
}
