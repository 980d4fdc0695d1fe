package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/paraphe/paraphe/csc"
	"github.com/paraphe/paraphe/hsm"
)

// Plan says how much to measure. QuickPlan and FullPlan give the two standard runs;
// tests use smaller plans.
type Plan struct {
	Quick bool
	// RawSessions lists the session counts tried for the raw baseline (best kept).
	RawSessions []int
	// RawWindow is the measuring time of each raw count.
	RawWindow time.Duration
	// Concurrency is the number of hash-mode requests in flight, one simulated signer
	// each (so the per-signer pending limit is never the bottleneck).
	Concurrency int
	// HashWarmup runs before each hash-mode measuring window, HashWindow long.
	HashWarmup, HashWindow time.Duration
	// PDFSizesMB lists the PDF sizes, in MiB, in increasing order.
	PDFSizesMB []int
	// PDFRuns is the number of runs of each PDF measurement; the median is kept.
	PDFRuns int
	// BatchRuns is the number of batch approvals per key type; the median is kept.
	BatchRuns int
	// PendingRequests are held pending by SSEDevices devices connected to the event
	// stream, for PendingHold, in the memory phase (0 skips it).
	PendingRequests, SSEDevices int
	PendingHold                 time.Duration
}

// QuickPlan finishes within a minute on two cores: short windows, one run per PDF,
// 1,000 pending requests instead of 10,000.
func QuickPlan() Plan {
	n := runtime.NumCPU()
	return Plan{
		Quick:       true,
		RawSessions: uniqueSorted([]int{n, 2 * n}), RawWindow: 400 * time.Millisecond,
		Concurrency: concurrency(), HashWarmup: 500 * time.Millisecond, HashWindow: 3 * time.Second,
		PDFSizesMB: []int{1, 10, 50}, PDFRuns: 1, BatchRuns: 1,
		PendingRequests: 1000, SSEDevices: 20, PendingHold: 500 * time.Millisecond,
	}
}

// FullPlan is the run docs/performance.md reports: longer windows, three runs per PDF,
// 10,000 pending requests held by 100 connected devices.
func FullPlan() Plan {
	n := runtime.NumCPU()
	return Plan{
		RawSessions: uniqueSorted([]int{1, n, 2 * n, 4 * n, 8}), RawWindow: 2 * time.Second,
		Concurrency: concurrency(), HashWarmup: 2 * time.Second, HashWindow: 10 * time.Second,
		PDFSizesMB: []int{1, 10, 50}, PDFRuns: 3, BatchRuns: 3,
		PendingRequests: 10000, SSEDevices: 100, PendingHold: 2 * time.Second,
	}
}

// concurrency keeps every CPU and HSM session busy: 4 requests in flight per CPU (each
// spends part of its time in the client, the HTTP stack and the store), at least twice
// the HSM's default session pool.
func concurrency() int {
	return max(2*hsm.DefaultSessions, 4*runtime.NumCPU())
}

func uniqueSorted(v []int) []int {
	sort.Ints(v)
	return slices.Compact(v)
}

// Run measures everything in plan and returns the report. progress (may be nil)
// receives one line per phase. Run creates a temporary data folder and removes it.
func Run(ctx context.Context, plan Plan, progress io.Writer) (*Report, error) {
	if progress == nil {
		progress = io.Discard
	}
	if _, err := hsm.FindSoftHSMModule(); err != nil {
		return nil, fmt.Errorf("bench: needs SoftHSM2: %w", err)
	}
	dir, err := os.MkdirTemp("", "paraphe-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(dir)
	r := &run{plan: plan, dir: dir, dataDir: filepath.Join(dir, "data"), progress: progress, start: time.Now()}
	r.rep = &Report{
		HSMRawOpsPerSec: map[string]float64{}, APIHashSignPerSec: map[string]float64{},
		LatencyMs: map[string]map[string]Summary{}, PeakRSSMB: map[string]float64{}, PDF: []PDFRow{},
		Batch: map[string]Batch{}, CPUMsPerRequest: map[string]float64{},
		CSCSignHash: map[string]CSCBatch{}, HSMRawOneSession: map[string]float64{},
		Params: Params{Quick: plan.Quick, CPUs: runtime.NumCPU(), RawSessions: map[string]int{}, Concurrency: plan.Concurrency,
			HashDuration: plan.HashWindow, PendingRequests: plan.PendingRequests, SSEDevices: plan.SSEDevices,
			PDFRuns: plan.PDFRuns, PDFUnit: "1 MB = 1 MiB"},
	}
	if err := r.all(ctx); err != nil {
		return nil, err
	}
	r.rep.PeakRSSMB["processHWM"] = round1(float64(readStatusKB("VmHWM")) / 1024)
	r.logf("done")
	return r.rep, nil
}

// run is one benchmark run's state.
type run struct {
	plan     Plan
	dir      string
	dataDir  string
	progress io.Writer
	start    time.Time
	rep      *Report
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.progress, "bench: %6.1fs  %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

func (r *run) note(format string, args ...any) {
	r.rep.Notes = append(r.rep.Notes, fmt.Sprintf(format, args...))
}

func (r *run) all(ctx context.Context) error {
	p := r.plan
	// The token the service will use, created first so that the raw baseline signs on
	// the very same token (app.Build calls InitSoftHSM again with these arguments and
	// finds it).
	hcfg, err := hsm.InitSoftHSM(ctx, filepath.Join(r.dataDir, "hsm"), "paraphe")
	if err != nil {
		return err
	}
	r.logf("raw PKCS#11 on %s, sessions %v", hcfg.Module, p.RawSessions)
	raw, err := measureRaw(ctx, hcfg, p.RawSessions, p.RawWindow)
	if err != nil {
		return err
	}
	for _, k := range []string{P256, RSA3072} {
		v := raw[k]
		r.rep.HSMRawOpsPerSec[k] = round1(v.opsPerSec)
		r.rep.Params.RawSessions[k] = v.sessions
		r.rep.HSMRawOneSession[k] = round1(v.oneSessionOpsPerSec)
		r.logf("raw %s: %.0f signatures/s with a token key (%d sessions); %.0f/s with a session key", k, v.opsPerSec, v.sessions, v.sessionOpsPerSec)
		r.note("raw %s with a session key (in memory, not in the token's object store): %.0f signatures/s", k, v.sessionOpsPerSec)
	}

	if err := r.phaseP256(ctx); err != nil {
		return err
	}
	if err := r.phaseRSA(ctx); err != nil {
		return err
	}
	if p.Quick {
		r.note("quick run: %s hash-mode windows, one run per PDF size, %d pending requests instead of 10,000", p.HashWindow, p.PendingRequests)
	}
	r.note("RSS is the whole process: server, simulated clients and devices; the raw pdfsign baseline runs outside the PDF windows but counts in processHWM")
	return nil
}

// phaseP256 opens the service with P-256 users and measures hash mode, PDF mode and
// memory with pending requests.
func (r *run) phaseP256(ctx context.Context) (err error) {
	p := r.plan
	maxPending := 5
	if p.PendingRequests > 0 && p.SSEDevices > 0 {
		maxPending = max(maxPending, (p.PendingRequests+p.SSEDevices-1)/p.SSEDevices)
	}
	largest := 0
	if len(p.PDFSizesMB) > 0 {
		largest = p.PDFSizesMB[len(p.PDFSizesMB)-1]
	}
	s, err := startService(ctx, serviceConfig{
		dataDir: r.dataDir, keyType: hsm.ECP256, maxPending: maxPending,
		// The largest file plus its multipart envelope must fit (MiB sizes exceed the
		// 50,000,000-byte default at 50).
		pdfLimit: max(50_000_000, int64(largest+1)<<20), conns: 2 * p.Concurrency,
	})
	if err != nil {
		return err
	}
	defer s.close()
	defer func() { err = s.explain(err) }()
	r.logf("service up at %s (EC P-256 users)", s.base)
	if err := r.hashPhase(ctx, s, P256); err != nil {
		return err
	}
	if err := r.pdfPhase(ctx, s); err != nil {
		return err
	}
	if p.PendingRequests > 0 && p.SSEDevices > 0 {
		devs, err := s.newDevices(ctx, p.SSEDevices, 8)
		if err != nil {
			return err
		}
		r.logf("memory: %d pending requests, %d devices on the event stream", p.PendingRequests, p.SSEDevices)
		res, err := s.holdPending(ctx, devs, p.PendingRequests, p.PendingHold)
		if err != nil {
			return err
		}
		r.rep.PeakRSSMB[fmt.Sprintf("pending%d", p.PendingRequests)] = res.peakMiB
		r.logf("memory: peak %.1f MiB (created in %s)", res.peakMiB, res.createIn.Round(time.Millisecond))
	}
	return nil
}

// phaseRSA reopens the same data folder with RSA-3072 users and measures hash mode.
func (r *run) phaseRSA(ctx context.Context) (err error) {
	s, err := startService(ctx, serviceConfig{dataDir: r.dataDir, keyType: hsm.RSA3072, maxPending: 5, pdfLimit: 50_000_000, conns: 2 * r.plan.Concurrency})
	if err != nil {
		return err
	}
	defer s.close()
	defer func() { err = s.explain(err) }()
	r.logf("service reopened at %s (RSA-3072 users)", s.base)
	return r.hashPhase(ctx, s, RSA3072)
}

// hashPhase enrolls one signer per concurrent request and runs the hash-mode load.
func (r *run) hashPhase(ctx context.Context, s *service, kt string) error {
	p := r.plan
	t0 := time.Now()
	devs, err := s.newDevices(ctx, p.Concurrency, runtime.NumCPU())
	if err != nil {
		return err
	}
	r.logf("%s: %d signers enrolled in %s; hash-mode load %s (+%s warm-up)", kt, len(devs), time.Since(t0).Round(time.Millisecond), p.HashWindow, p.HashWarmup)
	rss := startRSS()
	res, err := s.hashLoad(ctx, devs, p.HashWarmup, p.HashWindow)
	peak := rss.Stop()
	if err != nil {
		return err
	}
	if res.done == 0 {
		return errors.New("bench: no hash-mode request finished in the window")
	}
	r.rep.CPUMsPerRequest[kt] = round3(float64(res.cpu) / float64(time.Millisecond) / float64(res.done))
	r.rep.APIHashSignPerSec[kt] = round1(res.perSec)
	r.rep.LatencyMs[kt] = map[string]Summary{"create": Summarize(res.create), "approveToSigned": Summarize(res.approve)}
	name := "hashLoadP256"
	if kt == RSA3072 {
		name = "hashLoadRSA3072"
	}
	r.rep.PeakRSSMB[name] = peak
	r.logf("%s: %.1f requests/s (%d done), %.2f ms of CPU each, peak RSS %.1f MiB", kt, res.perSec, res.done, r.rep.CPUMsPerRequest[kt], peak)
	if err := r.batchPhase(ctx, s, devs[0], kt); err != nil {
		return err
	}
	return r.cscPhase(ctx, s, devs[0], kt)
}

// batchPhase approves BatchDocuments documents at once, BatchRuns times, and keeps the
// median rate.
func (r *run) batchPhase(ctx context.Context, s *service, d *dev, kt string) error {
	var ts []time.Duration
	for range max(r.plan.BatchRuns, 1) {
		t, err := s.batchRequest(ctx, d, BatchDocuments)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	t := median(ts)
	b := Batch{Documents: BatchDocuments, SignaturesPerSec: round1(float64(BatchDocuments) / t.Seconds())}
	r.rep.Batch[kt] = b
	r.logf("%s: batch of %d documents approved and signed in %s: %.0f signatures/s (%.2f× raw)", kt, BatchDocuments,
		t.Round(time.Millisecond), b.SignaturesPerSec, ratio(b.SignaturesPerSec, r.rep.HSMRawOpsPerSec[kt]))
	return nil
}

// pdfPhase measures each size: SHA-256, Paraphe B-B and B-T (peak RSS sampled for the
// largest), then raw pdfsign.
func (r *run) pdfPhase(ctx context.Context, s *service) error {
	p := r.plan
	if len(p.PDFSizesMB) == 0 {
		return nil
	}
	devs, err := s.newDevices(ctx, 1, 1)
	if err != nil {
		return err
	}
	m, err := newMemSigner()
	if err != nil {
		return err
	}
	pdfDir := filepath.Join(r.dir, "pdf")
	if err := os.MkdirAll(pdfDir, 0o700); err != nil {
		return err
	}
	largest := p.PDFSizesMB[len(p.PDFSizesMB)-1]
	runs := max(p.PDFRuns, 1)
	for _, mb := range p.PDFSizesMB {
		path := filepath.Join(pdfDir, fmt.Sprintf("in-%d.pdf", mb))
		size := mb << 20
		if err := writePDF(path, size); err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		row := PDFRow{SizeMB: mb, Paraphe: map[string]float64{}}
		var hashes, raws []time.Duration
		for range runs {
			h, err := hashFile(path)
			if err != nil {
				return err
			}
			hashes = append(hashes, h)
		}
		var rss *rssSampler
		if mb == largest {
			rss = startRSS()
		}
		var parts pdfTimes
		for _, level := range []string{LevelBB, LevelBT} {
			var totals []time.Duration
			for range runs {
				t, err := s.pdfRequest(ctx, devs[0], path, level, st.Size())
				if err != nil {
					return err
				}
				totals = append(totals, t.total)
				if level == LevelBB {
					parts = t
				}
			}
			row.Paraphe[level] = ms(median(totals))
		}
		if rss != nil {
			r.rep.PeakRSSMB[fmt.Sprintf("pdf%dMB", mb)] = rss.Stop()
		}
		for range runs {
			t, err := rawPdfsign(path, filepath.Join(pdfDir, "raw-out.pdf"), m)
			if err != nil {
				return err
			}
			raws = append(raws, t)
		}
		row.RawMs, row.SHA256Ms = ms(median(raws)), ms(median(hashes))
		r.rep.PDF = append(r.rep.PDF, row)
		r.logf("PDF %d MB: sha256 %.1f ms, raw pdfsign %.1f ms, Paraphe B-B %.1f ms (upload+create %.0f, approve %.0f, download %.0f), B-T %.1f ms",
			mb, row.SHA256Ms, row.RawMs, row.Paraphe[LevelBB], ms(parts.create), ms(parts.approve), ms(parts.fetch), row.Paraphe[LevelBT])
		if err := os.Remove(path); err != nil {
			return err
		}
	}
	return nil
}

// median returns the middle of ds (the lower middle for an even count). It sorts ds.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)-1)/2]
}

// cscPhase approves CSCHashes hashes at once through the CSC API, then signs them all in
// one signHash, and compares the rate with raw single-session C_Sign (signHash signs its
// hashes one after the other).
func (r *run) cscPhase(ctx context.Context, s *service, d *dev, kt string) error {
	algo := csc.OIDECDSASHA256
	if kt == RSA3072 {
		algo = csc.OIDRSASHA256
	}
	took, err := s.cscBatch(ctx, d, algo)
	if err != nil {
		return err
	}
	perSec := float64(CSCHashes) / took.Seconds()
	r.rep.CSCSignHash[kt] = CSCBatch{Hashes: CSCHashes, SignaturesPerSec: round1(perSec), RawRatio: round3(ratio(perSec, r.rep.HSMRawOneSession[kt]))}
	r.logf("%s: CSC signHash of %d hashes after one approval in %s (%.0f signatures/s)", kt, CSCHashes, took.Round(time.Millisecond), perSec)
	return nil
}
