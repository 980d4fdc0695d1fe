package web

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDistUpToDate rebuilds the bundle from web/src with the locked esbuild and fails
// when the committed dist/ differs. It needs Node.js and `npm ci` in web/ (make test
// runs it); without them it skips, except in CI where that is a failure.
func TestDistUpToDate(t *testing.T) {
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join("node_modules", "esbuild", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node and web/node_modules are needed (cd web && npm ci): %v", err)
		}
		t.Skipf("node or web/node_modules missing (cd web && npm ci): %v", err)
	}
	out, err := exec.Command(node, "build.mjs", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("%s", out)
	}
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

func TestAppFiles(t *testing.T) {
	h := App()
	tests := []struct {
		path, ctype string
		status      int
	}{
		{"/app/", "text/html; charset=utf-8", 200},
		{"/app/index.html", "text/html; charset=utf-8", 200},
		{"/app/app.js", "text/javascript; charset=utf-8", 200},
		{"/app/sw.js", "text/javascript; charset=utf-8", 200},
		{"/app/app.css", "text/css; charset=utf-8", 200},
		{"/app/manifest.webmanifest", "application/manifest+json", 200},
		{"/app/icon-192.png", "image/png", 200},
		{"/app/icon-512.png", "image/png", 200},
		{"/app/icon-maskable-512.png", "image/png", 200},
		{"/app/icon.svg", "image/svg+xml", 200},
		{"/app/nope.js", "", 404},
		{"/app/../go.mod", "", 404},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			w := get(t, h, tc.path)
			if w.Code != tc.status {
				t.Fatalf("HTTP %d, want %d", w.Code, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Fatalf("Content-Type %q, want %q", got, tc.ctype)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
				t.Fatalf("CSP %q", csp)
			}
			if w.Header().Get("Cache-Control") != "no-cache" {
				t.Fatalf("Cache-Control %q", w.Header().Get("Cache-Control"))
			}
		})
	}
	if w := get(t, h, "/app/sw.js"); w.Header().Get("Service-Worker-Allowed") != "/app/" {
		t.Fatal("the service worker may not control /app/")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/app/", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /app/: HTTP %d", w.Code)
	}
}

// TestManifest checks what Chromium needs to install the app, and that every icon the
// manifest names is served with its stated size.
func TestManifest(t *testing.T) {
	h := App()
	var m struct {
		Name, StartURL, Display, Scope string `json:"-"`
		Icons                          []struct{ Src, Sizes, Type, Purpose string }
	}
	body := get(t, h, "/app/manifest.webmanifest").Body.Bytes()
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(body, &m)
	for _, k := range []string{"name", "short_name", "start_url", "scope", "display", "icons"} {
		if raw[k] == nil {
			t.Errorf("manifest lacks %s", k)
		}
	}
	if raw["start_url"] != "/app/" || raw["display"] != "standalone" {
		t.Errorf("start_url %v display %v", raw["start_url"], raw["display"])
	}
	for _, ic := range m.Icons {
		w := get(t, h, ic.Src)
		if w.Code != 200 {
			t.Fatalf("%s: HTTP %d", ic.Src, w.Code)
		}
		img, err := png.Decode(bytes.NewReader(w.Body.Bytes()))
		if err != nil {
			t.Fatalf("%s: %v", ic.Src, err)
		}
		b := img.Bounds()
		if got := strings.Replace(ic.Sizes, "x", " ", 1); got != itoa(b.Dx())+" "+itoa(b.Dy()) {
			t.Fatalf("%s is %dx%d, the manifest says %s", ic.Src, b.Dx(), b.Dy(), ic.Sizes)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestDemoFiles(t *testing.T) {
	h := Demo()
	for path, want := range map[string]int{"/demo": 200, "/demo/demo.js": 200, "/demo/demo.css": 200, "/demo/x": 404} {
		if w := get(t, h, path); w.Code != want {
			t.Errorf("%s: HTTP %d, want %d", path, w.Code, want)
		}
	}
	body := get(t, h, "/demo").Body.String()
	for _, hook := range []string{"demo-file", "demo-signer", "demo-submit", "demo-icon", "demo-status", "demo-download", "demo-indication"} {
		if !strings.Contains(body, `data-test="`+hook+`"`) {
			t.Errorf("/demo lacks data-test=%s", hook)
		}
	}
}
