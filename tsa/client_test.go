package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitorus/timestamp"

	"github.com/paraphe/paraphe/cades"
)

func TestClientRoundTrip(t *testing.T) {
	p := newTestPKI(t)
	ts := serve(t, newTestServer(t, p, nil, ServerConfig{}))
	for _, h := range []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		t.Run(h.String(), func(t *testing.T) {
			c := newTestClient(t, Config{URLs: []string{ts.URL}, Policy: DevPolicy.String()}, p.roots())
			d := h.New()
			d.Write([]byte("signature value"))
			digest := d.Sum(nil)
			tok, err := c.Timestamp(context.Background(), digest, h)
			if err != nil {
				t.Fatal(err)
			}
			info := tokenInfo(t, tok)
			if info.HashAlgorithm != h || !bytes.Equal(info.HashedMessage, digest) || info.Nonce == nil || info.Nonce.BitLen() < 64 {
				t.Errorf("token %v %x nonce %v", info.HashAlgorithm, info.HashedMessage, info.Nonce)
			}
			if len(info.Certificates) != 2 {
				t.Errorf("%d certificates, want TSA + root", len(info.Certificates))
			}
		})
	}
}

// TestClientAsCAdESTimestamper signs with cades.Sign and the client as Timestamper (B-T).
func TestClientAsCAdESTimestamper(t *testing.T) {
	p := newTestPKI(t)
	ts := serve(t, newTestServer(t, p, nil, ServerConfig{}))
	c := newTestClient(t, Config{URLs: []string{ts.URL}}, p.roots())
	// The TSA certificate's EKU does not allow signing documents, but cades
	// does not check EKU: any certificate of the test PKI will do as signer.
	cms, err := cades.Sign(context.Background(), cades.SignRequest{Digest: digestOf("doc"), Hash: crypto.SHA256,
		Signer: p.rootKey, Certificate: p.root, Timestamper: c})
	if err != nil {
		t.Fatal(err)
	}
	sd, err := cades.Parse(cms)
	if err != nil || len(sd.Signers[0].SignatureTimestamps) != 1 {
		t.Fatalf("parse: %v", err)
	}
}

// tamper returns a handler that rewrites each request with edit before
// answering it with the real server s.
func tamper(t testing.TB, s *Server, edit func(*timestamp.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := timestamp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		edit(req)
		der, err := req.Marshal()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		resp, _ := s.Respond(r.Context(), der)
		w.Header().Set("Content-Type", ContentTypeReply)
		w.Write(resp)
	})
}

func TestClientFailover(t *testing.T) {
	p := newTestPKI(t)
	good := newTestServer(t, p, nil, ServerConfig{})
	goodURL := serve(t, good).URL

	down := serve(t, http.NotFoundHandler())
	downURL := down.URL
	down.Close() // closed listener: connection refused

	// A server whose certificate has a non-critical EKU (NewServer refuses
	// it, so it is swapped in after construction).
	badEKU := newTestServer(t, p, nil, ServerConfig{})
	badEKU.cert = p.issueTSA(t, p.tsaKey, false)

	otherPKI := newTestPKI(t)
	untrusted := newTestServer(t, otherPKI, nil, ServerConfig{})

	skewed := newTestServer(t, p, nil, ServerConfig{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	otherPolicy := newTestServer(t, p, nil, ServerConfig{Policy: []int{2, 999, 1}})

	huge := make([]byte, maxResponseBytes+10)
	tests := []struct {
		name    string
		handler http.Handler
		url     string
		want    error
		text    string
	}{
		{"down", nil, downURL, ErrHTTP, "connection refused"},
		{"HTTP 500", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}), "", ErrHTTP, "status 500"},
		{"wrong content type", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
		}), "", ErrHTTP, "content type"},
		{"oversized", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ContentTypeReply)
			w.Write(huge)
		}), "", ErrHTTP, "larger than"},
		{"garbage", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ContentTypeReply)
			w.Write([]byte("not DER"))
		}), "", ErrInvalidResponse, "not a DER"},
		{"wrong imprint", tamper(t, good, func(r *timestamp.Request) { r.HashedMessage = digestOf("other") }), "", ErrMismatch, "imprint"},
		{"wrong nonce", tamper(t, good, func(r *timestamp.Request) { r.Nonce = new(big.Int).Add(r.Nonce, big.NewInt(1)) }), "", ErrMismatch, "nonce"},
		{"no nonce", tamper(t, good, func(r *timestamp.Request) { r.Nonce = nil }), "", ErrMismatch, "nonce"},
		{"no certificate", tamper(t, good, func(r *timestamp.Request) { r.Certificates = false }), "", ErrInvalidResponse, "not in the token"},
		{"non-critical EKU", badEKU, "", ErrCertificate, "not critical"},
		{"untrusted root", untrusted, "", ErrCertificate, "unknown authority"},
		{"clock skew", skewed, "", ErrInvalidResponse, "genTime"},
		{"rejection", otherPolicy, "", ErrRejected, "unacceptedPolicy"},
	}
	var urls []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if tt.handler != nil {
				u = serve(t, tt.handler).URL
			}
			urls = append(urls, u)
			c := newTestClient(t, Config{URLs: []string{u, goodURL}, Policy: DevPolicy.String()}, p.roots())
			tok, err := c.Timestamp(context.Background(), digestOf("sig"), crypto.SHA256)
			if err != nil || tok == nil {
				t.Fatalf("failover to the good TSA failed: %v", err)
			}
			// Alone, the faulty TSA fails with the expected cause.
			c = newTestClient(t, Config{URLs: []string{u}, Policy: DevPolicy.String()}, p.roots())
			_, err = c.Timestamp(context.Background(), digestOf("sig"), crypto.SHA256)
			if !errors.Is(err, ErrAllFailed) || !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) || !strings.Contains(err.Error(), u) {
				t.Errorf("err = %v; want %v mentioning %q and the URL", err, tt.want, tt.text)
			}
		})
	}
	t.Run("all fail", func(t *testing.T) {
		// Handlers of the subtests are closed by now except those still
		// registered on t; use fresh ones.
		urls := []string{downURL, serve(t, badEKU).URL, serve(t, tamper(t, good, func(r *timestamp.Request) { r.Nonce = nil })).URL}
		c := newTestClient(t, Config{URLs: urls}, p.roots())
		_, err := c.Timestamp(context.Background(), digestOf("sig"), crypto.SHA256)
		if !errors.Is(err, ErrAllFailed) {
			t.Fatalf("err = %v", err)
		}
		for _, want := range []error{ErrHTTP, ErrCertificate, ErrMismatch} {
			if !errors.Is(err, want) {
				t.Errorf("error lacks %v: %v", want, err)
			}
		}
		for _, u := range urls {
			if !strings.Contains(err.Error(), u) {
				t.Errorf("error does not name %s: %v", u, err)
			}
		}
	})
}

func TestClientTimeout(t *testing.T) {
	p := newTestPKI(t)
	goodURL := serve(t, newTestServer(t, p, nil, ServerConfig{})).URL
	slow := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	c := newTestClient(t, Config{URLs: []string{slow.URL, goodURL}, Timeout: 200 * time.Millisecond}, p.roots())
	start := time.Now()
	if _, err := c.Timestamp(context.Background(), digestOf("x"), crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v; per-attempt timeout not honoured", el)
	}
	// The caller's context ends the whole call and no further TSA is tried.
	c = newTestClient(t, Config{URLs: []string{slow.URL, goodURL}}, p.roots())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.Timestamp(ctx, digestOf("x"), crypto.SHA256)
	if !errors.Is(err, ErrAllFailed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want deadline exceeded", err)
	}
}

func TestClientInputs(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"ok", Config{URLs: []string{"https://tsa.example/ts"}, Policy: "1.2.3"}, true},
		{"no URL", Config{}, false},
		{"relative URL", Config{URLs: []string{"/tsa"}}, false},
		{"ftp", Config{URLs: []string{"ftp://x/"}}, false},
		{"negative timeout", Config{URLs: []string{"http://x/"}, Timeout: -1}, false},
		{"bad policy", Config{URLs: []string{"http://x/"}, Policy: "1.+2"}, false},
		{"bad policy root", Config{URLs: []string{"http://x/"}, Policy: "3.1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewClient(tt.cfg, nil, nil); (err == nil) != tt.ok {
				t.Errorf("err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	c := newTestClient(t, Config{URLs: []string{"http://127.0.0.1:1/"}}, nil)
	for _, in := range []struct {
		d []byte
		h crypto.Hash
	}{{make([]byte, 20), crypto.SHA1}, {make([]byte, 31), crypto.SHA256}} {
		if _, err := c.Timestamp(context.Background(), in.d, in.h); !errors.Is(err, ErrInvalidDigest) {
			t.Errorf("%v/%d: err = %v", in.h, len(in.d), err)
		}
	}
}

// TestClientP384Server checks a TSA with a P-384 key (SHA-384 signature) is accepted.
func TestClientP384Server(t *testing.T) {
	p := newTestPKI(t)
	key, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	s, err := NewServer(key, p.issueTSA(t, key, true), nil, &memSerials{}, ServerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, Config{URLs: []string{serve(t, s).URL}}, p.roots())
	if _, err := c.Timestamp(context.Background(), digestOf("x"), crypto.SHA256); err != nil {
		t.Fatal(err)
	}
}

// TestClientBusyRetries: a TSA answering 429 or 503 is asked again after a pause (its
// Retry-After, or a doubling backoff) within the caller's deadline; when it stays busy the
// next TSA is tried; an error other than busy moves on at once.
func TestClientBusyRetries(t *testing.T) {
	p := newTestPKI(t)
	good := newTestServer(t, p, nil, ServerConfig{})
	goodURL := serve(t, good).URL
	// busyFor answers status the first n times, then hands over to the good server.
	busyFor := func(n int, status int, retryAfter string) (http.Handler, *atomic.Int64) {
		var calls atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= int64(n) {
				if retryAfter != "" {
					w.Header().Set("Retry-After", retryAfter)
				}
				http.Error(w, "busy", status)
				return
			}
			good.ServeHTTP(w, r)
		}), &calls
	}
	tests := []struct {
		name       string
		busy       int
		status     int
		retryAfter string
		deadline   time.Duration // 0: none
		wantCalls  int64         // calls the first TSA gets
		wantSecond bool          // whether the token comes from the second TSA
	}{
		{"429 once", 1, http.StatusTooManyRequests, "", 0, 2, false},
		{"503 twice with Retry-After", 2, http.StatusServiceUnavailable, "0", 0, 3, false},
		{"busy beyond the retries", 10, http.StatusTooManyRequests, "", 0, maxRetries + 1, true},
		{"deadline too short to wait", 10, http.StatusTooManyRequests, "30", time.Second, 1, true},
		{"500 is not busy", 10, http.StatusInternalServerError, "", 0, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, calls := busyFor(tt.busy, tt.status, tt.retryAfter)
			c := newTestClient(t, Config{URLs: []string{serve(t, h).URL, goodURL}}, p.roots())
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			if _, err := c.Timestamp(ctx, digestOf("busy"), crypto.SHA256); err != nil {
				t.Fatal(err)
			}
			if got := calls.Load(); got != tt.wantCalls {
				t.Errorf("first TSA asked %d times, want %d", got, tt.wantCalls)
			}
			if second := calls.Load() <= int64(tt.busy); second != tt.wantSecond {
				t.Errorf("token from the second TSA: %v, want %v", second, tt.wantSecond)
			}
		})
	}
	t.Run("none answers", func(t *testing.T) {
		h, _ := busyFor(100, http.StatusServiceUnavailable, "")
		c := newTestClient(t, Config{URLs: []string{serve(t, h).URL}}, p.roots())
		_, err := c.Timestamp(context.Background(), digestOf("busy"), crypto.SHA256)
		if !errors.Is(err, ErrAllFailed) || !errors.Is(err, cades.ErrTimestampUnavailable) || !strings.Contains(err.Error(), "503") {
			t.Errorf("err = %v; want ErrAllFailed, cades.ErrTimestampUnavailable and the status", err)
		}
	})
}

// countingResponder counts the requests an in-process TSA answers.
type countingResponder struct {
	s *Server
	n atomic.Int64
}

func (c *countingResponder) Respond(ctx context.Context, req []byte) ([]byte, error) {
	c.n.Add(1)
	return c.s.Respond(ctx, req)
}

// TestClientLocal: a TSA of this process is asked in-process wherever its URL is
// configured (however the URL is spelled), and its token is checked like any other.
func TestClientLocal(t *testing.T) {
	p := newTestPKI(t)
	local := &countingResponder{s: newTestServer(t, p, nil, ServerConfig{})}
	var overHTTP atomic.Int64
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		overHTTP.Add(1)
		http.Error(w, "rate limited", http.StatusTooManyRequests)
	}))
	c := newTestClient(t, Config{URLs: []string{ts.URL + "/tsa"}}, p.roots()).WithLocal(strings.ToUpper(ts.URL)+"/tsa/", local)
	for range 3 {
		if _, err := c.Timestamp(context.Background(), digestOf("local"), crypto.SHA256); err != nil {
			t.Fatal(err)
		}
	}
	if local.n.Load() != 3 || overHTTP.Load() != 0 {
		t.Errorf("in-process %d, over HTTP %d; want 3 and 0", local.n.Load(), overHTTP.Load())
	}
	// A local TSA of another PKI is refused like a remote one.
	other := &countingResponder{s: newTestServer(t, newTestPKI(t), nil, ServerConfig{})}
	c = newTestClient(t, Config{URLs: []string{ts.URL + "/tsa"}}, p.roots()).WithLocal(ts.URL+"/tsa", other)
	if _, err := c.Timestamp(context.Background(), digestOf("local"), crypto.SHA256); !errors.Is(err, ErrCertificate) {
		t.Errorf("err = %v, want ErrCertificate", err)
	}
}
