package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
)

func openBytes(t *testing.T, b []byte) *Reader {
	t.Helper()
	r, err := Open(context.Background(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return r
}

// TestOpenRevisions reads a document and its first revision after an
// incremental update, as a validator compares them.
func TestOpenRevisions(t *testing.T) {
	base := makePDF(1, 0, "revisions")
	var out bytes.Buffer
	if _, err := Prepare(context.Background(), bytes.NewReader(base), int64(len(base)), &out, sha256.New(), PrepareRequest{ContentsSize: 64}); err != nil {
		t.Fatal(err)
	}
	final := openBytes(t, out.Bytes())
	first, err := final.Revision(int64(len(base)))
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	catalog := func(r *Reader) *Dict {
		o, err := r.Resolve(r.Trailer().Get("Root"))
		if err != nil {
			t.Fatal(err)
		}
		d, _ := o.(*Dict)
		return d
	}
	if catalog(first).Get("AcroForm") != nil || catalog(final).Get("AcroForm") == nil {
		t.Fatal("the update's /AcroForm should be in the final revision only")
	}
	if first.Trailer().Get("Prev") != nil || final.Trailer().Get("Prev") == nil {
		t.Fatal("each revision should be read through its own trailer")
	}
	changed := 0
	for num, e := range final.Entries() {
		if old, ok := first.Entry(num); !ok || old != e {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("no cross-reference entry changed between the revisions")
	}
	page, _ := first.Entry(5)
	if page2, _ := final.Entry(5); page != page2 {
		t.Fatal("the content stream's entry should be the same in both revisions")
	}
	a, _ := first.Resolve(Ref{Num: 5})
	b, _ := final.Resolve(Ref{Num: 5})
	if _, ok := a.(*Stream); !ok || !Equal(a, b) {
		t.Fatalf("the content stream should read the same in both revisions: %T", a)
	}
	data, err := final.Decode(b.(*Stream))
	if err != nil || !bytes.Contains(data, []byte("revisions - page 1")) {
		t.Fatalf("Decode: %q, %v", data, err)
	}
	for _, end := range []int64{0, -1, int64(out.Len()) + 1} {
		if _, err := final.Revision(end); !errors.Is(err, ErrBroken) {
			t.Errorf("Revision(%d): %v, want ErrBroken", end, err)
		}
	}
}

// TestOpenKeepsXref checks that Open, unlike Inspect, neither refuses an
// encrypted document nor rebuilds a cross-reference that points an object
// to another one.
func TestOpenKeepsXref(t *testing.T) {
	base := makePDF(1, 0, "keep")
	off := func(num int) int { return bytes.Index(base, []byte(fmt.Sprintf("\n%d 0 obj", num))) + 1 }
	wrong := bytes.Replace(base, fmt.Appendf(nil, "%010d 00000 n", off(4)), fmt.Appendf(nil, "%010d 00000 n", off(3)), 1)
	encrypted := bytes.Replace(base, []byte("/Root 1 0 R"), []byte("/Root 1 0 R /Encrypt 4 0 R"), 1)

	r := openBytes(t, wrong)
	if _, err := r.Resolve(Ref{Num: 4}); !errors.Is(err, ErrBroken) {
		t.Errorf("Resolve of a misplaced object: %v, want ErrBroken", err)
	}
	if r.Repaired() {
		t.Error("Open repaired a readable cross-reference")
	}
	if _, err := Inspect(context.Background(), bytes.NewReader(wrong), int64(len(wrong))); err != nil {
		t.Errorf("Inspect should repair the misplaced object: %v", err)
	}
	if r := openBytes(t, encrypted); r.Trailer().Get("Encrypt") == nil {
		t.Error("Open lost /Encrypt")
	}
	if _, err := Inspect(context.Background(), bytes.NewReader(encrypted), int64(len(encrypted))); !errors.Is(err, ErrEncrypted) {
		t.Errorf("Inspect of an encrypted document: %v", err)
	}
	if _, err := Open(context.Background(), bytes.NewReader([]byte("hello")), 5); !errors.Is(err, ErrNotPDF) {
		t.Errorf("Open of a non-PDF: %v", err)
	}
}

func TestEqual(t *testing.T) {
	d1, d2 := newDict(), newDict()
	d1.set("A", int64(1))
	d1.set("B", Name("x"))
	d2.set("B", Name("x"))
	d2.set("A", int64(1))
	d3 := d2.clone()
	d3.set("C", true)
	tests := []struct {
		name string
		a, b Object
		want bool
	}{
		{"nulls", nil, nil, true},
		{"int and real", int64(1), Real("1.0"), false},
		{"reals by value", Real("1.0"), Real("1.00"), true},
		{"strings by bytes", String{Bytes: []byte("ab")}, String{Bytes: []byte("ab"), Hex: true}, true},
		{"refs", Ref{Num: 1}, Ref{Num: 1, Gen: 1}, false},
		{"dict key order", d1, d2, true},
		{"dict extra key", d2, d3, false},
		{"arrays", []Object{int64(1), d1}, []Object{int64(1), d2}, true},
		{"array lengths", []Object{int64(1)}, []Object{int64(1), nil}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Equal(tc.a, tc.b); got != tc.want {
				t.Fatalf("Equal = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHexStringAt(t *testing.T) {
	tests := []struct {
		in      string
		off     int64
		want    string
		end     int64
		wantErr bool
	}{
		{"x<41 42>y", 1, "AB", 8, false},
		{"<414>", 0, "A@", 5, false},
		{"<<41>>", 0, "", 0, true},
		{"(41)", 0, "", 0, true},
		{"<4G>", 0, "", 0, true},
		{"<41", 0, "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			b, end, err := HexStringAt(bytes.NewReader([]byte(tc.in)), int64(len(tc.in)), tc.off)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (string(b) != tc.want || end != tc.end) {
				t.Fatalf("got %q, %d; want %q, %d", b, end, tc.want, tc.end)
			}
		})
	}
}

// TestReaderBudget checks that the revisions of one document share one
// budget, and that exhausting it gives ErrLimit (with ErrBroken).
func TestReaderBudget(t *testing.T) {
	base := makePDF(1, 0, "budget")
	var out bytes.Buffer
	if _, err := Prepare(context.Background(), bytes.NewReader(base), int64(len(base)), &out, sha256.New(), PrepareRequest{ContentsSize: 64}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    budget
	}{
		{"object reads", budget{lim: DefaultLimits(), fetches: DefaultLimits().ObjectReads - 3}},
		{"decoded bytes", budget{lim: DefaultLimits(), decoded: DefaultLimits().DecodedBytes}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			final, err := openReader(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()), &b)
			if err != nil {
				if !errors.Is(err, ErrLimit) || !errors.Is(err, ErrBroken) {
					t.Fatalf("Open: %v", err)
				}
				return
			}
			var last error
			for i := 0; i < 10 && last == nil; i++ {
				first, err := final.Revision(int64(len(base)))
				if err != nil {
					last = err
					break
				}
				o, err := first.Resolve(Ref{Num: 5})
				if err != nil {
					last = err
					break
				}
				_, last = first.Decode(o.(*Stream))
			}
			if !errors.Is(last, ErrLimit) || !errors.Is(last, ErrBroken) {
				t.Fatalf("reads past the budget: %v, want ErrLimit", last)
			}
		})
	}
}
