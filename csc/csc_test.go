package csc

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
)

func TestDecodeB64(t *testing.T) {
	raw := []byte{0xfb, 0xff, 0xfe, 0x00, 0x3e, 0x3f, 0x10}
	tests := []struct {
		in   string
		want []byte
	}{
		{base64.StdEncoding.EncodeToString(raw), raw},
		{base64.RawStdEncoding.EncodeToString(raw), raw},
		{base64.URLEncoding.EncodeToString(raw), raw},
		{base64.RawURLEncoding.EncodeToString(raw), raw},
		{"", nil},
		{"+-__", nil},     // both alphabets at once
		{"a", nil},        // not a whole byte
		{"ab!d", nil},     // not base64
		{"YQ==YQ==", nil}, // padding inside
	}
	for _, tc := range tests {
		got, ok := decodeB64(tc.in)
		if ok != (tc.want != nil) || !bytes.Equal(got, tc.want) {
			t.Errorf("decodeB64(%q) = %x %v, want %x", tc.in, got, ok, tc.want)
		}
	}
}

func FuzzDecodeB64(f *testing.F) {
	for _, s := range []string{"", "YQ", "YQ==", "-_-_", "+/+/", "+-", strings.Repeat("A", 44)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := decodeB64(s)
		if !ok {
			return
		}
		// What decodes is the same bytes in one of the two alphabets.
		std, url := base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)
		if trimmed := strings.TrimRight(s, "="); trimmed != std && trimmed != url {
			t.Fatalf("%q decoded to %x, which encodes as %q or %q", s, b, std, url)
		}
	})
}

func TestSignHashFor(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecCert := &x509.Certificate{PublicKey: &ec.PublicKey}
	rsaCert := &x509.Certificate{PublicKey: &rk.PublicKey}
	tests := []struct {
		name     string
		cert     *x509.Certificate
		signAlgo string
		hashOID  string
		want     crypto.Hash // 0: refused
	}{
		{"ecdsa-with-SHA256", ecCert, OIDECDSASHA256, "", crypto.SHA256},
		{"ecdsa-with-SHA256 and its hash", ecCert, OIDECDSASHA256, OIDSHA256, crypto.SHA256},
		{"ecdsa-with-SHA384", ecCert, OIDECDSASHA384, "", crypto.SHA384},
		{"ecPublicKey with a hash", ecCert, OIDECPublicKey, OIDSHA512, crypto.SHA512},
		{"ecPublicKey without a hash", ecCert, OIDECPublicKey, "", 0},
		{"ecdsa-with-SHA256 and another hash", ecCert, OIDECDSASHA256, OIDSHA384, 0},
		{"RSA algorithm for an EC key", ecCert, OIDRSASHA256, "", 0},
		{"rsaEncryption with hashAlgorithmOID", rsaCert, OIDRSA, OIDSHA256, crypto.SHA256},
		{"rsaEncryption without hashAlgorithmOID", rsaCert, OIDRSA, "", 0},
		{"sha256WithRSAEncryption", rsaCert, OIDRSASHA256, "", crypto.SHA256},
		{"sha512WithRSAEncryption", rsaCert, OIDRSASHA512, OIDSHA512, crypto.SHA512},
		{"ECDSA algorithm for an RSA key", rsaCert, OIDECDSASHA256, "", 0},
		{"unknown hash", rsaCert, OIDRSA, "1.3.14.3.2.26", 0},
		{"unknown algorithm", ecCert, "1.2.3", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := signHashFor(tc.cert, tc.signAlgo, tc.hashOID)
			if tc.want == 0 {
				if err == nil || err.Code != CodeInvalidRequest || err.Status != 400 {
					t.Fatalf("accepted: %v %v", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v %v, want %v", got, err, tc.want)
			}
		})
	}
}

func TestKeyInfo(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	algos, bits, curve := keyInfo(&ec.PublicKey)
	if bits != 256 || curve != OIDP256 || algos[1] != OIDECDSASHA256 {
		t.Fatalf("P-256: %v %d %s", algos, bits, curve)
	}
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	algos, bits, curve = keyInfo(&rk.PublicKey)
	if bits != 2048 || curve != "" || algos[0] != OIDRSA {
		t.Fatalf("RSA: %v %d %s", algos, bits, curve)
	}
}

func TestDecodeHashes(t *testing.T) {
	h := bytes.Repeat([]byte{0xfa}, 32)
	for _, tc := range []struct {
		name string
		in   []string
		ok   bool
	}{
		{"base64", []string{base64.StdEncoding.EncodeToString(h)}, true},
		{"base64url without padding", []string{base64.RawURLEncoding.EncodeToString(h)}, true},
		{"none", nil, false},
		{"short", []string{base64.StdEncoding.EncodeToString(h[:31])}, false},
		{"garbage", []string{"%%%"}, false},
	} {
		got, err := decodeHashes(tc.in, 32, "hashes")
		if (err == nil) != tc.ok || (tc.ok && !bytes.Equal(got[0], h)) {
			t.Errorf("%s: %x %v", tc.name, got, err)
		}
	}
}

// FuzzAuthorizeAsk feeds the parser of oauth2/authorize parameters and RAR
// authorization_details: it never panics, and what it accepts has as many labels as
// hashes when the details gave them.
func FuzzAuthorizeAsk(f *testing.F) {
	f.Add(`[{"type":"credential","credentialID":"ab","hashAlgorithmOID":"2.16.840.1.101.3.4.2.1","documentDigests":[{"hash":"YQ","label":"x"}]}]`, "1", "YQ")
	f.Add("", "2", "YQ,Yg")
	f.Add("[{}]", "x", "")
	f.Fuzz(func(t *testing.T, details, num, hashes string) {
		s := New(Deps{}, Config{})
		a, err := s.authorizeAsk(AuthorizeParams{AuthorizationDetails: details, NumSignatures: num, Hashes: hashes})
		if err != nil {
			return
		}
		if details != "" && (len(a.Labels) != len(a.Hashes) || a.NumSignatures != len(a.Hashes)) {
			t.Fatalf("details gave %d hashes, %d labels, numSignatures %d", len(a.Hashes), len(a.Labels), a.NumSignatures)
		}
	})
}

// TestAuthorizeAskHashes: the hashes of oauth2/authorize compare as bytes whatever the
// client did with base64 in its URL: base64url with or without padding, or plain base64
// escaped or not (an unescaped "+" reads back as a space).
func TestAuthorizeAskHashes(t *testing.T) {
	d := bytes.Repeat([]byte{0xfb, 0xef, 0xbe}, 11)[:32] // "+" and "/" in plain base64
	std := base64.StdEncoding.EncodeToString(d)
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("the test digest has no + or /: %s", std)
	}
	s := New(Deps{}, Config{})
	for _, tc := range []struct {
		name, hashes string
	}{
		{"base64url", base64.RawURLEncoding.EncodeToString(d)},
		{"base64url padded", base64.URLEncoding.EncodeToString(d)},
		{"base64", std},
		{"base64 with + read back as a space", strings.ReplaceAll(std, "+", " ")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := s.authorizeAsk(AuthorizeParams{NumSignatures: "2", Hashes: tc.hashes + "," + tc.hashes})
			if err != nil {
				t.Fatal(err)
			}
			got, e := decodeHashes(a.Hashes, 32, "hashes")
			if e != nil || len(got) != 2 || !bytes.Equal(got[0], d) || !bytes.Equal(got[1], d) {
				t.Fatalf("%q decoded to %x %v", a.Hashes, got, e)
			}
		})
	}
}

func TestParseNonce(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"0a1b2c", true},
		{"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", true},
		{"1FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", false}, // 65 digits
		{"00", false},
		{"-1", false},
		{"+1", false},
		{"0x10", false},
		{"12 34", false},
		{"zz", false},
	}
	for _, tt := range tests {
		if _, ok := parseNonce(tt.in); ok != tt.ok {
			t.Errorf("parseNonce(%q) ok=%v, want %v", tt.in, ok, tt.ok)
		}
	}
}
