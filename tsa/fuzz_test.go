package tsa

import (
	"context"
	"crypto"
	"math/big"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

// FuzzRespond feeds arbitrary request bytes to the server: it must never
// panic nor return a Go error (its serial source cannot fail), and must
// always answer a strict DER TimeStampResp, granted with a token or a
// rejection with a failure bit.
func FuzzRespond(f *testing.F) {
	p := newTestPKI(f)
	s := newTestServer(f, p, &memSerials{}, ServerConfig{})
	for _, r := range []*timestamp.Request{
		{HashAlgorithm: crypto.SHA256, HashedMessage: digestOf("a"), Certificates: true, Nonce: big.NewInt(42)},
		{HashAlgorithm: crypto.SHA512, HashedMessage: make([]byte, 64), TSAPolicyOID: DevPolicy},
		{HashAlgorithm: crypto.SHA1, HashedMessage: make([]byte, 20)},
	} {
		der, err := r.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, req []byte) {
		resp, err := s.Respond(context.Background(), req)
		if err != nil {
			t.Fatalf("Go error: %v", err)
		}
		r, err := parseResponse(resp)
		if err != nil {
			t.Fatalf("response does not parse: %v", err)
		}
		switch r.status {
		case statusGranted:
			if r.token == nil || len(r.fails) != 0 {
				t.Fatalf("granted without token or with failure info")
			}
			if _, err := timestamp.ParseResponse(resp); err != nil {
				t.Fatalf("granted response rejected by digitorus: %v", err)
			}
		case statusRejection:
			if r.token != nil || len(r.fails) != 1 {
				t.Fatalf("rejection with token or %d failure bits", len(r.fails))
			}
		default:
			t.Fatalf("status %d", r.status)
		}
	})
}

// FuzzCheckResponse feeds arbitrary TSA answers to the client's checks: they
// must never panic nor accept anything but a valid token for the request.
func FuzzCheckResponse(f *testing.F) {
	p := newTestPKI(f)
	s := newTestServer(f, p, &memSerials{}, ServerConfig{})
	c := newTestClient(f, Config{URLs: []string{"http://127.0.0.1/"}}, p.roots())
	nonce := big.NewInt(7)
	digest := digestOf("fuzz")
	req, err := (&timestamp.Request{HashAlgorithm: crypto.SHA256, HashedMessage: digest, Certificates: true, Nonce: nonce}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	good, err := s.Respond(context.Background(), req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, resp []byte) {
		now := time.Now()
		tok, err := c.checkResponse(resp, expectation{digest: digest, hash: crypto.SHA256, nonce: nonce,
			sent: now.Add(-time.Hour), recvd: now.Add(time.Hour)})
		if err == nil && tok == nil {
			t.Fatal("nil token without error")
		}
	})
}
