package hsm

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"strings"
	"testing"
)

func TestKeyRefForms(t *testing.T) {
	tests := []struct {
		name    string
		ref     KeyRef
		label   string // "" when the reference is refused
		printed string // prefix of String()
	}{
		{"label", LabelRef("paraphe-user-1"), "paraphe-user-1", "paraphe-user-1"},
		{"empty", nil, "", "ref-"},
		{"other form", KeyRef{0x01, 0xde, 0xad}, "", "ref-"},
		{"control byte inside", KeyRef("a\nb"), "", "ref-"},
		{"too long", LabelRef(strings.Repeat("k", maxLabelLen+1)), "", "ref-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := tt.ref.label()
			if tt.label == "" {
				if !errors.Is(err, ErrBadKeyRef) {
					t.Fatalf("label() = %q, %v; want ErrBadKeyRef", l, err)
				}
			} else if err != nil || l != tt.label {
				t.Fatalf("label() = %q, %v; want %q", l, err, tt.label)
			}
			if s := tt.ref.String(); !strings.HasPrefix(s, tt.printed) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 }) {
				t.Fatalf("String() = %q", s)
			}
		})
	}
}

// TestSigningKeyByRef runs a user key's life through its reference: created, opened,
// used, destroyed; and checks that a stored label is a working reference.
func TestSigningKeyByRef(t *testing.T) {
	tok := openToken(t, 0)
	ctx := context.Background()
	name := uniqueLabel(t, "user")
	c, err := tok.CreateSigningKey(ctx, CreateKeyRequest{Name: name, Type: ECP256})
	if err != nil {
		t.Fatalf("CreateSigningKey: %v", err)
	}
	if !bytes.Equal(c.Ref, LabelRef(name)) {
		t.Fatalf("ref %q is not the label reference of %q", c.Ref, name)
	}
	k, err := tok.Signer(ctx, append(KeyRef(nil), c.Ref...))
	if err != nil {
		t.Fatalf("Signer: %v", err)
	}
	digest := hashOf(crypto.SHA256, "by reference")
	sig, err := k.SignContext(ctx, digest, crypto.SHA256)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	verify(t, c.Public, digest, sig, crypto.SHA256)
	if _, err := tok.CreateSigningKey(ctx, CreateKeyRequest{Name: "bad\x00name", Type: ECP256}); err == nil {
		t.Fatal("a name with a control byte was accepted")
	}
	if _, err := tok.Signer(ctx, KeyRef{0x01}); !errors.Is(err, ErrBadKeyRef) {
		t.Fatalf("Signer(unknown form) = %v", err)
	}
	if err := tok.DestroySigningKey(ctx, c.Ref); err != nil {
		t.Fatalf("DestroySigningKey: %v", err)
	}
	if _, err := tok.Signer(ctx, c.Ref); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Signer after destroy = %v", err)
	}
}
