package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/errkind"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/signer"
	"github.com/paraphe/paraphe/tsa"
)

// kindExceptions are the mapped errors whose status is more precise than their kind's.
var kindExceptions = map[error]int{
	signer.ErrExpired:    http.StatusGone,
	signer.ErrResultGone: http.StatusGone,
	signer.ErrNoResult:   http.StatusGone,
	signer.ErrNotPDF:     http.StatusUnsupportedMediaType,
}

// TestMappingsAgreeWithKinds keeps the one mapping honest: every listed error has a
// kind, and answers its kind's status unless it is a listed exception.
func TestMappingsAgreeWithKinds(t *testing.T) {
	for _, m := range mappings {
		k := errkind.Of(m.err)
		if k == errkind.Internal {
			t.Errorf("%q has no kind", m.err)
			continue
		}
		want := byKind[k].status
		if s, ok := kindExceptions[m.err]; ok {
			want = s
		}
		if m.status != want {
			t.Errorf("%q (%v) answers %d, its kind says %d", m.err, k, m.status, want)
		}
	}
}

func TestFailByKind(t *testing.T) {
	gin.SetMode(gin.TestMode)
	tests := []struct {
		name     string
		err      error
		status   int
		code     string
		detailed bool
	}{
		{"mapped", fmt.Errorf("x: %w", signer.ErrNotPending), http.StatusConflict, CodeNotPending, true},
		{"wrong PIN keeps its code", &device.WrongPINError{AttemptsLeft: 2}, http.StatusForbidden, CodeWrongPIN, true},
		{"kind only", fmt.Errorf("signer: consume: %w", signer.ErrNotAuthorized), http.StatusForbidden, CodeForbidden, true},
		{"HSM down", fmt.Errorf("device: PIN verifier: %w", errkind.Wrap(errkind.Unavailable, errors.New("CKR_DEVICE_ERROR"))), http.StatusServiceUnavailable, CodeUnavailable, false},
		{"HSM closed", fmt.Errorf("x: %w", hsm.ErrClosed), http.StatusServiceUnavailable, CodeUnavailable, false},
		{"TSA down", fmt.Errorf("signer: %w: %w", tsa.ErrAllFailed, errors.New("connection refused")), http.StatusBadGateway, CodeUpstream, false},
		{"client gone", errkind.Wrap(errkind.Unavailable, fmt.Errorf("hsm: waiting for a session: %w", context.Canceled)), 499, CodeInternal, false},
		{"unknown", errors.New("boom"), http.StatusInternalServerError, CodeInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodPost, "/v1/x", nil)
			fail(c, tt.err)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p Problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Type != problemBase+tt.code || p.Status != tt.status || p.Title == "" {
				t.Fatalf("problem %+v", p)
			}
			if (p.Detail != "") != tt.detailed || strings.Contains(p.Detail, "CKR_") {
				t.Fatalf("detail %q (want detail: %v)", p.Detail, tt.detailed)
			}
		})
	}
}
