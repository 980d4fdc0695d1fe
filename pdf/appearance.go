package pdf

import (
	"bytes"
	"fmt"
	"strconv"
)

// writeAppearance writes the form XObject of a visible signature, of size
// w×h as the page is shown, drawing lines in the embedded appearance font
// on a light box, turned by rotate degrees (the page's /Rotate) through
// its /Matrix so that it reads upright on a rotated page. Only DeviceGray
// is used and nothing is transparent, so a PDF/A document stays PDF/A
// whatever its output intent. PDF/A allows DeviceGray only under a PDF/A
// output intent or a device-independent DefaultGray (ISO 19005-1 §6.2.3.3,
// ISO 19005-2 §6.2.4.3): defaultGray gives the form a CalGray DefaultGray,
// for documents without such an output intent.
func (u *update) writeAppearance(r Ref, w, h float64, lines []string, rotate int, defaultGray bool) error {
	d := newDict()
	d.set("Type", Name("XObject"))
	d.set("Subtype", Name("Form"))
	d.set("BBox", []Object{int64(0), int64(0), num(w), num(h)})
	if m, ok := rotationMatrix[rotate]; ok && rotate != 0 {
		d.set("Matrix", []Object{m[0], m[1], m[2], m[3], m[4], m[5]})
	}
	var c bytes.Buffer
	if len(lines) > 0 && w > 0 && h > 0 {
		font, err := loadAppearanceFont()
		if err != nil {
			return err
		}
		shaped := make([]shapedLine, len(lines))
		widest := 0.5
		for i, l := range lines {
			shaped[i] = font.shape(l)
			widest = max(widest, shaped[i].width)
		}
		fontRef, code, err := u.writeFont(font, shaped)
		if err != nil {
			return err
		}
		fonts := newDict()
		fonts.set("F1", fontRef)
		res := newDict()
		res.set("Font", fonts)
		res.set("ProcSet", []Object{Name("PDF"), Name("Text")})
		if defaultGray {
			res.set("ColorSpace", defaultGrayResource())
		}
		d.set("Resources", res)

		// lines are 1.2 em apart; 2 points of margin on each side
		size := min(12, (h-4)/(1.2*float64(len(lines))), (w-4)/widest)
		size = max(size, 1)
		fmt.Fprintf(&c, "q 0.96 g 0 0 %s %s re f 0.5 G 0.5 w 0.25 0.25 %s %s re S Q\n", f(w), f(h), f(w-0.5), f(h-0.5))
		fmt.Fprintf(&c, "BT 0 g /F1 %s Tf %s TL 2 %s Td\n", f(size), f(size*1.2), f(h-2-size))
		for i, l := range shaped {
			if i > 0 {
				c.WriteString("T* ")
			}
			c.WriteByte('<')
			for _, g := range l.glyphs {
				fmt.Fprintf(&c, "%04X", code[g])
			}
			c.WriteString("> Tj\n")
		}
		c.WriteString("ET\n")
	}
	u.writeStream(r, d, c.Bytes())
	return nil
}

// defaultGrayResource is a colour space resource dictionary whose
// DefaultGray is CalGray with the D65 white point and a gamma of 2.2, the
// grey of sRGB: the appearance's DeviceGray values are then device
// independent and look as they would on an sRGB output intent.
func defaultGrayResource() *Dict {
	cal := newDict()
	cal.set("WhitePoint", []Object{Real("0.9505"), int64(1), Real("1.089")})
	cal.set("Gamma", Real("2.2"))
	cs := newDict()
	cs.set("DefaultGray", []Object{Name("CalGray"), cal})
	return cs
}

// needsDefaultGray reports whether an appearance drawn in DeviceGray needs
// a DefaultGray to keep the document PDF/A: a document that says it is
// PDF/A (pdfaid in its XMP metadata) without a PDF/A output intent.
// Other documents keep plain DeviceGray.
func (d *reader) needsDefaultGray() bool {
	return d.claimsPDFA() && !d.hasPDFAOutputIntent()
}

// claimsPDFA reports whether the catalog's XMP metadata holds a PDF/A
// identification (the pdfaid schema of ISO 19005).
func (d *reader) claimsPDFA() bool {
	cat, err := d.catalog()
	if err != nil {
		return false
	}
	o, err := d.resolve(cat.Get("Metadata"))
	if err != nil {
		return false
	}
	s, ok := o.(*Stream)
	if !ok {
		return false
	}
	xmp, err := d.decode(s)
	return err == nil && bytes.Contains(xmp, []byte("http://www.aiim.org/pdfa/ns/id/"))
}

// hasPDFAOutputIntent reports whether the catalog has an output intent of
// subtype GTS_PDFA1, under which PDF/A allows DeviceGray.
func (d *reader) hasPDFAOutputIntent() bool {
	cat, err := d.catalog()
	if err != nil {
		return false
	}
	intents, err := d.resolveArray(cat.Get("OutputIntents"))
	if err != nil {
		return false
	}
	for _, o := range intents {
		oi, err := d.resolveDict(o)
		if err != nil {
			continue
		}
		if s, _ := d.resolve(oi.Get("S")); s == Name("GTS_PDFA1") {
			return true
		}
	}
	return false
}

// rotationMatrix turns a form's upright content by the page's /Rotate
// (clockwise when shown), counter-clockwise in default user space, so the
// content is upright as the page is shown (ISO 32000-1 §12.5.5: the form's
// bounding box, transformed by /Matrix, is fitted to the widget's /Rect).
var rotationMatrix = map[int][6]Object{
	0:   {int64(1), int64(0), int64(0), int64(1), int64(0), int64(0)},
	90:  {int64(0), int64(1), int64(-1), int64(0), int64(0), int64(0)},
	180: {int64(-1), int64(0), int64(0), int64(-1), int64(0), int64(0)},
	270: {int64(0), int64(-1), int64(1), int64(0), int64(0), int64(0)},
}

// placeRect turns a rectangle given as the page is shown into the widget's
// /Rect in default user space. On an unrotated page the two are the same
// coordinates. On a page with /Rotate 90, 180 or 270, x and y are measured
// from the lower-left corner of the page as shown (of its crop box, or media
// box without one), so "50,50,250,110" is a box 200 wide and 60 high as the
// reader sees it wherever the rotation puts it.
func placeRect(r [4]float64, rotate int, box [4]float64) [4]float64 {
	x0, y0, x1, y1 := box[0], box[1], box[2], box[3]
	tr := func(u, v float64) (float64, float64) {
		switch rotate {
		case 90:
			return x1 - v, y0 + u
		case 180:
			return x1 - u, y1 - v
		case 270:
			return x0 + v, y1 - u
		}
		return u, v
	}
	ax, ay := tr(r[0], r[1])
	bx, by := tr(r[2], r[3])
	return [4]float64{min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)}
}

func f(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// pageGeometry returns a page's /Rotate (normalised to 0, 90, 180 or 270)
// and its crop box (else media box; else US Letter), looking them up
// through /Parent as the attributes are inheritable (ISO 32000-1 §7.7.3.4).
func (d *reader) pageGeometry(pg page) (int, [4]float64) {
	var rotate Object
	var media, crop []Object
	n := pg.dict
	for i := 0; n != nil && i < maxNesting; i++ {
		if rotate == nil {
			rotate = n.Get("Rotate")
		}
		if media == nil {
			media, _ = d.resolveArray(n.Get("MediaBox"))
		}
		if crop == nil {
			crop, _ = d.resolveArray(n.Get("CropBox"))
		}
		p, err := d.resolveDict(n.Get("Parent"))
		if err != nil {
			break
		}
		n = p
	}
	rot := 0
	if v, ok := d.resolveInt(rotate); ok {
		rot = int(((v%360)+360)%360) / 90 * 90
	}
	box, ok := d.rectOf(crop)
	if !ok {
		if box, ok = d.rectOf(media); !ok {
			box = [4]float64{0, 0, 612, 792}
		}
	}
	return rot, box
}

// rectOf reads a rectangle array, normalised so that the first corner is
// the lower-left one.
func (d *reader) rectOf(a []Object) ([4]float64, bool) {
	if len(a) != 4 {
		return [4]float64{}, false
	}
	var v [4]float64
	for i, o := range a {
		o, _ = d.resolve(o)
		switch x := o.(type) {
		case int64:
			v[i] = float64(x)
		case Real:
			fv, err := strconv.ParseFloat(string(x), 64)
			if err != nil {
				return v, false
			}
			v[i] = fv
		default:
			return v, false
		}
	}
	if !finite(v[:]) {
		return v, false
	}
	return [4]float64{min(v[0], v[2]), min(v[1], v[3]), max(v[0], v[2]), max(v[1], v[3])}, true
}
