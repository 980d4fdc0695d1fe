package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/paraphe/paraphe/hsm"
)

// usersProbes is how many approvals measure the approve latency at a number of users.
const usersProbes = 30

// UsersReport is what `paraphe bench --users N` measures for each key storage: the
// token's object count and the approve latency once N users are enrolled.
type UsersReport struct {
	Users   int                 `json:"users"`
	Storage map[string]UsersRow `json:"storage"` // "token", "wrapped"
}

// UsersRow is one key storage at N users.
type UsersRow struct {
	// TokenObjects is the token's object count after the N users were enrolled, and
	// ObjectsAdded how many of them the enrollment added.
	TokenObjects int `json:"tokenObjects"`
	ObjectsAdded int `json:"objectsAdded"`
	// EnrollPerSec is enrollments per second (key generation, certificate, store).
	EnrollPerSec float64 `json:"enrollPerSec"`
	// ApproveMs is the approve → signed round trip of P-256 hash-mode requests by users
	// drawn across the N.
	ApproveMs Summary `json:"approveMs"`
}

// RunUsers enrolls n P-256 users with token keys, then n more with wrapped keys, on one
// temporary token, and measures each storage (see UsersReport). Token keys come first:
// the wrapped phase then runs beside n token keys, as after a migration in progress.
func RunUsers(ctx context.Context, n int, progress io.Writer) (*UsersReport, error) {
	if progress == nil {
		progress = io.Discard
	}
	if n < 1 {
		return nil, fmt.Errorf("bench: --users must be at least 1, got %d", n)
	}
	if _, err := hsm.FindSoftHSMModule(); err != nil {
		return nil, fmt.Errorf("bench: needs SoftHSM2: %w", err)
	}
	dir, err := os.MkdirTemp("", "paraphe-bench-users-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(progress, "bench: %6.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	rep := &UsersReport{Users: n, Storage: map[string]UsersRow{}}
	for _, st := range []hsm.KeyStorage{hsm.StorageToken, hsm.StorageWrapped} {
		row, err := usersPhase(ctx, filepath.Join(dir, "data"), st, n, logf)
		if err != nil {
			return nil, err
		}
		rep.Storage[string(st)] = row
	}
	return rep, nil
}

func usersPhase(ctx context.Context, dataDir string, st hsm.KeyStorage, n int, logf func(string, ...any)) (row UsersRow, err error) {
	s, err := startService(ctx, serviceConfig{dataDir: dataDir, keyType: hsm.ECP256, keyStorage: st, maxPending: 5, pdfLimit: 50_000_000, conns: 16})
	if err != nil {
		return row, err
	}
	defer s.close()
	defer func() { err = s.explain(err) }()
	before, err := s.env.Token.CountObjects(ctx)
	if err != nil {
		return row, err
	}
	t0 := time.Now()
	devs, err := s.newDevices(ctx, n, 2*runtime.NumCPU())
	if err != nil {
		return row, err
	}
	row.EnrollPerSec = round1(float64(n) / time.Since(t0).Seconds())
	if row.TokenObjects, err = s.env.Token.CountObjects(ctx); err != nil {
		return row, err
	}
	row.ObjectsAdded = row.TokenObjects - before
	var approve []time.Duration
	for i := range usersProbes {
		d := devs[(i*7919)%len(devs)] // spread over the users
		_, a, err := s.oneHashRequest(ctx, d)
		if err != nil {
			return row, err
		}
		approve = append(approve, a)
	}
	row.ApproveMs = Summarize(approve)
	logf("%s keys: %d users enrolled (%.1f/s), token objects %d → %d, approve p50 %.1f ms, p99 %.1f ms",
		st, n, row.EnrollPerSec, before, row.TokenObjects, row.ApproveMs.P50, row.ApproveMs.P99)
	return row, nil
}
