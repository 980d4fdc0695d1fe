package pdf

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"slices"
	"sort"
	"sync"
	"unicode/utf16"

	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// The appearance font is Go Regular (golang.org/x/image/font/gofont, BSD
// licence): its glyphs cover the WGL4 set, so Latin with its European
// accents, Greek and Cyrillic names are drawn as written. It is embedded as
// a subset in a Type0 font (Identity-H, CIDFontType2, CID = glyph index)
// with a ToUnicode map, so the text is searchable and copyable, and a
// PDF/A file stays PDF/A: no font of an appearance is ever left unembedded.

// appearanceFontName is the PostScript name of the embedded font (after
// its subset tag).
const appearanceFontName = "GoRegular"

type appearanceFont struct {
	tt   *trueType
	sfnt *sfnt.Font
}

var loadAppearanceFont = sync.OnceValues(func() (*appearanceFont, error) {
	tt, err := parseTrueType(goregular.TTF)
	if err != nil {
		return nil, err
	}
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("pdf: appearance font: %w", err)
	}
	return &appearanceFont{tt: tt, sfnt: f}, nil
})

// shapedLine is a line of text as glyph indices and the text each glyph
// stands for.
type shapedLine struct {
	glyphs []int
	runes  []rune
	width  float64 // in text space units at size 1 (em)
}

// shape maps the NFC form of s to glyphs, one per character; a character
// the font lacks is drawn as '?' (and copied as '?').
func (f *appearanceFont) shape(s string) shapedLine {
	var buf sfnt.Buffer
	var l shapedLine
	q, _ := f.sfnt.GlyphIndex(&buf, '?')
	for _, r := range norm.NFC.String(s) {
		if r < 0x20 {
			continue
		}
		g, err := f.sfnt.GlyphIndex(&buf, r)
		if err != nil || g == 0 {
			g, r = q, '?'
		}
		l.glyphs = append(l.glyphs, int(g))
		l.runes = append(l.runes, r)
		l.width += float64(f.tt.advances[g]) / float64(f.tt.unitsPerEm)
	}
	return l
}

// glyphWidth is the advance of g in glyph space units (1/1000 em).
func (f *appearanceFont) glyphWidth(g int) int64 {
	return int64(f.tt.advances[g]) * 1000 / int64(f.tt.unitsPerEm)
}

// writeFont writes the Type0 font drawing lines (its descendant CIDFont,
// font descriptor, font program subset, CIDSet and ToUnicode map) and
// returns the Type0 font's reference and the code (CID, which is the glyph
// index in the subset) of each glyph of the source font.
func (u *update) writeFont(f *appearanceFont, lines []shapedLine) (Ref, map[int]int, error) {
	toUni := map[int]rune{}
	var used []int
	for _, l := range lines {
		for i, g := range l.glyphs {
			if _, ok := toUni[g]; !ok {
				toUni[g] = l.runes[i]
				used = append(used, g)
			}
		}
	}
	sort.Ints(used)
	keep := f.tt.closure(used)
	program, code := f.tt.subset(keep)
	sum := sha256.Sum256(program)
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = 'A' + sum[i]%26
	}
	base := Name(string(tag) + "+" + appearanceFontName)

	type0, cid, desc, file, cidSet, cmap := u.alloc(), u.alloc(), u.alloc(), u.alloc(), u.alloc(), u.alloc()

	fd := newDict()
	fd.set("Type", Name("FontDescriptor"))
	fd.set("FontName", base)
	fd.set("Flags", int64(32)) // nonsymbolic
	scale := func(v int) Object { return int64(v * 1000 / f.tt.unitsPerEm) }
	fd.set("FontBBox", []Object{scale(f.tt.bbox[0]), scale(f.tt.bbox[1]), scale(f.tt.bbox[2]), scale(f.tt.bbox[3])})
	fd.set("ItalicAngle", int64(0))
	fd.set("Ascent", scale(f.tt.ascent))
	fd.set("Descent", scale(f.tt.descent))
	fd.set("CapHeight", scale(f.tt.capHeight))
	fd.set("StemV", int64(80))
	fd.set("FontFile2", file)
	fd.set("CIDSet", cidSet)
	u.writeObj(desc, fd)

	ff := newDict()
	ff.set("Length1", int64(len(program)))
	if err := u.writeFlateStream(file, ff, program); err != nil {
		return Ref{}, nil, err
	}

	// CIDSet (required by PDF/A-1 for embedded CIDFonts): one bit per CID
	// whose glyph the program holds, high bit first.
	bits := make([]byte, (len(keep)+7)/8)
	for cid := range keep {
		bits[cid/8] |= 0x80 >> (cid % 8)
	}
	if err := u.writeFlateStream(cidSet, newDict(), bits); err != nil {
		return Ref{}, nil, err
	}

	var w []Object
	for _, g := range used {
		w = append(w, int64(code[g]), []Object{f.glyphWidth(g)})
	}
	cf := newDict()
	cf.set("Type", Name("Font"))
	cf.set("Subtype", Name("CIDFontType2"))
	cf.set("BaseFont", base)
	si := newDict()
	si.set("Registry", String{Bytes: []byte("Adobe")})
	si.set("Ordering", String{Bytes: []byte("Identity")})
	si.set("Supplement", int64(0))
	cf.set("CIDSystemInfo", si)
	cf.set("FontDescriptor", desc)
	cf.set("DW", f.glyphWidth(0))
	cf.set("W", w)
	cf.set("CIDToGIDMap", Name("Identity"))
	u.writeObj(cid, cf)

	if err := u.writeFlateStream(cmap, newDict(), toUnicodeCMap(used, code, toUni)); err != nil {
		return Ref{}, nil, err
	}

	t0 := newDict()
	t0.set("Type", Name("Font"))
	t0.set("Subtype", Name("Type0"))
	t0.set("BaseFont", base)
	t0.set("Encoding", Name("Identity-H"))
	t0.set("DescendantFonts", []Object{cid})
	t0.set("ToUnicode", cmap)
	u.writeObj(type0, t0)
	return type0, code, nil
}

// toUnicodeCMap maps the code (2 bytes) of each used glyph to its text,
// UTF-16BE.
func toUnicodeCMap(used []int, code map[int]int, toUni map[int]rune) []byte {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n" +
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	for chunk := range slices.Chunk(used, 100) { // at most 100 entries per block
		fmt.Fprintf(&b, "%d beginbfchar\n", len(chunk))
		for _, g := range chunk {
			fmt.Fprintf(&b, "<%04X> <", code[g])
			for _, u := range utf16.Encode([]rune{toUni[g]}) {
				fmt.Fprintf(&b, "%04X", u)
			}
			b.WriteString(">\n")
		}
		b.WriteString("endbfchar\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n")
	return b.Bytes()
}

// writeFlateStream writes data compressed with FlateDecode.
func (u *update) writeFlateStream(r Ref, d *Dict, data []byte) error {
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return fmt.Errorf("pdf: compressing: %w", err)
	}
	if _, err := zw.Write(data); err != nil {
		return fmt.Errorf("pdf: compressing: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pdf: compressing: %w", err)
	}
	nd := d.clone()
	nd.set("Filter", Name("FlateDecode"))
	u.writeEncodedStream(r, nd, z.Bytes())
	return nil
}
