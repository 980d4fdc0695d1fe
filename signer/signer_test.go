package signer

import (
	"crypto"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/paraphe/paraphe/cades"
)

func TestParseLevelAndHash(t *testing.T) {
	for _, l := range []string{"B-B", "B-T", "B-LT", "B-LTA"} {
		if _, err := ParseLevel(l); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
	for _, l := range []string{"", "b-b", "B-X", "LTA"} {
		if _, err := ParseLevel(l); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q accepted", l)
		}
	}
	for name, h := range map[string]crypto.Hash{"SHA-256": crypto.SHA256, "sha384": crypto.SHA384, " SHA-512 ": crypto.SHA512} {
		got, err := ParseHash(name)
		if err != nil || got != h {
			t.Errorf("%q: %v %v", name, got, err)
		}
		if HashName(got) == "" {
			t.Errorf("no name for %v", got)
		}
	}
	for _, name := range []string{"MD5", "SHA-1", "SHA3-256", ""} {
		if _, err := ParseHash(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q accepted", name)
		}
	}
}

func TestValidateHashMode(t *testing.T) {
	s := New(Deps{}, Config{})
	d := make([]byte, 32)
	base := func() CreateInput {
		return CreateInput{UserID: "u", Format: FormatCAdES, Level: LevelBB,
			Documents: []DocumentInput{{Name: "a.pdf", Hash: crypto.SHA256, Digest: d}}}
	}
	if err := s.validate(&[]CreateInput{base()}[0]); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*CreateInput){
		"no documents":      func(in *CreateInput) { in.Documents = nil },
		"short digest":      func(in *CreateInput) { in.Documents[0].Digest = d[:31] },
		"SHA-1":             func(in *CreateInput) { in.Documents[0].Hash = crypto.SHA1 },
		"control in name":   func(in *CreateInput) { in.Documents[0].Name = "a\nb" },
		"empty name":        func(in *CreateInput) { in.Documents[0].Name = "" },
		"B-LT in hash mode": func(in *CreateInput) { in.Level = LevelBLT },
		"B-T without TSA":   func(in *CreateInput) { in.Level = LevelBT },
		"expiry too short":  func(in *CreateInput) { in.ExpiresIn = time.Millisecond },
		"expiry too long":   func(in *CreateInput) { in.ExpiresIn = 2 * time.Hour },
		"unknown format":    func(in *CreateInput) { in.Format = "XAdES" },
		"PDF mode no blobs": func(in *CreateInput) { in.Format = FormatPAdES },
		"too many documents": func(in *CreateInput) {
			for range 600 {
				in.Documents = append(in.Documents, in.Documents[0])
			}
		},
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			in := base()
			f(&in)
			if err := s.validate(&in); !errors.Is(err, ErrInvalid) {
				t.Fatalf("accepted: %v", err)
			}
		})
	}
}

func TestChallengeOfBindsDocuments(t *testing.T) {
	r := &Request{ID: "r", Documents: []Document{{Hash: crypto.SHA256, Digest: make([]byte, 32)}}}
	a := string(ChallengeOf(r, "sun", "n"))
	r.Documents[0].Digest = append(make([]byte, 31), 1)
	if a == string(ChallengeOf(r, "sun", "n")) {
		t.Fatal("challenge does not depend on the digest")
	}
}

func TestStatusFinal(t *testing.T) {
	for _, s := range []Status{StatusSigned, StatusRefused, StatusExpired, StatusCancelled, StatusFailed} {
		if !s.Final() {
			t.Errorf("%s not final", s)
		}
	}
	for _, s := range []Status{StatusPending, StatusApproved} {
		if s.Final() {
			t.Errorf("%s final", s)
		}
	}
}

func TestFailReason(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no TSA gave a token", fmt.Errorf("signer: document 3: %w", fmt.Errorf("%w: %w", cades.ErrTimestamp, cades.ErrTimestampUnavailable)), ReasonTSAUnavailable},
		{"document time-stamp", fmt.Errorf("signer: document time-stamp: %w", cades.ErrTimestampUnavailable), ReasonTSAUnavailable},
		{"unusable token", fmt.Errorf("%w: token imprint does not match the signature", cades.ErrTimestamp), ReasonTSAUnavailable},
		{"HSM", errors.New("hsm: C_Sign: CKR_DEVICE_ERROR"), ReasonInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failReason(tt.err); got != tt.want {
				t.Errorf("failReason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
