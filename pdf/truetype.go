package pdf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// trueType is a parsed TrueType font program (glyf outlines), read far
// enough to subset it: its tables, glyph locations and metrics.
type trueType struct {
	tables     map[string][]byte
	numGlyphs  int
	unitsPerEm int
	advances   []uint16 // per glyph, in font units
	locaLong   bool
	glyphs     [][]byte // per glyph: its glyf data (empty for no outline)
	bbox       [4]int   // head xMin yMin xMax yMax
	ascent     int      // hhea ascender
	descent    int      // hhea descender (negative)
	capHeight  int      // OS/2 sCapHeight, or the ascent without one
}

// maxFontGlyphs bounds the glyph count a font may declare (the format's own
// limit is 65535): the font is the project's own, so this only guards the
// arithmetic.
const maxFontGlyphs = 65535

var errFont = errors.New("pdf: malformed TrueType font")

func be16(b []byte, off int) (int, bool) {
	if off < 0 || off+2 > len(b) {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(b[off:])), true
}

func bes16(b []byte, off int) int {
	v, _ := be16(b, off)
	return int(int16(v))
}

// parseTrueType reads the table directory and the tables subsetting needs.
func parseTrueType(data []byte) (*trueType, error) {
	if len(data) < 12 {
		return nil, errFont
	}
	if v := binary.BigEndian.Uint32(data); v != 0x00010000 && v != 0x74727565 { // 1.0 or 'true'
		return nil, fmt.Errorf("%w: not a TrueType outline font", errFont)
	}
	n, _ := be16(data, 4)
	if 12+16*n > len(data) {
		return nil, errFont
	}
	t := &trueType{tables: map[string][]byte{}}
	for i := range n {
		rec := data[12+16*i:]
		off, length := int(binary.BigEndian.Uint32(rec[8:])), int(binary.BigEndian.Uint32(rec[12:]))
		if off < 0 || length < 0 || off > len(data) || length > len(data)-off {
			return nil, fmt.Errorf("%w: table outside the file", errFont)
		}
		t.tables[string(rec[:4])] = data[off : off+length]
	}
	for _, tag := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf"} {
		if t.tables[tag] == nil {
			return nil, fmt.Errorf("%w: no %s table", errFont, tag)
		}
	}
	head, hhea := t.tables["head"], t.tables["hhea"]
	if len(head) < 54 || len(hhea) < 36 || len(t.tables["maxp"]) < 6 {
		return nil, errFont
	}
	t.unitsPerEm, _ = be16(head, 18)
	if t.unitsPerEm < 16 {
		return nil, fmt.Errorf("%w: unitsPerEm %d", errFont, t.unitsPerEm)
	}
	t.bbox = [4]int{bes16(head, 36), bes16(head, 38), bes16(head, 40), bes16(head, 42)}
	t.locaLong = bes16(head, 50) == 1
	t.numGlyphs, _ = be16(t.tables["maxp"], 4)
	if t.numGlyphs < 1 || t.numGlyphs > maxFontGlyphs {
		return nil, errFont
	}
	t.ascent, t.descent = bes16(hhea, 4), bes16(hhea, 6)
	t.capHeight = t.ascent
	if os2 := t.tables["OS/2"]; len(os2) >= 90 {
		if v, _ := be16(os2, 0); v >= 2 {
			t.capHeight = bes16(os2, 88)
		}
	}
	hm, _ := be16(hhea, 34)
	hmtx := t.tables["hmtx"]
	if hm < 1 || hm > t.numGlyphs || 4*hm > len(hmtx) {
		return nil, fmt.Errorf("%w: hmtx", errFont)
	}
	t.advances = make([]uint16, t.numGlyphs)
	for g := range t.numGlyphs {
		i := min(g, hm-1)
		t.advances[g] = binary.BigEndian.Uint16(hmtx[4*i:])
	}
	loca, glyf := t.tables["loca"], t.tables["glyf"]
	t.glyphs = make([][]byte, t.numGlyphs)
	at := func(i int) (int, bool) {
		if t.locaLong {
			if 4*i+4 > len(loca) {
				return 0, false
			}
			return int(binary.BigEndian.Uint32(loca[4*i:])), true
		}
		v, ok := be16(loca, 2*i)
		return 2 * v, ok
	}
	for g := range t.numGlyphs {
		a, ok1 := at(g)
		b, ok2 := at(g + 1)
		if !ok1 || !ok2 || a > b || b > len(glyf) {
			return nil, fmt.Errorf("%w: loca entry %d", errFont, g)
		}
		t.glyphs[g] = glyf[a:b]
	}
	return t, nil
}

// components returns the glyphs a composite glyph is made of (none for a
// simple glyph) and the offsets of their glyph indices in the glyph's data.
func (t *trueType) components(g int) (idx, at []int) {
	b := t.glyphs[g]
	if len(b) < 10 || bes16(b, 0) >= 0 {
		return nil, nil
	}
	const (
		argWords   = 0x0001
		scale      = 0x0008
		more       = 0x0020
		xyScale    = 0x0040
		twoByTwo   = 0x0080
		maxPerSlot = 64 // a composite of more parts than this is not a real glyph
	)
	for p := 10; len(idx) < maxPerSlot; {
		flags, ok1 := be16(b, p)
		gi, ok2 := be16(b, p+2)
		if !ok1 || !ok2 {
			break
		}
		if gi < t.numGlyphs {
			idx, at = append(idx, gi), append(at, p+2)
		}
		p += 4
		if flags&argWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&scale != 0:
			p += 2
		case flags&xyScale != 0:
			p += 4
		case flags&twoByTwo != 0:
			p += 8
		}
		if flags&more == 0 {
			break
		}
	}
	return idx, at
}

// closure returns the sorted set of glyphs needed to draw used: glyph 0
// (.notdef, which every TrueType font must keep), the used glyphs and the
// components of composite glyphs, transitively.
func (t *trueType) closure(used []int) []int {
	set := map[int]bool{0: true}
	todo := append([]int{}, used...)
	for len(todo) > 0 {
		g := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if g < 0 || g >= t.numGlyphs || set[g] && g != 0 {
			continue
		}
		set[g] = true
		comps, _ := t.components(g)
		for _, c := range comps {
			if !set[c] {
				todo = append(todo, c)
			}
		}
	}
	out := make([]int, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	sort.Ints(out)
	return out
}

// subset returns a font program holding only the glyphs of keep (sorted,
// starting with glyph 0), renumbered 0..len(keep)-1 in that order, and the
// map from old to new glyph indices. Every glyph of the program is one that
// is drawn (or a part of one, or .notdef), so a CIDSet marking all of them
// is exact, as PDF/A-1 requires and PDF/A-2 checks. It carries the tables a
// PDF TrueType font program needs (ISO 32000-1 §9.9): head, hhea, maxp,
// hmtx, loca (long offsets), glyf, and cvt, fpgm, prep, OS/2, name where the
// source has them, and a post table without glyph names (format 3); cmap
// is left out, the PDF maps codes to glyphs.
func (t *trueType) subset(keep []int) ([]byte, map[int]int) {
	newIndex := make(map[int]int, len(keep))
	for i, g := range keep {
		newIndex[g] = i
	}
	var glyf []byte
	loca := make([]byte, 4*(len(keep)+1))
	hmtx := make([]byte, 0, 4*len(keep))
	for i, g := range keep {
		binary.BigEndian.PutUint32(loca[4*i:], uint32(len(glyf)))
		data := slices.Clone(t.glyphs[g])
		comps, at := t.components(g)
		for j, c := range comps {
			binary.BigEndian.PutUint16(data[at[j]:], uint16(newIndex[c]))
		}
		glyf = append(glyf, data...)
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
		lsb := 0
		if len(t.glyphs[g]) >= 4 {
			lsb = bes16(t.glyphs[g], 2) // xMin, what hmtx's lsb is for TrueType outlines
		}
		hmtx = binary.BigEndian.AppendUint16(hmtx, t.advances[g])
		hmtx = binary.BigEndian.AppendUint16(hmtx, uint16(int16(lsb)))
	}
	binary.BigEndian.PutUint32(loca[4*len(keep):], uint32(len(glyf)))
	head := slices.Clone(t.tables["head"])
	binary.BigEndian.PutUint32(head[8:], 0)  // checkSumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1) // indexToLocFormat: long
	hhea := slices.Clone(t.tables["hhea"])
	binary.BigEndian.PutUint16(hhea[34:], uint16(len(keep))) // numberOfHMetrics
	maxp := slices.Clone(t.tables["maxp"])
	binary.BigEndian.PutUint16(maxp[4:], uint16(len(keep))) // numGlyphs
	tables := map[string][]byte{"head": head, "hhea": hhea, "maxp": maxp, "hmtx": hmtx, "loca": loca, "glyf": glyf}
	if post := t.tables["post"]; len(post) >= 32 {
		p := slices.Clone(post[:32])
		binary.BigEndian.PutUint32(p, 0x00030000) // format 3: no glyph names
		tables["post"] = p
	}
	for _, tag := range []string{"cvt ", "fpgm", "prep", "OS/2", "name"} {
		if b := t.tables[tag]; b != nil {
			tables[tag] = b
		}
	}
	tags := make([]string, 0, len(tables))
	for tag := range tables {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	n := len(tags)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	out := make([]byte, 12+16*n)
	binary.BigEndian.PutUint32(out, 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(n))
	binary.BigEndian.PutUint16(out[6:], uint16(16<<es))
	binary.BigEndian.PutUint16(out[8:], uint16(es))
	binary.BigEndian.PutUint16(out[10:], uint16(16*n-16<<es))
	headAt := 0
	for i, tag := range tags {
		b := tables[tag]
		rec := out[12+16*i:]
		copy(rec, tag)
		binary.BigEndian.PutUint32(rec[4:], tableChecksum(b))
		binary.BigEndian.PutUint32(rec[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(rec[12:], uint32(len(b)))
		if tag == "head" {
			headAt = len(out)
		}
		out = append(out, b...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-tableChecksum(out))
	return out, newIndex
}

// tableChecksum is the sum of b as big-endian 32-bit words, zero-padded.
func tableChecksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}
