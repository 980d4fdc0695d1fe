package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
)

const unicodeName = "Łucja Zoë Wąsik-Øster Δημήτρης Щербаков"

// TestAppearanceUnicodeText signs with a name outside Latin-1 and checks,
// with poppler, that the text extracts as written and that every font is
// embedded.
func TestAppearanceUnicodeText(t *testing.T) {
	pdftotext := requireTool(t, "pdftotext")
	pdffonts := requireTool(t, "pdffonts")
	in := makePDF(1, 0, "Umowa")
	out, _ := sign(t, in, 0, PrepareRequest{SigningTime: time.Now(), Appearance: &Appearance{
		Page: 1, Rect: [4]float64{50, 50, 350, 130},
		Lines: []string{"Signed by " + unicodeName, "2026-12-03 19:00 UTC", "Qualified electronic signature"},
	}})
	path := writeTemp(t, "uni.pdf", out)
	if ok, msg := qpdfCheck(t, path); !ok {
		t.Fatalf("qpdf --check: %s", msg)
	}
	txt, err := exec.Command(pdftotext, "-q", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := norm.NFC.String(strings.Join(strings.Fields(string(txt)), " "))
	if !strings.Contains(got, unicodeName) {
		t.Errorf("pdftotext does not give the name; got %q", got)
	}
	fonts, err := exec.Command(pdffonts, path).Output()
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(fonts)), "\n")[2:]
	embedded := regexp.MustCompile(` yes +yes +yes +\d+ +\d+$`)
	found := false
	for _, r := range rows {
		if strings.Contains(r, "+"+appearanceFontName) {
			found = true
			if !strings.Contains(r, "CID TrueType") || !embedded.MatchString(r) {
				t.Errorf("appearance font not an embedded CID TrueType subset with ToUnicode: %q", r)
			}
		}
	}
	if !found {
		t.Errorf("pdffonts lists no %s font:\n%s", appearanceFontName, fonts)
	}
}

// TestAppearanceNoHelveticaNoColour checks that the appearance uses
// neither a standard (unembedded) font nor a colour space other than
// DeviceGray, nor transparency: what a PDF/A file may not gain.
func TestAppearanceNoHelveticaNoColour(t *testing.T) {
	in := makePDF(1, 0, "A")
	out, _ := sign(t, in, 0, PrepareRequest{Appearance: &Appearance{Page: 1, Rect: [4]float64{10, 10, 210, 70}, Lines: []string{"Émilie"}}})
	upd := out[len(in):]
	for _, bad := range []string{"/Helvetica", "/Type1", "/SMask", "/Group", "/CA ", "/ca ", " rg", " RG", "/WinAnsiEncoding", "/DefaultGray"} {
		if bytes.Contains(upd, []byte(bad)) {
			t.Errorf("the signature's update contains %q", bad)
		}
	}
}

// TestInvisibleFieldsHaveNoAppearance checks that an invisible signature
// and a document timestamp get a widget without /AP.
func TestInvisibleFieldsHaveNoAppearance(t *testing.T) {
	in := makePDF(1, 0, "A")
	for _, req := range []PrepareRequest{{}, {DocTimestamp: true}} {
		out, _ := sign(t, in, 0, req)
		upd := out[len(in):]
		if bytes.Contains(upd, []byte("/AP")) || bytes.Contains(upd, []byte("/XObject")) {
			t.Errorf("DocTimestamp=%v: invisible field has an appearance stream", req.DocTimestamp)
		}
	}
}

func TestPlaceRect(t *testing.T) {
	box := [4]float64{0, 0, 612, 792}
	r := [4]float64{50, 50, 250, 110}
	tests := []struct {
		rotate int
		want   [4]float64
	}{
		{0, [4]float64{50, 50, 250, 110}},
		{90, [4]float64{502, 50, 562, 250}},
		{180, [4]float64{362, 682, 562, 742}},
		{270, [4]float64{50, 542, 110, 742}},
	}
	for _, tt := range tests {
		if got := placeRect(r, tt.rotate, box); got != tt.want {
			t.Errorf("rotate %d: %v, want %v", tt.rotate, got, tt.want)
		}
	}
}

// TestAppearanceRotatedPages renders signed pages with /Rotate 90, 180 and
// 270 with pdftoppm and checks that the box is 200×60 where it was asked
// (as the page is shown) and that its text starts at the top left, as
// upright text does.
func TestAppearanceRotatedPages(t *testing.T) {
	pdftoppm := requireTool(t, "pdftoppm")
	for _, rot := range []int{0, 90, 180, 270} {
		t.Run(strconv.Itoa(rot), func(t *testing.T) {
			in := makePDFWith(1, 0, "Rotated", "/Rotate "+strconv.Itoa(rot)+" ")
			out, _ := sign(t, in, 0, PrepareRequest{Appearance: &Appearance{
				Page: 1, Rect: [4]float64{50, 50, 250, 110},
				Lines: []string{"Signed by Alice Martin", "MMMMMMMMMMMM", "x"},
			}})
			dir := t.TempDir()
			path := filepath.Join(dir, "rot.pdf")
			if err := os.WriteFile(path, out, 0o600); err != nil {
				t.Fatal(err)
			}
			img := renderPage(t, pdftoppm, path)
			b := img.Bounds()
			wantW, wantH := 612, 792
			if rot == 90 || rot == 270 {
				wantW, wantH = 792, 612
			}
			if b.Dx() != wantW || b.Dy() != wantH {
				t.Fatalf("page rendered %dx%d, want %dx%d", b.Dx(), b.Dy(), wantW, wantH)
			}
			// the box's light grey fill (0.96), as shown: x 50..250,
			// y 50..110 from the bottom
			want := image.Rect(50, wantH-110, 250, wantH-50)
			// Rows and columns count when a quarter of their pixels are the fill: the
			// antialiased edge of the page's own text, drawn in whatever font the system
			// substitutes for Helvetica, can reach into the margin around the box.
			box := denseBox(subImage(img, want.Inset(-4)), func(v uint8) bool { return v >= 240 && v <= 250 }, 0.25)
			if abs(box.Min.X-want.Min.X) > 2 || abs(box.Min.Y-want.Min.Y) > 2 || abs(box.Max.X-want.Max.X) > 2 || abs(box.Max.Y-want.Max.Y) > 2 {
				t.Fatalf("appearance box rendered at %v, want %v", box, want)
			}
			// the first line is the longest and is at the top of the
			// box, starting at its left edge; the last line ("x") is
			// short. Upright text has dark pixels in the box's top-left
			// corner and none at its bottom right.
			inner := want.Inset(3)
			dark := func(v uint8) bool { return v < 128 }
			text := bbox(subImage(img, inner), dark)
			if text.Empty() {
				t.Fatal("no text rendered in the box")
			}
			if text.Dx() <= text.Dy() {
				t.Errorf("text block %v is taller than wide: not upright", text)
			}
			topLeft := image.Rect(inner.Min.X, inner.Min.Y, inner.Min.X+30, inner.Min.Y+15)
			bottomRight := image.Rect(inner.Max.X-60, inner.Max.Y-15, inner.Max.X, inner.Max.Y)
			if bbox(subImage(img, topLeft), dark).Empty() {
				t.Error("no text at the box's top left: not upright")
			}
			if !bbox(subImage(img, bottomRight), dark).Empty() {
				t.Error("text at the box's bottom right: not upright")
			}
		})
	}
}

func subImage(img image.Image, r image.Rectangle) image.Image {
	return img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r)
}

// bbox is the bounding box of the pixels whose grey level satisfies ok.
func bbox(img image.Image, ok func(uint8) bool) image.Rectangle {
	var r image.Rectangle
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
			if ok(g) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// denseBox is the bounding box of the rows and columns in which at least the fraction
// frac of the pixels satisfy ok.
func denseBox(img image.Image, ok func(uint8) bool, frac float64) image.Rectangle {
	b := img.Bounds()
	rows, cols := make([]int, b.Dy()), make([]int, b.Dx())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if ok(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y) {
				rows[y-b.Min.Y]++
				cols[x-b.Min.X]++
			}
		}
	}
	span := func(counts []int, length int) (lo, hi int) {
		lo, hi = -1, -1
		for i, n := range counts {
			if float64(n) >= frac*float64(length) {
				if lo < 0 {
					lo = i
				}
				hi = i + 1
			}
		}
		return lo, hi
	}
	y0, y1 := span(rows, b.Dx())
	x0, x1 := span(cols, b.Dy())
	if y0 < 0 || x0 < 0 {
		return image.Rectangle{}
	}
	return image.Rect(b.Min.X+x0, b.Min.Y+y0, b.Min.X+x1, b.Min.Y+y1)
}

// TestTrueTypeSubset checks that the subset holds exactly the glyphs asked
// for, .notdef and the parts of composite glyphs, renumbered in order, with
// their outlines and advances unchanged.
func TestTrueTypeSubset(t *testing.T) {
	font, err := loadAppearanceFont()
	if err != nil {
		t.Fatal(err)
	}
	l := font.shape("Wą Å")
	for g := range font.tt.numGlyphs { // and the font's first composite glyph, if any
		if parts, _ := font.tt.components(g); len(parts) > 0 {
			l.glyphs = append(l.glyphs, g)
			break
		}
	}
	keep := font.tt.closure(l.glyphs)
	prog, code := font.tt.subset(keep)
	sub, err := parseTrueType(prog)
	if err != nil {
		t.Fatalf("the subset does not parse: %v", err)
	}
	if sub.numGlyphs != len(keep) || keep[0] != 0 {
		t.Fatalf("subset has %d glyphs, want %d starting with .notdef", sub.numGlyphs, len(keep))
	}
	composite := false
	for _, g := range keep {
		n := code[g]
		if sub.advances[n] != font.tt.advances[g] {
			t.Errorf("glyph %d→%d: advance %d, want %d", g, n, sub.advances[n], font.tt.advances[g])
		}
		oldParts, _ := font.tt.components(g)
		newParts, _ := sub.components(n)
		if len(oldParts) != len(newParts) {
			t.Fatalf("glyph %d: %d parts, now %d", g, len(oldParts), len(newParts))
		}
		for i := range oldParts {
			composite = true
			if newParts[i] != code[oldParts[i]] {
				t.Errorf("glyph %d part %d: %d, want %d", g, i, newParts[i], code[oldParts[i]])
			}
		}
		if len(oldParts) == 0 && !bytes.Equal(sub.glyphs[n][:len(font.tt.glyphs[g])], font.tt.glyphs[g]) {
			t.Errorf("glyph %d changed", g)
		}
	}
	if !composite {
		t.Log("Go Regular has no composite glyph: the renumbering of parts is not exercised")
	}
	if len(prog) > 20<<10 {
		t.Errorf("a subset of %d glyphs is %d bytes", len(keep), len(prog))
	}
	if tableChecksum(prog) != 0xB1B0AFBA {
		t.Error("whole-font checksum is not 0xB1B0AFBA")
	}
}

func TestPrepareRotatedMK(t *testing.T) {
	in := makePDFWith(1, 0, "R", "/Rotate 90 ")
	var out bytes.Buffer
	_, err := Prepare(context.Background(), bytes.NewReader(in), int64(len(in)), &out, sha256.New(), PrepareRequest{
		ContentsSize: 100, Appearance: &Appearance{Page: 1, Rect: [4]float64{50, 50, 250, 110}, Lines: []string{"a"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	upd := out.Bytes()[len(in):]
	for _, want := range []string{"/MK <</R 90>>", "/Matrix [0 1 -1 0 0 0]", "/Rect [502 50 562 250]", "/BBox [0 0 200 60]"} {
		if !bytes.Contains(upd, []byte(want)) {
			t.Errorf("update lacks %s", want)
		}
	}
}

// TestPDFAStaysPDFA signs the corpus's PDF/A files (PDF/A-1b, PDF/A-2u with a
// grey output intent) with a visible appearance and runs the checks of
// veraPDF that concern what signing adds: every font embedded (pdffonts),
// no transparency group, soft mask or constant alpha added, only DeviceGray
// drawn, the OutputIntent and the PDF/A identification (XMP metadata) kept,
// and the widget printable with only a normal appearance.
func TestPDFAStaysPDFA(t *testing.T) {
	pdffonts := requireTool(t, "pdffonts")
	for _, name := range []string{"dss__not_signed_pdfa.pdf", "dss__pdfa2u-gray.pdf"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(corpusDir, name))
			if errors.Is(err, os.ErrNotExist) {
				t.Skip("shared corpus absent")
			}
			if err != nil {
				t.Fatal(err)
			}
			out, _ := sign(t, in, 0, PrepareRequest{Appearance: &Appearance{Page: 1, Rect: [4]float64{40, 40, 300, 100},
				Lines: []string{"Signed by " + unicodeName, "Qualified electronic signature"}}})
			upd := out[len(in):]
			for _, bad := range []string{"/Group", "/SMask", "/CA ", "/ca ", " rg\n", " RG\n", "/DeviceRGB", "/DeviceCMYK", "/D <<", "/R <<"} {
				if bytes.Contains(upd, []byte(bad)) {
					t.Errorf("the signature revision adds %q", bad)
				}
			}
			for _, want := range []string{"/OutputIntents", "pdfaid:part"} {
				if bytes.Contains(in, []byte(want)) && !bytes.Contains(out, []byte(want)) {
					t.Errorf("%s lost", want)
				}
			}
			r, err := Open(context.Background(), bytes.NewReader(out), int64(len(out)))
			if err != nil {
				t.Fatal(err)
			}
			o, err := r.Resolve(r.Trailer().Get("Root"))
			if err != nil {
				t.Fatal(err)
			}
			cat, ok := o.(*Dict)
			if !ok {
				t.Fatal("no catalog")
			}
			if cat.Get("OutputIntents") == nil {
				t.Error("the catalog of the signed revision has no /OutputIntents")
			}
			if cat.Get("Metadata") == nil {
				t.Error("the catalog of the signed revision has no /Metadata")
			}
			path := writeTemp(t, "a.pdf", out)
			fonts, err := exec.Command(pdffonts, path).Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range strings.Split(strings.TrimSpace(string(fonts)), "\n")[2:] {
				if !regexp.MustCompile(` yes +(yes|no) +(yes|no) +\d+ +\d+$`).MatchString(row) {
					t.Errorf("font not embedded: %q", row)
				}
			}
		})
	}
}
