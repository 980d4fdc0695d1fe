package app_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/hsm"
)

// TestMigrateKeys: a user on a token key moves to a wrapped key with a new certificate;
// the token key is gone, the old certificate revoked, the device and PIN unchanged, and
// the next signature verifies under the new certificate. A second run has nothing to do.
func TestMigrateKeys(t *testing.T) {
	ctx := context.Background()
	key := newIntegrator(t, "migrate")
	dev := newSigner(t)
	uid := dev.State().UserID
	before, err := testEnv.Store.User(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	if before.KeyRef.Wrapped() {
		t.Fatal("the test service enrolls on token keys")
	}
	sign := func(text string) *x509.Certificate {
		t.Helper()
		d := sha256.Sum256([]byte(text))
		id, icon := create(t, key, hashRequest(uid, "SHA-256", d[:]))
		if st, err := dev.Approve(ctx, id, icon, testPIN); err != nil || st != "signed" {
			t.Fatalf("approve: %s %v", st, err)
		}
		sd, err := cades.Parse(call(t, key, "GET", "/v1/signature-requests/"+id+"/documents/0", "", nil).Body)
		if err != nil {
			t.Fatal(err)
		}
		certs, err := sd.Verify(d[:])
		if err != nil {
			t.Fatal(err)
		}
		return certs[0]
	}
	oldCert := sign("before the migration")

	migration, err := testEnv.KeyMigration()
	if err != nil {
		t.Fatal(err)
	}
	m, err := migration.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Migrated < 1 || len(m.Failed) != 0 {
		t.Fatalf("migration: %+v", m)
	}
	after, err := testEnv.Store.User(ctx, uid)
	if err != nil {
		t.Fatal(err)
	}
	if !after.KeyRef.Wrapped() || after.CertSerial == before.CertSerial {
		t.Fatalf("after migration: wrapped %v, serial %s (was %s)", after.KeyRef.Wrapped(), after.CertSerial, before.CertSerial)
	}
	if _, err := testEnv.Token.Signer(ctx, before.KeyRef); !errors.Is(err, hsm.ErrKeyNotFound) {
		t.Errorf("the token key is still there: %v", err)
	}
	st, err := testEnv.Store.CertificateStatus(ctx, oldCert.SerialNumber)
	if err != nil || st.RevokedAt.IsZero() {
		t.Errorf("old certificate status %+v, %v; want revoked", st, err)
	}
	newCert := sign("after the migration")
	if newCert.SerialNumber.Cmp(oldCert.SerialNumber) == 0 || newCert.Subject.String() != oldCert.Subject.String() {
		t.Errorf("new certificate %s (%s), old %s (%s); want a new serial, the same subject",
			newCert.SerialNumber, newCert.Subject, oldCert.SerialNumber, oldCert.Subject)
	}
	again, err := migration.Run(ctx)
	if err != nil || again.Migrated != 0 || again.Skipped < 1 {
		t.Fatalf("second migration: %+v, %v; want nothing to do", again, err)
	}
}
