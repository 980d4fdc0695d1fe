package metrics

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// scrape fetches the handler's text exposition and returns each sample ("name{labels}")
// with its value.
func scrape(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: HTTP %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape content type %q, want text/plain", ct)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("bad exposition line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMetrics(t *testing.T) {
	m := New()
	m.ObserveHTTP("/v1/signature-requests/:id", "GET", 200, 30*time.Millisecond)
	m.ObserveHTTP("/v1/signature-requests/:id", "GET", 200, 3*time.Second)
	m.ObserveHTTP("/v1/signature-requests/:id", "GET", 404, time.Millisecond)
	m.ObserveHTTP("", "GET", 404, time.Millisecond)
	m.RequestCreated()
	m.RequestCreated()
	m.RequestFinished("signed")
	m.RequestFinished("refused")
	m.RequestFinished("signed")
	m.Signed("PAdES", "B-LTA", 3)
	m.Signed("CAdES", "B-B", 1)
	m.Signed("CAdES", "B-B", 0) // records nothing
	m.HSMSign(2*time.Millisecond, nil)
	m.HSMSign(2*time.Second, errors.New("hsm: device removed"))
	m.Webhook("delivered")
	m.Webhook("retry")
	m.Webhook("retry")
	m.PINFailure()
	m.PINFailure()
	m.Refused("wrong_icon")
	m.SetPendingFunc(func() float64 { return 7 })

	got := scrape(t, m)
	tests := []struct {
		sample string
		want   float64
	}{
		{`paraphe_http_requests_total{method="GET",route="/v1/signature-requests/:id",status="200"}`, 2},
		{`paraphe_http_requests_total{method="GET",route="/v1/signature-requests/:id",status="404"}`, 1},
		{`paraphe_http_requests_total{method="GET",route="unmatched",status="404"}`, 1},
		{`paraphe_http_request_duration_seconds_count{method="GET",route="/v1/signature-requests/:id"}`, 3},
		{`paraphe_http_request_duration_seconds_bucket{method="GET",route="/v1/signature-requests/:id",le="0.05"}`, 2},
		{`paraphe_http_request_duration_seconds_bucket{method="GET",route="/v1/signature-requests/:id",le="5"}`, 3},
		{`paraphe_signature_requests_created_total`, 2},
		{`paraphe_signature_requests_finished_total{status="signed"}`, 2},
		{`paraphe_signature_requests_finished_total{status="refused"}`, 1},
		{`paraphe_signatures_total{format="PAdES",level="B-LTA"}`, 3},
		{`paraphe_signatures_total{format="CAdES",level="B-B"}`, 1},
		{`paraphe_hsm_sign_duration_seconds_count{result="ok"}`, 1},
		{`paraphe_hsm_sign_duration_seconds_count{result="error"}`, 1},
		{`paraphe_hsm_sign_duration_seconds_bucket{result="ok",le="0.0025"}`, 1},
		{`paraphe_hsm_sign_duration_seconds_bucket{result="ok",le="0.001"}`, 0},
		{`paraphe_webhook_deliveries_total{outcome="delivered"}`, 1},
		{`paraphe_webhook_deliveries_total{outcome="retry"}`, 2},
		{`paraphe_pin_failures_total`, 2},
		{`paraphe_refusals_total{reason="wrong_icon"}`, 1},
		{`paraphe_signature_requests_pending`, 7},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			v, ok := got[tt.sample]
			if !ok {
				t.Fatalf("sample missing from the scrape")
			}
			if v != tt.want {
				t.Fatalf("value %v, want %v", v, tt.want)
			}
		})
	}
	if sum := got[`paraphe_hsm_sign_duration_seconds_sum{result="error"}`]; sum < 1.9 || sum > 2.1 {
		t.Errorf("HSM error latency sum %v, want 2", sum)
	}
	// The Go runtime and process collectors are registered too.
	for _, name := range []string{"go_goroutines", "process_start_time_seconds"} {
		if _, ok := got[name]; !ok {
			t.Errorf("%s missing: Go or process collector not registered", name)
		}
	}
}

func TestPendingGauge(t *testing.T) {
	const name = "paraphe_signature_requests_pending"
	m := New()
	if _, ok := scrape(t, m)[name]; ok {
		t.Fatal("pending gauge exported before a function was set")
	}
	n := 0.0
	var mu sync.Mutex
	m.SetPendingFunc(func() float64 { mu.Lock(); defer mu.Unlock(); return n })
	for _, want := range []float64{0, 4, 1} {
		mu.Lock()
		n = want
		mu.Unlock()
		if v, ok := scrape(t, m)[name]; !ok || v != want {
			t.Fatalf("pending = %v (present %v), want %v", v, ok, want)
		}
	}
	m.SetPendingFunc(nil)
	if _, ok := scrape(t, m)[name]; ok {
		t.Fatal("pending gauge still exported after unsetting")
	}
}

// TestSeparateRegistries checks that two Metrics do not share state (no global registry).
func TestSeparateRegistries(t *testing.T) {
	a, b := New(), New()
	a.PINFailure()
	if v := scrape(t, b)["paraphe_pin_failures_total"]; v != 0 {
		t.Fatalf("second registry sees %v PIN failures, want 0", v)
	}
	if v := scrape(t, a)["paraphe_pin_failures_total"]; v != 1 {
		t.Fatalf("first registry sees %v PIN failures, want 1", v)
	}
}

// TestConcurrent exercises every method from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	m := New()
	m.SetPendingFunc(func() float64 { return 1 })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				m.ObserveHTTP("/healthz", "GET", 200, time.Millisecond)
				m.RequestCreated()
				m.RequestFinished("signed")
				m.Signed("CAdES", "B-T", 1)
				m.HSMSign(time.Millisecond, nil)
				m.Webhook("delivered")
				m.PINFailure()
				m.Refused("user_refused")
			}
		})
	}
	wg.Go(func() { scrape(t, m) })
	wg.Wait()
	if v := scrape(t, m)[`paraphe_signatures_total{format="CAdES",level="B-T"}`]; v != 800 {
		t.Fatalf("signatures %v, want 800", v)
	}
}
