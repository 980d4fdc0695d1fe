package app_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paraphe/paraphe/api"
	"github.com/paraphe/paraphe/audit"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/device/client"
	"github.com/paraphe/paraphe/internal/testenv"
	"github.com/paraphe/paraphe/tsa"
)

const testPIN = "71294"

var userSeq atomic.Int64

// testHTTP opens a connection per call: TestEventStreamResumes cuts every connection of
// the server, which must not break the next call of another test.
var testHTTP = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Minute}

// newIntegrator creates an integrator and returns its API key.
func newIntegrator(t *testing.T, name string) string {
	t.Helper()
	out, err := testEnv.Integrators().Add(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return out.APIKey
}

// newSigner creates a user, enrolls a device for it and returns the device client.
func newSigner(t *testing.T) *client.Client {
	t.Helper()
	ctx := context.Background()
	n := userSeq.Add(1)
	code, err := testSvc.Devices.AddUser(ctx, device.NewUser{GivenName: "Alice", Surname: fmt.Sprintf("Martin%d", n),
		Email: fmt.Sprintf("alice%d@example.test", n), Phone: fmt.Sprintf("+3247%07d", n)})
	if err != nil {
		t.Fatal(err)
	}
	st, err := client.Enroll(ctx, testSrv.URL, code.Code, testPIN)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(st, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type apiResp struct {
	Status int
	Body   []byte
}

func (r apiResp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, r.Body)
	}
	return m
}

func call(t *testing.T, key, method, path, contentType string, body []byte) apiResp {
	t.Helper()
	req, err := http.NewRequest(method, testSrv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := testHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("%s %s: error %d is not problem+json (%s)", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return apiResp{resp.StatusCode, b}
}

func hashRequest(signer string, alg string, digest []byte) []byte {
	b, _ := json.Marshal(map[string]any{"signer": signer, "format": "CAdES", "level": "B-B",
		"documents": []map[string]string{{"name": "contract.pdf", "digest": base64.StdEncoding.EncodeToString(digest), "digestAlgorithm": alg}}})
	return b
}

func create(t *testing.T, key string, body []byte) (id, icon string) {
	t.Helper()
	r := call(t, key, "POST", "/v1/signature-requests", "application/json", body)
	if r.Status != 201 {
		t.Fatalf("create: HTTP %d: %s", r.Status, r.Body)
	}
	m := r.json(t)
	return m["id"].(string), m["icon"].(map[string]any)["id"].(string)
}

func needOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		testenv.Missing(t, "openssl not installed")
	}
}

// TestHashModeEndToEnd signs digests of every supported algorithm and checks each CMS with
// openssl against the development root.
func TestHashModeEndToEnd(t *testing.T) {
	needOpenSSL(t)
	key := newIntegrator(t, "acme")
	dev := newSigner(t)
	content := []byte("%PDF-1.7 pretend contract for the end-to-end test\n")
	dir := t.TempDir()
	contentFile := filepath.Join(dir, "content.bin")
	rootFile := filepath.Join(dir, "root.pem")
	os.WriteFile(contentFile, content, 0o600)
	os.WriteFile(rootFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testEnv.CA.Root().Raw}), 0o600)
	s256, s384, s512 := sha256.Sum256(content), sha512.Sum384(content), sha512.Sum512(content)
	for _, tc := range []struct {
		alg    string
		digest []byte
	}{{"SHA-256", s256[:]}, {"SHA-384", s384[:]}, {"SHA-512", s512[:]}} {
		t.Run(tc.alg, func(t *testing.T) {
			id, icon := create(t, key, hashRequest(dev.State().UserID, tc.alg, tc.digest))
			status, err := dev.Approve(context.Background(), id, icon, testPIN)
			if err != nil || status != "signed" {
				t.Fatalf("approve: %q %v", status, err)
			}
			r := call(t, key, "GET", "/v1/signature-requests/"+id+"/documents/0", "", nil)
			if r.Status != 200 {
				t.Fatalf("download: %d %s", r.Status, r.Body)
			}
			sig := filepath.Join(dir, tc.alg+".p7s")
			os.WriteFile(sig, r.Body, 0o600)
			out, err := exec.Command("openssl", "cms", "-verify", "-inform", "DER", "-in", sig, "-content", contentFile,
				"-binary", "-CAfile", rootFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
			if err != nil {
				t.Fatalf("openssl cms -verify: %v: %s", err, out)
			}
			// The same signature over other content must fail.
			other := filepath.Join(dir, "other.bin")
			os.WriteFile(other, append(content, 'x'), 0o600)
			if out, err := exec.Command("openssl", "cms", "-verify", "-inform", "DER", "-in", sig, "-content", other,
				"-binary", "-CAfile", rootFile, "-purpose", "any", "-out", os.DevNull).CombinedOutput(); err == nil {
				t.Fatalf("openssl accepted the signature over other content: %s", out)
			}
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	key := newIntegrator(t, "bad-input")
	dev := newSigner(t)
	uid := dev.State().UserID
	d := sha256.Sum256([]byte("x"))
	good := hashRequest(uid, "SHA-256", d[:])
	tests := []struct {
		name, key, method, path, ctype string
		body                           []byte
		want                           int
	}{
		{"malformed JSON", key, "POST", "/v1/signature-requests", "application/json", []byte(`{"signer":`), 400},
		{"unknown field", key, "POST", "/v1/signature-requests", "application/json", bytes.Replace(good, []byte(`{`), []byte(`{"colour":"red",`), 1), 400},
		{"trailing data", key, "POST", "/v1/signature-requests", "application/json", append(append([]byte{}, good...), []byte(`{}`)...), 400},
		{"short digest", key, "POST", "/v1/signature-requests", "application/json", hashRequest(uid, "SHA-256", d[:20]), 422},
		{"SHA-512 length mismatch", key, "POST", "/v1/signature-requests", "application/json", hashRequest(uid, "SHA-512", d[:]), 422},
		{"unknown algorithm", key, "POST", "/v1/signature-requests", "application/json", hashRequest(uid, "MD5", d[:]), 422},
		{"unknown signer", key, "POST", "/v1/signature-requests", "application/json", hashRequest("00000000-0000-0000-0000-000000000000", "SHA-256", d[:]), 422},
		{"wrong content type", key, "POST", "/v1/signature-requests", "text/plain", good, 415},
		{"no API key", "", "POST", "/v1/signature-requests", "application/json", good, 401},
		{"wrong API key", "pk_nope", "POST", "/v1/signature-requests", "application/json", good, 401},
		{"unknown request", key, "GET", "/v1/signature-requests/3d0c1f43-5a5e-4a43-9b63-1d2f0e6c8a11", "", nil, 404},
		{"not a uuid", key, "GET", "/v1/signature-requests/..%2f..", "", nil, 404},
		{"body too large", key, "POST", "/v1/signature-requests", "application/json", bytes.Repeat([]byte(" "), 2<<20), 413},
		{"bidi override in a name", key, "POST", "/v1/signature-requests", "application/json", bytes.Replace(good, []byte(`contract.pdf`), []byte(`invoice\u202efdp.exe`), 1), 422},
		{"zero-width space in a name", key, "POST", "/v1/signature-requests", "application/json", bytes.Replace(good, []byte(`contract.pdf`), []byte(`con\u200btract.pdf`), 1), 422},
		{"C1 control in a name", key, "POST", "/v1/signature-requests", "application/json", bytes.Replace(good, []byte(`contract.pdf`), []byte(`con\u009btract.pdf`), 1), 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := countRequests(t)
			r := call(t, tc.key, tc.method, tc.path, tc.ctype, tc.body)
			if r.Status != tc.want {
				t.Fatalf("HTTP %d, want %d: %s", r.Status, tc.want, r.Body)
			}
			p := r.json(t)
			if p["title"] == nil || p["status"] == nil || p["type"] == nil {
				t.Fatalf("not a problem document: %s", r.Body)
			}
			if after := countRequests(t); after != before {
				t.Fatalf("a refused call stored a request (%d → %d)", before, after)
			}
		})
	}
}

func countRequests(t *testing.T) int64 {
	t.Helper()
	n, err := testEnv.Store.CountRequests(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestApprovalChecks(t *testing.T) {
	key := newIntegrator(t, "checks")
	dev := newSigner(t)
	other := newSigner(t)
	ctx := context.Background()
	d := sha256.Sum256([]byte("approval checks"))
	body := hashRequest(dev.State().UserID, "SHA-256", d[:])

	t.Run("wrong PIN keeps the request and says attempts left", func(t *testing.T) {
		id, icon := create(t, key, body)
		_, err := dev.Approve(ctx, id, icon, "13579")
		var p client.Problem
		if !errors.As(err, &p) || p.Code != "wrong-pin" || p.AttemptsLeft == nil || *p.AttemptsLeft != 4 {
			t.Fatalf("wrong PIN: %v", err)
		}
		if st := status(t, key, id); st != "pending" {
			t.Fatalf("status %s after a wrong PIN", st)
		}
		if _, err := dev.Approve(ctx, id, icon, testPIN); err != nil {
			t.Fatalf("right PIN after a wrong one: %v", err)
		}
	})
	t.Run("PIN of the wrong length", func(t *testing.T) {
		id, icon := create(t, key, body)
		if _, err := dev.Approve(ctx, id, icon, "123"); err == nil {
			t.Fatal("a 3-digit PIN was accepted")
		}
		if st := status(t, key, id); st != "pending" {
			t.Fatalf("status %s", st)
		}
		_ = dev.Refuse(ctx, id)
	})
	t.Run("wrong icon refuses", func(t *testing.T) {
		id, icon := create(t, key, body)
		it, err := dev.Request(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(it.Icons) < 4 {
			t.Fatalf("%d icon choices", len(it.Icons))
		}
		wrong := it.Icons[0].ID
		if wrong == icon {
			wrong = it.Icons[1].ID
		}
		if _, err := dev.Approve(ctx, id, wrong, testPIN); err == nil {
			t.Fatal("wrong icon accepted")
		}
		r := call(t, key, "GET", "/v1/signature-requests/"+id, "", nil).json(t)
		if r["status"] != "refused" || r["reason"] != "wrong_icon" {
			t.Fatalf("after a wrong icon: %v", r)
		}
	})
	t.Run("another user's device sees nothing", func(t *testing.T) {
		id, icon := create(t, key, body)
		if _, err := other.Approve(ctx, id, icon, testPIN); err == nil {
			t.Fatal("another user's device approved")
		}
		if st := status(t, key, id); st != "pending" {
			t.Fatalf("status %s", st)
		}
		_ = dev.Refuse(ctx, id)
	})
	t.Run("second approval of a signed request fails", func(t *testing.T) {
		id, icon := create(t, key, body)
		if _, err := dev.Approve(ctx, id, icon, testPIN); err != nil {
			t.Fatal(err)
		}
		if _, err := dev.Approve(ctx, id, icon, testPIN); err == nil {
			t.Fatal("second approval accepted")
		}
	})
	t.Run("the result of a pending request is not ready, of a cancelled one never", func(t *testing.T) {
		id, _ := create(t, key, body)
		doc := "/v1/signature-requests/" + id + "/documents/0"
		if r := call(t, key, "GET", doc, "", nil); r.Status != 409 || r.json(t)["code"] != "result-not-ready" {
			t.Fatalf("pending: %d %s", r.Status, r.Body)
		}
		if r := call(t, key, "DELETE", "/v1/signature-requests/"+id, "", nil); r.Status >= 300 {
			t.Fatalf("cancel: %d", r.Status)
		}
		if r := call(t, key, "GET", doc, "", nil); r.Status != 410 || r.json(t)["code"] != "no-result" {
			t.Fatalf("cancelled: %d %s", r.Status, r.Body)
		}
	})
	t.Run("another integrator gets 404", func(t *testing.T) {
		id, _ := create(t, key, body)
		k2 := newIntegrator(t, "intruder")
		for _, p := range []string{"/v1/signature-requests/" + id, "/v1/signature-requests/" + id + "/documents/0"} {
			if r := call(t, k2, "GET", p, "", nil); r.Status != 404 {
				t.Fatalf("GET %s by another integrator: %d", p, r.Status)
			}
		}
		if r := call(t, k2, "DELETE", "/v1/signature-requests/"+id, "", nil); r.Status != 404 {
			t.Fatalf("DELETE by another integrator: %d", r.Status)
		}
		_ = dev.Refuse(ctx, id)
	})
}

func status(t *testing.T, key, id string) string {
	t.Helper()
	m := call(t, key, "GET", "/v1/signature-requests/"+id, "", nil).json(t)
	s, _ := m["status"].(string)
	return s
}

func TestActivationCodeWorksOnce(t *testing.T) {
	ctx := context.Background()
	code, err := testSvc.Devices.AddUser(ctx, device.NewUser{GivenName: "Bob", Surname: "Once", Email: "bob@example.test", Phone: "+32470999111"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enroll(ctx, testSrv.URL, code.Code, "11111"); err == nil {
		t.Fatal("weak PIN 11111 accepted")
	}
	if _, err := client.Enroll(ctx, testSrv.URL, code.Code, "24680"); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := client.Enroll(ctx, testSrv.URL, code.Code, "24680"); err == nil {
		t.Fatal("activation code reused")
	}
}

func TestPublicEndpoints(t *testing.T) {
	for _, p := range []string{"/healthz", "/readyz", "/v1/ca/root.pem", "/crl", "/crl/root", "/v1/icons/sun.svg"} {
		if r := call(t, "", "GET", p, "", nil); r.Status != 200 {
			t.Errorf("GET %s: %d %s", p, r.Status, r.Body)
		}
	}
	r := call(t, "", "GET", "/v1/ca/root.pem", "", nil)
	b, _ := pem.Decode(r.Body)
	if b == nil {
		t.Fatal("root.pem is not PEM")
	}
	if _, err := x509.ParseCertificate(b.Bytes); err != nil {
		t.Fatal(err)
	}
	if r := call(t, "", "GET", "/v1/icons/nope.svg", "", nil); r.Status != 404 {
		t.Errorf("unknown icon: %d", r.Status)
	}
}

func TestBuiltInTSA(t *testing.T) {
	roots := x509.NewCertPool()
	roots.AddCert(testEnv.CA.Root())
	c, err := tsa.NewClient(tsa.Config{URLs: []string{testSrv.URL + "/tsa"}}, roots, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("time-stamp me"))
	for range 2 {
		tok, err := c.Timestamp(context.Background(), d[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) == 0 {
			t.Fatal("empty token")
		}
	}
	// The TSA certificate is known to OCSP, not "unknown".
	st, err := testEnv.Store.CertificateStatus(context.Background(), testEnv.TSACert.SerialNumber)
	if err != nil || !st.Known {
		t.Fatalf("TSA certificate unknown to the store: %+v %v", st, err)
	}
}

// TestHashModeBT: a detached CMS at B-T carries a signature time-stamp over its signature
// value, from the built-in TSA.
func TestHashModeBT(t *testing.T) {
	key := newIntegrator(t, "bt")
	dev := newSigner(t)
	d := sha256.Sum256([]byte("B-T"))
	body := bytes.Replace(hashRequest(dev.State().UserID, "SHA-256", d[:]), []byte(`"B-B"`), []byte(`"B-T"`), 1)
	id, icon := create(t, key, body)
	if st, err := dev.Approve(context.Background(), id, icon, testPIN); err != nil || st != "signed" {
		t.Fatalf("approve: %s %v", st, err)
	}
	r := call(t, key, "GET", "/v1/signature-requests/"+id+"/documents/0", "", nil)
	sd, err := cades.Parse(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	ts := sd.Signers[0].SignatureTimestamps
	if len(ts) != 1 {
		t.Fatalf("%d signature time-stamps", len(ts))
	}
	tok, err := cades.ParseTimestampToken(ts[0])
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(sd.Signers[0].Signature)
	if !bytes.Equal(tok.HashedMessage, want[:]) {
		t.Fatal("the time-stamp does not cover the signature value")
	}
	if _, err := sd.Verify(d[:]); err != nil {
		t.Fatal(err)
	}
}

// TestEvidenceRecord: the record names what was signed and how, and its audit entries
// are the log's own (same hashes, chained).
func TestEvidenceRecord(t *testing.T) {
	key := newIntegrator(t, "evidence")
	dev := newSigner(t)
	d := sha256.Sum256([]byte("evidence"))
	id, icon := create(t, key, hashRequest(dev.State().UserID, "SHA-256", d[:]))
	if _, err := dev.Approve(context.Background(), id, icon, testPIN); err != nil {
		t.Fatal(err)
	}
	r := call(t, key, "GET", "/v1/signature-requests/"+id+"/evidence", "", nil)
	if r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var ev api.EvidenceRecord
	if err := json.Unmarshal(r.Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Icon.Shown != icon || ev.Icon.Chosen != icon || ev.DeviceID != dev.State().DeviceID || ev.Times.Approved == nil {
		t.Fatalf("record: %+v", ev)
	}
	if ev.Certificate == "" || ev.Documents[0].Signature == "" || ev.Documents[0].ResultSHA256 == "" {
		t.Fatal("record lacks the certificate or the signature")
	}
	if ev.ClientIPs["integrator"] == "" || ev.ClientIPs["device"] == "" {
		t.Fatalf("client addresses missing: %v", ev.ClientIPs)
	}
	types := map[string]bool{}
	for _, a := range ev.Audit {
		types[a.Type] = true
		es, err := testEnv.Store.AuditEntries(context.Background(), a.Seq-1, 1)
		if err != nil || len(es) != 1 || hex.EncodeToString(es[0].Hash) != a.Hash {
			t.Fatalf("audit entry %d does not match the log", a.Seq)
		}
	}
	for _, want := range []string{audit.RequestCreated, audit.RequestApproved, audit.SignatureIntent, audit.RequestSigned} {
		if !types[want] {
			t.Errorf("record lacks %s", want)
		}
	}
	if ev.Checkpoint == nil {
		t.Fatal("the record carries no audit checkpoint")
	}
	cp, err := ev.Checkpoint.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	if err := testEnv.Audit.VerifyCheckpoint(context.Background(), cp, testEnv.CheckpointKey.Public()); err != nil {
		t.Fatalf("the record's checkpoint does not verify: %v", err)
	}
	k2 := newIntegrator(t, "nosy")
	if r := call(t, k2, "GET", "/v1/signature-requests/"+id+"/evidence", "", nil); r.Status != 404 {
		t.Fatalf("another integrator reads the evidence: %d", r.Status)
	}
}

// TestTenancyEveryRoute walks every integrator route that names a request and checks
// that another integrator gets 404 on a signed request of the first.
func TestTenancyEveryRoute(t *testing.T) {
	key := newIntegrator(t, "owner")
	other := newIntegrator(t, "stranger")
	dev := newSigner(t)
	d := sha256.Sum256([]byte("tenancy"))
	id, icon := create(t, key, hashRequest(dev.State().UserID, "SHA-256", d[:]))
	if _, err := dev.Approve(context.Background(), id, icon, testPIN); err != nil {
		t.Fatal(err)
	}
	engine, ok := testSrv.Config.Handler.(*gin.Engine)
	if !ok {
		t.Fatal("the handler is not the Gin engine")
	}
	n := 0
	for _, r := range engine.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/signature-requests/:id") {
			continue
		}
		path := strings.NewReplacer(":id", id, ":index", "0").Replace(r.Path)
		if got := call(t, other, r.Method, path, "", nil); got.Status != 404 {
			t.Errorf("%s %s by another integrator: HTTP %d", r.Method, r.Path, got.Status)
		}
		if got := call(t, "", r.Method, path, "", nil); got.Status != 401 {
			t.Errorf("%s %s without a key: HTTP %d", r.Method, r.Path, got.Status)
		}
		n++
	}
	if n < 5 {
		t.Fatalf("only %d request routes found", n)
	}
	if st := status(t, key, id); st != "signed" {
		t.Fatalf("the owner's request changed: %s", st)
	}
}
