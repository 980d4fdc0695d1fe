package retention_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/retention"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/store"
)

var _ retention.Store = (*store.Store)(nil)

var t0 = time.Date(2031, 3, 4, 9, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// clock is an injected clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Config{SQLitePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// signed stores a signed one-document request created and finished at the clock's time.
func signed(t *testing.T, s *store.Store, log *audit.Log, clk *clock, id string) {
	t.Helper()
	ctx := context.Background()
	at := clk.Now()
	d := sha256.Sum256([]byte(id))
	r := &signer.Request{ID: id, IntegratorID: "i1", UserID: "u1", Format: signer.FormatCAdES, Level: signer.LevelBB,
		Status: signer.StatusPending, IconID: "cat", IconChoices: []string{"cat", "dog", "owl"}, Nonce: "n-" + id,
		CreatedAt: at, ExpiresAt: at.Add(time.Hour), CreatedIP: "192.0.2.10",
		Documents: []signer.Document{{Index: 0, Name: "Contract of Erin Dupont.pdf", Hash: crypto.SHA256, Digest: d[:]}}}
	if err := s.CreateRequest(ctx, r, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := log.Record(ctx, audit.Event{Type: audit.RequestCreated, Actor: audit.Integrator("i1"), RequestID: id}); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Transition(ctx, id, []signer.Status{signer.StatusPending}, signer.Change{To: signer.StatusApproved, At: at, ClientIP: "198.51.100.3"}); !ok || err != nil {
		t.Fatalf("approve: %v %v", ok, err)
	}
	if ok, err := s.CompleteSigned(ctx, id, [][]byte{[]byte("cms of " + id)}, at); !ok || err != nil {
		t.Fatalf("sign: %v %v", ok, err)
	}
	if _, err := log.Record(ctx, audit.Event{Type: audit.RequestSigned, Actor: audit.System, RequestID: id}); err != nil {
		t.Fatal(err)
	}
}

func TestRunWithClock(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "paraphe.db"))
	clk := &clock{now: t0}
	log := audit.New(audit.Deps{Store: s, Now: clk.Now})
	job, err := retention.New(retention.Deps{Store: s, Audit: log, Now: clk.Now}, retention.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	signed(t, s, log, clk, "downloaded")
	signed(t, s, log, clk, "ignored")
	if err := s.MarkDownloaded(ctx, "downloaded", 0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(20 * day))
	signed(t, s, log, clk, "later")

	steps := []struct {
		at   time.Time
		want retention.Summary
		// result kept, personal details kept, request kept, per request
		check map[string][3]bool
	}{
		{t0.Add(7 * day), retention.Summary{}, map[string][3]bool{"downloaded": {true, true, true}}},
		{t0.Add(7*day + 2*time.Hour), retention.Summary{ResultsDeleted: 1},
			map[string][3]bool{"downloaded": {false, true, true}, "ignored": {true, true, true}}},
		{t0.Add(31 * day), retention.Summary{ResultsDeleted: 1},
			map[string][3]bool{"ignored": {false, true, true}, "later": {true, true, true}}},
		{t0.Add(91 * day), retention.Summary{ResultsDeleted: 1, RequestsPseudonymized: 2},
			map[string][3]bool{"downloaded": {false, false, true}, "later": {false, true, true}}},
		{t0.Add(111 * day), retention.Summary{RequestsPseudonymized: 1}, map[string][3]bool{"later": {false, false, true}}},
		{t0.Add(3654 * day), retention.Summary{RequestsDeleted: 2},
			map[string][3]bool{"downloaded": {false, false, false}, "ignored": {false, false, false}, "later": {false, false, true}}},
	}
	for i, st := range steps {
		clk.Set(st.at)
		got, err := job.Run(ctx, clk.Now())
		if err != nil {
			t.Fatalf("step %d: Run: %v", i, err)
		}
		if !got.Ran || got.ResultsDeleted != st.want.ResultsDeleted || got.RequestsPseudonymized != st.want.RequestsPseudonymized ||
			got.RequestsDeleted != st.want.RequestsDeleted {
			t.Errorf("step %d (%s): summary %+v, want %+v", i, st.at.Sub(t0), got, st.want)
		}
		for id, want := range st.check {
			r, err := s.Request(ctx, id)
			if errors.Is(err, signer.ErrNotFound) {
				if want[2] {
					t.Errorf("step %d: request %s deleted too early", i, id)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if !want[2] {
				t.Errorf("step %d: request %s kept past the evidence period", i, id)
			}
			if hasResult := r.Documents[0].Result != nil; hasResult != want[0] {
				t.Errorf("step %d: %s result kept = %v, want %v", i, id, hasResult, want[0])
			}
			personal := r.CreatedIP != "" || r.DecidedIP != "" || strings.Contains(r.Documents[0].Name, "Erin")
			if personal != want[1] {
				t.Errorf("step %d: %s personal details kept = %v, want %v", i, id, personal, want[1])
			}
		}
		if _, err := log.Verify(ctx); err != nil {
			t.Fatalf("step %d: audit chain: %v", i, err)
		}
	}
	// The audit entries of the first two requests were older than ten years at the last
	// step: gone, with the chain still verifying from the anchor.
	anchor, found, err := s.AuditAnchor(ctx)
	if err != nil || !found || anchor.Seq < 4 {
		t.Fatalf("anchor = %+v, %v, %v", anchor, found, err)
	}
	es, err := s.AuditEntries(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var pruned, applied int
	for _, e := range es {
		if e.Event.RequestID == "downloaded" || e.Event.RequestID == "ignored" {
			t.Errorf("audit entry %d of a request past the evidence period is still there", e.Seq)
		}
		switch e.Event.Type {
		case audit.AuditPruned:
			pruned++
		case audit.RetentionApplied:
			applied++
		}
	}
	if pruned != 1 || applied != len(steps)-1 {
		t.Errorf("%d audit.pruned and %d retention.applied entries, want 1 and %d", pruned, applied, len(steps)-1)
	}
}

func TestRunSkipsWhileAnotherHolds(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "paraphe.db")
	s1, s2 := openStore(t, path), openStore(t, path)
	if got, err := s2.AcquireLease(ctx, retention.LeaseName, "other-replica", t0, time.Hour); !got || err != nil {
		t.Fatalf("AcquireLease: %v %v", got, err)
	}
	job, err := retention.New(retention.Deps{Store: s1, Audit: audit.New(audit.Deps{Store: s1})}, retention.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	got, err := job.Run(ctx, t0.Add(time.Minute))
	if err != nil || got.Ran {
		t.Fatalf("Run while another holds the lease = %+v, %v; want skipped", got, err)
	}
	got, err = job.Run(ctx, t0.Add(2*time.Hour))
	if err != nil || !got.Ran {
		t.Fatalf("Run after the lease expired = %+v, %v", got, err)
	}
	// Released: the other replica gets it at once.
	if ok, err := s2.AcquireLease(ctx, retention.LeaseName, "other-replica", t0.Add(2*time.Hour), time.Hour); !ok || err != nil {
		t.Fatalf("lease not released: %v %v", ok, err)
	}
}

func TestConcurrentRunsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "paraphe.db")
	var jobs []*retention.Job
	for range 4 {
		s := openStore(t, path)
		j, err := retention.New(retention.Deps{Store: s, Audit: audit.New(audit.Deps{Store: s})}, retention.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ran int
	)
	start := make(chan struct{})
	for _, j := range jobs {
		wg.Go(func() {
			<-start
			s, err := j.Run(ctx, t0)
			if err != nil {
				t.Error(err)
			}
			if s.Ran {
				mu.Lock()
				ran++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if ran < 1 {
		t.Fatal("no replica ran")
	}
	// Runs that did not overlap may each run; what matters is that none failed and the
	// lease is free again.
	if ok, err := openStore(t, path).AcquireLease(ctx, retention.LeaseName, "x", t0, time.Hour); !ok || err != nil {
		t.Fatalf("lease left held: %v %v", ok, err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*retention.Config)
		ok   bool
	}{
		{"defaults", func(*retention.Config) {}, true},
		{"zero grace", func(c *retention.Config) { c.ResultGrace = 0 }, false},
		{"negative interval", func(c *retention.Config) { c.Interval = -time.Second }, false},
		{"evidence shorter than results", func(c *retention.Config) { c.EvidenceKeep = 10 * day }, false},
		{"evidence shorter than pseudonymization", func(c *retention.Config) { c.EvidenceKeep = 60 * day }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := retention.DefaultConfig()
			tc.mod(&c)
			if err := c.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestLoopStops(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "paraphe.db"))
	cfg := retention.DefaultConfig()
	cfg.Interval = 10 * time.Millisecond
	job, err := retention.New(retention.Deps{Store: s, Audit: audit.New(audit.Deps{Store: s})}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() { job.Loop(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Loop did not return after its context ended")
	}
}
