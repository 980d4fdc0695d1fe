package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
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

// TestPINRulesMatchServer runs the app's PIN check (src/app/pin.js) on every 5-digit
// PIN and on malformed ones, and compares it with the server's (device.CheckPIN): the
// activation and change-PIN screens must refuse exactly what the server refuses.
func TestPINRulesMatchServer(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is needed to check the app's PIN rules")
		}
		t.Skip("node is not installed")
	}
	inputs := []string{"", "1234", "123456", "12a45", " 1234", "1234 ", "１２３４５", "-1234", "12.45"}
	for n := range 100000 {
		inputs = append(inputs, fmt.Sprintf("%05d", n))
	}
	in, err := json.Marshal(inputs)
	if err != nil {
		t.Fatal(err)
	}
	const script = `import { strongPIN } from './src/app/pin.js';
let s = ''; for await (const c of process.stdin) s += c;
process.stdout.write(JSON.stringify(JSON.parse(s).map((p) => strongPIN(p))));`
	cmd := exec.Command(node, "--input-type=module", "-e", script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var app []bool
	if err := json.Unmarshal(out, &app); err != nil || len(app) != len(inputs) {
		t.Fatalf("node answered %d results (%v), want %d", len(app), err, len(inputs))
	}
	weak := 0
	for i, p := range inputs {
		server := device.CheckPIN(p) == nil
		if app[i] != server {
			t.Errorf("PIN %q: the app says strong=%v, the server strong=%v", p, app[i], server)
		}
		if !server {
			weak++
		}
	}
	// 10 repeated digits, 10 ascending and 10 descending runs, and the malformed inputs.
	if want := 30 + 9; weak != want {
		t.Errorf("%d inputs refused, want %d", weak, want)
	}
}

// TestTranslationsComplete: French, Dutch and German say everything English says, with
// the same {placeholders}, and every text the app and its service worker ask for exists.
func TestTranslationsComplete(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is needed to read the app's translations")
		}
		t.Skip("node is not installed")
	}
	const script = `import { dictionaries } from './src/app/i18n.js';
process.stdout.write(JSON.stringify(dictionaries));`
	out, err := exec.Command(node, "--input-type=module", "-e", script).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var dicts map[string]map[string]string
	if err := json.Unmarshal(out, &dicts); err != nil {
		t.Fatal(err)
	}
	en := dicts["en"]
	if len(en) < 50 {
		t.Fatalf("English has %d texts", len(en))
	}
	placeholders := func(s string) string {
		m := regexp.MustCompile(`\{\w+\}`).FindAllString(s, -1)
		slices.Sort(m)
		return strings.Join(m, ",")
	}
	for _, lang := range []string{"fr", "nl", "de"} {
		d := dicts[lang]
		if d == nil {
			t.Errorf("no %s dictionary", lang)
			continue
		}
		for k, v := range en {
			got, ok := d[k]
			if !ok {
				if k != "appName" { // the name is not translated
					t.Errorf("%s lacks %q (%q)", lang, k, v)
				}
				continue
			}
			if placeholders(got) != placeholders(v) {
				t.Errorf("%s %q: placeholders %q, English has %q", lang, k, placeholders(got), placeholders(v))
			}
		}
		for k := range d {
			if _, ok := en[k]; !ok {
				t.Errorf("%s has %q, which English lacks", lang, k)
			}
		}
	}
	var src []byte
	for _, f := range []string{"src/app/main.js", "src/app/sw.js"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	used := regexp.MustCompile(`\bt\('(\w+)'`).FindAllSubmatch(src, -1)
	if len(used) < 50 {
		t.Fatalf("found %d t('...') calls in the app", len(used))
	}
	for _, m := range used {
		if _, ok := en[string(m[1])]; !ok {
			t.Errorf("the app asks for %q, which no dictionary has", m[1])
		}
	}
	// statuses are looked up as st_STATUS: every state a request can be in, as the
	// history and the approval answer give it
	for _, st := range []signer.Status{signer.StatusPending, signer.StatusApproved, signer.StatusAuthorized, signer.StatusSigned,
		signer.StatusRefused, signer.StatusExpired, signer.StatusCancelled, signer.StatusFailed} {
		if _, ok := en["st_"+string(st)]; !ok {
			t.Errorf("no text for the status %q", st)
		}
	}
}
