package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	digitoruspdf "github.com/digitorus/pdf"

	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/internal/testenv"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"tiny p is the min", ms(hundred...), 0.1, 1 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.sorted, tc.p); got != tc.want {
				t.Fatalf("Percentile(%v) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarizeSortsAndRounds(t *testing.T) {
	ds := []time.Duration{3 * time.Millisecond, 1500 * time.Microsecond, 200 * time.Millisecond, 2 * time.Millisecond}
	got := Summarize(ds)
	want := Summary{N: 4, P50: 2, P99: 200, Max: 200}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if (Summarize(nil) != Summary{}) {
		t.Fatal("Summarize(nil) is not zero")
	}
}

func TestParseStatusKB(t *testing.T) {
	status := []byte("Name:\tparaphe\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\n")
	tests := []struct {
		field string
		want  int64
	}{{"VmHWM", 81234}, {"VmRSS", 70000}, {"VmSwap", 0}, {"Vm", 0}}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			if got := parseStatusKB(status, tc.field); got != tc.want {
				t.Fatalf("%s = %d, want %d", tc.field, got, tc.want)
			}
		})
	}
}

func sampleReport() *Report {
	return &Report{
		HSMRawOpsPerSec:   map[string]float64{P256: 15000, RSA3072: 600},
		APIHashSignPerSec: map[string]float64{P256: 150, RSA3072: 500},
		PDF: []PDFRow{
			{SizeMB: 1, RawMs: 10, SHA256Ms: 1, Paraphe: map[string]float64{LevelBB: 11, LevelBT: 20}},
			{SizeMB: 50, RawMs: 500, SHA256Ms: 50, Paraphe: map[string]float64{LevelBB: 900, LevelBT: 910}},
		},
		LatencyMs:       map[string]map[string]Summary{P256: {"create": {N: 1, P50: 1, P99: 2, Max: 3}, "approveToSigned": {N: 1, P50: 4, P99: 350, Max: 400}}},
		PeakRSSMB:       map[string]float64{"pdf50MB": 70, "processHWM": 300},
		Batch:           map[string]Batch{P256: {Documents: 500, SignaturesPerSec: 9000}},
		CPUMsPerRequest: map[string]float64{P256: 4.5, RSA3072: 7},
		Params:          Params{CPUs: 2, RawSessions: map[string]int{P256: 4, RSA3072: 2}, PDFRuns: 1},
		Notes:           []string{"a note"},
	}
}

// TestReportJSONShape checks the object of issue 8: exactly its five keys, the pdf rows
// with levels, and nothing of the run's parameters.
func TestReportJSONShape(t *testing.T) {
	b, err := json.Marshal(sampleReport())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"apiHashSignPerSec", "batch", "cpuMsPerRequest", "cscSignHash", "hsmRawOpsPerSec", "latencyMs", "pdf", "peakRssMB"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("top-level keys %v, want %v", keys, want)
	}
	if v := m["hsmRawOpsPerSec"].(map[string]any)["rsa3072"]; v != 600.0 {
		t.Fatalf("hsmRawOpsPerSec.rsa3072 = %v", v)
	}
	row := m["pdf"].([]any)[1].(map[string]any)
	if row["sizeMB"] != 50.0 || row["rawMs"] != 500.0 || row["paraphe"].(map[string]any)["B-T"] != 910.0 {
		t.Fatalf("pdf row: %v", row)
	}
	if b := m["batch"].(map[string]any)["p256"].(map[string]any); b["documents"] != 500.0 || b["signaturesPerSec"] != 9000.0 {
		t.Fatalf("batch.p256 = %v", b)
	}
	if c := m["cpuMsPerRequest"].(map[string]any)["rsa3072"]; c != 7.0 {
		t.Fatalf("cpuMsPerRequest.rsa3072 = %v", c)
	}
	if p99 := m["latencyMs"].(map[string]any)["p256"].(map[string]any)["approveToSigned"].(map[string]any)["p99"]; p99 != 350.0 {
		t.Fatalf("latencyMs.p256.approveToSigned.p99 = %v", p99)
	}
}

func TestWriteTableVerdicts(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"p256 (raw: 4 sessions)", "0.010  >= 0.5 MISSED", // 150/15000
		"0.833  >= 0.8 met", // 500/600
		"1.10 ", "1.80 ",    // B-B/raw for 1 and 50 MB
		"approveToSigned", "350.0", "MISSED", "note: a note",
		"Paraphe/SHA-256 = 18.1", // (900-11)/49 over (50-1)/49
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestWritePDFReadable checks the generated input with an independent reader and has
// pdfsign sign it, as the raw baseline does.
func TestWritePDFReadable(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	const size = 256 << 10
	if err := writePDF(in, size); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(in)
	if err != nil {
		t.Fatal(err)
	}
	if d := st.Size() - size; d < -1024 || d > 1024 {
		t.Fatalf("size %d, want about %d", st.Size(), size)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := digitoruspdf.NewReader(f, st.Size())
	if err != nil {
		t.Fatalf("generated PDF does not parse: %v", err)
	}
	if n := r.NumPage(); n != 1 {
		t.Fatalf("%d pages, want 1", n)
	}
	m, err := newMemSigner()
	if err != nil {
		t.Fatal(err)
	}
	if d, err := rawPdfsign(in, filepath.Join(dir, "out.pdf"), m); err != nil || d <= 0 {
		t.Fatalf("pdfsign: %v %v", d, err)
	}
}

// TestRunTiny runs every phase at a tiny scale on a real SoftHSM2 token and checks that
// each number of the report was measured.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole benchmark at a tiny scale (a few seconds)")
	}
	if _, err := hsm.FindSoftHSMModule(); err != nil {
		testenv.Missing(t, "SoftHSM2 is not installed (apt-get install softhsm2): %v", err)
	}
	plan := Plan{
		RawSessions: []int{1}, RawWindow: 100 * time.Millisecond,
		Concurrency: 2, HashWarmup: 100 * time.Millisecond, HashWindow: 500 * time.Millisecond,
		PDFSizesMB: []int{1, 2}, PDFRuns: 1,
		PendingRequests: 20, SSEDevices: 2, PendingHold: 50 * time.Millisecond,
	}
	var progress bytes.Buffer
	rep, err := Run(context.Background(), plan, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	for _, k := range []string{P256, RSA3072} {
		if rep.HSMRawOpsPerSec[k] <= 0 || rep.APIHashSignPerSec[k] <= 0 {
			t.Errorf("%s: raw %v, api %v", k, rep.HSMRawOpsPerSec[k], rep.APIHashSignPerSec[k])
		}
		if b := rep.CSCSignHash[k]; b.Hashes != CSCHashes || b.SignaturesPerSec <= 0 || b.RawRatio <= 0 {
			t.Errorf("%s: CSC batch %+v", k, b)
		}
		for _, step := range []string{"create", "approveToSigned"} {
			if s := rep.LatencyMs[k][step]; s.N == 0 || s.P50 <= 0 || s.Max < s.P99 || s.P99 < s.P50 {
				t.Errorf("%s %s: %+v", k, step, s)
			}
		}
	}
	if len(rep.PDF) != 2 {
		t.Fatalf("pdf rows: %+v", rep.PDF)
	}
	for _, row := range rep.PDF {
		if row.RawMs <= 0 || row.SHA256Ms <= 0 || row.Paraphe[LevelBB] <= 0 || row.Paraphe[LevelBT] <= 0 {
			t.Errorf("pdf row %+v", row)
		}
	}
	for _, k := range []string{P256, RSA3072} {
		if b := rep.Batch[k]; b.Documents != BatchDocuments || b.SignaturesPerSec <= 0 {
			t.Errorf("batch %s: %+v", k, b)
		}
		if rep.CPUMsPerRequest[k] <= 0 {
			t.Errorf("cpuMsPerRequest %s = %v", k, rep.CPUMsPerRequest[k])
		}
	}
	for _, k := range []string{"hashLoadP256", "hashLoadRSA3072", "pdf2MB", "pending20", "processHWM"} {
		if rep.PeakRSSMB[k] <= 0 {
			t.Errorf("peakRssMB[%s] = %v", k, rep.PeakRSSMB[k])
		}
	}
}

// TestRunUsersTiny: a few users of each storage at two sizes; wrapped keys add no token
// object, every figure is measured, and bad plans are refused.
func TestRunUsersTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("enrolls users on a real token (a few seconds)")
	}
	if _, err := hsm.FindSoftHSMModule(); err != nil {
		t.Skip("SoftHSM2 is not installed (apt-get install softhsm2):", err)
	}
	rep, err := RunUsers(context.Background(), UsersPlan{Users: []int{3, 6}, Probes: 2, Signatures: 1, Parallel: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(rep.Rows), rep.Rows)
	}
	wantAdded := map[string][]int{"token": {6, 12}, "wrapped": {0, 0}}
	for i, row := range rep.Rows {
		st, n := []string{"token", "token", "wrapped", "wrapped"}[i], []int{3, 6}[i%2]
		if row.KeyStorage != st || row.Users != n {
			t.Errorf("row %d is %s at %d, want %s at %d", i, row.KeyStorage, row.Users, st, n)
		}
		if want := wantAdded[st][i%2]; row.ObjectsAdded != want && !(st == "wrapped" && row.ObjectsAdded == 1) {
			t.Errorf("%s at %d: %d token objects added, want %d (a key pair per token user; wrapped: at most the key-encryption key)", st, n, row.ObjectsAdded, want)
		}
		if row.ApproveMs.N != 2 || row.ApproveMs.P50 <= 0 || row.EnrollPerSec <= 0 || row.EnrollSeconds <= 0 ||
			row.EnrollMs.N != 3 || row.AddUserMs.N != 3 || row.FirstSignMs.N != 1 || row.SignMs.N != 1 || row.SignPerSec <= 0 {
			t.Errorf("%s at %d: %+v", st, n, row)
		}
	}
	if d := rep.Rows[2].TokenObjectsBefore - rep.Rows[1].TokenObjects; d != 0 && d != 1 {
		t.Errorf("wrapped phase started with %d token objects, token phase ended with %d (want the same, or one more: the key-encryption key)", rep.Rows[2].TokenObjectsBefore, rep.Rows[1].TokenObjects)
	}
	// Only wrapped; more probes than users left unused: fewer probes, no failure.
	only, err := RunUsers(context.Background(), UsersPlan{Users: []int{2}, Storages: []hsm.KeyStorage{hsm.StorageWrapped}, Probes: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(only.Rows) != 1 || only.Rows[0].KeyStorage != "wrapped" || only.Rows[0].ApproveMs.N != 2 || only.Rows[0].FirstSignMs.N != 0 {
		t.Errorf("wrapped only: %+v", only.Rows)
	}
	for _, bad := range []UsersPlan{{}, {Users: []int{0}}, {Users: []int{5, 5}}, {Users: []int{2}, Storages: []hsm.KeyStorage{"disk"}}} {
		if _, err := RunUsers(context.Background(), bad, nil); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestPickUnused: picks are spread, distinct, never reused, and stop when none is left.
func TestPickUnused(t *testing.T) {
	used := map[int]bool{}
	a := pickUnused(10, 3, used)
	b := pickUnused(10, 10, used)
	if len(a) != 3 || len(b) != 7 || len(pickUnused(10, 1, used)) != 0 {
		t.Fatalf("picks %v then %v", a, b)
	}
	if a[0] != 0 || a[1] != 3 || a[2] != 6 {
		t.Errorf("first picks %v, want spread [0 3 6]", a)
	}
	seen := map[int]bool{}
	for _, i := range append(a, b...) {
		if seen[i] || i < 0 || i >= 10 {
			t.Errorf("pick %d repeated or out of range", i)
		}
		seen[i] = true
	}
}
