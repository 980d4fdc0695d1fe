package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func corpusFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Skipf("shared corpus absent: %v", err)
	}
	return b
}

// TestSignIntoField signs into each empty field of a two-field document:
// the other field stays empty, no field is added, and both end valid.
func TestSignIntoField(t *testing.T) {
	ctx := context.Background()
	in := corpusFile(t, "pyhanko__minimal-two-fields.pdf")
	info, err := Inspect(ctx, bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.SignatureFields) != 2 {
		t.Fatalf("empty fields = %v", info.SignatureFields)
	}
	first, second := info.SignatureFields[0], info.SignatureFields[1]
	one, prep := sign(t, in, 0, PrepareRequest{Field: second, SigningTime: time.Now()})
	if prep.Field != second {
		t.Fatalf("signed %q, want %q", prep.Field, second)
	}
	after, err := Inspect(ctx, bytes.NewReader(one), int64(len(one)))
	if err != nil {
		t.Fatal(err)
	}
	if after.Fields != info.Fields || after.Signatures != 1 || !slices.Equal(after.SignatureFields, []string{first}) {
		t.Fatalf("after signing %q: %+v (before %+v)", second, after, info)
	}
	if _, err := Prepare(ctx, bytes.NewReader(one), int64(len(one)), &bytes.Buffer{}, sha256.New(), PrepareRequest{Field: second, ContentsSize: 100}); err == nil {
		t.Fatal("signing an already signed field succeeded")
	}
	two, _ := sign(t, one, 1, PrepareRequest{Field: first, SigningTime: time.Now()})
	checkSigned(t, two, 2, nil)
}

// TestFormKept signs a form: every field, /DA and /DR stay.
func TestFormKept(t *testing.T) {
	ctx := context.Background()
	in := corpusFile(t, "pdfbox__SimpleForm2Fields.pdf")
	before, err := Inspect(ctx, bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := sign(t, in, 0, PrepareRequest{SigningTime: time.Now()})
	after, err := Inspect(ctx, bytes.NewReader(out), int64(len(out)))
	if err != nil {
		t.Fatal(err)
	}
	if after.Fields != before.Fields+1 || after.Signatures != 1 {
		t.Fatalf("fields %d → %d, signatures %d", before.Fields, after.Fields, after.Signatures)
	}
	for _, b := range [][]byte{in, out} {
		d, err := open(ctx, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		cat, _ := d.catalog()
		af, _ := d.resolveDict(cat.Get("AcroForm"))
		if af.Get("DA") == nil || af.Get("DR") == nil {
			t.Fatalf("form lost /DA or /DR: %v", af.keys)
		}
	}
	checkSigned(t, out, 1, map[int]bool{1: true})
}

// TestCertified refuses a DocMDP P=1 document and counter-signs a P=2 one.
func TestCertified(t *testing.T) {
	ctx := context.Background()
	no, err := os.ReadFile("/work/shared/corpus/signed/dss__certified-no-change-permitted.pdf")
	if err != nil {
		t.Skipf("shared corpus absent: %v", err)
	}
	if _, err := Inspect(ctx, bytes.NewReader(no), int64(len(no))); !errors.Is(err, ErrCertifiedNoChanges) {
		t.Fatalf("P=1: %v, want ErrCertifiedNoChanges", err)
	}
	yes, err := os.ReadFile("/work/shared/corpus/signed/dss__certified-changes-permitted.pdf")
	if err != nil {
		t.Skip(err)
	}
	info, err := Inspect(ctx, bytes.NewReader(yes), int64(len(yes)))
	if err != nil || !info.Certified || info.DocMDP < 2 {
		t.Fatalf("changes permitted: %+v, %v", info, err)
	}
	sign(t, yes, 0, PrepareRequest{SigningTime: time.Now()})
}
