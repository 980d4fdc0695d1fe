package pdf

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"strconv"
	"time"
)

// MaxContentsSize is the largest CMS, in DER bytes, a placeholder may
// reserve: 1 MiB holds a signature with a long chain, a timestamp and
// revocation values many times over.
const MaxContentsSize = 1 << 20

// byteRangeWidth is the space reserved for the /ByteRange array: four
// numbers of up to 13 digits (files up to 10 TB) and their separators, so
// the array is written once, at its final place, with its final width.
const byteRangeWidth = 1 + 4*13 + 3 + 1

// PrepareRequest describes the signature (or document timestamp) revision
// Prepare appends.
type PrepareRequest struct {
	// Name, Reason, Location and ContactInfo fill the signature dictionary's
	// entries of the same names when not empty (text strings: PDFDocEncoding
	// when printable ASCII, UTF-16BE with a byte order mark otherwise).
	Name, Reason, Location, ContactInfo string
	// SigningTime is written as /M (the claimed signing time); zero omits it.
	SigningTime time.Time
	// Field names an existing empty signature field to sign into (its fully
	// qualified name); empty creates a new field.
	Field string
	// Appearance, when set, makes a new field visible; nil gives an
	// invisible signature (/Rect [0 0 0 0]).
	Appearance *Appearance
	// ContentsSize is the number of DER bytes reserved for the CMS (or
	// timestamp token); the hex placeholder takes twice as many characters.
	// The caller computes it (signature, certificates, timestamp, margin);
	// Embed fails with ErrContentsTooLarge rather than ever rewriting.
	ContentsSize int
	// DocTimestamp makes a document timestamp (/Type /DocTimeStamp,
	// /SubFilter /ETSI.RFC3161, for PAdES B-LTA) instead of a signature
	// (/Type /Sig, /Filter /Adobe.PPKLite, /SubFilter /ETSI.CAdES.detached).
	DocTimestamp bool
}

// Appearance is a visible signature box: Lines of text on a light
// background inside Rect ([llx lly urx ury], in points as the page is shown:
// default user space on an unrotated page, measured from the lower-left
// corner of the page as shown on a page with /Rotate) of page Page
// (1-based). The text is drawn upright as the page is shown, in an embedded
// subset of Go Regular (Latin, Greek, Cyrillic); a character the font lacks
// is shown as '?'.
type Appearance struct {
	Page  int
	Rect  [4]float64
	Lines []string
}

// Prepared says where the placeholder of a prepared file is and what was
// hashed.
type Prepared struct {
	// ByteRange is the signed ranges [offset1 length1 offset2 length2]: the
	// whole output except the hex placeholder and its angle brackets.
	ByteRange [4]int64
	// ContentsOffset is the output offset of the first hex digit of the
	// placeholder.
	ContentsOffset int64
	// ContentsSize is the number of DER bytes the placeholder holds.
	ContentsSize int
	// Digest is the hash of the byte ranges (h.Sum of Prepare's hash).
	Digest []byte
	// Size is the size of the output.
	Size int64
	// Field is the fully qualified name of the signature field used.
	Field string
}

// Prepare copies src to dst unchanged, then appends one incremental update
// holding a new signature dictionary with a zero-filled /Contents
// placeholder and its final /ByteRange, a new or reused signature field and
// widget, the updated form (every existing field and /DA, /DR,
// /NeedAppearances... kept), the page's /Annots, the catalog when needed,
// and a cross-reference of the same kind as the previous one with /Prev, the
// first /ID kept and a new second /ID, and /Info kept.
//
// Everything signed is written to h while it is written to dst, in one pass
// over src; memory does not depend on the size of src. h must be fresh; its
// sum is returned in Prepared.Digest. Documents that cannot be signed give
// the errors Inspect gives; a request naming a field that does not exist or
// is not an empty signature field gives ErrFieldNotFound. On error dst may
// hold part of the output and must be discarded.
func Prepare(ctx context.Context, src io.ReaderAt, size int64, dst io.Writer, h hash.Hash, req PrepareRequest) (*Prepared, error) {
	if req.ContentsSize <= 0 || req.ContentsSize > MaxContentsSize {
		return nil, fmt.Errorf("%w: contents size %d not in 1..%d", ErrInvalidRequest, req.ContentsSize, MaxContentsSize)
	}
	if a := req.Appearance; a != nil {
		if a.Page < 1 || !finite(a.Rect[:]) || a.Rect[2] <= a.Rect[0] || a.Rect[3] <= a.Rect[1] {
			return nil, fmt.Errorf("%w: appearance needs a page from 1 and a non-empty rectangle", ErrInvalidRequest)
		}
		if req.Field != "" {
			return nil, fmt.Errorf("%w: an appearance is only drawn for a new field", ErrInvalidRequest)
		}
	}
	d, err := openChecked(ctx, src, size)
	if err != nil {
		return nil, err
	}
	u, err := newUpdate(d)
	if err != nil {
		return nil, err
	}
	sigRef := u.alloc()
	fieldName, err := u.addField(req, sigRef)
	if err != nil {
		return nil, err
	}
	brPos, contentsPos := u.writeSigDict(sigRef, req)
	if err := u.finish(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	out := u.buf.Bytes()
	end := u.pos()
	p := &Prepared{ContentsOffset: contentsPos + 1, ContentsSize: req.ContentsSize, Size: end, Field: fieldName}
	afterContents := contentsPos + 2 + 2*int64(req.ContentsSize)
	p.ByteRange = [4]int64{0, contentsPos, afterContents, end - afterContents}
	br := fmt.Sprintf("[0 %d %d %d]", p.ByteRange[1], p.ByteRange[2], p.ByteRange[3])
	if len(br) > byteRangeWidth {
		return nil, fmt.Errorf("%w: file too large", ErrInvalidRequest)
	}
	copy(out[brPos-u.start:], br)

	// one pass: the source, then the update around the placeholder
	w := io.MultiWriter(dst, h)
	if err := copySection(ctx, w, src, 0, size); err != nil {
		return nil, err
	}
	cut1, cut2 := contentsPos-u.start, afterContents-u.start
	if _, err := w.Write(out[:cut1]); err != nil {
		return nil, fmt.Errorf("pdf: writing: %w", err)
	}
	if _, err := dst.Write(out[cut1:cut2]); err != nil {
		return nil, fmt.Errorf("pdf: writing: %w", err)
	}
	if _, err := w.Write(out[cut2:]); err != nil {
		return nil, fmt.Errorf("pdf: writing: %w", err)
	}
	p.Digest = h.Sum(nil)
	return p, nil
}

func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
			return false
		}
	}
	return true
}

// copySection copies n bytes of src from off to w through one buffer,
// checking ctx between blocks.
func copySection(ctx context.Context, w io.Writer, src io.ReaderAt, off, n int64) error {
	buf := make([]byte, 256<<10)
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(int64(len(buf)), n)
		m, err := src.ReadAt(buf[:k], off)
		if int64(m) < k {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("pdf: reading the source: %w", err)
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return fmt.Errorf("pdf: writing: %w", err)
		}
		off += k
		n -= k
	}
	return nil
}

// writeSigDict writes the signature dictionary and returns the output
// offsets of its /ByteRange array and of the placeholder's '<'.
func (u *update) writeSigDict(r Ref, req PrepareRequest) (brPos, contentsPos int64) {
	u.begin(r)
	b := &u.buf
	if req.DocTimestamp {
		b.WriteString("<</Type/DocTimeStamp/Filter/Adobe.PPKLite/SubFilter/ETSI.RFC3161/ByteRange")
	} else {
		b.WriteString("<</Type/Sig/Filter/Adobe.PPKLite/SubFilter/ETSI.CAdES.detached/ByteRange")
	}
	brPos = u.pos()
	b.Write(bytes.Repeat([]byte{' '}, byteRangeWidth))
	b.WriteString("/Contents")
	contentsPos = u.pos()
	b.WriteByte('<')
	b.Write(bytes.Repeat([]byte{'0'}, 2*req.ContentsSize))
	b.WriteByte('>')
	extra := newDict()
	for _, kv := range []struct {
		k Name
		v string
	}{{"Name", req.Name}, {"Reason", req.Reason}, {"Location", req.Location}, {"ContactInfo", req.ContactInfo}} {
		if kv.v != "" {
			extra.set(kv.k, encodeText(kv.v))
		}
	}
	if !req.SigningTime.IsZero() {
		extra.set("M", String{Bytes: []byte(pdfDate(req.SigningTime))})
	}
	for _, k := range extra.keys {
		writeName(b, k)
		b.WriteByte(' ')
		writeObject(b, extra.vals[k])
	}
	b.WriteString(">>\nendobj\n")
	return brPos, contentsPos
}

// pdfDate formats t as a PDF date, D:YYYYMMDDHHmmSS+HH'mm'.
func pdfDate(t time.Time) string {
	s := t.Format("D:20060102150405")
	_, off := t.Zone()
	if off == 0 {
		return s + "Z"
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s%c%02d'%02d'", s, sign, off/3600, off/60%60)
}

// addField signs into the requested field or creates a new one, and updates
// the form, the page and the catalog as needed. It returns the field name.
func (u *update) addField(req PrepareRequest, sigRef Ref) (string, error) {
	d := u.d
	fields, err := d.fields()
	if err != nil {
		return "", err
	}
	if req.Field != "" {
		for _, f := range fields {
			if f.name != req.Field {
				continue
			}
			if f.ft != "Sig" || f.v != nil || f.ref.Num == 0 {
				return "", fmt.Errorf("%w: %q is not an empty signature field", ErrFieldNotFound, req.Field)
			}
			nd := f.dict.clone()
			nd.set("V", sigRef)
			u.writeObj(f.ref, nd)
			return f.name, u.updateForm(nil)
		}
		return "", fmt.Errorf("%w: %q", ErrFieldNotFound, req.Field)
	}
	pages, err := d.pages()
	if err != nil {
		return "", err
	}
	pageNo := 1
	if req.Appearance != nil {
		pageNo = req.Appearance.Page
	}
	if pageNo > len(pages) {
		return "", fmt.Errorf("%w: page %d of %d", ErrInvalidRequest, pageNo, len(pages))
	}
	pg := pages[pageNo-1]
	taken := map[string]bool{}
	for _, f := range fields {
		taken[f.name] = true
	}
	base := "Signature"
	if req.DocTimestamp {
		base = "Timestamp"
	}
	fname := ""
	for i := 1; ; i++ {
		fname = base + strconv.Itoa(i)
		if !taken[fname] {
			break
		}
	}
	fieldRef := u.alloc()
	w := newDict()
	w.set("Type", Name("Annot"))
	w.set("Subtype", Name("Widget"))
	w.set("FT", Name("Sig"))
	w.set("T", encodeText(fname))
	w.set("V", sigRef)
	w.set("F", int64(132)) // Print | Locked
	rect := [4]float64{}
	rotate := 0
	if req.Appearance != nil {
		var box [4]float64
		rotate, box = d.pageGeometry(pg)
		rect = placeRect(req.Appearance.Rect, rotate, box)
	}
	w.set("Rect", []Object{num(rect[0]), num(rect[1]), num(rect[2]), num(rect[3])})
	if pg.ref.Num != 0 {
		w.set("P", pg.ref)
	}
	// An invisible signature or document timestamp (zero /Rect) carries
	// no appearance stream: a validator would otherwise read the
	// revision that adds it as form filling (pyHanko grades a B-LTA's
	// timestamp revision so), which DocMDP P=1 forbids.
	var apRef Ref
	if a := req.Appearance; a != nil {
		apRef = u.alloc()
		ap := newDict()
		ap.set("N", apRef)
		w.set("AP", ap)
		if rotate != 0 {
			mk := newDict()
			mk.set("R", int64(rotate))
			w.set("MK", mk)
		}
	}
	u.writeObj(fieldRef, w)
	if a := req.Appearance; a != nil {
		sw, sh := a.Rect[2]-a.Rect[0], a.Rect[3]-a.Rect[1]
		if err := u.writeAppearance(apRef, sw, sh, a.Lines, rotate, d.needsDefaultGray()); err != nil {
			return "", err
		}
	}
	if pg.ref.Num != 0 {
		if err := u.addAnnot(pg, fieldRef); err != nil {
			return "", err
		}
	}
	return fname, u.updateForm(&fieldRef)
}

func num(f float64) Object {
	if f == math.Trunc(f) {
		return int64(f)
	}
	return Real(strconv.FormatFloat(f, 'f', -1, 64))
}

func (u *update) addAnnot(pg page, annot Ref) error {
	d := u.d
	switch a := pg.dict.Get("Annots").(type) {
	case Ref:
		arr, err := d.resolveArray(a)
		if err != nil {
			return err
		}
		u.writeObj(a, append(append([]Object{}, arr...), annot))
		return nil
	case []Object:
		nd := pg.dict.clone()
		nd.set("Annots", append(append([]Object{}, a...), annot))
		u.writeObj(pg.ref, nd)
		return nil
	default:
		nd := pg.dict.clone()
		nd.set("Annots", []Object{annot})
		u.writeObj(pg.ref, nd)
		return nil
	}
}

// updateForm sets /SigFlags 3 on the form and appends newField (when not
// nil) to its /Fields, rewriting the form object, the /Fields array object
// or the catalog, whichever holds what changes.
func (u *update) updateForm(newField *Ref) error {
	d := u.d
	cat, err := d.catalog()
	if err != nil {
		return err
	}
	edit := func(af *Dict) (*Dict, error) {
		nd := af.clone()
		nd.set("SigFlags", int64(3))
		if newField == nil {
			return nd, nil
		}
		switch f := af.Get("Fields").(type) {
		case Ref:
			arr, err := d.resolveArray(f)
			if err != nil {
				return nil, err
			}
			u.writeObj(f, append(append([]Object{}, arr...), *newField))
		case []Object:
			nd.set("Fields", append(append([]Object{}, f...), *newField))
		default:
			nd.set("Fields", []Object{*newField})
		}
		return nd, nil
	}
	switch af := cat.Get("AcroForm").(type) {
	case Ref:
		o, err := d.fetch(af)
		if err != nil {
			return err
		}
		if ad, ok := o.(*Dict); ok {
			nd, err := edit(ad)
			if err != nil {
				return err
			}
			u.writeObj(af, nd)
			return nil
		}
	case *Dict:
		nd, err := edit(af)
		if err != nil {
			return err
		}
		nc := cat.clone()
		nc.set("AcroForm", nd)
		u.writeObj(d.rootRef(), nc)
		return nil
	}
	// no form (or an unusable one): a new form object
	nd, err := edit(newDict())
	if err != nil {
		return err
	}
	afRef := u.alloc()
	u.writeObj(afRef, nd)
	nc := cat.clone()
	nc.set("AcroForm", afRef)
	u.writeObj(d.rootRef(), nc)
	return nil
}

// Embed writes cms (DER) hex-encoded into the placeholder of a file that
// Prepare produced, leaving the zero padding after it. It returns
// ErrContentsTooLarge when cms does not fit; nothing is written then.
func Embed(f io.WriterAt, p *Prepared, cms []byte) error {
	if p == nil || p.ContentsOffset <= 0 {
		return fmt.Errorf("%w: no placeholder", ErrInvalidRequest)
	}
	if len(cms) == 0 {
		return fmt.Errorf("%w: empty signature", ErrInvalidRequest)
	}
	if len(cms) > p.ContentsSize {
		return fmt.Errorf("%w: %d bytes, %d reserved", ErrContentsTooLarge, len(cms), p.ContentsSize)
	}
	buf := make([]byte, hex.EncodedLen(len(cms)))
	hex.Encode(buf, cms)
	if _, err := f.WriteAt(buf, p.ContentsOffset); err != nil {
		return fmt.Errorf("pdf: writing the signature: %w", err)
	}
	return nil
}
