package pdf

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// Info describes a PDF as far as signing it is concerned.
type Info struct {
	// Version is the PDF version: the header's, or the catalog's /Version
	// when that is later.
	Version string
	// Pages is the number of pages found by walking the page tree.
	Pages int
	// Signatures is the number of signed signature fields (approval
	// signatures and document timestamps).
	Signatures int
	// SignatureFields lists the fully qualified names of the empty (unsigned)
	// signature fields, which Prepare can sign into.
	SignatureFields []string
	// Fields is the number of terminal form fields of every type.
	Fields int
	// Certified reports a certification signature (catalog /Perms /DocMDP).
	Certified bool
	// DocMDP is the certification's permission level (1, 2 or 3), 0 when
	// the document is not certified.
	DocMDP int
	// HasDSS reports a document security store (/DSS) in the catalog.
	HasDSS bool
	// XrefStream reports that the newest revision uses a cross-reference
	// stream (and the next update will, too).
	XrefStream bool
	// Repaired reports that the cross-reference was damaged and rebuilt by
	// scanning; an update then carries a complete cross-reference.
	Repaired bool
}

// Inspect parses enough of a PDF to decide whether it can be signed: the
// header, every cross-reference section, the trailer, the catalog, the page
// tree, the form and its signature fields, and the certification
// permissions. It returns ErrNotPDF, ErrEncrypted, ErrCertifiedNoChanges or
// ErrBroken (wrapped, with detail) for documents that cannot be signed.
// Time and memory are bounded on hostile input (xref and page tree loops,
// huge counts) by the limits of this package and by ctx.
func Inspect(ctx context.Context, r io.ReaderAt, size int64) (*Info, error) {
	d, err := openChecked(ctx, r, size)
	if err != nil {
		return nil, err
	}
	return d.info()
}

// openChecked opens the document and refuses what cannot be signed.
func openChecked(ctx context.Context, r io.ReaderAt, size int64) (*reader, error) {
	d, err := open(ctx, r, size)
	if err != nil {
		return nil, err
	}
	if d.trailer.Get("Encrypt") != nil {
		return nil, fmt.Errorf("%w: the trailer has /Encrypt", ErrEncrypted)
	}
	p, err := d.docMDP()
	if err != nil {
		return nil, err
	}
	if p == 1 {
		return nil, fmt.Errorf("%w: DocMDP permission P=1", ErrCertifiedNoChanges)
	}
	return d, nil
}

func (d *reader) info() (*Info, error) {
	in := &Info{Version: d.version, XrefStream: d.lastKind == xrefStream, Repaired: d.repaired}
	cat, err := d.catalog()
	if err != nil {
		return nil, err
	}
	if v, ok := cat.Get("Version").(Name); ok && string(v) > in.Version && len(v) <= 4 {
		in.Version = string(v)
	}
	pages, err := d.pages()
	if err != nil {
		return nil, err
	}
	in.Pages = len(pages)
	fields, err := d.fields()
	if err != nil {
		return nil, err
	}
	in.Fields = len(fields)
	for _, f := range fields {
		if f.ft != "Sig" {
			continue
		}
		if f.signed {
			in.Signatures++
		} else if f.v == nil {
			in.SignatureFields = append(in.SignatureFields, f.name)
		}
	}
	if in.DocMDP, err = d.docMDP(); err != nil {
		return nil, err
	}
	in.Certified = in.DocMDP != 0
	in.HasDSS = cat.Get("DSS") != nil
	return in, nil
}

type page struct {
	ref  Ref // zero for a page written directly inside its parent's /Kids
	dict *Dict
}

// pages walks the page tree, refusing loops.
func (d *reader) pages() ([]page, error) {
	cat, err := d.catalog()
	if err != nil {
		return nil, err
	}
	var out []page
	seen := map[int]bool{d.rootRef().Num: true}
	nodes := 0
	var walk func(o Object, depth int) error
	walk = func(o Object, depth int) error {
		nodes++
		if nodes > maxPageNodes || depth > maxNesting {
			return d.broken("page tree too large or too deep")
		}
		var id Ref
		if r, ok := o.(Ref); ok {
			if seen[r.Num] {
				return d.broken("page tree loop at object %d", r.Num)
			}
			seen[r.Num] = true
			id = r
		}
		n, err := d.resolveDict(o)
		if err != nil {
			return err
		}
		if n == nil {
			return nil // a missing page is skipped, as viewers do
		}
		kids, hasKids := n.Get("Kids"), n.Get("Kids") != nil
		if n.nameOf("Type") == "Page" || (!hasKids && n.nameOf("Type") != "Pages") {
			out = append(out, page{ref: id, dict: n})
			return nil
		}
		ka, err := d.resolveArray(kids)
		if err != nil {
			return err
		}
		for _, k := range ka {
			if err := walk(k, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(cat.Get("Pages"), 0); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, d.broken("no pages")
	}
	return out, nil
}

type field struct {
	ref    Ref // zero when the field is a direct object
	dict   *Dict
	name   string // fully qualified
	ft     Name   // inherited /FT
	v      Object // /V, unresolved
	signed bool   // /V is a signature dictionary with /Contents
}

// fields lists the terminal fields of the form (a node whose kids all lack
// /T is terminal; its kids are its widgets).
func (d *reader) fields() ([]field, error) {
	cat, err := d.catalog()
	if err != nil {
		return nil, err
	}
	af, err := d.resolveDict(cat.Get("AcroForm"))
	if err != nil || af == nil {
		return nil, err
	}
	top, err := d.resolveArray(af.Get("Fields"))
	if err != nil {
		return nil, err
	}
	var out []field
	seen := map[int]bool{}
	nodes := 0
	var walk func(o Object, parent string, ft Name, depth int) error
	walk = func(o Object, parent string, ft Name, depth int) error {
		nodes++
		if nodes > maxPageNodes || depth > maxNesting {
			return d.broken("form too large or too deep")
		}
		var id Ref
		if r, ok := o.(Ref); ok {
			if seen[r.Num] {
				return nil // a field listed twice, or a loop: visit once
			}
			seen[r.Num] = true
			id = r
		}
		n, err := d.resolveDict(o)
		if err != nil || n == nil {
			return err
		}
		full := parent
		if t, ok := n.Get("T").(String); ok {
			if full != "" {
				full += "."
			}
			full += textString(t.Bytes)
		}
		if f := n.nameOf("FT"); f != "" {
			ft = f
		}
		kids, err := d.resolveArray(n.Get("Kids"))
		if err != nil {
			return err
		}
		fieldKids := false
		for _, k := range kids {
			kd, err := d.resolveDict(k)
			if err != nil {
				return err
			}
			if kd != nil && kd.Get("T") != nil {
				fieldKids = true
				break
			}
		}
		if !fieldKids {
			f := field{ref: id, dict: n, name: full, ft: ft, v: n.Get("V")}
			if ft == "Sig" && f.v != nil {
				if vd, err := d.resolveDict(f.v); err == nil && vd != nil && vd.Get("Contents") != nil {
					f.signed = true
				}
			}
			out = append(out, f)
			return nil
		}
		for _, k := range kids {
			if err := walk(k, full, ft, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range top {
		if err := walk(f, "", "", 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// docMDP returns the certification permission (1–3), or 0 when the
// document is not certified.
func (d *reader) docMDP() (int, error) {
	cat, err := d.catalog()
	if err != nil {
		return 0, err
	}
	perms, err := d.resolveDict(cat.Get("Perms"))
	if err != nil || perms == nil {
		return 0, err
	}
	sig, err := d.resolveDict(perms.Get("DocMDP"))
	if err != nil || sig == nil {
		return 0, err
	}
	p := 2 // the default when /P is absent
	refs, err := d.resolveArray(sig.Get("Reference"))
	if err != nil {
		return 0, err
	}
	for _, r := range refs {
		rd, err := d.resolveDict(r)
		if err != nil {
			return 0, err
		}
		if rd == nil || rd.nameOf("TransformMethod") != "DocMDP" {
			continue
		}
		tp, err := d.resolveDict(rd.Get("TransformParams"))
		if err != nil {
			return 0, err
		}
		if v, ok := d.resolveInt(tp.Get("P")); ok && v >= 1 && v <= 3 {
			p = int(v)
		}
	}
	return p, nil
}

// textString decodes a PDF text string: UTF-16BE or UTF-8 with a byte order
// mark, else PDFDocEncoding (read as Latin-1, which it equals for the
// characters field names use).
func textString(b []byte) string {
	switch {
	case len(b) >= 2 && b[0] == 0xfe && b[1] == 0xff:
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		}
		return string(utf16.Decode(u))
	case len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf:
		return strings.ToValidUTF8(string(b[3:]), "?")
	}
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// encodeText encodes s as a PDF text string: literal PDFDocEncoding when it
// is printable ASCII, else UTF-16BE with a byte order mark.
func encodeText(s string) String {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return String{Bytes: []byte(s)}
	}
	b := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return String{Bytes: b, Hex: true}
}
