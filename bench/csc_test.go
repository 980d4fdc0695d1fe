package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/paraphe/paraphe/csc"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/internal/testenv"
)

// TestCSCRSASignAlgos: with an RSA credential, signHash accepts rsaEncryption with
// hashAlgorithmOID and sha256WithRSAEncryption with or without it, and gives PKCS #1 v1.5
// signatures that verify with the credential's certificate; an algorithm of another key
// family, rsaEncryption without a hash, or a hash the algorithm does not name is refused
// and consumes nothing.
func TestCSCRSASignAlgos(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a service with RSA-3072 keys")
	}
	if _, err := hsm.FindSoftHSMModule(); err != nil {
		testenv.Missing(t, "SoftHSM2 is not installed (apt-get install softhsm2): %v", err)
	}
	ctx := context.Background()
	s, err := startService(ctx, serviceConfig{dataDir: filepath.Join(t.TempDir(), "data"), keyType: hsm.RSA3072, maxPending: 5,
		pdfLimit: 50_000_000, conns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	devs, err := s.newDevices(ctx, 1, 1)
	if err != nil {
		t.Fatal(s.explain(err))
	}
	call, err := s.cscSession(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([]string, 3)
	for i := range hashes {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		h := sha256.Sum256(b)
		hashes[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	cred, sad, err := s.cscApproved(ctx, devs[0], call, hashes)
	if err != nil {
		t.Fatal(s.explain(err))
	}
	for _, tc := range []struct {
		name, hashOID, signAlgo string
	}{
		{"ecdsa-with-SHA256 for an RSA key", csc.OIDSHA256, csc.OIDECDSASHA256},
		{"rsaEncryption without hashAlgorithmOID", "", csc.OIDRSA},
		{"sha256WithRSAEncryption with SHA-384", csc.OIDSHA384, csc.OIDRSASHA256},
	} {
		_, err := cscSignHash(call, cred, sad, hashes[:1], tc.hashOID, tc.signAlgo)
		var he *httpError
		if !errors.As(err, &he) || he.status != http.StatusBadRequest {
			t.Fatalf("%s: %v, want 400", tc.name, err)
		}
	}
	for i, tc := range []struct {
		name, hashOID, signAlgo string
	}{
		{"rsaEncryption with hashAlgorithmOID", csc.OIDSHA256, csc.OIDRSA},
		{"sha256WithRSAEncryption", "", csc.OIDRSASHA256},
		{"sha256WithRSAEncryption with its hash", csc.OIDSHA256, csc.OIDRSASHA256},
	} {
		sigs, err := cscSignHash(call, cred, sad, hashes[i:i+1], tc.hashOID, tc.signAlgo)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := cscVerify(call, cred, hashes[i:i+1], sigs); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
}
