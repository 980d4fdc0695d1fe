package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
)

// problem is the part of an RFC 9457 answer the device shows.
type problem struct {
	Title        string `json:"title"`
	Status       int    `json:"status"`
	Detail       string `json:"detail"`
	Code         string `json:"code"`
	AttemptsLeft *int   `json:"attemptsLeft"`
}

func (p problem) Error() string {
	switch p.Code {
	case "wrong-pin":
		if p.AttemptsLeft != nil {
			return fmt.Sprintf("wrong PIN: %d attempts left", *p.AttemptsLeft)
		}
		return "wrong PIN"
	case "wrong-icon":
		return "wrong icon: the request has been refused"
	case "pin-locked":
		return "locked: too many wrong PINs; ask for a new activation"
	case "expired":
		return "expired: the request is no longer valid"
	case "not-pending":
		return "no longer pending: " + p.Detail
	}
	if p.Title == "" {
		return fmt.Sprintf("server answered HTTP %d", p.Status)
	}
	if p.Detail != "" && p.Status < 500 {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

type client struct {
	base string
	st   *state
	http *http.Client
}

func newClient(base string, st *state, timeout time.Duration) (*client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q is not an http(s) URL", base)
	}
	return &client{base: strings.TrimRight(base, "/"), st: st, http: &http.Client{Timeout: timeout}}, nil
}

// do sends a call (signed when the device is enrolled) and decodes a JSON answer into v.
func (c *client) do(ctx context.Context, method, path string, body, v any) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.st != nil {
		h, err := device.SignCall(c.st.key, c.st.DeviceID, method, req.URL.RequestURI(), raw, time.Now())
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", h)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the server: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var p problem
		if json.Unmarshal(b, &p) != nil || p.Status == 0 {
			p.Status = resp.StatusCode
		}
		return p
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("unexpected answer from the server: %v", err)
		}
	}
	return nil
}

func enroll(ctx context.Context, o opts, out io.Writer) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	pk8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	c, err := newClient(o.server, nil, 60*time.Second)
	if err != nil {
		return err
	}
	var res struct {
		DeviceID string `json:"deviceId"`
		UserID   string `json:"userId"`
	}
	body := map[string]string{"code": o.code, "publicKey": base64.StdEncoding.EncodeToString(spki), "pin": o.pin}
	if err := c.do(ctx, http.MethodPost, "/v1/devices/enroll", body, &res); err != nil {
		return err
	}
	st := &state{Server: c.base, DeviceID: res.DeviceID, UserID: res.UserID, DeviceKey: pk8, EnrolledAt: time.Now().UTC().Format(time.RFC3339)}
	if err := st.save(o.state); err != nil {
		return fmt.Errorf("enrolled, but the state file could not be written: %w", err)
	}
	return printJSON(out, map[string]string{"deviceId": res.DeviceID, "userId": res.UserID})
}

// session loads the state and a client for it.
func session(o opts, timeout time.Duration) (*client, error) {
	st, err := loadState(o.state)
	if err != nil {
		return nil, err
	}
	server := st.Server
	if o.server != "" {
		server = o.server
	}
	return newClient(server, st, timeout)
}

// pendingItem is what the device shows for one request.
type pendingItem struct {
	ID         string `json:"id"`
	Integrator string `json:"integrator"`
	Status     string `json:"status,omitempty"`
	Documents  []struct {
		Name            string `json:"name"`
		Digest          string `json:"digest"`
		DigestAlgorithm string `json:"digestAlgorithm"`
		Fingerprint     string `json:"fingerprint"`
	} `json:"documents"`
	Icons []struct {
		ID    string `json:"id"`
		Label string `json:"label"`
	} `json:"icons"`
	ExpiresAt time.Time `json:"expiresAt"`
	Nonce     string    `json:"nonce,omitempty"`
}

func pending(ctx context.Context, o opts, out io.Writer) error {
	c, err := session(o, o.wait+30*time.Second)
	if err != nil {
		return err
	}
	path := "/v1/device/requests"
	if o.wait > 0 {
		path += "?wait=" + url.QueryEscape(o.wait.String())
	}
	items := []pendingItem{}
	if err := c.do(ctx, http.MethodGet, path, nil, &items); err != nil {
		return err
	}
	return printJSON(out, items)
}

func approve(ctx context.Context, o opts, id string, out io.Writer) error {
	c, err := session(o, 90*time.Second)
	if err != nil {
		return err
	}
	var it pendingItem
	if err := c.do(ctx, http.MethodGet, "/v1/device/requests/"+url.PathEscape(id), nil, &it); err != nil {
		return err
	}
	if it.Status != "" && it.Status != "pending" {
		return fmt.Errorf("no longer pending: the request is %s", it.Status)
	}
	// The challenge is rebuilt from what this device shows, so the signature covers
	// exactly the digests the signer saw.
	docs := make([]device.ChallengeDoc, len(it.Documents))
	for i, d := range it.Documents {
		h, err := signer.ParseHash(d.DigestAlgorithm)
		if err != nil {
			return err
		}
		dg, err := base64.StdEncoding.DecodeString(d.Digest)
		if err != nil {
			return fmt.Errorf("server sent a malformed digest")
		}
		docs[i] = device.ChallengeDoc{Hash: h, Digest: dg}
	}
	sig, err := device.SignBytes(c.st.key, device.Challenge(it.ID, docs, o.icon, it.Nonce))
	if err != nil {
		return err
	}
	var res struct {
		Status string `json:"status"`
	}
	body := map[string]string{"icon": o.icon, "pin": o.pin, "nonce": it.Nonce, "signature": base64.StdEncoding.EncodeToString(sig)}
	if err := c.do(ctx, http.MethodPost, "/v1/device/requests/"+url.PathEscape(id)+"/approve", body, &res); err != nil {
		return err
	}
	if res.Status == string(signer.StatusFailed) {
		return fmt.Errorf("approved, but signing failed on the server")
	}
	return printJSON(out, map[string]string{"id": id, "status": res.Status})
}

func refuse(ctx context.Context, o opts, id string, out io.Writer) error {
	c, err := session(o, 30*time.Second)
	if err != nil {
		return err
	}
	if err := c.do(ctx, http.MethodPost, "/v1/device/requests/"+url.PathEscape(id)+"/refuse", struct{}{}, nil); err != nil {
		return err
	}
	return printJSON(out, map[string]string{"id": id, "status": "refused"})
}
