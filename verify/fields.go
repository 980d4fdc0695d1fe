package verify

import (
	"github.com/paraphe/paraphe/pdf"
)

// maxFields bounds the form fields visited: forms with more than 100 000
// fields do not exist in practice.
const maxFields = 100_000

// sigField is a signature field whose value is a signature dictionary.
type sigField struct {
	name     string
	fieldNum int // object number of the field (0 if direct)
	sigRef   pdf.Ref
	direct   bool // the signature dictionary is a direct object in the field
	sig      *pdf.Dict
}

// field is one terminal form field.
type field struct {
	name string
	num  int
	dict *pdf.Dict
	ft   pdf.Name
}

// fields walks the AcroForm field tree (with inherited /FT and full names).
func (d *document) fields() []field {
	var out []field
	acro := d.dict(d.catalog().Get("AcroForm"))
	if acro == nil {
		return nil
	}
	seen := map[int]bool{}
	count := 0
	var walk func(o pdf.Object, parent string, ft pdf.Name, depth int)
	walk = func(o pdf.Object, parent string, ft pdf.Name, depth int) {
		if depth > 32 || count > maxFields {
			return
		}
		count++
		num := 0
		if r, ok := o.(pdf.Ref); ok {
			if seen[r.Num] {
				return
			}
			seen[r.Num] = true
			num = r.Num
		}
		fd := d.dict(o)
		if fd == nil {
			return
		}
		name := parent
		if t, ok := d.get(fd.Get("T")).(pdf.String); ok {
			if name != "" {
				name += "."
			}
			name += t.Text()
		}
		if f, ok := d.get(fd.Get("FT")).(pdf.Name); ok {
			ft = f
		}
		kids, _ := d.get(fd.Get("Kids")).([]pdf.Object)
		hasFieldKids := false
		for _, k := range kids {
			kd := d.dict(k)
			if kd != nil && (kd.Get("T") != nil || kd.Get("FT") != nil || kd.Get("Kids") != nil) {
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
	fs, _ := d.get(acro.Get("Fields")).([]pdf.Object)
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
		v := f.dict.Get("V")
		sig := d.dict(v)
		if sig == nil {
			continue
		}
		sf := sigField{name: f.name, fieldNum: f.num, sig: sig}
		if r, ok := v.(pdf.Ref); ok {
			if seen[r.Num] {
				continue
			}
			seen[r.Num] = true
			sf.sigRef = r
		} else {
			sf.direct = true
		}
		out = append(out, sf)
	}
	return out
}
