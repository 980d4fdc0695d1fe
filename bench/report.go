package bench

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Key type names used as keys of the report's maps.
const (
	P256    = "p256"
	RSA3072 = "rsa3072"
)

// PDF levels measured in PDF mode.
const (
	LevelBB = "B-B"
	LevelBT = "B-T"
)

// Report is the result of a run. Its JSON form is the object of issue 8:
// {"hsmRawOpsPerSec":{"p256":…,"rsa3072":…},"apiHashSignPerSec":{…},"pdf":[…],
// "latencyMs":{…},"peakRssMB":{…}}, with "batch" and "cpuMsPerRequest" of issue 15
// (ARCHITECTURE.md, contract part 2). Run's parameters and notes are kept out of the JSON.
type Report struct {
	// HSMRawOpsPerSec is raw C_Sign throughput on the token, by key type.
	HSMRawOpsPerSec map[string]float64 `json:"hsmRawOpsPerSec"`
	// APIHashSignPerSec is complete hash-mode requests per second over HTTP, by key type.
	APIHashSignPerSec map[string]float64 `json:"apiHashSignPerSec"`
	// PDF holds one row per file size.
	PDF []PDFRow `json:"pdf"`
	// LatencyMs holds the server time of each step under the hash-mode load, by key type
	// then step ("create", "approveToSigned").
	LatencyMs map[string]map[string]Summary `json:"latencyMs"`
	// PeakRSSMB is the largest resident set seen during each phase, in MiB; "processHWM"
	// is the kernel's high-water mark of the whole run.
	PeakRSSMB map[string]float64 `json:"peakRssMB"`
	// Batch is one approval of BatchDocuments hash documents at B-B, by key type.
	Batch map[string]Batch `json:"batch"`
	// CPUMsPerRequest is the process CPU time (server and simulated clients and devices,
	// user + system) per completed hash-mode request under the load, by key type.
	CPUMsPerRequest map[string]float64 `json:"cpuMsPerRequest"`
	// CSCSignHash is the CSC batch by key type: CSCHashes hashes approved at once, then
	// one signHash, in signatures per second against the raw HSM rate.
	CSCSignHash map[string]CSCBatch `json:"cscSignHash"`

	// HSMRawOneSession is raw C_Sign throughput on one session (the CSC batch's
	// baseline), by key type (not part of the JSON).
	HSMRawOneSession map[string]float64 `json:"-"`

	// Params describes what was run (not part of the JSON).
	Params Params `json:"-"`
	// Notes are findings worth printing under the table (not part of the JSON).
	Notes []string `json:"-"`
}

// Params records the run's configuration, for the table and the documentation.
type Params struct {
	Quick           bool
	CPUs            int
	RawSessions     map[string]int // best number of raw sessions, by key type
	Concurrency     int            // hash-mode requests in flight
	HashDuration    time.Duration  // measuring window of each hash-mode load
	PendingRequests int            // requests held pending in the memory phase
	SSEDevices      int            // devices connected to the event stream meanwhile
	PDFRuns         int            // runs per PDF measurement (median kept)
	PDFUnit         string         // what "MB" means for PDF sizes
}

// PDFRow is the PDF measurement for one size.
type PDFRow struct {
	// SizeMB is the size of the input file in MiB.
	SizeMB int `json:"sizeMB"`
	// RawMs is pdfsign's time to sign it with an in-memory key of the same type.
	RawMs float64 `json:"rawMs"`
	// Paraphe is the end-to-end time of a PDF-mode request, by level.
	Paraphe map[string]float64 `json:"paraphe"`
	// SHA256Ms is the time to hash the file once, for cost growth.
	SHA256Ms float64 `json:"sha256Ms"`
}

// Summary is the distribution of one step's server time, in milliseconds.
type Summary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Summarize returns the nearest-rank p50, p99 and the maximum of ds. It sorts ds.
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return Summary{N: len(ds), P50: ms(Percentile(ds, 50)), P99: ms(Percentile(ds, 99)), Max: ms(ds[len(ds)-1])}
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of sorted, or 0
// when sorted is empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ms converts a duration to milliseconds rounded to microseconds.
func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
func round1(f float64) float64 { return math.Round(f*10) / 10 }

// Targets of issue 8, reported and never enforced.
const (
	TargetRatioRSA   = 0.8   // API hash-mode throughput / raw HSM, RSA-3072
	TargetRatioP256  = 0.5   // the same for P-256
	TargetPDFRatio   = 1.2   // PDF B-B time / raw pdfsign time
	TargetP99Ms      = 300.0 // p99 server time of each step
	TargetRSSBaseMiB = 64.0  // peak RSS allowance besides the PDF in flight
)

// ratio returns a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// WriteTable prints the report as aligned tables with each result next to its baseline
// and target.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := r.Params
	mode := "full"
	if p.Quick {
		mode = "quick"
	}
	fmt.Fprintf(tw, "Paraphe benchmark (%s run, %d CPUs; %d hash-mode requests in flight, %s windows)\n\n", mode, p.CPUs, p.Concurrency, p.HashDuration)

	fmt.Fprintln(tw, "1. Signing throughput\traw PKCS#11 (sig/s)\tParaphe hash mode (req/s)\tratio\ttarget\t")
	for _, k := range []string{P256, RSA3072} {
		raw, api := r.HSMRawOpsPerSec[k], r.APIHashSignPerSec[k]
		target := TargetRatioP256
		if k == RSA3072 {
			target = TargetRatioRSA
		}
		q := ratio(api, raw)
		fmt.Fprintf(tw, "   %s (raw: %d sessions)\t%.0f\t%.1f\t%.3f\t>= %.1f %s\t\n", k, p.RawSessions[k], raw, api, q, target, verdict(q >= target))
	}
	fmt.Fprintln(tw)

	fmt.Fprintln(tw, "1b. One approval of a batch (B-B)\traw PKCS#11 (sig/s)\tParaphe batch (sig/s)\tratio\ttarget\t")
	for _, k := range []string{P256, RSA3072} {
		b, ok := r.Batch[k]
		if !ok {
			continue
		}
		target := TargetBatchP256
		if k == RSA3072 {
			target = TargetBatchRSA
		}
		q := ratio(b.SignaturesPerSec, r.HSMRawOpsPerSec[k])
		fmt.Fprintf(tw, "   %s, %d documents\t%.0f\t%.0f\t%.3f\t>= %.1f %s\t\n", k, b.Documents, r.HSMRawOpsPerSec[k], b.SignaturesPerSec, q, target, verdict(q >= target))
	}
	fmt.Fprintf(tw, "1c. CPU per hash-mode request (ms, whole process)\tmeasured\ttarget\t\t\t\n")
	for _, k := range []string{P256, RSA3072} {
		if v, ok := r.CPUMsPerRequest[k]; ok {
			fmt.Fprintf(tw, "   %s\t%.2f\t<= %.0f %s\t\t\t\n", k, v, TargetCPUMs, verdict(v <= TargetCPUMs))
		}
	}
	fmt.Fprintf(tw, "1d. CSC signHash of %d hashes after one approval\traw PKCS#11, 1 session (sig/s)\tsignHash (sig/s)\tratio\t\t\n", CSCHashes)
	for _, k := range []string{P256, RSA3072} {
		b, ok := r.CSCSignHash[k]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "   %s\t%.0f\t%.1f\t%.3f\t\t\n", k, r.HSMRawOneSession[k], b.SignaturesPerSec, b.RawRatio)
	}
	fmt.Fprintln(tw)

	fmt.Fprintf(tw, "2/5. PDF signing (ms; %s, median of %d)\tSHA-256\traw pdfsign\tParaphe B-B\tB-B/raw\tParaphe B-T\ttarget B-B <= %.1fx raw\t\n", p.PDFUnit, p.PDFRuns, TargetPDFRatio)
	for _, row := range r.PDF {
		bb := row.Paraphe[LevelBB]
		q := ratio(bb, row.RawMs)
		fmt.Fprintf(tw, "   %d MB\t%.1f\t%.1f\t%.1f\t%.2f\t%.1f\t%s\t\n", row.SizeMB, row.SHA256Ms, row.RawMs, bb, q, row.Paraphe[LevelBT], verdict(q <= TargetPDFRatio))
	}
	if g, ok := r.Growth(); ok {
		fmt.Fprintf(tw, "   growth per extra MB (smallest to largest)\t%.2f\t%.2f\t%.2f\t\t%.2f\tParaphe/SHA-256 = %.1f\t\n", g.SHA256, g.Raw, g.BB, g.BT, ratio(g.BB, g.SHA256))
	}
	fmt.Fprintln(tw)

	fmt.Fprintf(tw, "3. Server time per step (ms)\tn\tp50\tp99\tmax\ttarget p99 < %.0f\t\n", TargetP99Ms)
	for _, k := range []string{P256, RSA3072} {
		for _, step := range []string{"create", "approveToSigned"} {
			s, ok := r.LatencyMs[k][step]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "   %s %s\t%d\t%.1f\t%.1f\t%.1f\t%s\t\n", k, step, s.N, s.P50, s.P99, s.Max, verdict(s.P99 < TargetP99Ms))
		}
	}
	fmt.Fprintln(tw)

	fmt.Fprintln(tw, "4. Peak RSS of the process (MiB)\tmeasured\ttarget\t")
	keys := make([]string, 0, len(r.PeakRSSMB))
	for k := range r.PeakRSSMB {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	largest := 0
	for _, row := range r.PDF {
		largest = max(largest, row.SizeMB)
	}
	for _, k := range keys {
		target := ""
		if strings.HasPrefix(k, "pdf") || strings.HasPrefix(k, "pending") {
			lim := TargetRSSBaseMiB + float64(largest)
			target = fmt.Sprintf("<= %.0f %s", lim, verdict(r.PeakRSSMB[k] <= lim))
		}
		fmt.Fprintf(tw, "   %s\t%.1f\t%s\t\n", k, r.PeakRSSMB[k], target)
	}
	if p.PendingRequests > 0 {
		fmt.Fprintf(tw, "   (pending%d: %d pending requests, %d devices on the event stream)\t\t\t\n", p.PendingRequests, p.PendingRequests, p.SSEDevices)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		if _, err := fmt.Fprintln(w, "note: "+n); err != nil {
			return err
		}
	}
	return nil
}

// Growth is the cost of one more MB of PDF, in milliseconds, between the smallest and
// the largest size measured.
type Growth struct {
	SHA256, Raw, BB, BT float64
}

// Growth returns the slope of each time between the smallest and the largest PDF, and
// false when fewer than two sizes were measured.
func (r *Report) Growth() (Growth, bool) {
	if len(r.PDF) < 2 {
		return Growth{}, false
	}
	a, b := r.PDF[0], r.PDF[len(r.PDF)-1]
	d := float64(b.SizeMB - a.SizeMB)
	if d <= 0 {
		return Growth{}, false
	}
	return Growth{
		SHA256: (b.SHA256Ms - a.SHA256Ms) / d,
		Raw:    (b.RawMs - a.RawMs) / d,
		BB:     (b.Paraphe[LevelBB] - a.Paraphe[LevelBB]) / d,
		BT:     (b.Paraphe[LevelBT] - a.Paraphe[LevelBT]) / d,
	}, true
}
