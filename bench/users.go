package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/paraphe/paraphe/hsm"
)

// UsersPlan says what `paraphe bench --users N` measures.
type UsersPlan struct {
	// Users lists the numbers of users at which to measure, in increasing order: each
	// key storage enrolls users up to the first number, measures, enrolls more up to
	// the next, and so on (one enrollment run gives 1,000, 10,000 and 100,000).
	Users []int
	// Storages lists the key storages measured, one after the other on the same token
	// and data folder (nil: token, then wrapped).
	Storages []hsm.KeyStorage
	// Parallel is the number of enrollments in flight (0: 2 per CPU, at least 4).
	Parallel int
	// Probes is the number of approvals that measure the approve latency at each
	// number, each by a different user not used before (0: 100).
	Probes int
	// Signatures is the number of keys of the per-signature cost, each used straight
	// on the token once before (first signature) and once after (0: 200).
	Signatures int
}

func (p UsersPlan) withDefaults() UsersPlan {
	if p.Storages == nil {
		p.Storages = []hsm.KeyStorage{hsm.StorageToken, hsm.StorageWrapped}
	}
	if p.Parallel <= 0 {
		p.Parallel = max(4, 2*runtime.NumCPU())
	}
	if p.Probes <= 0 {
		p.Probes = 100
	}
	if p.Signatures <= 0 {
		p.Signatures = 200
	}
	return p
}

func (p UsersPlan) check() error {
	if len(p.Users) == 0 {
		return errors.New("bench: --users: no number of users")
	}
	for i, n := range p.Users {
		if n < 1 || (i > 0 && n <= p.Users[i-1]) {
			return fmt.Errorf("bench: --users must be increasing numbers of at least 1, got %v", p.Users)
		}
	}
	for _, st := range p.Storages {
		if st == "" || st.Validate() != nil {
			return fmt.Errorf("bench: key storage must be %q or %q, got %q", hsm.StorageToken, hsm.StorageWrapped, st)
		}
	}
	return nil
}

// UsersReport is what `paraphe bench --users N` measures: one row per key storage and
// number of users.
type UsersReport struct {
	Parallel int        `json:"parallel"`
	CPUs     int        `json:"cpus"`
	Rows     []UsersRow `json:"rows"`
}

// UsersRow is one key storage at one number of users.
type UsersRow struct {
	Users      int    `json:"users"`
	KeyStorage string `json:"keyStorage"`
	// TokenObjectsBefore is the token's object count before this storage's first user
	// was enrolled, TokenObjects once Users are, and ObjectsAdded the difference.
	TokenObjectsBefore int `json:"tokenObjectsBefore"`
	TokenObjects       int `json:"tokenObjects"`
	ObjectsAdded       int `json:"objectsAdded"`
	// EnrollSeconds is the wall time of the Users enrollments (Parallel at a time,
	// measurements at smaller numbers left out) and EnrollPerSec the rate of the last
	// stretch, since the previous number: the rate at this size.
	EnrollSeconds float64 `json:"enrollSeconds"`
	EnrollPerSec  float64 `json:"enrollPerSec"`
	// AddUserMs is the operator's user creation (store, audit) and EnrollMs the phone's
	// enrollment call (PIN verifier, key generation, certificate, store, audit), each
	// timed alone, over the last stretch.
	AddUserMs Summary `json:"addUserMs"`
	EnrollMs  Summary `json:"enrollMs"`
	// ApproveMs is the approve → signed round trip of P-256 hash-mode requests, each by
	// a different user drawn across the Users and not used before: each user's first
	// signature since the service started, as after a restart.
	ApproveMs Summary `json:"approveMs"`
	// FirstSignMs is one signature straight on the token (no HTTP, store or CMS) by a key
	// not used since the service started (opening it: with a token key, a search of the
	// token) and SignMs one more signature by the same keys, one at a time.
	FirstSignMs Summary `json:"firstSignMs"`
	SignMs      Summary `json:"signMs"`
	// SignPerSec is signatures per second, Parallel at a time, by keys already used.
	SignPerSec float64 `json:"signPerSec"`
}

// RunUsers enrolls P-256 users for each key storage in plan.Storages, one storage after
// the other on one temporary token and data folder, and measures each at each number of
// plan.Users (see UsersRow). With the default order, token keys come first: the
// wrapped phase then runs beside the token keys, as after a migration in progress. Each
// row is also written to progress as soon as it is measured.
func RunUsers(ctx context.Context, plan UsersPlan, progress io.Writer) (*UsersReport, error) {
	if progress == nil {
		progress = io.Discard
	}
	plan = plan.withDefaults()
	if err := plan.check(); err != nil {
		return nil, err
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
	rep := &UsersReport{Parallel: plan.Parallel, CPUs: runtime.NumCPU(), Rows: []UsersRow{}}
	for _, st := range plan.Storages {
		rows, err := usersPhase(ctx, filepath.Join(dir, "data"), st, plan, logf)
		rep.Rows = append(rep.Rows, rows...)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func usersPhase(ctx context.Context, dataDir string, st hsm.KeyStorage, plan UsersPlan, logf func(string, ...any)) (rows []UsersRow, err error) {
	s, err := startService(ctx, serviceConfig{dataDir: dataDir, keyType: hsm.ECP256, keyStorage: st, maxPending: 5, pdfLimit: 50_000_000, conns: max(16, plan.Parallel)})
	if err != nil {
		return nil, err
	}
	defer s.close()
	defer func() { err = s.explain(err) }()
	before, err := s.env.Token.CountObjects(ctx)
	if err != nil {
		return nil, err
	}
	var devs []*dev
	used := map[int]bool{} // users whose key has signed
	var enrolling time.Duration
	for _, n := range plan.Users {
		row := UsersRow{Users: n, KeyStorage: string(st), TokenObjectsBefore: before}
		logf("%s keys: enrolling users %d to %d, %d at a time", st, len(devs)+1, n, plan.Parallel)
		more, el, err := s.enrollMany(ctx, n-len(devs), plan.Parallel, &row, func(done int, el time.Duration) {
			logf("%s keys: %d/%d enrolled (%.1f/s in this stretch)", st, len(devs)+done, n, float64(done)/el.Seconds())
		})
		if err != nil {
			return rows, err
		}
		devs = append(devs, more...)
		enrolling += el
		row.EnrollSeconds = round3(enrolling.Seconds())
		if row.TokenObjects, err = s.env.Token.CountObjects(ctx); err != nil {
			return rows, err
		}
		row.ObjectsAdded = row.TokenObjects - before
		logf("%s keys: %d users enrolled in %.1f s (last stretch %.1f/s), token objects %d → %d", st, n, row.EnrollSeconds, row.EnrollPerSec, before, row.TokenObjects)

		// Approvals first, by users whose key has not signed yet.
		probes := pickUnused(len(devs), min(plan.Probes, len(devs)-len(used)), used)
		var approve []time.Duration
		for _, i := range probes {
			_, a, err := s.oneHashRequest(ctx, devs[i])
			if err != nil {
				return rows, err
			}
			approve = append(approve, a)
		}
		row.ApproveMs = Summarize(approve)
		logf("%s keys at %d users: approve p50 %.1f ms, p99 %.1f ms (%d users, first signature each)", st, n, row.ApproveMs.P50, row.ApproveMs.P99, len(approve))

		signers := pickUnused(len(devs), min(plan.Signatures, len(devs)-len(used)), used)
		if len(signers) > 0 {
			if err := s.signCost(ctx, devs, signers, plan.Parallel, &row); err != nil {
				return rows, err
			}
		}
		logf("%s keys at %d users: first signature p50 %.2f ms, next p50 %.2f ms, %.0f/s %d at a time", st, n, row.FirstSignMs.P50, row.SignMs.P50, row.SignPerSec, plan.Parallel)
		if b, err := json.Marshal(row); err == nil {
			logf("row %s", b)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// pickUnused returns k indexes below n spread evenly over them, none in used, and adds
// them to used. It returns fewer when fewer are left.
func pickUnused(n, k int, used map[int]bool) []int {
	out := make([]int, 0, max(k, 0))
	if k <= 0 {
		return out
	}
	stride := max(1, n/k)
	for start := 0; len(out) < k && start < stride; start++ {
		for i := start; i < n && len(out) < k; i += stride {
			if !used[i] {
				used[i] = true
				out = append(out, i)
			}
		}
	}
	return out
}

// enrollMany enrolls n more users, par at a time, and returns their devices and the
// time it took. It fills the enrollment rate and step times of row, and calls tick after
// each tenth.
func (s *service) enrollMany(ctx context.Context, n, par int, row *UsersRow, tick func(done int, el time.Duration)) ([]*dev, time.Duration, error) {
	devs := make([]*dev, n)
	adds := make([]time.Duration, n)
	enrolls := make([]time.Duration, n)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	first := s.users + 1
	next := make(chan int)
	finished := make(chan struct{}, par)
	var wg sync.WaitGroup
	for range par {
		wg.Go(func() {
			for i := range next {
				d, tm, err := s.newDevice(ctx, first+i)
				if err != nil {
					cancel(err)
					return
				}
				devs[i], adds[i], enrolls[i] = d, tm.add, tm.enroll
				finished <- struct{}{}
			}
		})
	}
	go func() {
		defer close(next)
		for i := range n {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	t0 := time.Now()
	tenth := max(1, n/10)
	done := 0
	for done < n && ctx.Err() == nil {
		select {
		case <-finished:
			done++
			if done%tenth == 0 && done < n {
				tick(done, time.Since(t0))
			}
		case <-ctx.Done():
		}
	}
	el := time.Since(t0)
	cancel(nil)
	go func() {
		for range finished { // let workers that finished after a failure return
		}
	}()
	wg.Wait()
	close(finished)
	if done < n {
		return nil, el, fmt.Errorf("bench: enroll: %w", context.Cause(ctx))
	}
	s.users += n
	row.EnrollPerSec = round1(float64(n) / el.Seconds())
	row.AddUserMs = Summarize(adds)
	row.EnrollMs = Summarize(enrolls)
	return devs, el, nil
}

// signCost measures the cost of one signature straight on the token (no HTTP, no
// store, no CMS) by the keys of the users devs[picked...], none used before: a first
// signature each (opening the key), then one more each, one at a time, then signatures
// par at a time.
func (s *service) signCost(ctx context.Context, devs []*dev, picked []int, par int, row *UsersRow) error {
	var content [32]byte
	if _, err := rand.Read(content[:]); err != nil {
		return err
	}
	dg := sha256.Sum256(content[:])
	sign := func(i int) (*hsm.Key, time.Duration, error) {
		u, err := s.env.Store.User(ctx, devs[i].st.UserID)
		if err != nil {
			return nil, 0, err
		}
		t0 := time.Now()
		key, err := s.env.Token.Signer(ctx, u.KeyRef)
		if err != nil {
			return nil, 0, err
		}
		if _, err := key.SignContext(ctx, dg[:], crypto.SHA256); err != nil {
			return nil, 0, err
		}
		return key, time.Since(t0), nil
	}
	k := len(picked)
	keys := make([]*hsm.Key, k)
	first := make([]time.Duration, k)
	again := make([]time.Duration, k)
	for j, i := range picked {
		var err error
		if keys[j], first[j], err = sign(i); err != nil {
			return err
		}
	}
	for j, i := range picked {
		var err error
		if _, again[j], err = sign(i); err != nil {
			return err
		}
	}
	row.FirstSignMs = Summarize(first)
	row.SignMs = Summarize(again)
	total := max(4*k, 400)
	next := make(chan int)
	errs := make([]error, par)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range par {
		wg.Go(func() {
			for i := range next {
				if _, err := keys[i%k].SignContext(ctx, dg[:], crypto.SHA256); err != nil && errs[w] == nil {
					errs[w] = err
				}
			}
		})
	}
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	row.SignPerSec = round1(float64(total) / time.Since(t0).Seconds())
	return nil
}
