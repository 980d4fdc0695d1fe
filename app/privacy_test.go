package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/device/client"
)

// lockedBuffer is an io.Writer safe for the concurrent writes of a logger.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoSecretsInLogs drives a whole flow (integrator, user, enrollment, a wrong PIN,
// approval, signing, download, webhook, erasure, export) through a second service over
// the same data and token, whose logger keeps everything at debug level, and looks for
// every secret and every document byte in what was logged.
func TestNoSecretsInLogs(t *testing.T) {
	ctx := context.Background()
	var buf lockedBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, srv, stop := startBuilt(t, testEnv.Cfg, log)

	var (
		hookMu   sync.Mutex
		hookBody []byte
	)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hookBody = b
		hookMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hooks.Close()

	const pin, wrongPIN = "58213", "40967"
	in, err := svc.Integrators.Add(ctx, "log-check")
	if err != nil {
		t.Fatal(err)
	}
	n := userSeq.Add(1)
	code, err := svc.Devices.AddUser(ctx, device.NewUser{GivenName: "Erin", Surname: fmt.Sprintf("Dupont%d", n),
		Email: fmt.Sprintf("erin%d@example.test", n), Phone: fmt.Sprintf("+3248%07d", n)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := client.Enroll(ctx, srv.URL, code.Code, pin)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := client.New(st, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	content := []byte("the document itself: a contract nobody else may read " + time.Now().String())
	digest := sha256.Sum256(content)
	body, _ := json.Marshal(map[string]any{"signer": st.UserID, "format": "CAdES", "level": "B-B", "callbackUrl": hooks.URL + "/hook",
		"documents": []map[string]string{{"name": "contract.pdf", "digest": base64.StdEncoding.EncodeToString(digest[:]), "digestAlgorithm": "SHA-256"}}})
	do := func(key, method, path string, body []byte) (int, []byte) {
		req, _ := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := testHTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, out := do(in.APIKey, "POST", "/v1/signature-requests", body)
	if status != 201 {
		t.Fatalf("create: %d %s", status, out)
	}
	var created struct {
		ID   string `json:"id"`
		Icon struct {
			ID string `json:"id"`
		} `json:"icon"`
	}
	if err := json.Unmarshal(out, &created); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Approve(ctx, created.ID, created.Icon.ID, wrongPIN); err == nil {
		t.Fatal("a wrong PIN was accepted")
	}
	if s, err := dev.Approve(ctx, created.ID, created.Icon.ID, pin); err != nil || s != "signed" {
		t.Fatalf("approve: %q %v", s, err)
	}
	status, result := do(in.APIKey, "GET", "/v1/signature-requests/"+created.ID+"/documents/0", nil)
	if status != 200 || len(result) < 64 {
		t.Fatalf("download: %d (%d bytes)", status, len(result))
	}
	do("pk_wrong_"+in.APIKey[len(in.APIKey)/2:], "GET", "/v1/signature-requests/"+created.ID, nil) // a failed authentication is logged too
	deadline := time.Now().Add(20 * time.Second)
	for {
		hookMu.Lock()
		got := hookBody != nil
		hookMu.Unlock()
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no webhook delivered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := svc.Domain
	if _, err := d.Accounts.Export(ctx, st.UserID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Accounts.Erase(ctx, st.UserID); err != nil {
		t.Fatal(err)
	}
	stop()

	logged := buf.String()
	if !strings.Contains(logged, `"msg":"http"`) || !strings.Contains(logged, created.ID) {
		t.Fatalf("the logger captured no access log or no request id: the check below would prove nothing:\n%s", logged)
	}
	secrets := map[string]string{
		"activation code": code.Code, "API key": in.APIKey, "webhook secret": in.WebhookSecret,
		"document content": string(content[:32]),
		"digest (base64)":  base64.StdEncoding.EncodeToString(digest[:]), "digest (hex)": hex.EncodeToString(digest[:]),
		"result (base64)": base64.StdEncoding.EncodeToString(result[len(result)-48:]),
		"result (hex)":    hex.EncodeToString(result[len(result)-32:]),
		"result (raw)":    string(result[len(result)-24:]),
	}
	// Partial secrets too: a prefix long enough to identify a key must not appear.
	for _, s := range []string{in.APIKey, in.WebhookSecret} {
		secrets["part of "+s[:6]] = s[len(s)-16:]
	}
	for what, s := range secrets {
		if s != "" && strings.Contains(logged, s) {
			t.Errorf("%s found in the log", what)
		}
	}
	for _, p := range []string{pin, wrongPIN} {
		if regexp.MustCompile(`(^|[^0-9])` + p + `([^0-9]|$)`).MatchString(logged) {
			t.Errorf("PIN %s found in the log", p)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", logged)
	}
}
