package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCSCErrorsNeverProblems: on /csc/ paths, even the router's own refusals (no such
// method, wrong HTTP method, CSC not served here) answer the CSC error shape.
func TestCSCErrorsNeverProblems(t *testing.T) {
	h, err := New(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/csc/v2/no/such/method", 404},
		{"GET", "/csc/v2/signatures/signHash", 405},
		{"POST", "/csc/v2/info", 404}, // no CSC service in these Deps
		{"POST", "/csc/v1/signatures/signHash", 404},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}")))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
			var e cscErrorOut
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || e.ErrorDescription == "" {
				t.Fatalf("body %s: %v", w.Body, err)
			}
		})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/no/such", nil))
	if ct := w.Header().Get("Content-Type"); w.Code != 404 || !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("REST 404: %d %q", w.Code, ct)
	}
}
