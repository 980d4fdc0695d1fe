package pdf

import (
	"context"
	"errors"
	"io"
	"iter"
)

// Reader gives read access to the objects of a PDF, or of one of its
// revisions, for callers that inspect documents rather than sign them (the
// validator, package verify). It uses the same parser and limits as
// Inspect and Prepare: every loop over file data is bounded, object reads
// and decoded bytes are counted against one budget shared by the Reader and
// every Reader its Revision method opens, and the context given to Open is
// checked while reading.
//
// A Reader and the Readers of its revisions share state: none of them is
// safe for concurrent use. Objects it returns are shared with its cache and
// must not be modified.
type Reader struct {
	d *reader
}

// XrefEntry is where a cross-reference puts one object. Entries compare
// with ==: an object whose entry is unchanged between two revisions (and
// not in an object stream) was not rewritten.
type XrefEntry struct {
	// Free marks a free (deleted) object number.
	Free bool
	// Offset is the object's offset in the file, 0 when it lies in an
	// object stream or is free.
	Offset int64
	// Gen is the generation of an object at an offset.
	Gen int
	// ObjStm and Index locate an object inside an object stream; ObjStm is
	// 0 otherwise.
	ObjStm, Index int
}

// Open reads a PDF's header, cross-reference and trailer; objects are read
// when resolved. A damaged cross-reference, a /Prev chain that loops, or a
// catalog that cannot be read through the cross-reference make it rebuild
// the cross-reference by scanning the file (Repaired then reports it).
// After that the cross-reference is kept as read: an object it points to
// wrongly fails to resolve (Inspect and Prepare would rebuild instead), so
// that what each revision's cross-reference says can be compared. Unlike
// Inspect, Open accepts encrypted and certified documents: strings and
// streams of an encrypted document are returned as stored.
//
// Errors: ErrNotPDF, ErrBroken, ErrLimit (wrapped with ErrBroken), or ctx's
// error. ctx is kept for the Reader's later reads.
func Open(ctx context.Context, r io.ReaderAt, size int64) (*Reader, error) {
	return openReader(ctx, r, size, newBudget(ctx))
}

func openReader(ctx context.Context, r io.ReaderAt, size int64, b *budget) (*Reader, error) {
	d, err := load(ctx, r, size, b)
	if err != nil {
		return nil, err
	}
	_, cerr := d.catalog()
	if errors.Is(cerr, ErrLimit) {
		return nil, cerr
	}
	if !d.repaired && (d.prevLoop || cerr != nil) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// a rebuilt cross-reference is used when it finds a readable
		// catalog; otherwise the one read is kept
		rd := &reader{ctx: ctx, r: r, size: size, cache: map[int]Object{}, objstms: map[int]*objStm{}, b: b}
		if err := rd.readHeader(); err == nil {
			err = rd.repair()
			switch {
			case ctx.Err() != nil:
				return nil, ctx.Err()
			case errors.Is(err, ErrLimit):
				return nil, err
			case err == nil && !rd.rootBad():
				d = rd
			}
		}
	}
	d.keepXref = true
	return &Reader{d: d}, nil
}

// Revision opens the revision of the document that ends at end (the prefix
// of the file up to and including a %%EOF), read through its own
// cross-reference chain. It shares r's context and budget.
func (r *Reader) Revision(end int64) (*Reader, error) {
	if end <= 0 || end > r.d.size {
		return nil, r.d.broken("revision end %d out of file", end)
	}
	return openReader(r.d.ctx, io.NewSectionReader(r.d.r, 0, end), end, r.d.b)
}

// Trailer returns the trailer dictionary (newest first when merged from
// several sections, or rebuilt by scanning).
func (r *Reader) Trailer() *Dict { return r.d.trailer }

// Repaired reports that the cross-reference was rebuilt by scanning.
func (r *Reader) Repaired() bool { return r.d.repaired }

// Resolve follows references until a direct object (bounded). A reference
// to a missing or free object resolves to nil, as the PDF specification
// says; an object that cannot be read gives ErrBroken (or ErrLimit, or
// ctx's error).
func (r *Reader) Resolve(o Object) (Object, error) { return r.d.resolve(o) }

// Decode returns the decoded data of a stream read by r: FlateDecode (with
// PNG predictors), ASCIIHexDecode, or none; other filters give ErrBroken.
// Each stream is bounded, and the bytes decoded count against r's budget.
func (r *Reader) Decode(s *Stream) ([]byte, error) { return r.d.decode(s) }

// Entry returns the cross-reference entry of object num.
func (r *Reader) Entry(num int) (XrefEntry, bool) {
	e, ok := r.d.xref[num]
	if !ok {
		return XrefEntry{}, false
	}
	return exportEntry(e), true
}

// Entries iterates over the cross-reference entries, in no particular
// order.
func (r *Reader) Entries() iter.Seq2[int, XrefEntry] {
	return func(yield func(int, XrefEntry) bool) {
		for num, e := range r.d.xref {
			if !yield(num, exportEntry(e)) {
				return
			}
		}
	}
}

func exportEntry(e xrefEntry) XrefEntry {
	switch e.kind {
	case 1:
		return XrefEntry{Offset: e.off, Gen: e.gen}
	case 2:
		return XrefEntry{ObjStm: int(e.off), Index: e.gen}
	}
	return XrefEntry{Free: true}
}

// HexStringAt reads the hexadecimal string that starts exactly at off
// ("<...>") and returns its decoded bytes and the offset just after its
// closing '>'. Validators use it to check that a signature's byte range gap
// is exactly its /Contents string.
func HexStringAt(r io.ReaderAt, size, off int64) ([]byte, int64, error) {
	l := newLexer(r, size, off)
	if l.readByte() != '<' || l.peekByte() == '<' {
		return nil, 0, errSyntax
	}
	b, err := l.hexString()
	if err != nil {
		return nil, 0, err
	}
	return b, l.pos, nil
}
