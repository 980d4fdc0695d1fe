package store

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/paraphe/paraphe/hsm"
)

// TestKeyLabelMigration opens a database of the first release, where users' signing keys
// were recorded by label in key_label, and checks that reopening moves each label to
// key_ref as the HSM's reference for that label and drops the old column.
func TestKeyLabelMigration(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := b.config(t)
			old := openStore(t, cfg)
			addUser(t, old, "legacy")
			addUser(t, old, "fresh")
			addCode(t, old, "legacy", "c-legacy", t0.Add(time.Hour))
			if err := old.Enroll(ctx, enrollment("legacy", "c-legacy", "legacy", t0)); err != nil {
				t.Fatal(err)
			}
			// Back to the first release's schema: the key by label, no key_ref.
			if err := old.db.Exec("ALTER TABLE users ADD COLUMN key_label VARCHAR(200)").Error; err != nil {
				t.Fatal(err)
			}
			if err := old.db.Exec("UPDATE users SET key_label = ?, key_ref = NULL WHERE id = ?", "paraphe-user-legacy", "legacy").Error; err != nil {
				t.Fatal(err)
			}
			if err := old.db.Exec("UPDATE users SET key_label = '' WHERE id = ?", "fresh").Error; err != nil {
				t.Fatal(err)
			}
			s := openStore(t, cfg)
			if s.db.Migrator().HasColumn(&userRow{}, "key_label") {
				t.Fatal("key_label column still there")
			}
			id, err := s.Identity(ctx, "legacy")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(id.KeyRef, hsm.LabelRef("paraphe-user-legacy")) || !id.Enrolled {
				t.Fatalf("identity after migration: ref %q enrolled %v", id.KeyRef, id.Enrolled)
			}
			u, err := s.User(ctx, "fresh")
			if err != nil || len(u.KeyRef) != 0 {
				t.Fatalf("user without key: %v %q", err, u.KeyRef)
			}
			// A third opening finds nothing to migrate.
			openStore(t, cfg)
		})
	}
}
