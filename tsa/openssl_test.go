package tsa

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paraphe/paraphe/internal/testenv"
)

// TestOpenSSLVerify has openssl make the query, posts it to the server over
// HTTP, and has openssl verify the reply against the query and the data.
func TestOpenSSLVerify(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl not installed: skipping the openssl ts -verify check")
	}
	p := newTestPKI(t)
	ts := serve(t, newTestServer(t, p, nil, ServerConfig{}))
	dir := t.TempDir()
	data := filepath.Join(dir, "data.txt")
	if err := os.WriteFile(data, []byte("contract to be time-stamped\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root, tsaPEM := filepath.Join(dir, "root.pem"), filepath.Join(dir, "tsa.pem")
	writePEM(t, root, p.root)
	writePEM(t, tsaPEM, p.tsa)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("openssl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	for _, tc := range []struct{ name, hash, cert string }{
		{"sha256 cert", "-sha256", "-cert"},
		{"sha384 cert", "-sha384", "-cert"},
		{"sha512 no cert", "-sha512", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, r := filepath.Join(dir, "q.tsq"), filepath.Join(dir, "r.tsr")
			args := []string{"ts", "-query", "-data", data, tc.hash, "-out", q}
			if tc.cert != "" {
				args = append(args, tc.cert)
			}
			run(args...)
			tsq, err := os.ReadFile(q)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.Post(ts.URL, ContentTypeQuery, bytes.NewReader(tsq))
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("HTTP %d: %v", resp.StatusCode, err)
			}
			if err := os.WriteFile(r, body, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, by := range [][]string{{"-queryfile", q}, {"-data", data}} {
				out := run(append([]string{"ts", "-verify", "-in", r, "-CAfile", root, "-untrusted", tsaPEM}, by...)...)
				if !strings.Contains(out, "Verification: OK") {
					t.Errorf("openssl ts -verify %v:\n%s", by, out)
				}
			}
			text := run("ts", "-reply", "-in", r, "-text")
			for _, want := range []string{"Status: Granted.", "Policy OID: 2.999.80.65.82.65.80.72.69.1.1", "Accuracy: 0x01 seconds", "Nonce: 0x"} {
				if !strings.Contains(text, want) {
					t.Errorf("reply text lacks %q:\n%s", want, text)
				}
			}
		})
	}
}
