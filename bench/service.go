package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/paraphe/paraphe/app"
	"github.com/paraphe/paraphe/config"
	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/device/client"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/signer"
)

// benchPIN is every simulated signer's PIN.
const benchPIN = "71294"

// service is Paraphe running in this process on a loopback listener, as paraphe serve
// runs it (same http.Server timeouts, background workers running).
type service struct {
	env    *app.Env
	svc    *app.Service
	srv    *http.Server
	base   string
	apiKey string
	// clientID is the integrator's id: its OAuth client id on the CSC API.
	clientID string
	http     *http.Client
	stopBG   context.CancelFunc
	wg       sync.WaitGroup
	users    int
	errLog   *errTail
}

// serviceConfig selects what differs between the phases.
type serviceConfig struct {
	dataDir    string
	keyType    hsm.KeyType
	keyStorage hsm.KeyStorage // "" : token
	maxPending int
	pdfLimit   int64
	conns      int       // idle connections the client keeps to the server
	logTo      io.Writer // the server's log; nil discards it
}

// startService opens the data folder and serves it on 127.0.0.1:0. The listener is
// made first so that the configuration (certificate URLs, the built-in TSA's URL) names
// the real address.
func startService(ctx context.Context, sc serviceConfig) (*service, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: listen: %w", err)
	}
	cfg := config.Default(sc.dataDir)
	cfg.Listen = ln.Addr().String()
	cfg.KeyType = sc.keyType
	if sc.keyStorage != "" {
		cfg.KeyStorage = sc.keyStorage
	}
	cfg.Requests.MaxPending = sc.maxPending
	cfg.Limits.PDFBody = sc.pdfLimit
	// Rate limits off: one loopback address plays every device and the integrator, and
	// the bench measures capacity, not the limiter.
	cfg.RateLimits = config.RateLimits{}
	// The server logs as in production (JSON, info: one access-log line per call), to
	// a sink, so that logging costs what it costs without flooding the terminal.
	tail := &errTail{}
	var logTo io.Writer = tail
	if sc.logTo != nil {
		logTo = io.MultiWriter(tail, sc.logTo)
	}
	log := slog.New(slog.NewJSONHandler(logTo, &slog.HandlerOptions{Level: slog.LevelInfo}))
	svc, err := app.Build(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	s := &service{
		env:    svc.Env,
		svc:    svc,
		errLog: tail,
		base:   "http://" + ln.Addr().String(),
		srv: &http.Server{
			Handler:           svc.Handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute,
			WriteTimeout:      2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
		},
		http: &http.Client{
			Transport: &http.Transport{MaxIdleConns: sc.conns, MaxIdleConnsPerHost: sc.conns, IdleConnTimeout: time.Minute},
			Timeout:   5 * time.Minute,
		},
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopBG = stop
	s.wg.Go(func() { svc.RunWorkers(bg, log) })
	s.wg.Go(func() { s.srv.Serve(ln) })
	created, err := svc.Integrators.Add(ctx, "bench")
	if err != nil {
		s.close()
		return nil, err
	}
	s.apiKey, s.clientID = created.APIKey, created.ID
	return s, nil
}

// explain adds the server's last error log lines to err, which says little by itself
// when the server answered 500.
func (s *service) explain(err error) error {
	if err == nil {
		return nil
	}
	if lines := s.errLog.lines(); len(lines) > 0 {
		return fmt.Errorf("%w (server log: %s)", err, strings.Join(lines, " | "))
	}
	return err
}

// errTail keeps the last few ERROR records of the server's JSON log (one Write per
// record) and drops everything else.
type errTail struct {
	mu   sync.Mutex
	last []string
}

// errTailKeep is the number of error records kept: the cause and a few consequences.
const errTailKeep = 3

func (t *errTail) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(`"level":"ERROR"`)) {
		t.mu.Lock()
		t.last = append(t.last, strings.TrimSpace(string(p)))
		if len(t.last) > errTailKeep {
			t.last = t.last[len(t.last)-errTailKeep:]
		}
		t.mu.Unlock()
	}
	return len(p), nil
}

func (t *errTail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.last...)
}

// close stops the server (every connection, event streams included), the workers, and
// closes the parts (the HSM last).
func (s *service) close() {
	s.srv.Close()
	s.stopBG()
	s.wg.Wait()
	s.http.CloseIdleConnections()
	s.env.Close()
}

// dev is a simulated signer's phone: it signs its calls and its approvals with its own
// P-256 device key, as device/client does, on the bench's shared HTTP client.
type dev struct {
	st  *client.State
	key *ecdsa.PrivateKey
}

// newDevices creates n users and enrolls a device for each, over HTTP, n at a time
// up to par.
func (s *service) newDevices(ctx context.Context, n, par int) ([]*dev, error) {
	out := make([]*dev, n)
	errs := make([]error, n)
	sem := make(chan struct{}, max(par, 1))
	var wg sync.WaitGroup
	for i := range out {
		s.users++
		seq := s.users
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], _, errs[i] = s.newDevice(ctx, seq)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// enrollTimes is how long the two steps of one user's enrollment took: the operator
// creating the user (store, audit) and the phone's enrollment call (PIN verifier, key
// generation, certificate, store, audit: what the server does for POST
// /v1/devices/enroll, round trip on loopback).
type enrollTimes struct {
	add, enroll time.Duration
}

// newDevice creates user number seq (operator side, as `paraphe users add` does) and
// enrolls a phone for it with a new P-256 device key, as device/client.Enroll does, but
// on the bench's pooled HTTP client: a client per enrollment would open a connection
// each time and, over 100,000 users, exhaust the loopback's ephemeral ports.
func (s *service) newDevice(ctx context.Context, seq int) (*dev, enrollTimes, error) {
	var tm enrollTimes
	t0 := time.Now()
	code, err := s.svc.Devices.AddUser(ctx, device.NewUser{GivenName: "Bench", Surname: fmt.Sprintf("Signer%d", seq),
		Email: fmt.Sprintf("bench%d@example.test", seq), Phone: fmt.Sprintf("+3247%07d", seq)})
	if err != nil {
		return nil, tm, err
	}
	tm.add = time.Since(t0)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tm, fmt.Errorf("bench: device key: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, tm, fmt.Errorf("bench: device key: %w", err)
	}
	body, err := json.Marshal(map[string]string{"code": code.Code, "publicKey": base64.StdEncoding.EncodeToString(spki), "pin": benchPIN})
	if err != nil {
		return nil, tm, err
	}
	var res struct {
		DeviceID string `json:"deviceId"`
		UserID   string `json:"userId"`
	}
	t1 := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/v1/devices/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, tm, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := s.do(req, http.StatusCreated, &res); err != nil {
		return nil, tm, fmt.Errorf("bench: enroll: %w", err)
	}
	tm.enroll = time.Since(t1)
	if res.DeviceID == "" || res.UserID != code.UserID {
		return nil, tm, fmt.Errorf("bench: enroll answered device %q user %q for user %s", res.DeviceID, res.UserID, code.UserID)
	}
	// The state holds the device key, as one from client.Enroll does: the pending
	// phase's event streams sign their calls with it through client.New.
	st, err := client.NewState(s.base, res.DeviceID, res.UserID, key)
	if err != nil {
		return nil, tm, fmt.Errorf("bench: %w", err)
	}
	return &dev{st: st, key: key}, tm, nil
}

// httpError is an answer with an unexpected status.
type httpError struct {
	method, path string
	status       int
	body         string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("bench: %s %s: HTTP %d: %s", e.method, e.path, e.status, e.body)
}

// call sends one call with a small body and decodes the answer into out (a JSON
// value, an io.Writer for raw bytes, or nil). sign signs a device call; nil sends the
// integrator's bearer key.
func (s *service) call(ctx context.Context, method, path, contentType string, body []byte, want int, out any, sign func(*http.Request, []byte) error) error {
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if sign != nil {
		if err := sign(req, body); err != nil {
			return err
		}
	} else {
		req.Header.Set("Authorization", "Bearer "+s.apiKey)
	}
	return s.do(req, want, out)
}

// do sends req and reads the answer into out.
func (s *service) do(req *http.Request, want int, out any) error {
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return &httpError{req.Method, req.URL.Path, resp.StatusCode, string(b)}
	}
	if w, ok := out.(io.Writer); ok {
		_, err = io.Copy(w, resp.Body)
		return err
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// signer returns the function that signs a device call.
func (d *dev) signer() func(*http.Request, []byte) error {
	return func(req *http.Request, body []byte) error {
		h, err := device.SignCall(d.key, d.st.DeviceID, req.Method, req.URL.RequestURI(), body, time.Now())
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", h)
		return nil
	}
}

// created is the part of a create answer the bench uses.
type created struct {
	ID   string `json:"id"`
	Icon struct {
		ID string `json:"id"`
	} `json:"icon"`
}

// deviceRequest is the part of the device's view of a request the approval needs.
type deviceRequest struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Nonce     string `json:"nonce"`
	Documents []struct {
		Digest          string `json:"digest"`
		DigestAlgorithm string `json:"digestAlgorithm"`
	} `json:"documents"`
}

// fetchForApproval is what the phone does when the signer opens a request: read it
// with its current challenge nonce.
func (s *service) fetchForApproval(ctx context.Context, d *dev, id string) (*deviceRequest, error) {
	var it deviceRequest
	if err := s.call(ctx, http.MethodGet, "/v1/device/requests/"+url.PathEscape(id), "", nil, http.StatusOK, &it, d.signer()); err != nil {
		return nil, err
	}
	return &it, nil
}

// approveBody builds the approval: the device signs the challenge rebuilt from the
// digests it shows, the icon and the nonce, and sends the PIN.
func approveBody(d *dev, it *deviceRequest, icon string) ([]byte, error) {
	docs := make([]device.ChallengeDoc, len(it.Documents))
	for i, doc := range it.Documents {
		h, err := signer.ParseHash(doc.DigestAlgorithm)
		if err != nil {
			return nil, err
		}
		dg, err := base64.StdEncoding.DecodeString(doc.Digest)
		if err != nil {
			return nil, fmt.Errorf("bench: malformed digest from the server: %w", err)
		}
		docs[i] = device.ChallengeDoc{Hash: h, Digest: dg}
	}
	sig, err := device.SignBytes(d.key, device.Challenge(it.ID, docs, icon, it.Nonce))
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"icon": icon, "pin": benchPIN, "nonce": it.Nonce, "signature": base64.StdEncoding.EncodeToString(sig)})
}

// approve sends the approval and checks that the request was signed.
func (s *service) approve(ctx context.Context, d *dev, id string, body []byte) error {
	var res struct {
		Status string `json:"status"`
	}
	if err := s.call(ctx, http.MethodPost, "/v1/device/requests/"+url.PathEscape(id)+"/approve", "application/json",
		body, http.StatusOK, &res, d.signer()); err != nil {
		return err
	}
	if res.Status != string(signer.StatusSigned) {
		return fmt.Errorf("bench: request %s is %q after approval, want signed", id, res.Status)
	}
	return nil
}

// countWriter counts bytes and keeps the first few.
type countWriter struct {
	n    int64
	head []byte
}

func (w *countWriter) Write(p []byte) (int, error) {
	if len(w.head) < 16 {
		w.head = append(w.head, p[:min(len(p), 16-len(w.head))]...)
	}
	w.n += int64(len(p))
	return len(p), nil
}

// fetchResult downloads document 0 of a signed request and returns its size and first
// bytes.
func (s *service) fetchResult(ctx context.Context, id string) (*countWriter, error) {
	w := &countWriter{}
	if err := s.call(ctx, http.MethodGet, "/v1/signature-requests/"+url.PathEscape(id)+"/documents/0", "", nil, http.StatusOK, w, nil); err != nil {
		return nil, err
	}
	if w.n == 0 {
		return nil, fmt.Errorf("bench: request %s: empty result", id)
	}
	return w, nil
}
