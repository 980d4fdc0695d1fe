package retention

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/paraphe/paraphe/audit"
)

// Config sets the retention periods.
type Config struct {
	// ResultGrace: result bytes are deleted this long after the integrator's first
	// download (7 days: time to fetch again after a failed save).
	ResultGrace time.Duration
	// ResultMaxAge: result bytes are deleted this long after the request ended, even if
	// never downloaded (30 days).
	ResultMaxAge time.Duration
	// PseudonymizeAfter: client IPs and document names of finished requests are removed
	// this long after the request ended (90 days).
	PseudonymizeAfter time.Duration
	// EvidenceKeep: finished requests (evidence) and audit entries are deleted this long
	// after they were made (10 years, the usual limitation period for contracts).
	EvidenceKeep time.Duration
	// Interval between runs in the server (1 hour).
	Interval time.Duration
}

// DefaultConfig returns the periods of the privacy policy: the defaults of Config, and
// of the configuration file's retention section.
func DefaultConfig() Config {
	return Config{
		ResultGrace:       7 * 24 * time.Hour,
		ResultMaxAge:      30 * 24 * time.Hour,
		PseudonymizeAfter: 90 * 24 * time.Hour,
		EvidenceKeep:      3653 * 24 * time.Hour, // 10 years with their leap days
		Interval:          time.Hour,
	}
}

// withDefaults fills the zero periods of c from DefaultConfig: the one place the job's
// defaults are set.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	for _, p := range []struct{ v, def *time.Duration }{
		{&c.ResultGrace, &d.ResultGrace}, {&c.ResultMaxAge, &d.ResultMaxAge}, {&c.PseudonymizeAfter, &d.PseudonymizeAfter},
		{&c.EvidenceKeep, &d.EvidenceKeep}, {&c.Interval, &d.Interval},
	} {
		if *p.v == 0 {
			*p.v = *p.def
		}
	}
	return c
}

// Validate checks the periods: all positive, and evidence kept at least as long as the
// results and the personal details it explains.
func (c Config) Validate() error {
	var errs []error
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"resultGrace", c.ResultGrace}, {"resultMaxAge", c.ResultMaxAge}, {"pseudonymizeAfter", c.PseudonymizeAfter},
		{"evidenceKeep", c.EvidenceKeep}, {"interval", c.Interval}} {
		if p.d <= 0 {
			errs = append(errs, fmt.Errorf("retention: %s must be positive", p.name))
		}
	}
	if c.EvidenceKeep < c.ResultMaxAge || c.EvidenceKeep < c.PseudonymizeAfter {
		errs = append(errs, errors.New("retention: evidenceKeep must not be shorter than resultMaxAge and pseudonymizeAfter"))
	}
	return errors.Join(errs...)
}

// Leases lets one process among several run the job.
type Leases interface {
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Sweeper deletes and pseudonymizes what is due. Each method is idempotent.
type Sweeper interface {
	PurgeResults(ctx context.Context, downloadedBefore, finishedBefore, at time.Time) (int64, error)
	PseudonymizeRequests(ctx context.Context, finishedBefore, at time.Time) (int64, error)
	DeleteRequests(ctx context.Context, finishedBefore time.Time) (int64, error)
	PruneAudit(ctx context.Context, before, at time.Time) (audit.Anchor, int64, error)
	// DeleteExpiredTokens deletes the hashes of CSC API secrets (tokens, codes, SADs)
	// that expired before a time: dead, they prove nothing the audit log does not.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error)
}

// Store is both; store.Store implements it.
type Store interface {
	Leases
	Sweeper
}

// Files deletes the stored documents (signed PDFs) whose results the store purged.
type Files interface {
	SweepFiles(ctx context.Context) (int64, error)
}

// Auditor records audit events.
type Auditor interface {
	Record(ctx context.Context, ev audit.Event) (audit.Entry, error)
}

// LeaseName names the retention job's lease row.
const LeaseName = "retention"

// leaseTTL bounds how long a crashed run keeps others from running: far longer than a
// run takes (batches of a few hundred rows), shorter than a day of missed runs.
const leaseTTL = time.Hour

// Job applies the retention periods.
type Job struct {
	files  Files
	st     Store
	audit  Auditor
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	holder string
}

// Deps are the Job's collaborators.
type Deps struct {
	Store Store
	Audit Auditor
	// Files, when set, deletes the files of purged results at each run (FileSweeper).
	Files Files
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Log receives what each run did; nil: slog.Default().
	Log *slog.Logger
}

// New returns a Job. Zero periods of cfg take DefaultConfig's.
func New(d Deps, cfg Config) (*Job, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	holder := host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
	if len(holder) > 64 {
		holder = holder[len(holder)-64:]
	}
	return &Job{st: d.Store, audit: d.Audit, files: d.Files, cfg: cfg, now: d.Now, log: d.Log, holder: holder}, nil
}

// Summary is what one run did.
type Summary struct {
	// Ran is false when another process held the lease and this run did nothing.
	Ran                   bool
	At                    time.Time
	ResultsDeleted        int64
	FilesDeleted          int64
	RequestsPseudonymized int64
	RequestsDeleted       int64
	AuditEntriesPruned    int64
	// AuditAnchorSeq is the last pruned audit entry (0 when none was pruned now).
	AuditAnchorSeq int64
}

func (s Summary) changed() bool {
	return s.ResultsDeleted+s.FilesDeleted+s.RequestsPseudonymized+s.RequestsDeleted+s.AuditEntriesPruned > 0
}

// Run applies the retention periods as of now, once: when another process holds the
// lease it returns a Summary with Ran false and no error.
func (j *Job) Run(ctx context.Context, now time.Time) (out Summary, err error) {
	now = now.UTC()
	out.At = now
	got, err := j.st.AcquireLease(ctx, LeaseName, j.holder, now, leaseTTL)
	if err != nil {
		return out, fmt.Errorf("retention: lease: %w", err)
	}
	if !got {
		return out, nil
	}
	out.Ran = true
	defer func() {
		if rerr := j.st.ReleaseLease(context.WithoutCancel(ctx), LeaseName, j.holder); rerr != nil && err == nil {
			err = fmt.Errorf("retention: release lease: %w", rerr)
		}
	}()
	c := j.cfg
	if out.ResultsDeleted, err = j.st.PurgeResults(ctx, now.Add(-c.ResultGrace), now.Add(-c.ResultMaxAge), now); err != nil {
		return out, fmt.Errorf("retention: results: %w", err)
	}
	if j.files != nil {
		if out.FilesDeleted, err = j.files.SweepFiles(ctx); err != nil {
			return out, fmt.Errorf("retention: files: %w", err)
		}
	}
	if out.RequestsPseudonymized, err = j.st.PseudonymizeRequests(ctx, now.Add(-c.PseudonymizeAfter), now); err != nil {
		return out, fmt.Errorf("retention: pseudonymize: %w", err)
	}
	if out.RequestsDeleted, err = j.st.DeleteRequests(ctx, now.Add(-c.EvidenceKeep)); err != nil {
		return out, fmt.Errorf("retention: evidence: %w", err)
	}
	// A day of grace keeps a just-expired secret explainable ("expired", not "unknown").
	if _, err = j.st.DeleteExpiredTokens(ctx, now.Add(-24*time.Hour)); err != nil {
		return out, fmt.Errorf("retention: expired tokens: %w", err)
	}
	anchor, pruned, err := j.st.PruneAudit(ctx, now.Add(-c.EvidenceKeep), now)
	if err != nil {
		return out, fmt.Errorf("retention: audit: %w", err)
	}
	out.AuditEntriesPruned = pruned
	if pruned > 0 {
		out.AuditAnchorSeq = anchor.Seq
		if _, err := j.audit.Record(ctx, audit.Event{Type: audit.AuditPruned, Actor: audit.System,
			Detail: map[string]string{"throughSeq": strconv.FormatInt(anchor.Seq, 10), "anchorHash": hex.EncodeToString(anchor.Hash),
				"entries": strconv.FormatInt(pruned, 10)}}); err != nil {
			return out, fmt.Errorf("retention: %w", err)
		}
	}
	if out.changed() {
		if _, err := j.audit.Record(ctx, audit.Event{Type: audit.RetentionApplied, Actor: audit.System, Detail: map[string]string{
			"resultsDeleted":        strconv.FormatInt(out.ResultsDeleted, 10),
			"filesDeleted":          strconv.FormatInt(out.FilesDeleted, 10),
			"requestsPseudonymized": strconv.FormatInt(out.RequestsPseudonymized, 10),
			"requestsDeleted":       strconv.FormatInt(out.RequestsDeleted, 10),
			"auditEntriesPruned":    strconv.FormatInt(out.AuditEntriesPruned, 10),
		}}); err != nil {
			return out, fmt.Errorf("retention: %w", err)
		}
	}
	return out, nil
}

// Loop runs the job at once and then every Interval until ctx ends, logging what each
// run did. The server starts it beside its other workers.
func (j *Job) Loop(ctx context.Context) {
	t := time.NewTicker(j.cfg.Interval)
	defer t.Stop()
	for {
		s, err := j.Run(ctx, j.now())
		switch {
		case err != nil && ctx.Err() == nil:
			j.log.Warn("retention run failed", "err", err)
		case s.changed():
			j.log.Info("retention run", "resultsDeleted", s.ResultsDeleted, "requestsPseudonymized", s.RequestsPseudonymized,
				"requestsDeleted", s.RequestsDeleted, "auditEntriesPruned", s.AuditEntriesPruned)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
