package client

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
	"strconv"
	"strings"
	"time"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/signer"
)

// Problem is the part of an RFC 9457 answer the device shows.
type Problem struct {
	Title        string `json:"title"`
	Status       int    `json:"status"`
	Detail       string `json:"detail"`
	Code         string `json:"code"`
	AttemptsLeft *int   `json:"attemptsLeft"`
}

// Error gives one line saying why.
func (p Problem) Error() string {
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

// Client talks to one server as one device.
type Client struct {
	base string
	st   *State
	http *http.Client
}

// New returns a client for an enrolled device; server overrides the state's server when
// not empty. timeout bounds each call.
func New(st *State, server string, timeout time.Duration) (*Client, error) {
	if server == "" {
		server = st.Server
	}
	return newClient(server, st, timeout)
}

func newClient(base string, st *State, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q is not an http(s) URL", base)
	}
	return &Client{base: strings.TrimRight(base, "/"), st: st, http: &http.Client{Timeout: timeout}}, nil
}

// do sends a call (signed when the device is enrolled) and decodes a JSON answer into v.
func (c *Client) do(ctx context.Context, method, path string, body, v any) error {
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
		var p Problem
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

// Enroll makes a device key, registers it with an activation code and sets the PIN. The
// returned state must be saved by the caller.
func Enroll(ctx context.Context, server, code, pin string) (*State, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	pk8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	c, err := newClient(server, nil, 60*time.Second)
	if err != nil {
		return nil, err
	}
	var res struct {
		DeviceID string `json:"deviceId"`
		UserID   string `json:"userId"`
	}
	body := map[string]string{"code": code, "publicKey": base64.StdEncoding.EncodeToString(spki), "pin": pin}
	if err := c.do(ctx, http.MethodPost, "/v1/devices/enroll", body, &res); err != nil {
		return nil, err
	}
	return &State{Server: c.base, DeviceID: res.DeviceID, UserID: res.UserID, DeviceKey: pk8,
		EnrolledAt: time.Now().UTC().Format(time.RFC3339), key: key}, nil
}

// Request is what the device shows for one request.
type Request struct {
	ID         string `json:"id"`
	Integrator string `json:"integrator"`
	Status     string `json:"status,omitempty"`
	// Description is what the integrator says is approved (CSC authorizations).
	Description string `json:"description,omitempty"`
	Documents   []struct {
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

// Pending lists the user's pending requests, waiting up to wait for one to arrive.
func (c *Client) Pending(ctx context.Context, wait time.Duration) ([]Request, error) {
	path := "/v1/device/requests"
	if wait > 0 {
		path += "?wait=" + url.QueryEscape(wait.String())
	}
	items := []Request{}
	if err := c.do(ctx, http.MethodGet, path, nil, &items); err != nil {
		return nil, err
	}
	return items, nil
}

// Request reads one request with its current challenge nonce.
func (c *Client) Request(ctx context.Context, id string) (*Request, error) {
	var it Request
	if err := c.do(ctx, http.MethodGet, "/v1/device/requests/"+url.PathEscape(id), nil, &it); err != nil {
		return nil, err
	}
	return &it, nil
}

// Approve approves request id with the icon the signer picked and the PIN; it returns
// the request's status afterwards (signed, or failed when the server could not sign).
func (c *Client) Approve(ctx context.Context, id, icon, pin string) (string, error) {
	it, err := c.Request(ctx, id)
	if err != nil {
		return "", err
	}
	if it.Status != "" && it.Status != "pending" {
		return "", fmt.Errorf("no longer pending: the request is %s", it.Status)
	}
	// The challenge is rebuilt from what this device shows, so the signature covers
	// exactly the digests the signer saw.
	docs := make([]device.ChallengeDoc, len(it.Documents))
	for i, d := range it.Documents {
		h, err := signer.ParseHash(d.DigestAlgorithm)
		if err != nil {
			return "", err
		}
		dg, err := base64.StdEncoding.DecodeString(d.Digest)
		if err != nil {
			return "", fmt.Errorf("server sent a malformed digest")
		}
		docs[i] = device.ChallengeDoc{Hash: h, Digest: dg}
	}
	sig, err := device.SignBytes(c.st.key, device.Challenge(it.ID, docs, icon, it.Nonce))
	if err != nil {
		return "", err
	}
	var res struct {
		Status string `json:"status"`
	}
	body := map[string]string{"icon": icon, "pin": pin, "nonce": it.Nonce, "signature": base64.StdEncoding.EncodeToString(sig)}
	if err := c.do(ctx, http.MethodPost, "/v1/device/requests/"+url.PathEscape(id)+"/approve", body, &res); err != nil {
		return "", err
	}
	if res.Status == string(signer.StatusFailed) {
		return res.Status, fmt.Errorf("approved, but signing failed on the server")
	}
	return res.Status, nil
}

// Refuse refuses request id.
func (c *Client) Refuse(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/v1/device/requests/"+url.PathEscape(id)+"/refuse", struct{}{}, nil)
}

// State returns the device's state (ids and server).
func (c *Client) State() *State { return c.st }

// HistoryItem is one past request as the device lists it.
type HistoryItem struct {
	ID         string `json:"id"`
	Integrator string `json:"integrator"`
	Documents  []struct {
		Name string `json:"name"`
	} `json:"documents"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// History lists the user's requests, newest first, up to limit.
func (c *Client) History(ctx context.Context, limit int) ([]HistoryItem, error) {
	items := []HistoryItem{}
	if err := c.do(ctx, http.MethodGet, "/v1/device/history?limit="+strconv.Itoa(limit), nil, &items); err != nil {
		return nil, err
	}
	return items, nil
}

// ChangePIN replaces the PIN; the old one is required.
func (c *Client) ChangePIN(ctx context.Context, oldPIN, newPIN string) error {
	return c.do(ctx, http.MethodPost, "/v1/device/pin", map[string]string{"pin": oldPIN, "newPin": newPIN}, nil)
}

// PushSubscription is what a browser's PushSubscription.toJSON() gives: where its push
// service takes messages, and the keys (base64url) they are encrypted to.
type PushSubscription struct {
	Endpoint       string   `json:"endpoint"`
	ExpirationTime *float64 `json:"expirationTime"`
	Keys           struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// SubscribePush registers a Web Push subscription for this device: the service then
// sends each new request's id there.
func (c *Client) SubscribePush(ctx context.Context, sub PushSubscription) error {
	return c.do(ctx, http.MethodPost, "/v1/device/push-subscriptions", sub, nil)
}
