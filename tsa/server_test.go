package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/paraphe/paraphe/cades"
)

func marshalReq(t testing.TB, r *timestamp.Request) []byte {
	t.Helper()
	der, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestRespondGranted(t *testing.T) {
	p := newTestPKI(t)
	fixed := time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tests := []struct {
		name     string
		hash     crypto.Hash
		certReq  bool
		policy   asn1.ObjectIdentifier
		accuracy time.Duration
		wantTime time.Time
	}{
		{"sha256 certs", crypto.SHA256, true, nil, 0, fixed.Truncate(time.Second)},
		{"sha384 no certs", crypto.SHA384, false, nil, 0, fixed.Truncate(time.Second)},
		{"sha512 policy", crypto.SHA512, true, DevPolicy, 0, fixed.Truncate(time.Second)},
		{"millisecond accuracy", crypto.SHA256, true, nil, 1500 * time.Millisecond, fixed.Truncate(time.Second)},
		{"sub-second accuracy", crypto.SHA256, true, nil, 20 * time.Millisecond, fixed.Truncate(time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, p, nil, ServerConfig{Now: func() time.Time { return fixed }, Accuracy: tt.accuracy})
			h := tt.hash.New()
			h.Write([]byte("content"))
			digest := h.Sum(nil)
			nonce := big.NewInt(0x1234567890)
			resp, err := s.Respond(context.Background(), marshalReq(t, &timestamp.Request{
				HashAlgorithm: tt.hash, HashedMessage: digest, Certificates: tt.certReq, Nonce: nonce, TSAPolicyOID: tt.policy}))
			if err != nil {
				t.Fatal(err)
			}
			ts, err := timestamp.ParseResponse(resp)
			if err != nil {
				t.Fatalf("digitorus ParseResponse: %v", err)
			}
			if ts.HashAlgorithm != tt.hash || !bytes.Equal(ts.HashedMessage, digest) || ts.Nonce.Cmp(nonce) != 0 {
				t.Errorf("imprint/nonce not echoed: %v %x %v", ts.HashAlgorithm, ts.HashedMessage, ts.Nonce)
			}
			if !ts.Policy.Equal(DevPolicy) || ts.SerialNumber.Cmp(big.NewInt(1)) != 0 {
				t.Errorf("policy %v serial %v", ts.Policy, ts.SerialNumber)
			}
			wantAcc := tt.accuracy
			if wantAcc == 0 {
				wantAcc = time.Second
			}
			if ts.Accuracy != wantAcc || !ts.Time.Equal(tt.wantTime) {
				t.Errorf("accuracy %v time %v, want %v %v", ts.Accuracy, ts.Time, wantAcc, tt.wantTime)
			}
			if tt.certReq != (len(ts.Certificates) == 2) || (!tt.certReq && len(ts.Certificates) != 0) {
				t.Errorf("certReq %v but %d certificates", tt.certReq, len(ts.Certificates))
			}
			// cades parses it strictly and the signature verifies with the TSA certificate.
			tok, err := cades.ParseTimestampToken(ts.RawToken)
			if err != nil {
				t.Fatal(err)
			}
			si := &tok.SignedData.Signers[0]
			if len(si.SigningCertificateV2) != 1 || !si.SigningTime.IsZero() {
				t.Errorf("signed attributes: scv2 %d, signing time %v", len(si.SigningCertificateV2), si.SigningTime)
			}
			d := sha256.Sum256(tok.SignedData.Content)
			if err := tok.SignedData.VerifySigner(si, p.tsa, d[:]); err != nil {
				t.Errorf("VerifySigner: %v", err)
			}
		})
	}
}

func TestRespondRejections(t *testing.T) {
	p := newTestPKI(t)
	s := newTestServer(t, p, nil, ServerConfig{})
	good := marshalReq(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digestOf("x"), Certificates: true})
	sha1Digest := make([]byte, 20)
	tests := []struct {
		name string
		req  []byte
		want FailureInfo
	}{
		{"empty", nil, FailBadDataFormat},
		{"garbage", []byte("hello, TSA"), FailBadDataFormat},
		{"trailing data", append(slices.Clone(good), 0), FailBadDataFormat},
		{"truncated", good[:len(good)-3], FailBadDataFormat},
		{"sha1", marshalReq(t, &timestamp.Request{HashAlgorithm: crypto.SHA1, HashedMessage: sha1Digest}), FailBadAlg},
		{"unknown hash", rawReq(t, 1, asn1.ObjectIdentifier{1, 2, 3, 4}, make([]byte, 32), nil), FailBadAlg},
		{"wrong length", marshalReq(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: []byte{1, 2, 3}}), FailBadDataFormat},
		{"version 2", rawReq(t, 2, sha256OID(t), make([]byte, 32), nil), FailBadDataFormat},
		{"unknown policy", marshalReq(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digestOf("x"), TSAPolicyOID: asn1.ObjectIdentifier{1, 2, 3}}), FailUnacceptedPolicy},
		{"extension", rawReq(t, 1, sha256OID(t), make([]byte, 32), []byte{0xa0, 0x00}), FailUnacceptedExtension},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.Respond(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("Respond returned a Go error for a client mistake: %v", err)
			}
			r, err := parseResponse(resp)
			if err != nil {
				t.Fatal(err)
			}
			if r.status != statusRejection || !slices.Equal(r.fails, []FailureInfo{tt.want}) || r.token != nil || len(r.text) != 1 {
				t.Errorf("got %s, token %v; want rejection %v", r.statusError(), r.token != nil, tt.want)
			}
			// The independent parser agrees it is a rejection naming the failure.
			if _, err := timestamp.ParseResponse(resp); err == nil || !strings.Contains(err.Error(), "rejected") {
				t.Errorf("digitorus: %v", err)
			}
		})
	}
}

// rawReq encodes a TimeStampReq by hand (for shapes digitorus cannot make).
func rawReq(t testing.TB, version int, hashOID asn1.ObjectIdentifier, digest, extra []byte) []byte {
	t.Helper()
	type alg struct{ Algorithm asn1.ObjectIdentifier }
	type imprint struct {
		Alg    alg
		Digest []byte
	}
	der, err := asn1.Marshal(struct {
		Version int
		Imprint imprint
	}{version, imprint{alg{hashOID}, digest}})
	if err != nil {
		t.Fatal(err)
	}
	if extra == nil {
		return der
	}
	// Re-wrap the SEQUENCE with extra elements appended (short lengths only).
	body := append(slices.Clone(der[2:]), extra...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func TestRespondServerFailure(t *testing.T) {
	p := newTestPKI(t)
	s := newTestServer(t, p, failingSerials{}, ServerConfig{Logger: slog.New(slog.DiscardHandler)})
	req := marshalReq(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digestOf("x")})
	resp, err := s.Respond(context.Background(), req)
	if !errors.Is(err, ErrServerFailure) {
		t.Fatalf("err = %v, want ErrServerFailure", err)
	}
	r, perr := parseResponse(resp)
	if perr != nil || r.status != statusRejection || !slices.Equal(r.fails, []FailureInfo{FailSystemFailure}) {
		t.Fatalf("response %v %v", r, perr)
	}
	ts := serve(t, s)
	hr, err := http.Post(ts.URL, ContentTypeQuery, bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	hr.Body.Close()
	if hr.StatusCode != http.StatusServiceUnavailable || hr.Header.Get("Content-Type") != ContentTypeReply {
		t.Errorf("HTTP %d %q", hr.StatusCode, hr.Header.Get("Content-Type"))
	}
}

func TestServeHTTP(t *testing.T) {
	p := newTestPKI(t)
	ts := serve(t, newTestServer(t, p, nil, ServerConfig{}))
	good := marshalReq(t, &timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digestOf("x"), Certificates: true})
	tests := []struct {
		name, method, ctype string
		body                []byte
		want                int
	}{
		{"ok", http.MethodPost, ContentTypeQuery, good, http.StatusOK},
		{"ok with parameter", http.MethodPost, ContentTypeQuery + "; charset=binary", good, http.StatusOK},
		{"rejection is 200", http.MethodPost, ContentTypeQuery, []byte("junk"), http.StatusOK},
		{"GET", http.MethodGet, "", nil, http.StatusMethodNotAllowed},
		{"wrong type", http.MethodPost, "application/octet-stream", good, http.StatusUnsupportedMediaType},
		{"no type", http.MethodPost, "", good, http.StatusUnsupportedMediaType},
		{"too large", http.MethodPost, ContentTypeQuery, make([]byte, maxRequestBytes+1), http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.want, body)
			}
			if tt.want == http.StatusOK {
				if ct := resp.Header.Get("Content-Type"); ct != ContentTypeReply {
					t.Errorf("content type %q", ct)
				}
				if _, err := parseResponse(body); err != nil {
					t.Error(err)
				}
			}
			if tt.want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestNewServerChecks(t *testing.T) {
	p := newTestPKI(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	nonCritical := p.issueTSA(t, p.tsaKey, false)
	tests := []struct {
		name   string
		signer crypto.Signer
		cert   *x509.Certificate
		cfg    ServerConfig
		ok     bool
	}{
		{"good", p.tsaKey, p.tsa, ServerConfig{}, true},
		{"key mismatch", other, p.tsa, ServerConfig{}, false},
		{"non-critical EKU", p.tsaKey, nonCritical, ServerConfig{}, false},
		{"CA certificate", p.rootKey, p.root, ServerConfig{}, false},
		{"accuracy too fine", p.tsaKey, p.tsa, ServerConfig{Accuracy: time.Nanosecond}, false},
		{"bad policy", p.tsaKey, p.tsa, ServerConfig{Policy: asn1.ObjectIdentifier{1}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServer(tt.signer, tt.cert, nil, &memSerials{}, tt.cfg)
			if (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestSerialsUnique sends 50 concurrent requests through the client and the
// HTTP server and checks every token has its own serial number, with an
// in-memory and a file-backed serial source; the file-backed one continues
// after a "restart".
func TestSerialsUnique(t *testing.T) {
	p := newTestPKI(t)
	path := filepath.Join(t.TempDir(), "serial")
	for _, tc := range []struct {
		name    string
		serials Serials
	}{
		{"memory", &memSerials{}},
		{"file", &fileSerials{path: path}},
		{"file restarted", &fileSerials{path: path}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := serve(t, newTestServer(t, p, tc.serials, ServerConfig{}))
			c := newTestClient(t, Config{URLs: []string{ts.URL}}, p.roots())
			const n = 50
			serials := make([]string, n)
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					tok, err := c.Timestamp(context.Background(), digestOf(string(rune(i))), crypto.SHA256)
					if err != nil {
						errs <- err
						return
					}
					f, err := timestamp.Parse(tok)
					if err != nil {
						errs <- err
						return
					}
					serials[i] = f.SerialNumber.String()
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			slices.Sort(serials)
			if len(slices.Compact(serials)) != n {
				t.Errorf("duplicate serials: %v", serials)
			}
		})
	}
	// After two runs of 50 on the same file, the next serial is 101.
	next, err := (&fileSerials{path: path}).NextTimestampSerial(context.Background())
	if err != nil || next.Int64() != 101 {
		t.Errorf("next serial after restart = %v, %v; want 101", next, err)
	}
}

func sha256OID(t *testing.T) asn1.ObjectIdentifier {
	t.Helper()
	o, ok := cades.HashOID(crypto.SHA256)
	if !ok {
		t.Fatal("no OID for SHA-256")
	}
	return o
}
