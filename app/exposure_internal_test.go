package app

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/paraphe/paraphe/config"
)

// TestMetricsPlacement: where GET /metrics is served, and with which token, for each
// configuration.
func TestMetricsPlacement(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "metrics-token")
	const tok = "s3cret-metrics-token-0123"
	if err := os.WriteFile(tokFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	no, yes := false, true
	tests := []struct {
		name        string
		dev         *bool
		listen      string
		tokenFile   string
		onMain      bool
		onSeparate  bool
		needsBearer bool
	}{
		{"development default: public on the main address", nil, "", "", true, false, false},
		{"production without a place: not served", &no, "", "", false, false, false},
		{"production with a token: on the main address, with the token", &no, "", tokFile, true, false, true},
		{"separate address only", &no, "127.0.0.1:9100", "", false, true, false},
		{"separate address with a token", &yes, "127.0.0.1:9100", tokFile, false, true, true},
		{"development with a token", &yes, "", tokFile, true, false, true},
	}
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("paraphe_up 1\n")) })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default(dir)
			cfg.Development, cfg.Metrics.Listen, cfg.Metrics.TokenFile = tc.dev, tc.listen, tc.tokenFile
			e := &Env{Cfg: cfg, Log: slog.New(slog.DiscardHandler)}
			sep, main, err := e.metricsHandlers(backend)
			if err != nil {
				t.Fatal(err)
			}
			if (main != nil) != tc.onMain {
				t.Fatalf("on the main address: %v, want %v", main != nil, tc.onMain)
			}
			h := main
			if tc.onSeparate {
				h = sep
			}
			if h == nil {
				return
			}
			for _, auth := range []string{"", "Bearer wrong", "Bearer " + tok} {
				r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				if auth != "" {
					r.Header.Set("Authorization", auth)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				want := http.StatusOK
				if tc.needsBearer && auth != "Bearer "+tok {
					want = http.StatusUnauthorized
				}
				if w.Code != want {
					t.Fatalf("Authorization %q: HTTP %d, want %d", auth, w.Code, want)
				}
			}
		})
	}
}

// TestBuiltinTSAPublic: /tsa is public while the built-in TSA is one this server uses.
func TestBuiltinTSAPublic(t *testing.T) {
	tests := []struct {
		name   string
		urls   []string
		public bool
	}{
		{"no TSA configured: the built-in one is used", nil, true},
		{"qualified TSAs configured", []string{"https://tsa.example-qtsp.eu/rfc3161"}, false},
		{"this server's own /tsa among them", []string{"http://127.0.0.1:9/tsa", "http://127.0.0.1:8080/tsa"}, true},
		{"another server's /tsa", []string{"http://127.0.0.1:8081/tsa"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default(t.TempDir())
			cfg.TSA.URLs = tc.urls
			if got := (&Env{Cfg: cfg}).servesBuiltinTSA(); got != tc.public {
				t.Fatalf("servesBuiltinTSA = %v, want %v", got, tc.public)
			}
		})
	}
}
