package icons

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

var slug = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// maxSVGSize bounds each drawing: the icon is sent with every request to the device, and a
// simple pictogram needs far less.
const maxSVGSize = 4096

func TestCatalogue(t *testing.T) {
	all := All()
	if len(all) < 16 {
		t.Fatalf("got %d icons, want at least 16", len(all))
	}
	ids := map[string]bool{}
	labels := map[string]bool{}
	for _, ic := range all {
		if !slug.MatchString(ic.ID) || len(ic.ID) > 32 {
			t.Errorf("id %q is not a short lowercase slug", ic.ID)
		}
		if strings.TrimSpace(ic.Label) == "" || ic.Label != strings.TrimSpace(ic.Label) {
			t.Errorf("icon %q: bad label %q", ic.ID, ic.Label)
		}
		if ids[ic.ID] {
			t.Errorf("duplicate id %q", ic.ID)
		}
		if labels[strings.ToLower(ic.Label)] {
			t.Errorf("duplicate label %q", ic.Label)
		}
		ids[ic.ID], labels[strings.ToLower(ic.Label)] = true, true
	}

	// Every file in svg/ belongs to an icon, and every icon has its file.
	entries, err := fs.ReadDir(files, "svg")
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, strings.TrimSuffix(e.Name(), ".svg"))
	}
	var listed []string
	for id := range ids {
		listed = append(listed, id)
	}
	sort.Strings(onDisk)
	sort.Strings(listed)
	if !slices.Equal(onDisk, listed) {
		t.Errorf("svg files %v do not match catalogue %v", onDisk, listed)
	}
}

func TestAllIsACopyInStableOrder(t *testing.T) {
	a := All()
	a[0] = Icon{ID: "changed", Label: "Changed"}
	b := All()
	if b[0].ID == "changed" {
		t.Fatal("All exposes the catalogue to modification")
	}
	if !slices.Equal(b, All()) {
		t.Fatal("All is not stable")
	}
}

func TestLookupAndSVG(t *testing.T) {
	tests := []struct {
		id    string
		found bool
	}{
		{"sun", true},
		{"ice-cream", true},
		{"Sun", false},
		{"", false},
		{"../icons.go", false},
		{"svg/sun", false},
		{"sun.svg", false},
		{"nope", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			ic, ok := Lookup(tt.id)
			if ok != tt.found {
				t.Fatalf("Lookup(%q) found=%v, want %v", tt.id, ok, tt.found)
			}
			if ok && ic.ID != tt.id {
				t.Fatalf("Lookup(%q) = %+v", tt.id, ic)
			}
			b, ok := SVG(tt.id)
			if ok != tt.found || (ok && len(b) == 0) || (!ok && b != nil) {
				t.Fatalf("SVG(%q) = %d bytes, %v", tt.id, len(b), ok)
			}
		})
	}
	// The caller owns the bytes: changing them must not change the next answer.
	b, _ := SVG("sun")
	b[0] = 'X'
	if c, _ := SVG("sun"); c[0] != '<' {
		t.Fatal("SVG returned shared bytes")
	}
}

// allowedElements and allowedAttrs are everything a simple pictogram needs. Anything else
// (script, text, image, use, a, style, foreignObject, href, on*, id, style=) is refused:
// the drawings are inlined in integrators' pages and must stay inert and self-contained.
var (
	allowedElements = map[string]bool{
		"svg": true, "g": true, "path": true, "circle": true, "ellipse": true,
		"rect": true, "line": true, "polyline": true, "polygon": true,
	}
	allowedAttrs = map[string]bool{
		"xmlns": true, "viewBox": true, "width": true, "height": true,
		"x": true, "y": true, "x1": true, "y1": true, "x2": true, "y2": true,
		"cx": true, "cy": true, "r": true, "rx": true, "ry": true,
		"d": true, "points": true, "transform": true,
		"fill": true, "stroke": true, "stroke-width": true,
		"stroke-linecap": true, "stroke-linejoin": true,
	}
	colour = regexp.MustCompile(`^(none|#[0-9A-Fa-f]{6})$`)
)

// checkSVG parses doc and returns the colours it paints with, or the first problem found.
func checkSVG(doc []byte) (colours []string, err error) {
	if len(doc) > maxSVGSize {
		return nil, fmt.Errorf("%d bytes, more than %d", len(doc), maxSVGSize)
	}
	lower := bytes.ToLower(doc)
	for _, bad := range []string{"<script", "<text", "href", "<!", "<?", "url(", "javascript:"} {
		if bytes.Contains(lower, []byte(bad)) {
			return nil, fmt.Errorf("contains %q", bad)
		}
	}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	dec.Strict = true
	depth := 0
	seen := map[string]bool{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if tok.Name.Local != "svg" || tok.Name.Space != "http://www.w3.org/2000/svg" {
					return nil, fmt.Errorf("root is %v, want svg in the SVG namespace", tok.Name)
				}
				var viewBox, xmlns bool
				for _, a := range tok.Attr {
					viewBox = viewBox || (a.Name.Local == "viewBox" && a.Value == "0 0 64 64")
					xmlns = xmlns || (a.Name.Space == "" && a.Name.Local == "xmlns" && a.Value == "http://www.w3.org/2000/svg")
				}
				if !viewBox || !xmlns {
					return nil, fmt.Errorf("root lacks viewBox=\"0 0 64 64\" or xmlns")
				}
			} else if tok.Name.Space != "http://www.w3.org/2000/svg" {
				return nil, fmt.Errorf("element %v outside the SVG namespace", tok.Name)
			}
			if !allowedElements[tok.Name.Local] {
				return nil, fmt.Errorf("element <%s> not allowed", tok.Name.Local)
			}
			for _, a := range tok.Attr {
				if a.Name.Space != "" || !allowedAttrs[a.Name.Local] {
					return nil, fmt.Errorf("attribute %v on <%s> not allowed", a.Name, tok.Name.Local)
				}
				if a.Name.Local == "fill" || a.Name.Local == "stroke" {
					if !colour.MatchString(a.Value) {
						return nil, fmt.Errorf("colour %q is not none or #rrggbb", a.Value)
					}
					if v := strings.ToUpper(a.Value); v != "NONE" && !seen[v] {
						seen[v] = true
						colours = append(colours, v)
					}
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) != 0 {
				return nil, fmt.Errorf("character data %q", tok)
			}
		case xml.Comment:
		default:
			return nil, fmt.Errorf("unexpected token %T", tok)
		}
	}
	if len(colours) == 0 {
		return nil, errors.New("paints nothing")
	}
	sort.Strings(colours)
	return colours, nil
}

func TestSVGDocuments(t *testing.T) {
	byContent := map[string]string{}
	byPalette := map[string]string{}
	for _, ic := range All() {
		t.Run(ic.ID, func(t *testing.T) {
			doc, ok := SVG(ic.ID)
			if !ok {
				t.Fatal("no SVG")
			}
			colours, err := checkSVG(doc)
			if err != nil {
				t.Fatal(err)
			}
			norm := strings.Join(strings.Fields(string(doc)), "")
			if other, dup := byContent[norm]; dup {
				t.Errorf("same drawing as %q", other)
			}
			byContent[norm] = ic.ID
			palette := strings.Join(colours, ",")
			if other, dup := byPalette[palette]; dup {
				t.Errorf("same colours %s as %q", palette, other)
			}
			byPalette[palette] = ic.ID
		})
	}
}

// The checker itself must refuse what it is meant to refuse.
func TestCheckSVGRejects(t *testing.T) {
	const head = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">`
	tests := []struct{ name, doc string }{
		{"script", head + `<script>alert(1)</script></svg>`},
		{"text", head + `<text x="1" y="1">Sun</text></svg>`},
		{"external image", head + `<image href="https://example.com/a.png"/></svg>`},
		{"xlink", head + `<use xlink:href="#a"/></svg>`},
		{"event handler", head + `<circle cx="1" cy="1" r="1" fill="#000000" onload="x()"/></svg>`},
		{"css url", head + `<rect width="1" height="1" fill="url(#g)"/></svg>`},
		{"id", head + `<rect id="a" width="1" height="1" fill="#000000"/></svg>`},
		{"no viewBox", `<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1" fill="#000000"/></svg>`},
		{"no xmlns", `<svg viewBox="0 0 64 64"><rect width="1" height="1" fill="#000000"/></svg>`},
		{"wrong root", `<g xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"/>`},
		{"doctype", `<!DOCTYPE svg>` + head + `<rect width="1" height="1" fill="#000000"/></svg>`},
		{"malformed", head + `<rect width="1" height="1" fill="#000000"></svg>`},
		{"paints nothing", head + `</svg>`},
		{"too big", head + strings.Repeat(" ", maxSVGSize) + `<rect fill="#000000"/></svg>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := checkSVG([]byte(tt.doc)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := checkSVG([]byte(head + `<rect width="1" height="1" fill="#000000"/></svg>`)); err != nil {
		t.Fatalf("refused a good document: %v", err)
	}
}

func TestChoose(t *testing.T) {
	all := All()
	for _, n := range []int{2, 3, 4, 6, len(all) - 1, len(all)} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for range 200 {
				right, choices, err := Choose(n)
				if err != nil {
					t.Fatal(err)
				}
				if len(choices) != n {
					t.Fatalf("got %d choices, want %d", len(choices), n)
				}
				seen := map[string]bool{}
				for _, c := range choices {
					if _, ok := Lookup(c.ID); !ok {
						t.Fatalf("unknown choice %+v", c)
					}
					if seen[c.ID] {
						t.Fatalf("duplicate choice %q in %v", c.ID, choices)
					}
					seen[c.ID] = true
				}
				if !seen[right.ID] {
					t.Fatalf("right icon %q not among %v", right.ID, choices)
				}
				if ic, _ := Lookup(right.ID); ic != right {
					t.Fatalf("right icon %+v differs from catalogue", right)
				}
			}
		})
	}
}

func TestChooseBadCount(t *testing.T) {
	for _, n := range []int{math.MinInt, -1, 0, 1, len(All()) + 1, math.MaxInt} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			_, choices, err := Choose(n)
			if !errors.Is(err, ErrChoiceCount) {
				t.Fatalf("Choose(%d) err = %v, want ErrChoiceCount", n, err)
			}
			if choices != nil {
				t.Fatalf("Choose(%d) returned choices", n)
			}
		})
	}
}

type failingReader struct{ after int }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.after <= 0 {
		return 0, errors.New("entropy gone")
	}
	r.after--
	clear(p) // zero is never rejected by rand.Int, so each draw takes exactly one read
	return len(p), nil
}

func TestChooseRandomnessFailure(t *testing.T) {
	// Fail at the first read, in the middle of the shuffle, and when placing the right icon.
	for _, after := range []int{0, 2, 4} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			_, choices, err := choose(&failingReader{after: after}, 4)
			if err == nil || choices != nil {
				t.Fatalf("got choices %v, err %v; want an error", choices, err)
			}
			if !strings.HasPrefix(err.Error(), "icons: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

// distributionProblems draws many times and reports departures from uniformity. The bounds
// are loose (many standard deviations) so a correct implementation never fails, while one
// that favours an icon or a position does.
func distributionProblems(draw func(n int) (Icon, []Icon, error)) []string {
	const n = 4
	all := All()
	draws := 1000 * len(all) // 1000 expected per icon as the right one
	rightCount := map[string]int{}
	shownCount := map[string]int{}
	posCount := make([]int, n)
	for range draws {
		right, choices, err := draw(n)
		if err != nil {
			return []string{err.Error()}
		}
		rightCount[right.ID]++
		for i, c := range choices {
			shownCount[c.ID]++
			if c == right {
				posCount[i]++
			}
		}
	}
	var problems []string
	within := func(what string, got, want int) {
		// The standard deviations are about 31 (right icon), 58 (shown) and 67 (position), so
		// ±25% is at least 8 of them.
		if lo, hi := want*3/4, want*5/4; got < lo || got > hi {
			problems = append(problems, fmt.Sprintf("%s: %d, want about %d", what, got, want))
		}
	}
	for _, ic := range all {
		within("right "+ic.ID, rightCount[ic.ID], draws/len(all))
		within("shown "+ic.ID, shownCount[ic.ID], draws*n/len(all))
	}
	for i, c := range posCount {
		within(fmt.Sprintf("right at position %d", i), c, draws/n)
	}
	return problems
}

func TestChooseUniform(t *testing.T) {
	if testing.Short() {
		t.Skip("statistical test skipped in -short mode")
	}
	for _, p := range distributionProblems(Choose) {
		t.Error(p)
	}
}

// The uniformity check must catch a broken source: one that always yields the same bytes.
func TestDistributionCheckCatchesBias(t *testing.T) {
	constant := func(n int) (Icon, []Icon, error) { return choose(zeroReader{}, n) }
	if p := distributionProblems(constant); len(p) == 0 {
		t.Fatal("a constant source passed the uniformity check")
	}
}

// Choose draws a security check: the package must not use math/rand.
func TestNoMathRand(t *testing.T) {
	pkgs, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range pkgs {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p := strings.Trim(imp.Path.Value, `"`); strings.HasPrefix(p, "math/rand") {
				t.Errorf("%s imports %s", name, p)
			}
		}
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestChooseConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, _, err := Choose(4); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"sun", "ice-cream", "", "../doc.go", "svg/sun.svg", "SUN", "sun\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ic, ok := Lookup(id)
		doc, svgOK := SVG(id)
		if ok != svgOK {
			t.Fatalf("Lookup found=%v but SVG found=%v for %q", ok, svgOK, id)
		}
		if !ok {
			if ic != (Icon{}) || doc != nil {
				t.Fatalf("not found but returned %+v / %d bytes", ic, len(doc))
			}
			return
		}
		if ic.ID != id || !slices.Contains(All(), ic) {
			t.Fatalf("Lookup(%q) = %+v", id, ic)
		}
	})
}
