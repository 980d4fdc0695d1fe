package web

import (
	"bytes"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// csp allows this origin only. The app's styles live in app.css (no inline style), and
// icons come from /v1/icons; blob: and mediastream are for the QR scanner's video.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"manifest-src 'self'; worker-src 'self'; media-src 'self' blob: mediastream:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// files maps a served path to its content and type.
type files map[string]file

type file struct {
	body  []byte
	ctype string
}

var built = time.Unix(0, 0)

func load(sub string) files {
	out := files{}
	root, err := fs.Sub(dist, path.Join("dist", sub))
	if err != nil {
		panic("web: " + err.Error())
	}
	_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		out[p] = file{b, contentType(p)}
		return nil
	})
	return out
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".webmanifest":
		return "application/manifest+json"
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func serve(w http.ResponseWriter, r *http.Request, f file, name string) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", csp)
	h.Set("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
	if strings.HasSuffix(name, "sw.js") {
		h.Set("Service-Worker-Allowed", "/app/")
	}
	http.ServeContent(w, r, name, built, bytes.NewReader(f.body))
}

// App serves the phone web app under /app/. Anything else under /app/ is 404.
func App() http.Handler {
	fs := load("app")
	for name, img := range appIcons() {
		fs[name] = file{img, contentType(name)}
	}
	return static(fs, func(w http.ResponseWriter, r *http.Request) (string, bool) {
		name, ok := strings.CutPrefix(r.URL.Path, "/app/")
		if !ok {
			http.Redirect(w, r, "/app/", http.StatusMovedPermanently)
		}
		return name, ok
	})
}

// Demo serves the demo page's static files: /demo (the page) and /demo/*.js, *.css.
func Demo() http.Handler {
	fs := load("demo")
	return static(fs, func(_ http.ResponseWriter, r *http.Request) (string, bool) {
		return strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/demo"), "/"), true
	})
}

// static serves GET and HEAD from fs; name maps a request to a file name (empty means
// index.html) or answers it itself and reports false.
func static(fs map[string]file, name func(http.ResponseWriter, *http.Request) (string, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		n, ok := name(w, r)
		if !ok {
			return
		}
		if n == "" {
			n = "index.html"
		}
		f, ok := fs[n]
		if !ok {
			http.NotFound(w, r)
			return
		}
		serve(w, r, f, n)
	})
}
