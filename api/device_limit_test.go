package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paraphe/paraphe/device"
)

// pinDevices authenticates any call whose Authorization header is a device id, and
// answers every PIN change with err.
type pinDevices struct {
	Devices
	err   error
	calls atomic.Int64
	auths atomic.Int64
}

func (d *pinDevices) Authenticate(_ context.Context, header, _, _ string, _ []byte) (*device.Device, error) {
	d.auths.Add(1)
	if header == "" {
		return nil, device.ErrUnauthenticated
	}
	return &device.Device{ID: header, UserID: "user-" + header, Status: device.DeviceActive}, nil
}

func (d *pinDevices) ChangePIN(context.Context, *device.Device, string, string) error {
	d.calls.Add(1)
	return d.err
}

func changePIN(t *testing.T, h http.Handler, dev string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/device/pin", strings.NewReader(`{"pin":"13579","newPin":"86420"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", dev)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestDeviceRoutesRateLimited: each device gets its burst of calls, then 429 without
// reaching the PIN check; another device is not affected.
func TestDeviceRoutesRateLimited(t *testing.T) {
	const burst = 5
	devs := &pinDevices{err: &device.WrongPINError{AttemptsLeft: 4}}
	lim, _ := newTestLimiter(1, burst)
	h, err := New(Deps{Devices: devs, DeviceLimit: lim})
	if err != nil {
		t.Fatal(err)
	}
	for i := range burst + 3 {
		w := changePIN(t, h, "phone-a")
		want := http.StatusForbidden
		if i >= burst {
			want = http.StatusTooManyRequests
		}
		if w.Code != want {
			t.Fatalf("call %d of phone-a: HTTP %d, want %d: %s", i+1, w.Code, want, w.Body)
		}
	}
	if n := devs.calls.Load(); n != burst {
		t.Fatalf("%d PIN checks reached the service, want %d", n, burst)
	}
	if w := changePIN(t, h, "phone-b"); w.Code != http.StatusForbidden {
		t.Fatalf("phone-b after phone-a's limit: HTTP %d, want 403", w.Code)
	}
}

// TestDeviceRoutesLimitedPerAddress: calls that fail authentication are limited per
// client address before the server reads their body or checks their signature; another
// address is not affected.
func TestDeviceRoutesLimitedPerAddress(t *testing.T) {
	const burst = 4
	devs := &pinDevices{}
	lim, _ := newTestLimiter(1, burst)
	h, err := New(Deps{Devices: devs, DeviceIPLimit: lim})
	if err != nil {
		t.Fatal(err)
	}
	call := func(addr string) int {
		req := httptest.NewRequest(http.MethodPost, "/v1/device/pin", strings.NewReader(`{"pin":"13579","newPin":"86420"}`))
		req.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	for i := range burst + 3 {
		want := http.StatusUnauthorized
		if i >= burst {
			want = http.StatusTooManyRequests
		}
		if got := call("192.0.2.7:4000"); got != want {
			t.Fatalf("call %d: HTTP %d, want %d", i+1, got, want)
		}
	}
	if n := devs.auths.Load(); n != burst {
		t.Fatalf("%d calls were authenticated, want %d", n, burst)
	}
	if got := call("198.51.100.9:4000"); got != http.StatusUnauthorized {
		t.Fatalf("another address: HTTP %d, want 401", got)
	}
}

// TestPINBusyAnswer: attempts all being checked is a 429 to retry within a second.
func TestPINBusyAnswer(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter string
	}{
		{"busy", device.ErrPINBusy, http.StatusTooManyRequests, CodePINBusy, "1"},
		{"locked", device.ErrLocked, http.StatusLocked, CodeLocked, ""},
		{"wrong", &device.WrongPINError{AttemptsLeft: 2}, http.StatusForbidden, CodeWrongPIN, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(Deps{Devices: &pinDevices{err: tt.err}})
			if err != nil {
				t.Fatal(err)
			}
			w := changePIN(t, h, "phone")
			if w.Code != tt.status || !strings.Contains(w.Body.String(), `"code":"`+tt.code+`"`) || w.Header().Get("Retry-After") != tt.retryAfter {
				t.Fatalf("HTTP %d Retry-After %q %s; want %d %q code %s", w.Code, w.Header().Get("Retry-After"), w.Body, tt.status, tt.retryAfter, tt.code)
			}
		})
	}
}

// countingPKI answers every CRL call and counts them.
type countingPKI struct {
	PKI
	calls atomic.Int64
}

func (p *countingPKI) CRL(context.Context) ([]byte, error) {
	p.calls.Add(1)
	return []byte("crl"), nil
}

// TestPKIRoutesRateLimited: each client address gets its burst of revocation calls,
// then 429 without reaching the CA.
func TestPKIRoutesRateLimited(t *testing.T) {
	const burst = 3
	pki := &countingPKI{}
	lim, _ := newTestLimiter(1, burst)
	h, err := New(Deps{PKI: pki, PKILimit: lim})
	if err != nil {
		t.Fatal(err)
	}
	get := func(addr string) int {
		r := httptest.NewRequest(http.MethodGet, "/crl", nil)
		r.RemoteAddr = addr + ":40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for i := range burst + 2 {
		want := http.StatusOK
		if i >= burst {
			want = http.StatusTooManyRequests
		}
		if got := get("192.0.2.10"); got != want {
			t.Fatalf("call %d: HTTP %d, want %d", i+1, got, want)
		}
	}
	if got := get("192.0.2.11"); got != http.StatusOK {
		t.Fatalf("another address: HTTP %d, want 200", got)
	}
	if n := pki.calls.Load(); n != burst+1 {
		t.Fatalf("%d CRL calls reached the CA, want %d", n, burst+1)
	}
}
