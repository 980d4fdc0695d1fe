package hsm

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/miekg/pkcs11"
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

// searchCounter counts the object searches made through it.
type searchCounter struct {
	pkctx
	searches atomic.Int64
}

func (c *searchCounter) FindObjectsInit(sh pkcs11.SessionHandle, temp []*pkcs11.Attribute) error {
	c.searches.Add(1)
	return c.pkctx.FindObjectsInit(sh, temp)
}

// TestCreateSigningKeyNoSearch: a user's token key is created without searching the
// token (a search reads every object), several at once, each usable by its reference;
// GenerateKey still refuses a label in use. A name given twice leaves two keys, which
// the reference then reports as ambiguous.
func TestCreateSigningKeyNoSearch(t *testing.T) {
	tok := openToken(t, 4)
	ctx := context.Background()
	c := &searchCounter{pkctx: tok.p}
	tok.p = c
	created := make([]CreatedKey, 6)
	errs := make([]error, len(created))
	var wg sync.WaitGroup
	for i := range created {
		wg.Go(func() {
			created[i], errs[i] = tok.CreateSigningKey(ctx, CreateKeyRequest{Name: uniqueLabel(t, fmt.Sprintf("nosearch%d", i)), Type: ECP256})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("CreateSigningKey: %v", err)
	}
	if n := c.searches.Load(); n != 0 {
		t.Errorf("creating %d token keys made %d searches, want 0", len(created), n)
	}
	digest := hashOf(crypto.SHA256, "no search")
	for _, ck := range created {
		k, err := tok.Signer(ctx, ck.Ref)
		if err != nil {
			t.Fatalf("Signer(%s): %v", ck.Ref, err)
		}
		sig, err := k.SignContext(ctx, digest, crypto.SHA256)
		if err != nil {
			t.Fatalf("sign: %v", err)
		}
		verify(t, ck.Public, digest, sig, crypto.SHA256)
		t.Cleanup(func() { _ = tok.DestroySigningKey(context.Background(), ck.Ref) })
	}
	label, err := created[0].Ref.label()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tok.GenerateKey(ctx, GenerateKeyRequest{Label: label, Type: ECP256}); !errors.Is(err, ErrKeyExists) {
		t.Errorf("GenerateKey on a user key's label = %v, want ErrKeyExists", err)
	}
	twice := uniqueLabel(t, "twice")
	for range 2 {
		ck, err := tok.CreateSigningKey(ctx, CreateKeyRequest{Name: twice, Type: ECP256})
		if err != nil {
			t.Fatalf("CreateSigningKey(%q): %v", twice, err)
		}
		if !bytes.Equal(ck.Ref, LabelRef(twice)) {
			t.Fatalf("ref %q", ck.Ref)
		}
		t.Cleanup(func() {
			// DeleteKey refuses an ambiguous label: destroy both by handle.
			_ = tok.withSession(context.Background(), func(h pkcs11.SessionHandle) error {
				objs, err := tok.findObjects(h, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_LABEL, twice)}, 0)
				for _, o := range objs {
					_ = tok.p.DestroyObject(h, o)
				}
				return err
			})
		})
	}
	if _, err := tok.Signer(ctx, LabelRef(twice)); !errors.Is(err, ErrAmbiguousKey) {
		t.Errorf("Signer of a name given twice = %v, want ErrAmbiguousKey", err)
	}
}
