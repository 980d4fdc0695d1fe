package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paraphe/paraphe/account"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
)

// enrolledUser makes a user with a device, a certificate, a PIN verifier and a second,
// unused activation code.
func enrolledUser(t *testing.T, s *Store, id string) device.Enrollment {
	t.Helper()
	addUser(t, s, id)
	e := enrollment(id, "code-"+id, id, t0)
	if err := s.Enroll(context.Background(), e); err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	addCode(t, s, id, "second-"+id, t0.Add(time.Hour))
	return e
}

func TestUserData(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		e := enrolledUser(t, s, "u1")
		addUser(t, s, "u2")
		if err := s.db.Create(&integratorRow{ID: "int-1", Name: "Notary Office", APIKeyHash: sum("k1"), CreatedAt: t0}).Error; err != nil {
			t.Fatal(err)
		}
		r := newRequest("r1", "u1", 2, t0, t0.Add(time.Hour))
		r.CreatedIP = "192.0.2.7"
		mustCreate(t, s, r)
		mustCreate(t, s, newRequest("r-other", "u2", 1, t0, t0.Add(time.Hour)))

		d, err := s.UserData(ctx, "u1")
		if err != nil {
			t.Fatalf("account.UserData: %v", err)
		}
		if d.User.Email != "u1@example.test" || d.User.GivenName != "Ada" || d.User.PINVerifier != nil {
			t.Errorf("user = %+v (the PIN verifier must not be exported)", d.User)
		}
		if len(d.Devices) != 1 || d.Devices[0].ID != e.Device.ID || d.Devices[0].Status != string(device.DeviceActive) {
			t.Errorf("devices = %+v", d.Devices)
		}
		if len(d.Activations) != 2 {
			t.Errorf("activations = %+v, want 2", d.Activations)
		}
		if len(d.Certificates) != 1 || d.Certificates[0].Serial != e.Certificate.Serial {
			t.Errorf("certificates = %+v", d.Certificates)
		}
		if len(d.Requests) != 1 {
			t.Fatalf("requests = %+v, want only r1", d.Requests)
		}
		got := d.Requests[0]
		if got.ID != "r1" || got.IntegratorName != "Notary Office" || got.CreatedIP != "192.0.2.7" ||
			len(got.Documents) != 2 || got.Documents[0] != "doc-00.pdf" || got.Documents[1] != "doc-01.pdf" {
			t.Errorf("request = %+v", got)
		}
		if _, err := s.UserData(ctx, "nobody"); !errors.Is(err, device.ErrUserNotFound) {
			t.Errorf("UserData(unknown) = %v, want ErrUserNotFound", err)
		}
	})
}

func TestEraseUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		e := enrolledUser(t, s, "u1")
		enrolledUser(t, s, "u2") // untouched bystander
		r := newRequest("r1", "u1", 1, t0, t0.Add(time.Hour))
		r.CreatedIP = "192.0.2.7"
		mustCreate(t, s, r)
		if _, err := s.AppendEvent(ctx, "u1", "r1", "pending"); err != nil {
			t.Fatal(err)
		}
		if err := s.UseNonce(ctx, e.Device.ID, "n1", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}

		for _, st := range []signer.Status{signer.StatusPending, signer.StatusApproved} {
			if st == signer.StatusApproved {
				if ok, err := s.Transition(ctx, "r1", []signer.Status{signer.StatusPending},
					signer.Change{To: signer.StatusApproved, At: t0, DeviceID: e.Device.ID, ClientIP: "198.51.100.9"}); !ok || err != nil {
					t.Fatalf("approve: %v %v", ok, err)
				}
			}
			if _, err := s.EraseUser(ctx, "u1", t0); !errors.Is(err, account.ErrOpenRequests) {
				t.Fatalf("EraseUser with a %s request = %v, want account.ErrOpenRequests", st, err)
			}
			if u, _ := s.User(ctx, "u1"); u.Email == "" || u.Status != device.UserActive {
				t.Fatalf("a refused erasure changed the user: %+v", u)
			}
		}
		if ok, err := s.CompleteSigned(ctx, "r1", [][]byte{[]byte("cms")}, t0.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("CompleteSigned: %v %v", ok, err)
		}

		got, err := s.EraseUser(ctx, "u1", t0.Add(2*time.Minute))
		if err != nil {
			t.Fatalf("EraseUser: %v", err)
		}
		if got.AlreadyErased || !bytes.Equal(got.OldKeyRef, e.KeyRef) || len(got.DeletedDevices) != 1 || len(got.RevokedSerials) != 1 {
			t.Errorf("erasure = %+v", got)
		}
		u, err := s.User(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if u.GivenName != "" || u.Surname != "" || u.Email != "" || u.Phone != "" || u.Country != "" ||
			u.Status != device.UserErased || u.PINVerifier != nil || len(u.KeyRef) != 0 || u.CertSerial != "" {
			t.Errorf("erased user still holds data: %+v", u)
		}
		for _, c := range []struct {
			model any
			where string
			arg   any
		}{
			{&deviceRow{}, "user_id = ?", "u1"}, {&activationRow{}, "user_id = ?", "u1"}, {&eventRow{}, "user_id = ?", "u1"},
			{&deviceNonceRow{}, "device_id = ?", e.Device.ID},
			{&requestRow{}, "id = 'r1' AND (created_ip <> '' OR decided_ip <> '')", nil},
			{&certificateRow{}, "user_id = 'u1' AND revoked_at IS NULL", nil},
		} {
			var n int64
			q := s.db.Model(c.model)
			if c.arg != nil {
				q = q.Where(c.where, c.arg)
			} else {
				q = q.Where(c.where)
			}
			if err := q.Count(&n).Error; err != nil || n != 0 {
				t.Errorf("%T where %s: %d rows left (%v)", c.model, c.where, n, err)
			}
		}
		// Evidence stays under the pseudonymous id.
		kept := mustGet(t, s, "r1")
		if kept.UserID != "u1" || kept.Status != signer.StatusSigned || kept.DeviceID != e.Device.ID || string(kept.Documents[0].Result) != "cms" {
			t.Errorf("request after erasure = %+v", kept)
		}
		if n := count(t, s, &certificateRow{}, "user_id = ? AND reason = ?", "u1", RevocationReasonCessation); n != 1 {
			t.Errorf("%d certificates revoked for cessation, want 1", n)
		}
		// The erased user cannot sign.
		id, err := s.Identity(ctx, "u1")
		if err != nil || id.Enrolled || len(id.KeyRef) != 0 {
			t.Errorf("Identity after erasure = %+v, %v", id, err)
		}
		// The bystander is untouched.
		if u2, _ := s.User(ctx, "u2"); u2.Email != "u2@example.test" || u2.Status != device.UserActive {
			t.Errorf("bystander changed: %+v", u2)
		}
		again, err := s.EraseUser(ctx, "u1", t0.Add(3*time.Minute))
		if err != nil || !again.AlreadyErased || len(again.DeletedDevices) != 0 || len(again.OldKeyRef) != 0 {
			t.Errorf("second EraseUser = %+v, %v", again, err)
		}
		if _, err := s.EraseUser(ctx, "nobody", t0); !errors.Is(err, device.ErrUserNotFound) {
			t.Errorf("EraseUser(unknown) = %v", err)
		}
	})
}

// TestEraseLeavesNoBytes looks for the erased e-mail and phone in every file of the
// SQLite database (main file, write-ahead log, shared memory) while the store is open.
func TestEraseLeavesNoBytes(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Config{SQLitePath: filepath.Join(dir, "paraphe.db")})
	ctx := context.Background()
	const email, phone = "erin.secret@example.test", "+32479998877"
	u := &device.User{ID: "u1", GivenName: "Erin", Surname: "Dupont", Email: email, Phone: phone, Country: "BE", Status: device.UserPending, CreatedAt: t0}
	if err := s.CreateUser(ctx, u, device.Activation{UserID: "u1", CodeHash: sum("c"), ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 50 { // other users, so the page holds more than one row
		addUser(t, s, "other-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	// Updates put more old page images of the row in the WAL.
	for i := range 5 {
		if _, err := s.ReservePINAttempt(ctx, "u1", 100+i); err != nil {
			t.Fatal(err)
		}
	}
	contains := func() []string {
		var where []string
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, needle := range []string{email, phone} {
				if bytes.Contains(b, []byte(needle)) {
					where = append(where, e.Name()+": "+needle)
				}
			}
		}
		return where
	}
	if len(contains()) == 0 {
		t.Fatal("the e-mail is not in the files before erasure: the check below proves nothing")
	}
	if _, err := s.EraseUser(ctx, "u1", t0); err != nil {
		t.Fatal(err)
	}
	if where := contains(); len(where) > 0 {
		t.Errorf("personal data left after erasure: %v", where)
	}
}
