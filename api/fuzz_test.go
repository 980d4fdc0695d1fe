package api

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/paraphe/paraphe/signer"
)

// FuzzCreateInput feeds the JSON body of a hash-mode creation through the same decoding
// the handler uses: no panic, and anything accepted is well formed.
func FuzzCreateInput(f *testing.F) {
	f.Add([]byte(`{"signer":"u","documents":[{"name":"a.pdf","digest":"AAAA","digestAlgorithm":"SHA-256"}],"format":"CAdES","level":"B-B"}`))
	f.Add([]byte(`{"signer":"u","documents":[],"expiresIn":"5m"}`))
	f.Add([]byte(`{"expiresIn":"-1s"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in createIn
		if json.Unmarshal(body, &in) != nil {
			return
		}
		ci, err := createInput(in)
		if err != nil {
			if !errors.Is(err, signer.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		if ci.UserID == "" || ci.ExpiresIn < 0 || len(ci.Documents) != len(in.Documents) {
			t.Fatalf("accepted a malformed input: %+v", ci)
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(&signer.Request{ID: "3d0c1f43-5a5e-4a43-9b63-1d2f0e6c8a11"}))
	f.Add("")
	f.Add("!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := decodeCursor(s)
		if ok && (c == nil || c.ID == "") {
			t.Fatalf("accepted %q without an id", s)
		}
	})
}

func FuzzParseAppearance(f *testing.F) {
	f.Add("1", "300,80,560,160")
	f.Add("0", "1,2,3")
	f.Fuzz(func(t *testing.T, page, rect string) {
		ap, err := parseAppearance(page, rect)
		if err == nil && (ap == nil || ap.Page < 1) {
			t.Fatalf("accepted page %q", page)
		}
	})
}
