package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/signer"
)

// t0 is the fixed "now" of these tests; far in the future so that the nonce pruning
// of UseNonce, which reads the wall clock, never touches test rows.
var t0 = time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)

// addUser creates a pending user whose activation code is "code-"+id, valid 72 h.
func addUser(t *testing.T, s *Store, id string) {
	t.Helper()
	u := &device.User{ID: id, GivenName: "Ada", Surname: "Lovelace", Email: id + "@example.test", Phone: "+32470000000",
		Country: "BE", Status: device.UserPending, CreatedAt: t0}
	a := device.Activation{UserID: id, CodeHash: sum("code-" + id), ExpiresAt: t0.Add(72 * time.Hour)}
	if err := s.CreateUser(context.Background(), u, a); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
}

// addCode stores one more activation code for a user (the operator's re-activation).
func addCode(t *testing.T, s *Store, userID, code string, expires time.Time) {
	t.Helper()
	if err := s.db.Create(&activationRow{CodeHash: sum(code), UserID: userID, ExpiresAt: expires}).Error; err != nil {
		t.Fatalf("add activation: %v", err)
	}
}

// enrollment builds an enrollment of user with code; names derive from tag.
func enrollment(userID, code, tag string, at time.Time) device.Enrollment {
	return device.Enrollment{
		CodeHash:    sum(code),
		Device:      device.Device{ID: "dev-" + tag, UserID: userID, PublicKey: []byte("spki-" + tag), Status: device.DeviceActive, CreatedAt: at},
		PINVerifier: sum("pin-" + tag),
		KeyRef:      hsm.LabelRef("key-" + tag),
		Certificate: device.Certificate{Serial: fmt.Sprintf("%x", sum(tag)[:8]), UserID: userID, DER: []byte("der-" + tag),
			NotBefore: at, NotAfter: at.AddDate(3, 0, 0)},
		At: at,
	}
}

func TestCreateUserAndActivation(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "u1")
		u, err := s.User(ctx, "u1")
		if err != nil {
			t.Fatalf("User: %v", err)
		}
		if u.Status != device.UserPending || u.Email != "u1@example.test" || u.Country != "BE" || u.Locked || u.PINFailures != 0 || !u.CreatedAt.Equal(t0) {
			t.Fatalf("User = %+v", u)
		}
		a, err := s.Activation(ctx, sum("code-u1"))
		if err != nil {
			t.Fatalf("Activation: %v", err)
		}
		if a.UserID != "u1" || a.UsedAt != nil || !a.ExpiresAt.Equal(t0.Add(72*time.Hour)) {
			t.Fatalf("Activation = %+v", a)
		}
		if _, err := s.Activation(ctx, sum("nope")); !errors.Is(err, device.ErrActivation) {
			t.Fatalf("unknown code: err = %v, want ErrActivation", err)
		}
		if _, err := s.User(ctx, "nope"); !errors.Is(err, device.ErrUserNotFound) {
			t.Fatalf("unknown user: err = %v, want ErrUserNotFound", err)
		}
		if _, err := s.Device(ctx, "nope"); !errors.Is(err, device.ErrDeviceNotFound) {
			t.Fatalf("unknown device: err = %v, want ErrDeviceNotFound", err)
		}
		// CreateUser is all or nothing: a duplicate code leaves no user behind.
		u2 := &device.User{ID: "u2", Status: device.UserPending, CreatedAt: t0}
		if err := s.CreateUser(ctx, u2, device.Activation{UserID: "u2", CodeHash: sum("code-u1"), ExpiresAt: t0}); err == nil {
			t.Fatal("CreateUser with a code already in use succeeded")
		}
		if _, err := s.User(ctx, "u2"); !errors.Is(err, device.ErrUserNotFound) {
			t.Fatalf("user of a failed CreateUser is stored: err = %v", err)
		}
	})
}

func TestEnroll(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "u1")
		addUser(t, s, "u2")

		first := enrollment("u1", "code-u1", "first", t0)
		if err := s.Enroll(ctx, first); err != nil {
			t.Fatalf("Enroll: %v", err)
		}
		u, err := s.User(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if u.Status != device.UserActive || u.KeyRef.String() != "key-first" || u.CertSerial != first.Certificate.Serial || string(u.PINVerifier) != string(first.PINVerifier) {
			t.Fatalf("user after enroll = %+v", u)
		}
		d, err := s.Device(ctx, "dev-first")
		if err != nil {
			t.Fatalf("Device: %v", err)
		}
		if d.UserID != "u1" || d.Status != device.DeviceActive || string(d.PublicKey) != "spki-first" || !d.CreatedAt.Equal(t0) {
			t.Fatalf("Device = %+v", d)
		}
		a, err := s.Activation(ctx, sum("code-u1"))
		if err != nil || a.UsedAt == nil || !a.UsedAt.Equal(t0) {
			t.Fatalf("activation after enroll = %+v, %v; want used at %v", a, err, t0)
		}

		// Every refused enrollment must change nothing.
		refused := []struct {
			name string
			prep func(t *testing.T)
			e    device.Enrollment
		}{
			{"same code again", nil, enrollment("u1", "code-u1", "replay", t0.Add(time.Minute))},
			{"unknown code", nil, enrollment("u1", "code-unknown", "unknown", t0.Add(time.Minute))},
			{"expired code", func(t *testing.T) { addCode(t, s, "u1", "code-old", t0.Add(time.Hour)) },
				enrollment("u1", "code-old", "expired", t0.Add(time.Hour))},
			{"code of another user", nil, enrollment("u1", "code-u2", "stolen", t0.Add(time.Minute))},
		}
		for _, tc := range refused {
			t.Run(tc.name, func(t *testing.T) {
				if tc.prep != nil {
					tc.prep(t)
				}
				devices := count(t, s, &deviceRow{}, "1 = 1")
				certs := count(t, s, &certificateRow{}, "1 = 1")
				err := s.Enroll(ctx, tc.e)
				if !errors.Is(err, device.ErrActivation) {
					t.Fatalf("Enroll: err = %v, want ErrActivation", err)
				}
				if n := count(t, s, &deviceRow{}, "1 = 1"); n != devices {
					t.Errorf("devices: %d, want %d", n, devices)
				}
				if n := count(t, s, &certificateRow{}, "1 = 1"); n != certs {
					t.Errorf("certificates: %d, want %d", n, certs)
				}
				if n := count(t, s, &deviceRow{}, "user_id = ? AND status = ?", "u1", "active"); n != 1 {
					t.Errorf("active devices of u1: %d, want 1", n)
				}
				u, err := s.User(ctx, "u1")
				if err != nil {
					t.Fatal(err)
				}
				if u.KeyRef.String() != "key-first" || u.CertSerial != first.Certificate.Serial {
					t.Errorf("user changed by a refused enrollment: %+v", u)
				}
				if u2, err := s.User(ctx, "u2"); err != nil || u2.Status != device.UserPending {
					t.Errorf("u2 = %+v, %v; want still pending", u2, err)
				}
			})
		}

		t.Run("blocked user stays blocked", func(t *testing.T) {
			if err := s.db.Model(&userRow{}).Where("id = ?", "u2").Update("status", string(device.UserBlocked)).Error; err != nil {
				t.Fatal(err)
			}
			devices := count(t, s, &deviceRow{}, "1 = 1")
			if err := s.Enroll(ctx, enrollment("u2", "code-u2", "blocked", t0.Add(time.Minute))); !errors.Is(err, device.ErrBlocked) {
				t.Fatalf("Enroll of a blocked user: err = %v, want ErrBlocked", err)
			}
			if u2, err := s.User(ctx, "u2"); err != nil || u2.Status != device.UserBlocked {
				t.Fatalf("u2 = %+v, %v; want still blocked", u2, err)
			}
			if n := count(t, s, &deviceRow{}, "1 = 1"); n != devices {
				t.Fatalf("devices: %d, want %d", n, devices)
			}
			if a, err := s.Activation(ctx, sum("code-u2")); err != nil || a.UsedAt != nil {
				t.Fatalf("code of the refused enrollment = %+v, %v; want unused", a, err)
			}
		})

		t.Run("new code revokes the older device and clears the lock", func(t *testing.T) {
			lockUser(t, s, "u1")
			addCode(t, s, "u1", "code-second", t0.Add(72*time.Hour))
			second := enrollment("u1", "code-second", "second", t0.Add(2*time.Hour))
			if err := s.Enroll(ctx, second); err != nil {
				t.Fatalf("Enroll: %v", err)
			}
			old, err := s.Device(ctx, "dev-first")
			if err != nil || old.Status != device.DeviceRevoked {
				t.Fatalf("old device = %+v, %v; want revoked", old, err)
			}
			var row deviceRow
			if err := s.db.Where("id = ?", "dev-first").Take(&row).Error; err != nil || row.RevokedAt == nil || !row.RevokedAt.Equal(second.At) {
				t.Fatalf("old device revoked_at = %v, %v; want %v", row.RevokedAt, err, second.At)
			}
			if nd, err := s.Device(ctx, "dev-second"); err != nil || nd.Status != device.DeviceActive {
				t.Fatalf("new device = %+v, %v", nd, err)
			}
			u, err := s.User(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if u.Locked || u.PINFailures != 0 || u.KeyRef.String() != "key-second" || u.CertSerial != second.Certificate.Serial {
				t.Fatalf("user after re-enroll = %+v", u)
			}
			if n := count(t, s, &deviceRow{}, "user_id = ? AND status = ?", "u1", "active"); n != 1 {
				t.Fatalf("active devices: %d, want 1", n)
			}
		})
	})
}

func TestEnrollConcurrentSameCode(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "u1")
		const n = 10
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = s.Enroll(ctx, enrollment("u1", "code-u1", fmt.Sprint("race-", i), t0))
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, device.ErrActivation):
				t.Errorf("Enroll: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d enrollments won with one code, want 1", won)
		}
		if c := count(t, s, &deviceRow{}, "1 = 1"); c != 1 {
			t.Fatalf("devices: %d, want 1", c)
		}
		if c := count(t, s, &certificateRow{}, "1 = 1"); c != 1 {
			t.Fatalf("certificates: %d, want 1", c)
		}
	})
}

func TestIdentity(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, id := range []string{"enrolled", "pending", "locked", "blocked", "revoked-cert", "no-device"} {
			addUser(t, s, id)
			if id != "pending" {
				if err := s.Enroll(ctx, enrollment(id, "code-"+id, id, t0)); err != nil {
					t.Fatalf("Enroll %s: %v", id, err)
				}
			}
		}
		lockUser(t, s, "locked")
		if err := s.db.Model(&userRow{}).Where("id = ?", "blocked").Update("status", string(device.UserBlocked)).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.db.Model(&certificateRow{}).Where("user_id = ?", "revoked-cert").
			Updates(map[string]any{"revoked_at": t0.Add(time.Hour), "reason": 1}).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.db.Model(&deviceRow{}).Where("user_id = ?", "no-device").Update("status", string(device.DeviceRevoked)).Error; err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			user         string
			wantErr      error
			enrolled     bool
			blocked      bool
			wantCertSelf bool
		}{
			{user: "enrolled", enrolled: true, wantCertSelf: true},
			{user: "pending"},
			{user: "locked"},
			{user: "blocked", blocked: true},
			{user: "revoked-cert"},
			{user: "no-device"},
			{user: "unknown", wantErr: signer.ErrSignerNotFound},
		}
		for _, tc := range tests {
			t.Run(tc.user, func(t *testing.T) {
				id, err := s.Identity(ctx, tc.user)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr != nil {
					return
				}
				if id.UserID != tc.user || id.Enrolled != tc.enrolled || id.Blocked != tc.blocked {
					t.Fatalf("Identity = %+v, want enrolled=%v blocked=%v", id, tc.enrolled, tc.blocked)
				}
				if tc.wantCertSelf && (string(id.CertificateDER) != "der-"+tc.user || id.KeyRef.String() != "key-"+tc.user) {
					t.Fatalf("Identity = %+v, want the user's certificate and key label", id)
				}
			})
		}
	})
}

func TestUseNonce(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		keep := t0.Add(10 * time.Minute)
		steps := []struct {
			name, device, nonce string
			want                error
		}{
			{"first use", "d1", "n1", nil},
			{"replay", "d1", "n1", device.ErrReplay},
			{"replay again", "d1", "n1", device.ErrReplay},
			{"same nonce, other device", "d2", "n1", nil},
			{"other nonce", "d1", "n2", nil},
		}
		for _, st := range steps {
			if err := s.UseNonce(ctx, st.device, st.nonce, keep); !errors.Is(err, st.want) {
				t.Fatalf("%s: err = %v, want %v", st.name, err, st.want)
			}
		}
		// An expired nonce is pruned; its reuse is the time window's job, not the store's.
		past := time.Now().UTC().Add(-time.Hour)
		if err := s.UseNonce(ctx, "d3", "old", past); err != nil {
			t.Fatal(err)
		}
		if err := s.UseNonce(ctx, "d3", "trigger", keep); err != nil {
			t.Fatal(err)
		}
		if n := count(t, s, &deviceNonceRow{}, "device_id = ? AND nonce = ?", "d3", "old"); n != 0 {
			t.Fatalf("expired nonce not pruned")
		}
		if n := count(t, s, &deviceNonceRow{}, "device_id = ?", "d1"); n != 2 {
			t.Fatalf("live nonces of d1: %d, want 2", n)
		}
	})
}

// wrongPIN counts one wrong PIN for userID the way the device service does, returning
// the attempt's number and whether it locked the user.
func wrongPIN(t *testing.T, s *Store, userID string) (int, bool) {
	t.Helper()
	ctx := context.Background()
	n, err := s.ReservePINAttempt(ctx, userID, device.MaxPINFailures)
	if err != nil {
		t.Fatalf("ReservePINAttempt: %v", err)
	}
	locked, err := s.PINAttemptWrong(ctx, userID, n, device.MaxPINFailures)
	if err != nil {
		t.Fatalf("PINAttemptWrong: %v", err)
	}
	return n, locked
}

// lockUser counts MaxPINFailures wrong PINs for userID.
func lockUser(t *testing.T, s *Store, userID string) {
	t.Helper()
	for range device.MaxPINFailures {
		wrongPIN(t, s, userID)
	}
}

func TestPINAttempts(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "u1")
		const max = device.MaxPINFailures

		wrongPIN(t, s, "u1")
		wrongPIN(t, s, "u1")
		if _, err := s.ReservePINAttempt(ctx, "u1", max); err != nil {
			t.Fatal(err)
		}
		if err := s.PINAttemptRight(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.User(ctx, "u1"); u.PINFailures != 0 || u.Locked {
			t.Fatalf("after a right PIN: %+v", u)
		}

		// An attempt the HSM could not judge is given back.
		if _, err := s.ReservePINAttempt(ctx, "u1", max); err != nil {
			t.Fatal(err)
		}
		if err := s.PINAttemptUnjudged(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.User(ctx, "u1"); u.PINFailures != 0 {
			t.Fatalf("after an unjudged attempt: %d failures, want 0", u.PINFailures)
		}

		for want := 1; want <= max; want++ {
			n, locked := wrongPIN(t, s, "u1")
			u, err := s.User(ctx, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if n != want || u.PINFailures != want || u.Locked != (want >= max) || locked != u.Locked {
				t.Fatalf("failure %d: returned %d locked=%v, user %d locked=%v", want, n, locked, u.PINFailures, u.Locked)
			}
		}
		// Locked: no attempt is counted, and a right PIN judged meanwhile is refused.
		if _, err := s.ReservePINAttempt(ctx, "u1", max); !errors.Is(err, device.ErrLocked) {
			t.Fatalf("ReservePINAttempt of a locked user: %v, want ErrLocked", err)
		}
		if err := s.PINAttemptRight(ctx, "u1"); !errors.Is(err, device.ErrLocked) {
			t.Fatalf("PINAttemptRight of a locked user: %v, want ErrLocked", err)
		}
		if err := s.PINAttemptUnjudged(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.User(ctx, "u1"); !u.Locked || u.PINFailures != max {
			t.Fatalf("a locked user changed: %+v", u)
		}
		if _, err := s.ReservePINAttempt(ctx, "nobody", max); !errors.Is(err, device.ErrUserNotFound) {
			t.Fatalf("ReservePINAttempt of an unknown user: %v", err)
		}
	})
}

func TestPINAttemptsBusy(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "u1")
		const max = device.MaxPINFailures
		var held []int
		for range max {
			n, err := s.ReservePINAttempt(ctx, "u1", max)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, n)
		}
		// Every attempt left is being judged: the next one waits its turn.
		if _, err := s.ReservePINAttempt(ctx, "u1", max); !errors.Is(err, device.ErrPINBusy) {
			t.Fatalf("ReservePINAttempt with %d held: %v, want ErrPINBusy", max, err)
		}
		// Only the max-th attempt, judged wrong, locks.
		for _, n := range held[:max-1] {
			if locked, err := s.PINAttemptWrong(ctx, "u1", n, max); err != nil || locked {
				t.Fatalf("PINAttemptWrong(%d) = %v, %v; want not locked", n, locked, err)
			}
		}
		if locked, err := s.PINAttemptWrong(ctx, "u1", held[max-1], max); err != nil || !locked {
			t.Fatalf("PINAttemptWrong(%d) = %v, %v; want locked", held[max-1], locked, err)
		}
	})
}

func TestPINAttemptsConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		addUser(t, s, "u1")
		const (
			n   = 30
			max = device.MaxPINFailures
		)
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			got   = make([]int, n)
			errs  = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = s.ReservePINAttempt(ctx, "u1", max)
				if errs[i] == nil {
					_, errs[i] = s.PINAttemptWrong(ctx, "u1", got[i], max)
				}
			})
		}
		close(start)
		wg.Wait()
		var slots []int
		for i, err := range errs {
			switch {
			case err == nil:
				slots = append(slots, got[i])
			case errors.Is(err, device.ErrLocked), errors.Is(err, device.ErrPINBusy):
			default:
				t.Fatalf("attempt %d: %v", i, err)
			}
		}
		// Exactly max attempts were judged, each with its own number.
		slices.Sort(slots)
		if !slices.Equal(slots, []int{1, 2, 3, 4, 5}) {
			t.Fatalf("judged attempts %v, want 1..%d", slots, max)
		}
		u, err := s.User(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if u.PINFailures != max || !u.Locked {
			t.Fatalf("after %d concurrent wrong PINs: count %d locked %v", n, u.PINFailures, u.Locked)
		}
	})
}
