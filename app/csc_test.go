package app_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/device/client"
	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/verify"
)

const (
	oidSHA256      = "2.16.840.1.101.3.4.2.1"
	oidECDSASHA256 = "1.2.840.10045.4.3.2"
)

// cscClient is an OAuth client of the CSC API (an integrator) with a service token.
type cscClient struct {
	t        *testing.T
	id, key  string
	redirect string
	token    string
}

func newCSCClient(t *testing.T, name string) *cscClient {
	t.Helper()
	redirect := "https://client.example.test/csc/callback"
	out, err := testEnv.Integrators().Add(context.Background(), name, redirect)
	if err != nil {
		t.Fatal(err)
	}
	c := &cscClient{t: t, id: out.ID, key: out.APIKey, redirect: redirect}
	st, m := c.form("/csc/v2/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.key}})
	if st != 200 {
		t.Fatalf("client_credentials: %d %v", st, m)
	}
	c.token = m["access_token"].(string)
	return c
}

func (c *cscClient) do(req *http.Request) (int, map[string]any) {
	c.t.Helper()
	resp, err := testHTTP.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %s", req.Method, req.URL.Path, resp.StatusCode, b)
		}
	}
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			c.t.Errorf("%s: error %d with Content-Type %q, want application/json", req.URL.Path, resp.StatusCode, ct)
		}
		if _, ok := m["error"].(string); !ok {
			c.t.Errorf("%s: error %d without a CSC error body: %s", req.URL.Path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, m
}

// post calls a CSC method with the service token (or tok when given).
func (c *cscClient) post(path string, body any, tok ...string) (int, map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", testSrv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	bearer := c.token
	if len(tok) > 0 {
		bearer = tok[0]
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return c.do(req)
}

// poll asks signPolling for responseID until the call has ended (any answer but 202),
// and returns that answer.
func (c *cscClient) poll(responseID any) (int, map[string]any) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, m := c.post("/csc/v2/signatures/signPolling", map[string]any{"responseID": responseID})
		if st != 202 {
			return st, m
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("signPolling: still 202 after 20 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *cscClient) form(path string, v url.Values) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", testSrv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *cscClient) credential(dev *client.Client) string {
	c.t.Helper()
	st, m := c.post("/csc/v2/credentials/list", map[string]any{"userID": dev.State().UserID})
	ids, _ := m["credentialIDs"].([]any)
	if st != 200 || len(ids) != 1 {
		c.t.Fatalf("credentials/list: %d %v", st, m)
	}
	return ids[0].(string)
}

// approveOnPhone approves the phone's pending request whose icon choices include icon.
func approveOnPhone(t *testing.T, dev *client.Client, icon string) string {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := dev.Pending(ctx, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			for _, ic := range r.Icons {
				if ic.ID == icon {
					if st, err := dev.Approve(ctx, r.ID, icon, testPIN); err != nil || st != "authorized" {
						t.Fatalf("approve %s: %s %v", r.ID, st, err)
					}
					return r.ID
				}
			}
		}
	}
	t.Fatal("the phone never showed the authorization")
	return ""
}

// sad runs the explicit flow for the hashes (standard base64) and returns the SAD.
func (c *cscClient) sad(dev *client.Client, cred string, hashes ...string) string {
	c.t.Helper()
	st, m := c.post("/csc/v2/credentials/authorize", map[string]any{"credentialID": cred, "numSignatures": len(hashes), "hashes": hashes,
		"hashAlgorithmOID": oidSHA256, "authData": []map[string]string{{"id": "phone"}}, "description": "Test contract"})
	if st != 202 {
		c.t.Fatalf("credentials/authorize: %d %v", st, m)
	}
	approveOnPhone(c.t, dev, m["icon"].(map[string]any)["id"].(string))
	st, m = c.post("/csc/v2/credentials/authorizeCheck", map[string]any{"handle": m["handle"]})
	if st != 200 {
		c.t.Fatalf("authorizeCheck after approval: %d %v", st, m)
	}
	return m["SAD"].(string)
}

func newHash() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// TestCSCConformance replays the request and response examples of the CSC API
// specification (v2.0.0.2, and v1.0.4.0 for /csc/v1/), each with this service's values
// in place of the example's, and checks every field the specification's example answer
// carries.
func TestCSCConformance(t *testing.T) {
	c := newCSCClient(t, "conformance")
	dev := newSigner(t)
	cred := c.credential(dev)
	h1, h2 := newHash(), newHash()
	type example struct {
		name, path string
		body       any
		status     int
		fields     []string // top-level fields of the example answer
	}
	run := func(t *testing.T, ex example, tok ...string) map[string]any {
		t.Helper()
		st, m := c.post(ex.path, ex.body, tok...)
		if st != ex.status {
			t.Fatalf("%s: HTTP %d, want %d: %v", ex.name, st, ex.status, m)
		}
		for _, f := range ex.fields {
			if _, ok := m[f]; !ok {
				t.Errorf("%s: answer lacks %q: %v", ex.name, f, m)
			}
		}
		return m
	}
	// 11.1 info: the example asks with {"lang": "en-US"}.
	info := run(t, example{"info", "/csc/v2/info", map[string]any{"lang": "en-US"}, 200,
		[]string{"specs", "name", "logo", "region", "lang", "description", "authType", "oauth2", "methods", "signAlgorithms", "signature_formats", "conformance_levels"}}, "")
	if info["specs"] != "2.0.0.2" {
		t.Errorf("specs %v", info["specs"])
	}
	// 11.4 credentials/list, with credentialInfo, chain and the certificate and auth details.
	list := run(t, example{"credentials/list", "/csc/v2/credentials/list", map[string]any{"userID": dev.State().UserID, "credentialInfo": true,
		"certificates": "chain", "certInfo": true, "authInfo": true, "clientData": "12345678"}, 200, []string{"credentialIDs", "credentialInfos"}})
	infos := list["credentialInfos"].([]any)
	if len(infos) != 1 || infos[0].(map[string]any)["credentialID"] != cred {
		t.Fatalf("credentialInfos %v", infos)
	}
	// 11.5 credentials/info.
	ci := run(t, example{"credentials/info", "/csc/v2/credentials/info", map[string]any{"credentialID": cred, "certificates": "chain",
		"certInfo": true, "authInfo": true}, 200, []string{"description", "key", "cert", "auth", "SCAL", "multisign", "lang"}})
	key := ci["key"].(map[string]any)
	if key["status"] != "enabled" || key["len"] != float64(256) || key["curve"] != "1.2.840.10045.3.1.7" {
		t.Errorf("key %v", key)
	}
	cert := ci["cert"].(map[string]any)
	for _, f := range []string{"status", "certificates", "issuerDN", "serialNumber", "subjectDN", "validFrom", "validTo"} {
		if _, ok := cert[f]; !ok {
			t.Errorf("cert lacks %s", f)
		}
	}
	if got := len(cert["certificates"].([]any)); got != 1+len(testEnv.CA.Chain()) {
		t.Errorf("chain of %d certificates", got)
	}
	// 11.6 credentials/authorize (here out of band: 202 and a handle), 11.7 authorizeCheck.
	az := run(t, example{"credentials/authorize", "/csc/v2/credentials/authorize", map[string]any{"credentialID": cred, "numSignatures": 2,
		"hashes": []string{h1, h2}, "hashAlgorithmOID": oidSHA256, "authData": []map[string]string{{"id": "phone"}},
		"description": "Employment contract", "clientData": "12345678"}, 202, []string{"handle", "icon"}})
	run(t, example{"authorizeCheck pending", "/csc/v2/credentials/authorizeCheck", map[string]any{"handle": az["handle"]}, 202, []string{"handle"}})
	rid := approveOnPhone(t, dev, az["icon"].(map[string]any)["id"].(string))
	chk := run(t, example{"authorizeCheck", "/csc/v2/credentials/authorizeCheck", map[string]any{"handle": az["handle"]}, 200, []string{"SAD", "expiresIn"}})
	// The phone showed the description and one document per hash.
	if r, err := dev.Request(context.Background(), rid); err != nil || len(r.Documents) != 2 || r.Description != "Employment contract" {
		t.Fatalf("phone's request: %+v %v", r, err)
	}
	// 11.8 extendTransaction: a new SAD; the old one dies.
	ext := run(t, example{"extendTransaction", "/csc/v2/credentials/extendTransaction", map[string]any{"credentialID": cred,
		"SAD": chk["SAD"], "clientData": "12345678"}, 200, []string{"SAD", "expiresIn"}})
	run(t, example{"signHash with the extended-away SAD", "/csc/v2/signatures/signHash", map[string]any{"credentialID": cred, "SAD": chk["SAD"],
		"hashes": []string{h1}, "hashAlgorithmOID": oidSHA256, "signAlgo": oidECDSASHA256}, 400, []string{"error", "error_description"}})
	// 11.9 signHash, with base64url for one hash: hashes compare after decoding.
	sh := run(t, example{"signHash", "/csc/v2/signatures/signHash", map[string]any{"credentialID": cred, "SAD": ext["SAD"],
		"hashes": []string{strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(h1), "=")}, "hashAlgorithmOID": oidSHA256,
		"signAlgo": oidECDSASHA256, "clientData": "12345678"}, 200, []string{"signatures"}})
	if n := len(sh["signatures"].([]any)); n != 1 {
		t.Fatalf("%d signatures", n)
	}
	// Asynchronous mode: 202 with a responseID, then signPolling.
	as := run(t, example{"signHash A", "/csc/v2/signatures/signHash", map[string]any{"credentialID": cred, "SAD": ext["SAD"], "hashes": []string{h2},
		"hashAlgorithmOID": oidSHA256, "signAlgo": oidECDSASHA256, "operationMode": "A"}, 202, []string{"responseID"}})
	if st, m := c.poll(as["responseID"]); st != 200 || len(m["signatures"].([]any)) != 1 {
		t.Fatalf("signPolling: %d %v", st, m)
	}
	// The authorization is used up: the phone's history says signed.
	waitHistory(t, dev, rid, "signed")
	// 11.11 signatures/timestamp.
	run(t, example{"timestamp", "/csc/v2/signatures/timestamp", map[string]any{"hash": newHash(), "hashAlgorithmOID": oidSHA256,
		"clientData": "12345678"}, 200, []string{"timestamp"}})
	// The client's nonce is in the token (v1's field name hashAlgo works too); a nonce that
	// is not hexadecimal is refused.
	for _, tc := range []struct {
		name, path, algField string
	}{{"v2", "/csc/v2/signatures/timestamp", "hashAlgorithmOID"}, {"v1", "/csc/v1/signatures/timestamp", "hashAlgo"}} {
		const nonce = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
		ts := run(t, example{"timestamp with nonce " + tc.name, tc.path, map[string]any{"hash": newHash(), tc.algField: oidSHA256,
			"nonce": nonce}, 200, []string{"timestamp"}})
		der, err := base64.StdEncoding.DecodeString(ts["timestamp"].(string))
		if err != nil {
			t.Fatal(err)
		}
		info, err := timestamp.Parse(der)
		if err != nil {
			t.Fatalf("%s: token: %v", tc.name, err)
		}
		if want, _ := new(big.Int).SetString(nonce, 16); info.Nonce == nil || info.Nonce.Cmp(want) != 0 {
			t.Errorf("%s: token nonce %v, want %s", tc.name, info.Nonce, nonce)
		}
	}
	run(t, example{"timestamp, bad nonce", "/csc/v2/signatures/timestamp", map[string]any{"hash": newHash(), "hashAlgorithmOID": oidSHA256,
		"nonce": "not-hex"}, 400, []string{"error", "error_description"}})
	// 11.11 signatures/signDoc, the example's documentDigests form: one SignatureObject per
	// hash (the example's level is written AdES-B-T).
	h4 := newHash()
	sd := run(t, example{"signDoc documentDigests", "/csc/v2/signatures/signDoc", map[string]any{"credentialID": cred,
		"SAD": c.sad(dev, cred, h4), "documentDigests": []map[string]any{{"hashes": []string{h4}, "hashAlgorithmOID": oidSHA256,
			"signature_format": "P", "conformance_level": "AdES-B-T", "signAlgo": oidECDSASHA256}}, "clientData": "12345678"}, 200,
		[]string{"SignatureObject"}})
	if n := len(sd["SignatureObject"].([]any)); n != 1 {
		t.Fatalf("%d SignatureObject", n)
	}
	// 8.3.4 oauth2/revoke, with the example's token_type_hint: the token stops working.
	st, tm := c.form("/csc/v2/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.key}})
	if st != 200 {
		t.Fatalf("client_credentials: %d %v", st, tm)
	}
	revoked := tm["access_token"].(string)
	if st, m := c.form("/csc/v2/oauth2/revoke", url.Values{"token": {revoked}, "token_type_hint": {"access_token"}, "client_id": {c.id},
		"client_secret": {c.key}}); st != 200 {
		t.Fatalf("oauth2/revoke: %d %v", st, m)
	}
	run(t, example{"credentials/list with a revoked token", "/csc/v2/credentials/list", map[string]any{"userID": dev.State().UserID}, 401,
		[]string{"error", "error_description"}}, revoked)
	// v1.0.4.0: info, and signHash with hash/hashAlgo and a v2 SAD.
	v1 := run(t, example{"v1 info", "/csc/v1/info", map[string]any{"lang": "en-US"}, 200, []string{"specs", "methods", "authType", "oauth2"}}, "")
	if v1["specs"] != "1.0.4.0" {
		t.Errorf("v1 specs %v", v1["specs"])
	}
	h3 := newHash()
	sad := c.sad(dev, cred, h3)
	run(t, example{"v1 signHash", "/csc/v1/signatures/signHash", map[string]any{"credentialID": cred, "SAD": sad, "hash": []string{h3},
		"hashAlgo": oidSHA256, "signAlgo": oidECDSASHA256}, 200, []string{"signatures"}})
	// Errors: the example of a bad credentialID.
	bad := run(t, example{"credentials/info unknown", "/csc/v2/credentials/info", map[string]any{"credentialID": "ffff"}, 400,
		[]string{"error", "error_description"}})
	if bad["error"] != "invalid_request" {
		t.Errorf("error %v", bad["error"])
	}
}

func waitHistory(t *testing.T, dev *client.Client, id, status string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		hs, err := dev.History(context.Background(), 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hs {
			if h.ID == id && h.Status == status {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("history lacks %s as %s: %+v", id, status, hs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCSCSADRace: many signHash calls racing on one SAD for one hash sign it once.
func TestCSCSADRace(t *testing.T) {
	c := newCSCClient(t, "racer")
	dev := newSigner(t)
	cred := c.credential(dev)
	h := newHash()
	sad := c.sad(dev, cred, h)
	const n = 8
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ok  int
		bad []int
	)
	for range n {
		wg.Go(func() {
			st, _ := c.post("/csc/v2/signatures/signHash", map[string]any{"credentialID": cred, "SAD": sad, "hashes": []string{h},
				"hashAlgorithmOID": oidSHA256, "signAlgo": oidECDSASHA256})
			mu.Lock()
			defer mu.Unlock()
			switch st {
			case 200:
				ok++
			case 400:
			default:
				bad = append(bad, st)
			}
		})
	}
	wg.Wait()
	if ok != 1 || len(bad) > 0 {
		t.Fatalf("%d signatures made of one authorized hash, other statuses %v", ok, bad)
	}
}

// TestCSCAccountChangeKillsSAD: a SAD stops working when its signer is blocked, and when
// the signer is re-activated (even once enrolled again: the SAD was for the old
// credential, and the new credential is not what the signer approved).
func TestCSCAccountChangeKillsSAD(t *testing.T) {
	ctx := context.Background()
	dom, err := testEnv.NewDomain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name          string
		newCredential bool // the signer has a new credential after the change
		change        func(t *testing.T, user string)
	}{
		{"blocked", false, func(t *testing.T, user string) {
			if err := dom.Accounts.Block(ctx, user, "operator"); err != nil {
				t.Fatal(err)
			}
		}},
		{"re-activated and enrolled again", true, func(t *testing.T, user string) {
			code, err := dom.Accounts.Reactivate(ctx, user)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.Enroll(ctx, testSrv.URL, code.Code, testPIN); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCSCClient(t, "account-change")
			dev := newSigner(t)
			cred := c.credential(dev)
			h := newHash()
			sad := c.sad(dev, cred, h)
			tc.change(t, dev.State().UserID)
			creds := []string{cred}
			if st, m := c.post("/csc/v2/credentials/list", map[string]any{"userID": dev.State().UserID}); st == 200 {
				for _, id := range m["credentialIDs"].([]any) {
					if id != cred {
						creds = append(creds, id.(string)) // the new credential
					}
				}
			}
			for _, cr := range creds {
				st, m := c.post("/csc/v2/signatures/signHash", map[string]any{"credentialID": cr, "SAD": sad, "hashes": []string{h},
					"hashAlgorithmOID": oidSHA256, "signAlgo": oidECDSASHA256})
				if st != 400 {
					t.Fatalf("signHash for credential %s after the change: %d %v", cr, st, m)
				}
			}
			if tc.newCredential != (len(creds) == 2) {
				t.Fatalf("credentials %v after the change; a new one: %v", creds, tc.newCredential)
			}
		})
	}
}

// TestCSCPushedAuthorizationWithDetails: PAR (RFC 9126) carrying RAR authorization_details
// (type credential, documentDigests), then the browser flow with PKCE.
func TestCSCPushedAuthorizationWithDetails(t *testing.T) {
	c := newCSCClient(t, "par-client")
	dev := newSigner(t)
	cred := c.credential(dev)
	h := newHash()
	details, _ := json.Marshal([]map[string]any{{"type": "credential", "credentialID": cred, "hashAlgorithmOID": oidSHA256,
		"documentDigests": []map[string]string{{"hash": h, "label": "Lease agreement"}}}})
	verifier := strings.Repeat("v", 20) + base64.RawURLEncoding.EncodeToString([]byte(newHash()))[:30]
	sum := sha256.Sum256([]byte(verifier))
	st, m := c.form("/csc/v2/oauth2/pushed_authorize", url.Values{"client_id": {c.id}, "client_secret": {c.key}, "response_type": {"code"},
		"redirect_uri": {c.redirect}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"state": {"xyz"}, "authorization_details": {string(details)}})
	if st != 201 {
		t.Fatalf("pushed_authorize: %d %v", st, m)
	}
	q := url.Values{"client_id": {c.id}, "request_uri": {m["request_uri"].(string)}}
	req, _ := http.NewRequest("GET", testSrv.URL+"/csc/v2/oauth2/authorize?"+q.Encode(), nil)
	req.Header.Set("Accept", "application/json")
	st, m = c.do(req)
	if st != 200 {
		t.Fatalf("authorize with request_uri: %d %v", st, m)
	}
	rid := approveOnPhone(t, dev, m["icon"].(map[string]any)["id"].(string))
	if r, err := dev.Request(context.Background(), rid); err != nil || len(r.Documents) != 1 || r.Documents[0].Name != "Lease agreement" {
		t.Fatalf("the phone shows %+v %v, want the RAR label", r, err)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(testSrv.URL + m["poll"].(string))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 303 || loc.Query().Get("state") != "xyz" || loc.Query().Get("code") == "" {
		t.Fatalf("poll: %d %s", resp.StatusCode, loc)
	}
	// The request_uri works once.
	req, _ = http.NewRequest("GET", testSrv.URL+"/csc/v2/oauth2/authorize?"+q.Encode(), nil)
	req.Header.Set("Accept", "application/json")
	if st, _ := c.do(req); st != 400 {
		t.Fatalf("request_uri reused: %d", st)
	}
	st, m = c.form("/csc/v2/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {c.id}, "client_secret": {c.key},
		"code": {loc.Query().Get("code")}, "redirect_uri": {c.redirect}, "code_verifier": {verifier}})
	if st != 200 || m["scope"] != "credential" {
		t.Fatalf("token: %d %v", st, m)
	}
	// The token response gives back what the signer approved (RFC 9396 §7).
	granted, _ := m["authorization_details"].([]any)
	if len(granted) != 1 {
		t.Fatalf("token response without the approved authorization_details: %v", m)
	}
	g := granted[0].(map[string]any)
	dd, _ := g["documentDigests"].([]any)
	if g["type"] != "credential" || g["credentialID"] != cred || len(dd) != 1 || dd[0].(map[string]any)["hash"] != h ||
		dd[0].(map[string]any)["label"] != "Lease agreement" {
		t.Fatalf("authorization_details in the token response: %v", g)
	}
	tok := m["access_token"].(string)
	st, m = c.post("/csc/v2/signatures/signHash", map[string]any{"credentialID": cred, "hashes": []string{h}, "hashAlgorithmOID": oidSHA256,
		"signAlgo": oidECDSASHA256}, tok)
	if st != 200 {
		t.Fatalf("signHash with the credential token: %d %v", st, m)
	}
}

// remoteKey is what a PDF tool holds for a CSC credential: a crypto.Signer whose Sign
// runs the explicit flow for the one digest it is given, then signHash.
type remoteKey struct {
	c    *cscClient
	dev  *client.Client
	cred string
	cert *x509.Certificate
}

func (k *remoteKey) Public() crypto.PublicKey { return k.cert.PublicKey }

func (k *remoteKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 {
		return nil, fmt.Errorf("remote key: SHA-256 only")
	}
	h := base64.StdEncoding.EncodeToString(digest)
	sad := k.c.sad(k.dev, k.cred, h)
	st, m := k.c.post("/csc/v2/signatures/signHash", map[string]any{"credentialID": k.cred, "SAD": sad, "hashes": []string{h},
		"hashAlgorithmOID": oidSHA256, "signAlgo": oidECDSASHA256})
	if st != 200 {
		return nil, fmt.Errorf("signHash: %d %v", st, m)
	}
	return base64.StdEncoding.DecodeString(m["signatures"].([]any)[0].(string))
}

// writerAt is an in-memory io.Writer and io.WriterAt.
type writerAt struct{ b []byte }

func (w *writerAt) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *writerAt) WriteAt(p []byte, off int64) (int, error) {
	copy(w.b[off:], p)
	return len(p), nil
}

// TestCSCSignHashPDFByteRange signs a PDF as a desktop PDF tool does with a CSC service:
// it prepares the signature field itself, computes the signed attributes over the
// digest of the byte range, has the service sign their hash through signHash (after
// the signer's approval on the phone), builds the CMS and embeds it. The validator then
// passes the file.
func TestCSCSignHashPDFByteRange(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("..", "testdata", "contract.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCSCClient(t, "pdf-tool")
	dev := newSigner(t)
	cred := c.credential(dev)
	st, m := c.post("/csc/v2/credentials/info", map[string]any{"credentialID": cred, "certificates": "chain"})
	if st != 200 {
		t.Fatalf("credentials/info: %d %v", st, m)
	}
	var chain []*x509.Certificate
	for _, s := range m["cert"].(map[string]any)["certificates"].([]any) {
		der, _ := base64.StdEncoding.DecodeString(s.(string))
		crt, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, crt)
	}
	ctx := context.Background()
	out := &writerAt{}
	p, err := pdf.Prepare(ctx, bytes.NewReader(in), int64(len(in)), out, sha256.New(), pdf.PrepareRequest{
		Name: chain[0].Subject.CommonName, Reason: "Signed through the CSC API", SigningTime: time.Now(), ContentsSize: 12000})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := cades.Sign(ctx, cades.SignRequest{Digest: p.Digest, Hash: crypto.SHA256, Certificate: chain[0], Chain: chain[1:],
		Signer: &remoteKey{c: c, dev: dev, cred: cred, cert: chain[0]}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pdf.Embed(out, p, cms); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.New(verify.Options{Anchors: []*x509.Certificate{testEnv.CA.Root()}}).ValidatePDF(ctx, out.b)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication != verify.TotalPassed || len(rep.Signatures) != 1 || rep.Signatures[0].Level != "PAdES-BASELINE-B" {
		t.Fatalf("report: %+v", rep)
	}
}

// TestCSCRequestLikeAnyOther: an authorization is a signature request of the client's:
// its id (Paraphe's extension), its status and evidence on the REST API with the same
// integrator's key, the audit entries of each consumption, and the webhook (Paraphe's
// callbackUrl extension) on its final state.
func TestCSCRequestLikeAnyOther(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan map[string]any, 4)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		_ = json.NewDecoder(r.Body).Decode(&m)
		got <- m
	}))
	defer hooks.Close()
	dom, err := testEnv.NewDomain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go dom.Webhooks.Run(ctx)

	c := newCSCClient(t, "csc-like-rest")
	dev := newSigner(t)
	cred := c.credential(dev)
	h1, h2 := newHash(), newHash()
	st, m := c.post("/csc/v2/credentials/authorize", map[string]any{"credentialID": cred, "numSignatures": 2, "hashes": []string{h1, h2},
		"hashAlgorithmOID": oidSHA256, "authData": []map[string]string{{"id": "phone"}}, "callbackUrl": hooks.URL + "/hook"})
	if st != 202 {
		t.Fatalf("authorize: %d %v", st, m)
	}
	id := m["requestId"].(string)
	approveOnPhone(t, dev, m["icon"].(map[string]any)["id"].(string))
	if s := status(t, c.key, id); s != "authorized" {
		t.Fatalf("REST status after approval: %s", s)
	}
	st, chk := c.post("/csc/v2/credentials/authorizeCheck", map[string]any{"handle": m["handle"]})
	if st != 200 {
		t.Fatalf("authorizeCheck: %d %v", st, chk)
	}
	for _, h := range []string{h2, h1} { // one at a time, in another order
		if st, m := c.post("/csc/v2/signatures/signHash", map[string]any{"credentialID": cred, "SAD": chk["SAD"], "hashes": []string{h},
			"hashAlgorithmOID": oidSHA256, "signAlgo": oidECDSASHA256}); st != 200 {
			t.Fatalf("signHash: %d %v", st, m)
		}
	}
	if s := status(t, c.key, id); s != "signed" {
		t.Fatalf("REST status once used up: %s", s)
	}
	ev := call(t, c.key, "GET", "/v1/signature-requests/"+id+"/evidence", "", nil)
	if ev.Status != 200 {
		t.Fatalf("evidence: %d %s", ev.Status, ev.Body)
	}
	made := strings.Count(string(ev.Body), `"signatures.made"`)
	if made != 2 || !strings.Contains(string(ev.Body), `"signature.intent"`) || !strings.Contains(string(ev.Body), `"request.signed"`) {
		t.Fatalf("evidence audit lacks the consumptions (%d signatures.made): %s", made, ev.Body)
	}
	if doc := call(t, c.key, "GET", "/v1/signature-requests/"+id+"/documents/1", "", nil); doc.Status != 200 || len(doc.Body) < 64 {
		t.Fatalf("the second hash's signature: %d", doc.Status)
	}
	select {
	case w := <-got:
		if w["id"] != id || w["status"] != "signed" {
			t.Fatalf("webhook %v", w)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook within 30 s")
	}
}

// TestCSCSignDocLevels signs the fixture through signatures/signDoc at each conformance
// level, under one SAD covering the SHA-256 of the file four times, and validates each
// result.
func TestCSCSignDocLevels(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("..", "testdata", "contract.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCSCClient(t, "signdoc")
	dev := newSigner(t)
	cred := c.credential(dev)
	sum := sha256.Sum256(in)
	h := base64.StdEncoding.EncodeToString(sum[:])
	sad := c.sad(dev, cred, h, h, h, h, h)
	v := verify.New(verify.Options{Anchors: []*x509.Certificate{testEnv.CA.Root()}})
	want := map[string]verify.Level{"Ades-B-B": "PAdES-BASELINE-B", "Ades-B-T": "PAdES-BASELINE-T", "Ades-B-LT": "PAdES-BASELINE-LT",
		"Ades-B-LTA": "PAdES-BASELINE-LTA"}
	signDoc := func(level, mode string) (int, map[string]any) {
		return c.post("/csc/v2/signatures/signDoc", map[string]any{"credentialID": cred, "SAD": sad, "operationMode": mode,
			"documents": []map[string]any{{"document": base64.StdEncoding.EncodeToString(in), "signature_format": "P",
				"conformance_level": level, "signAlgo": oidECDSASHA256, "signed_envelope_property": "Revision"}}})
	}
	if st, m := signDoc("Ades-B-B", "X"); st != 400 || m["error"] != "invalid_request" {
		t.Fatalf("operationMode X: %d %v", st, m)
	}
	for _, tc := range []struct{ level, mode string }{{"Ades-B-B", "S"}, {"Ades-B-T", ""}, {"Ades-B-LT", ""}, {"Ades-B-LTA", ""}, {"Ades-B-T", "A"}} {
		level := tc.level
		t.Run(level+" "+tc.mode, func(t *testing.T) {
			st, m := signDoc(level, tc.mode)
			if tc.mode == "A" {
				if st != 202 || m["responseID"] == nil {
					t.Fatalf("signDoc in operationMode A: %d %v", st, m)
				}
				st, m = c.poll(m["responseID"])
			}
			if st != 200 {
				t.Fatalf("signDoc: %d %v", st, m)
			}
			out, err := base64.StdEncoding.DecodeString(m["DocumentWithSignature"].([]any)[0].(string))
			if err != nil || !bytes.Equal(out[:len(in)], in) {
				t.Fatalf("not an incremental update of the document: %v", err)
			}
			rep, err := v.ValidatePDF(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			sigs := 0
			for _, s := range rep.Signatures {
				if s.Kind == "signature" {
					sigs++
					if s.Level != want[level] {
						t.Errorf("level %s, want %s", s.Level, want[level])
					}
				}
			}
			if rep.Indication != verify.TotalPassed || sigs != 1 {
				t.Fatalf("report: %s with %d signatures", rep.Indication, sigs)
			}
		})
	}
	// The five occurrences are used: the same document again is refused, in either mode.
	for _, mode := range []string{"S", "A"} {
		st, m := signDoc("Ades-B-B", mode)
		if mode == "A" && st == 202 {
			st, m = c.poll(m["responseID"]) // the refusal comes with the result
		}
		if st != 400 || m["error"] != "invalid_request" {
			t.Fatalf("a sixth signDoc (%s) under a SAD for five: %d %v", mode, st, m)
		}
	}
}

// TestCSCSignDocDigests: signDoc with documentDigests, as a PDF tool that keeps its file
// uses it. The tool prepares the signature field, the signer approves the digest of the
// byte range (PAdES) and the digest of an annex (CAdES), one signDoc call answers a
// detached CMS for each in SignatureObject; the tool embeds the first, and both
// verify. What the authorization does not cover, or a level that adds to the document,
// is refused and consumes nothing.
func TestCSCSignDocDigests(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("..", "testdata", "contract.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	c := newCSCClient(t, "signdoc-digests")
	dev := newSigner(t)
	cred := c.credential(dev)
	ctx := context.Background()
	out := &writerAt{}
	p, err := pdf.Prepare(ctx, bytes.NewReader(in), int64(len(in)), out, sha256.New(), pdf.PrepareRequest{
		Name: "CSC signer", Reason: "Signed through signDoc documentDigests", SigningTime: time.Now(), ContentsSize: 30000})
	if err != nil {
		t.Fatal(err)
	}
	annex := []byte("annex signed as a detached CAdES signature")
	annexSum := sha256.Sum256(annex)
	byteRange := base64.StdEncoding.EncodeToString(p.Digest)
	annexHash := base64.StdEncoding.EncodeToString(annexSum[:])
	sad := c.sad(dev, cred, byteRange, annexHash)
	signDoc := func(digests ...map[string]any) (int, map[string]any) {
		return c.post("/csc/v2/signatures/signDoc", map[string]any{"credentialID": cred, "SAD": sad, "documentDigests": digests})
	}
	for _, tc := range []struct {
		name    string
		digests []map[string]any
	}{
		{"a hash the SAD does not cover", []map[string]any{{"hashes": []string{byteRange, newHash()}, "hashAlgorithmOID": oidSHA256,
			"signature_format": "P", "conformance_level": "Ades-B-B", "signAlgo": oidECDSASHA256}}},
		{"a level that adds to the document", []map[string]any{{"hashes": []string{byteRange}, "signature_format": "P",
			"conformance_level": "Ades-B-LT", "signAlgo": oidECDSASHA256}}},
		{"a format that is not served", []map[string]any{{"hashes": []string{byteRange}, "signature_format": "X",
			"signAlgo": oidECDSASHA256}}},
		{"an RSA algorithm for an EC key", []map[string]any{{"hashes": []string{byteRange}, "signature_format": "P",
			"signAlgo": "1.2.840.113549.1.1.11"}}},
		{"no algorithm", []map[string]any{{"hashes": []string{byteRange}, "signature_format": "P"}}},
	} {
		if st, m := signDoc(tc.digests...); st != 400 || m["error"] != "invalid_request" {
			t.Fatalf("%s: %d %v", tc.name, st, m)
		}
	}
	// Both, in one call, the annex's hash in base64url.
	st, m := signDoc(
		map[string]any{"hashes": []string{byteRange}, "signature_format": "P", "conformance_level": "Ades-B-T", "signAlgo": oidECDSASHA256},
		map[string]any{"hashes": []string{base64.RawURLEncoding.EncodeToString(annexSum[:])}, "hashAlgorithmOID": oidSHA256,
			"signature_format": "C", "signAlgo": oidECDSASHA256})
	if st != 200 {
		t.Fatalf("signDoc with documentDigests: %d %v", st, m)
	}
	objs, _ := m["SignatureObject"].([]any)
	if len(objs) != 2 || m["DocumentWithSignature"] != nil {
		t.Fatalf("wanted two SignatureObject and no DocumentWithSignature: %v", m)
	}
	cms := make([][]byte, 2)
	for i, o := range objs {
		if cms[i], err = base64.StdEncoding.DecodeString(o.(string)); err != nil {
			t.Fatal(err)
		}
	}
	// The PAdES CMS goes into the tool's placeholder; the validator passes the file at B-T.
	if err := pdf.Embed(out, p, cms[0]); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.New(verify.Options{Anchors: []*x509.Certificate{testEnv.CA.Root()}}).ValidatePDF(ctx, out.b)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication != verify.TotalPassed || len(rep.Signatures) != 1 || rep.Signatures[0].Level != "PAdES-BASELINE-T" {
		t.Fatalf("report: %+v", rep)
	}
	// The CAdES one signs the annex's digest, claims a signing time; the PAdES one does not.
	for i, tc := range []struct {
		digest      []byte
		signingTime bool
	}{{p.Digest, false}, {annexSum[:], true}} {
		sd, err := cades.Parse(cms[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sd.Verify(tc.digest); err != nil {
			t.Fatalf("SignatureObject %d: %v", i, err)
		}
		if got := !sd.Signers[0].SigningTime.IsZero(); got != tc.signingTime {
			t.Errorf("SignatureObject %d: signing-time attribute %v, want %v", i, got, tc.signingTime)
		}
	}
	// Both occurrences are used.
	if st, m := signDoc(map[string]any{"hashes": []string{annexHash}, "signature_format": "C", "signAlgo": oidECDSASHA256}); st != 400 {
		t.Fatalf("the used-up SAD signed again: %d %v", st, m)
	}
}

// TestCSCAuthorizeErrors: oauth2/authorize in a browser shows an unknown client or an
// unregistered redirect URI on a page and never redirects there; once both are good,
// every other error goes back to the redirect URI with the state (RFC 6749 §4.1.2.1),
// and JSON clients get the CSC error.
func TestCSCAuthorizeErrors(t *testing.T) {
	c := newCSCClient(t, "authorize-errors")
	dev := newSigner(t)
	cred := c.credential(dev)
	sum := sha256.Sum256([]byte(strings.Repeat("v", 43)))
	good := func() url.Values {
		return url.Values{"response_type": {"code"}, "client_id": {c.id}, "redirect_uri": {c.redirect}, "scope": {"credential"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "state": {"st-42"},
			"credentialID": {cred}, "numSignatures": {"1"}, "hashes": {base64.RawURLEncoding.EncodeToString(sum[:])},
			"hashAlgorithmOID": {oidSHA256}}
	}
	with := func(k, v string) url.Values {
		q := good()
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name   string
		q      url.Values
		accept string
		status int
		code   string // the error: in the redirect (303) or the JSON body (4xx with JSON)
	}{
		{"unknown client", with("client_id", "00000000-0000-0000-0000-000000000000"), "text/html", 400, ""},
		{"unregistered redirect URI", with("redirect_uri", c.redirect+"/elsewhere"), "text/html", 400, ""},
		{"no PKCE", with("code_challenge", ""), "text/html", 303, "invalid_request"},
		{"PKCE plain", with("code_challenge_method", "plain"), "text/html", 303, "invalid_request"},
		{"implicit grant", with("response_type", "token"), "text/html", 303, "unsupported_response_type"},
		{"another scope", with("scope", "service"), "text/html", 303, "invalid_scope"},
		{"numSignatures not the number of hashes", with("numSignatures", "2"), "text/html", 303, "invalid_request"},
		{"unknown credential", with("credentialID", "ffff"), "text/html", 303, "invalid_request"},
		{"no PKCE, JSON", with("code_challenge", ""), "application/json", 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", testSrv.URL+"/csc/v2/oauth2/authorize?"+tc.q.Encode(), nil)
			req.Header.Set("Accept", tc.accept)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("HTTP %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			loc := resp.Header.Get("Location")
			switch {
			case tc.status == 303:
				u, err := url.Parse(loc)
				if err != nil {
					t.Fatal(err)
				}
				q := u.Query()
				if base := strings.Split(loc, "?")[0]; base != c.redirect || q.Get("error") != tc.code || q.Get("state") != "st-42" ||
					q.Get("error_description") == "" || q.Get("code") != "" {
					t.Fatalf("Location %q, want %s?error=%s&state=st-42", loc, c.redirect, tc.code)
				}
			case loc != "":
				t.Fatalf("redirected to %q", loc)
			case tc.code != "":
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil || m["error"] != tc.code {
					t.Fatalf("body %s, want error %s", body, tc.code)
				}
			}
		})
	}
	// None of them reached the phone.
	rs, err := dev.Pending(context.Background(), time.Second)
	if err != nil || len(rs) != 0 {
		t.Fatalf("the phone was asked: %+v %v", rs, err)
	}
}

// codeFlow runs oauth2/authorize (JSON) for the hashes, approves on the phone, follows
// the poll to the redirect and returns the code and the PKCE verifier.
func (c *cscClient) codeFlow(dev *client.Client, cred string, hashes ...string) (code, verifier string) {
	c.t.Helper()
	verifier = strings.Repeat("k", 11) + base64.RawURLEncoding.EncodeToString([]byte(newHash()))
	sum := sha256.Sum256([]byte(verifier))
	for i, h := range hashes {
		b, _ := base64.StdEncoding.DecodeString(h)
		hashes[i] = base64.RawURLEncoding.EncodeToString(b)
	}
	q := url.Values{"response_type": {"code"}, "client_id": {c.id}, "redirect_uri": {c.redirect}, "scope": {"credential"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}, "state": {"s"},
		"credentialID": {cred}, "numSignatures": {fmt.Sprint(len(hashes))}, "hashes": {strings.Join(hashes, ",")},
		"hashAlgorithmOID": {oidSHA256}}
	req, _ := http.NewRequest("GET", testSrv.URL+"/csc/v2/oauth2/authorize?"+q.Encode(), nil)
	req.Header.Set("Accept", "application/json")
	st, m := c.do(req)
	if st != 200 {
		c.t.Fatalf("oauth2/authorize: %d %v", st, m)
	}
	approveOnPhone(c.t, dev, m["icon"].(map[string]any)["id"].(string))
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(testSrv.URL + m["poll"].(string))
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 303 || loc.Query().Get("code") == "" {
		c.t.Fatalf("poll: %d %s", resp.StatusCode, loc)
	}
	return loc.Query().Get("code"), verifier
}

// TestCSCCredentialToken: a credential-scoped token (oauth2code) lists its credential
// without userID (the signer is implicit) and works as the SAD parameter for older
// clients (CSC 2.0.0.2 §11.9); its authorization code works once, and a second use,
// refused, leaves the token usable (a refused call consumes nothing).
func TestCSCCredentialToken(t *testing.T) {
	c := newCSCClient(t, "credential-token")
	other := newCSCClient(t, "credential-token-other")
	dev := newSigner(t)
	cred := c.credential(dev)
	h := newHash()
	code, verifier := c.codeFlow(dev, cred, h)
	exchange := func() (int, map[string]any) {
		return c.form("/csc/v2/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {c.id}, "client_secret": {c.key},
			"code": {code}, "redirect_uri": {c.redirect}, "code_verifier": {verifier}})
	}
	st, m := exchange()
	if st != 200 || m["scope"] != "credential" {
		t.Fatalf("token: %d %v", st, m)
	}
	tok := m["access_token"].(string)
	st, m = c.post("/csc/v2/credentials/list", map[string]any{}, tok)
	if ids, _ := m["credentialIDs"].([]any); st != 200 || len(ids) != 1 || ids[0] != cred {
		t.Fatalf("credentials/list without userID, credential token: %d %v", st, m)
	}
	if st, m := c.post("/csc/v2/credentials/list", map[string]any{}); st != 400 || m["error"] != "invalid_request" {
		t.Fatalf("credentials/list without userID, service token: %d %v", st, m)
	}
	signHash := func(cl *cscClient, sad string) (int, map[string]any) {
		return cl.post("/csc/v2/signatures/signHash", map[string]any{"credentialID": cred, "SAD": sad, "hashes": []string{h},
			"hashAlgorithmOID": oidSHA256, "signAlgo": oidECDSASHA256})
	}
	if st, m := signHash(other, tok); st != 400 {
		t.Fatalf("another client's credential token as the SAD: %d %v", st, m)
	}
	// The code again: invalid_grant; the token it gave still works.
	if st, m := exchange(); st != 400 || m["error"] != "invalid_grant" {
		t.Fatalf("the code reused: %d %v", st, m)
	}
	if st, m := signHash(c, tok); st != 200 || len(m["signatures"].([]any)) != 1 {
		t.Fatalf("the credential token as the SAD: %d %v", st, m)
	}
}
