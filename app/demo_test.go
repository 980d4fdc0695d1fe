package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/app"
	"github.com/paraphe/paraphe/device/client"
)

// TestDemoPage: /demo and its API exist only with demo on; the API acts as one built-in
// integrator (it sees its own requests only), takes one PDF for a signer, and once the
// signer approved offers the signed PDF and its validation.
func TestDemoPage(t *testing.T) {
	ctx := context.Background()
	if r := call(t, "", "GET", "/demo", "", nil); r.Status != http.StatusNotFound {
		t.Fatalf("GET /demo without demo: HTTP %d, want 404", r.Status)
	}
	cfg := testEnv.Cfg
	cfg.Demo = true
	_, srv, _ := startBuilt(t, cfg, app.NewLogger("error"))

	pdf, err := os.ReadFile("../testdata/contract.pdf")
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, ctype string, body []byte) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	// form is a multipart body with the fields in order; "file" parts carry the PDF.
	form := func(fields ...[2]string) (string, []byte) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for _, f := range fields {
			if f[0] == "file" {
				p, _ := w.CreateFormFile("file", f[1])
				p.Write(pdf)
				continue
			}
			w.WriteField(f[0], f[1])
		}
		w.Close()
		return w.FormDataContentType(), b.Bytes()
	}

	if st, h, b := do("GET", "/demo", "", nil); st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(b, []byte(`data-test="demo-submit"`)) {
		t.Fatalf("GET /demo with demo: HTTP %d %s", st, h.Get("Content-Type"))
	}
	dev := newSigner(t)
	user := dev.State().UserID
	type refusal struct {
		name   string
		ctype  string
		body   []byte
		status int
	}
	multi := func(name string, status int, fields ...[2]string) refusal {
		ct, b := form(fields...)
		return refusal{name, ct, b, status}
	}
	refusals := []refusal{
		{"JSON", "application/json", []byte(`{"signer":"` + user + `"}`), http.StatusUnsupportedMediaType},
		multi("no PDF", http.StatusBadRequest, [2]string{"signer", user}),
		multi("two PDFs", http.StatusBadRequest, [2]string{"signer", user}, [2]string{"file", "a.pdf"}, [2]string{"file", "b.pdf"}),
		multi("no signer", http.StatusBadRequest, [2]string{"file", "a.pdf"}),
		multi("unknown signer", http.StatusUnprocessableEntity, [2]string{"signer", "u_nobody"}, [2]string{"file", "a.pdf"}),
		multi("unknown level", http.StatusUnprocessableEntity, [2]string{"signer", user}, [2]string{"level", "B-X"}, [2]string{"file", "a.pdf"}),
		multi("callback URL", http.StatusUnprocessableEntity, [2]string{"signer", user}, [2]string{"callbackUrl", "http://127.0.0.1:9/hook"}, [2]string{"file", "a.pdf"}),
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			st, _, b := do("POST", "/demo/api/requests", tc.ctype, tc.body)
			if st != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", st, tc.status, b)
			}
		})
	}
	if n := len(mustPending(t, dev)); n != 0 {
		t.Fatalf("the refused calls left %d pending requests", n)
	}

	ct, body := form([2]string{"signer", user}, [2]string{"level", "B-B"}, [2]string{"file", "contract.pdf"})
	st, _, b := do("POST", "/demo/api/requests", ct, body)
	if st != http.StatusCreated {
		t.Fatalf("create: HTTP %d: %s", st, b)
	}
	var made struct {
		ID, Status string
		Icon       struct{ ID, Label, SVG string }
	}
	if err := json.Unmarshal(b, &made); err != nil || made.ID == "" || made.Status != "pending" || made.Icon.ID == "" || made.Icon.Label == "" || made.Icon.SVG == "" {
		t.Fatalf("create answered %s", b)
	}
	// nothing to download or validate before the signature
	for _, p := range []string{"/document", "/validation"} {
		if st, _, b := do("GET", "/demo/api/requests/"+made.ID+p, "", nil); st == http.StatusOK {
			t.Fatalf("%s of a pending request: HTTP 200: %.100s", p, b)
		}
	}
	// the demo sees only its own integrator's requests
	other, _ := create(t, newIntegrator(t, "not the demo"), hashRequest(user, "SHA-256", make([]byte, 32)))
	for _, p := range []string{"", "/document", "/validation"} {
		if st, _, _ := do("GET", "/demo/api/requests/"+other+p, "", nil); st != http.StatusNotFound {
			t.Fatalf("another integrator's request%s through the demo: HTTP %d, want 404", p, st)
		}
	}

	pending := mustPending(t, dev)
	if len(pending) != 2 {
		t.Fatalf("%d pending requests, want 2", len(pending))
	}
	status, err := dev.Approve(ctx, made.ID, made.Icon.ID, testPIN)
	if err != nil || status != "signed" {
		t.Fatalf("approve: %q %v", status, err)
	}
	if st, _, b := do("GET", "/demo/api/requests/"+made.ID, "", nil); st != 200 || !bytes.Contains(b, []byte(`"status":"signed"`)) {
		t.Fatalf("status: HTTP %d %s", st, b)
	}
	st, h, signed := do("GET", "/demo/api/requests/"+made.ID+"/document", "", nil)
	if st != 200 || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(signed, []byte("%PDF-")) ||
		!bytes.HasPrefix(signed, pdf) || !strings.Contains(h.Get("Content-Disposition"), `filename="contract.pdf"`) {
		t.Fatalf("document: HTTP %d %s %q, %d bytes (original %d)", st, h.Get("Content-Type"), h.Get("Content-Disposition"), len(signed), len(pdf))
	}
	st, _, b = do("GET", "/demo/api/requests/"+made.ID+"/validation", "", nil)
	var rep struct{ Indication string }
	if st != 200 || json.Unmarshal(b, &rep) != nil || rep.Indication != "TOTAL_PASSED" {
		t.Fatalf("validation: HTTP %d %.300s", st, b)
	}
}

func mustPending(t *testing.T, c *client.Client) []client.Request {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs, err := c.Pending(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
