package hsm

import (
	"bytes"
	"testing"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		in      string
		want    URI
		wantErr bool
	}{
		{in: "pkcs11:token=paraphe;object=user-42", want: URI{Token: "paraphe", Object: "user-42"}},
		{in: "PKCS11:object=a", want: URI{Object: "a"}},
		{in: "pkcs11:", want: URI{}},
		{in: "pkcs11:object=my%20key;id=%01%02%ff", want: URI{Object: "my key", ID: []byte{1, 2, 0xff}}},
		{in: "pkcs11:id=%41%42", want: URI{ID: []byte("AB")}},
		{in: "pkcs11:object=a:b@c!$'()*+,=d", want: URI{Object: "a:b@c!$'()*+,=d"}},
		{in: "pkcs11:object=%C3%A9t%C3%A9", want: URI{Object: "été"}},
		{in: "pkcs:object=a", wantErr: true},
		{in: "", wantErr: true},
		{in: "pkcs11:object=a;object=b", wantErr: true},
		{in: "pkcs11:object", wantErr: true},
		{in: "pkcs11:object=a;", wantErr: true},
		{in: "pkcs11:slot-id=1", wantErr: true},
		{in: "pkcs11:object=a?pin-value=1234", wantErr: true},
		{in: "pkcs11:object=a#frag", wantErr: true},
		{in: "pkcs11:object=%4", wantErr: true},
		{in: "pkcs11:object=%zz", wantErr: true},
		{in: "pkcs11:object=a b", wantErr: true},
		{in: "pkcs11:object=a/b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseURI(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseURI(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got.Token != tt.want.Token || got.Object != tt.want.Object || !bytes.Equal(got.ID, tt.want.ID) {
				t.Fatalf("ParseURI(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestURIString(t *testing.T) {
	tests := []struct {
		in   URI
		want string
	}{
		{URI{Token: "paraphe", Object: "user-42"}, "pkcs11:token=paraphe;object=user-42"},
		{URI{Object: "a;b?c/d%e f"}, "pkcs11:object=a%3Bb%3Fc%2Fd%25e%20f"},
		{URI{Token: "t", ID: []byte("AB")}, "pkcs11:token=t;id=%41%42"},
		{URI{}, "pkcs11:"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := ParseURI(tt.want)
			if err != nil || back.Token != tt.in.Token || back.Object != tt.in.Object || !bytes.Equal(back.ID, tt.in.ID) {
				t.Fatalf("round trip = %+v, %v", back, err)
			}
		})
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"pkcs11:token=paraphe;object=user-42",
		"pkcs11:object=my%20key;id=%01%02%ff",
		"pkcs11:",
		"pkcs11:object=a?pin-value=1",
		"pkcs11:object=%",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		out := u.String()
		back, err := ParseURI(out)
		if err != nil {
			t.Fatalf("ParseURI(%q) (from %q) failed: %v", out, s, err)
		}
		if back.Token != u.Token || back.Object != u.Object || !bytes.Equal(back.ID, u.ID) {
			t.Fatalf("round trip of %q: %+v != %+v", s, back, u)
		}
		if back.String() != out {
			t.Fatalf("String not stable: %q != %q", back.String(), out)
		}
	})
}
