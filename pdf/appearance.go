package pdf

import (
	"bytes"
	"fmt"
	"strconv"
)

// appearanceStream returns the dictionary and content of a form XObject of
// size w×h showing lines in Helvetica (an empty form for an invisible
// signature).
func appearanceStream(w, h float64, lines []string) (*Dict, []byte) {
	d := newDict()
	d.set("Type", Name("XObject"))
	d.set("Subtype", Name("Form"))
	d.set("BBox", []Object{int64(0), int64(0), num(w), num(h)})
	var c bytes.Buffer
	if len(lines) > 0 && w > 0 && h > 0 {
		font := newDict()
		font.set("Type", Name("Font"))
		font.set("Subtype", Name("Type1"))
		font.set("BaseFont", Name("Helvetica"))
		font.set("Encoding", Name("WinAnsiEncoding"))
		fonts := newDict()
		fonts.set("F1", font)
		res := newDict()
		res.set("Font", fonts)
		d.set("Resources", res)

		longest := 1
		for _, l := range lines {
			longest = max(longest, len([]rune(l)))
		}
		// Helvetica's average glyph is about 0.55 em wide; lines are 1.2 em apart
		size := min(12, (h-4)/(1.2*float64(len(lines))), (w-4)/(0.55*float64(longest)))
		size = max(size, 1)
		fmt.Fprintf(&c, "q 0.96 0.96 0.96 rg 0 0 %s %s re f 0.5 G 0.5 w 0.25 0.25 %s %s re S Q\n", f(w), f(h), f(w-0.5), f(h-0.5))
		fmt.Fprintf(&c, "BT 0 g /F1 %s Tf %s TL 2 %s Td\n", f(size), f(size*1.2), f(h-2-size))
		for i, l := range lines {
			if i > 0 {
				c.WriteString("T* ")
			}
			writeString(&c, String{Bytes: winAnsi(l)})
			c.WriteString(" Tj\n")
		}
		c.WriteString("ET\n")
	}
	return d, c.Bytes()
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// winAnsi encodes s in WinAnsiEncoding; other characters become '?'.
func winAnsi(s string) []byte {
	special := map[rune]byte{
		'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
		'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
		'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b,
		'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f,
	}
	var b []byte
	for _, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f, r >= 0xa0 && r <= 0xff:
			b = append(b, byte(r))
		case special[r] != 0:
			b = append(b, special[r])
		default:
			b = append(b, '?')
		}
	}
	return b
}
