package verify

import (
	"strings"
	"unicode/utf16"
)

// maxFields bounds the form fields visited: forms with more than 100 000
// fields do not exist in practice.
const maxFields = 100_000

// sigField is a signature field whose value is a signature dictionary.
type sigField struct {
	name     string
	fieldNum int // object number of the field (0 if direct)
	sigRef   pdfRef
	direct   bool // the signature dictionary is a direct object in the field
	sig      pdfDict
}

// field is one terminal form field.
type field struct {
	name string
	num  int
	dict pdfDict
	ft   pdfName
}

// fields walks the AcroForm field tree (with inherited /FT and full names).
func (d *document) fields() []field {
	var out []field
	acro := d.dict(d.catalog()["AcroForm"])
	if acro == nil {
		return nil
	}
	seen := map[int]bool{}
	count := 0
	var walk func(o object, parent string, ft pdfName, depth int)
	walk = func(o object, parent string, ft pdfName, depth int) {
		if depth > 32 || count > maxFields {
			return
		}
		count++
		num := 0
		if r, ok := o.(pdfRef); ok {
			if seen[r.num] {
				return
			}
			seen[r.num] = true
			num = r.num
		}
		fd := d.dict(o)
		if fd == nil {
			return
		}
		name := parent
		if t, ok := d.get(fd["T"]).(pdfString); ok {
			if name != "" {
				name += "."
			}
			name += textString(t.b)
		}
		if f, ok := d.get(fd["FT"]).(pdfName); ok {
			ft = f
		}
		kids, _ := d.get(fd["Kids"]).(pdfArray)
		hasFieldKids := false
		for _, k := range kids {
			kd := d.dict(k)
			if kd != nil && (kd["T"] != nil || kd["FT"] != nil || kd["Kids"] != nil) {
				hasFieldKids = true
			}
		}
		if hasFieldKids {
			for _, k := range kids {
				walk(k, name, ft, depth+1)
			}
			return
		}
		out = append(out, field{name: name, num: num, dict: fd, ft: ft})
	}
	fs, _ := d.get(acro["Fields"]).(pdfArray)
	for _, f := range fs {
		walk(f, "", "", 0)
	}
	return out
}

// signatureFields returns the signature fields with a value, one per
// signature dictionary (a dictionary referenced by several fields counts once).
func (d *document) signatureFields() []sigField {
	var out []sigField
	seen := map[int]bool{}
	for _, f := range d.fields() {
		if f.ft != "Sig" {
			continue
		}
		v := f.dict["V"]
		sig := d.dict(v)
		if sig == nil {
			continue
		}
		sf := sigField{name: f.name, fieldNum: f.num, sig: sig}
		if r, ok := v.(pdfRef); ok {
			if seen[r.num] {
				continue
			}
			seen[r.num] = true
			sf.sigRef = r
		} else {
			sf.direct = true
		}
		out = append(out, sf)
	}
	return out
}

// textString decodes a PDF text string (UTF-16BE with BOM, UTF-8 with BOM,
// or PDFDocEncoding read as Latin-1).
func textString(b []byte) string {
	if len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff {
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	}
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		return strings.ToValidUTF8(string(b[3:]), "?")
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
