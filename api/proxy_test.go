package api

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSecureScheme: X-Forwarded-Proto counts only behind a TLS proxy and only from a
// trusted proxy's address; https (however learnt) earns an HSTS header.
func TestSecureScheme(t *testing.T) {
	tests := []struct {
		name   string
		behind bool
		remote string
		proto  string
		tls    bool
		secure bool
	}{
		{"plain", false, "192.0.2.1:1234", "", false, false},
		{"header ignored without a proxy", false, "10.0.0.5:1234", "https", false, false},
		{"trusted proxy", true, "10.0.0.5:1234", "https", false, true},
		{"trusted proxy, http", true, "10.0.0.5:1234", "http", false, false},
		{"untrusted address", true, "192.0.2.1:1234", "https", false, false},
		{"trusted prefix", true, "[fd00::7]:1234", "https", false, true},
		{"tls", false, "192.0.2.1:1234", "", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(Deps{TrustedProxies: []string{"10.0.0.5", "fd00::/64"}, BehindTLSProxy: tc.behind})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			req.RemoteAddr = tc.remote
			if tc.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if tc.tls {
				req.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if got := w.Header().Get("Strict-Transport-Security") != ""; got != tc.secure {
				t.Fatalf("HSTS sent: %v, want %v", got, tc.secure)
			}
		})
	}
	if _, err := New(Deps{TrustedProxies: []string{"not an address"}}); err == nil {
		t.Fatal("a bad trusted proxy was accepted")
	}
}
