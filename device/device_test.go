package device

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckPIN(t *testing.T) {
	tests := []struct {
		pin string
		ok  bool
	}{
		{"71294", true}, {"24680", true}, {"13579", true}, {"00001", true},
		{"11111", false}, {"00000", false}, {"12345", false}, {"34567", false}, {"90123", false},
		{"54321", false}, {"98765", false}, {"10987", false},
		{"1234", false}, {"123456", false}, {"", false}, {"1234a", false}, {"１２３４５", false}, {" 1294", false},
	}
	for _, tc := range tests {
		err := CheckPIN(tc.pin)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPIN(%q) = %v, want ok=%v", tc.pin, err, tc.ok)
		}
	}
}

func deviceKey(t *testing.T) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, spki
}

func TestCallAuthentication(t *testing.T) {
	k, spki := deviceKey(t)
	_, otherSPKI := deviceKey(t)
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"icon":"sun"}`)
	h, err := SignCall(k, "dev-1", "POST", "/v1/device/requests/x/approve", body, now)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseCallAuth(h)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		spki   []byte
		method string
		path   string
		body   []byte
		now    time.Time
		ok     bool
	}{
		{"valid", spki, "POST", "/v1/device/requests/x/approve", body, now, true},
		{"clock skew inside window", spki, "POST", "/v1/device/requests/x/approve", body, now.Add(59 * time.Second), true},
		{"too old", spki, "POST", "/v1/device/requests/x/approve", body, now.Add(61 * time.Second), false},
		{"from the future", spki, "POST", "/v1/device/requests/x/approve", body, now.Add(-61 * time.Second), false},
		{"other key", otherSPKI, "POST", "/v1/device/requests/x/approve", body, now, false},
		{"other method", spki, "GET", "/v1/device/requests/x/approve", body, now, false},
		{"other path", spki, "POST", "/v1/device/requests/y/approve", body, now, false},
		{"other body", spki, "POST", "/v1/device/requests/x/approve", []byte(`{"icon":"moon"}`), now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyCall(a, tc.spki, tc.method, tc.path, tc.body, tc.now)
			if (err == nil) != tc.ok {
				t.Fatalf("verifyCall = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrUnauthenticated) {
				t.Fatalf("error %v is not ErrUnauthenticated", err)
			}
		})
	}
}

func TestParseCallAuthRejects(t *testing.T) {
	for _, h := range []string{
		"", "Bearer x", "Paraphe-Device ", "Paraphe-Device id=a,ts=1,nonce=aaaaaaaaaaaaaaaa",
		"Paraphe-Device id=a,ts=x,nonce=aaaaaaaaaaaaaaaa,sig=AA",
		"Paraphe-Device id=a,ts=1,nonce=short,sig=AA",
		"Paraphe-Device id=a,ts=1,nonce=aaaaaaaaaaaaaaaa,sig=AA,extra=1",
		"Paraphe-Device id=a,id=b,ts=1,nonce=aaaaaaaaaaaaaaaa,sig=AA",
		"Paraphe-Device id=a,ts=1,nonce=aaaaaaaaaaaaaaaa,sig=!!",
	} {
		if _, err := ParseCallAuth(h); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("ParseCallAuth(%q) = %v", h, err)
		}
	}
}

func FuzzParseCallAuth(f *testing.F) {
	f.Add("Paraphe-Device id=dev,ts=1800000000,nonce=AAAAAAAAAAAAAAAAAAAAAA,sig=MEUCIQ")
	f.Add("Paraphe-Device id=,ts=,nonce=,sig=")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseCallAuth(h)
		if err == nil && (a.DeviceID == "" || a.Nonce == "" || len(a.Signature) == 0) {
			t.Fatalf("accepted an incomplete header %q", h)
		}
	})
}

func TestChallengeBindsEverything(t *testing.T) {
	docs := []ChallengeDoc{{Hash: crypto.SHA256, Digest: make([]byte, 32)}, {Hash: crypto.SHA512, Digest: make([]byte, 64)}}
	base := string(Challenge("req", docs, "sun", "n1"))
	changed := []string{
		string(Challenge("req2", docs, "sun", "n1")),
		string(Challenge("req", docs[:1], "sun", "n1")),
		string(Challenge("req", []ChallengeDoc{docs[1], docs[0]}, "sun", "n1")),
		string(Challenge("req", docs, "moon", "n1")),
		string(Challenge("req", docs, "sun", "n2")),
	}
	d2 := []ChallengeDoc{docs[0], {Hash: crypto.SHA512, Digest: append(make([]byte, 63), 1)}}
	changed = append(changed, string(Challenge("req", d2, "sun", "n1")))
	for i, c := range changed {
		if c == base {
			t.Errorf("variant %d gives the same challenge", i)
		}
	}
	if !strings.HasPrefix(base, "PARAPHE-APPROVAL-V1\n") {
		t.Error("challenge lacks its domain separator")
	}
}

func TestNewUserValidate(t *testing.T) {
	good := NewUser{GivenName: "Alice", Surname: "Martin", Email: "alice@example.test", Phone: "+32470123456"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []func(*NewUser){
		func(n *NewUser) { n.GivenName = "" },
		func(n *NewUser) { n.Surname = strings.Repeat("x", 101) },
		func(n *NewUser) { n.Email = "not an address" },
		func(n *NewUser) { n.Email = "Alice <alice@example.test>" },
		func(n *NewUser) { n.Phone = "0470123456" },
		func(n *NewUser) { n.Phone = "+0470123456" },
		func(n *NewUser) { n.Country = "bel" },
		func(n *NewUser) { n.GivenName = "Al\x00ice" },
	}
	for i, f := range bad {
		n := good
		f(&n)
		if err := n.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestActivationCodes(t *testing.T) {
	s := New(Deps{}, Config{})
	seen := map[string]bool{}
	for range 200 {
		code, act, err := s.newActivation("u", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(code) != 19 || strings.Count(code, "-") != 3 || seen[code] {
			t.Fatalf("bad or repeated code %q", code)
		}
		seen[code] = true
		if string(hashCode(strings.ToLower(code))) != string(act.CodeHash) || string(hashCode(strings.ReplaceAll(code, "-", " "))) != string(act.CodeHash) {
			t.Fatal("normalization does not give the same hash")
		}
		if strings.ContainsAny(code, "IO01") {
			t.Fatalf("code %q uses confusable characters", code)
		}
	}
}
