package pdf

import (
	"bytes"
	"fmt"
	"io"
	"iter"
	"strconv"
)

// Object is a PDF object. The model is deliberately small: it holds what an
// incremental update must read and write back unchanged, and what a
// validator compares between revisions.
//
//	nil        null
//	bool       boolean
//	int64      integer
//	Real       real number, kept as written so it round-trips exactly
//	Name       name, decoded (without the slash)
//	String     string, decoded bytes
//	[]Object   array
//	*Dict      dictionary, keys in file order
//	Ref        indirect reference
//	*Stream    stream: its dictionary and where its data lies
//
// Objects read from a document are shared with the Reader's cache: callers
// must not modify them.
type Object any

// Real is a real number as written in the file.
type Real string

// Name is a PDF name, decoded, without its slash.
type Name string

// String is a PDF string: its decoded bytes, and whether it was written in
// hexadecimal.
type String struct {
	Bytes []byte
	Hex   bool
}

// Text decodes s as a PDF text string: UTF-16BE or UTF-8 with a byte
// order mark, else PDFDocEncoding (read as Latin-1). The result is valid
// UTF-8.
func (s String) Text() string { return textString(s.Bytes) }

// Ref is an indirect reference: object number and generation.
type Ref struct {
	Num int
	Gen int
}

// Dict is a PDF dictionary with its keys in file order. A nil *Dict reads as
// an empty dictionary.
type Dict struct {
	keys []Name
	vals map[Name]Object
}

// Stream is a stream object: its dictionary and where its (still encoded)
// data lies. Reader.Decode returns its data.
type Stream struct {
	dict *Dict
	r    io.ReaderAt // where the data lies (the file, or a decoded object stream)
	off  int64       // absolute offset of the first data byte in r
	n    int64       // number of data bytes
}

func newDict() *Dict { return &Dict{vals: map[Name]Object{}} }

// Get returns the value of key k, nil when absent (or when d is nil).
func (d *Dict) Get(k Name) Object {
	if d == nil {
		return nil
	}
	return d.vals[k]
}

// Len returns the number of keys of d.
func (d *Dict) Len() int {
	if d == nil {
		return 0
	}
	return len(d.keys)
}

// All iterates over the keys of d, in file order, and their values.
func (d *Dict) All() iter.Seq2[Name, Object] {
	return func(yield func(Name, Object) bool) {
		if d == nil {
			return
		}
		for _, k := range d.keys {
			if !yield(k, d.vals[k]) {
				return
			}
		}
	}
}

// Dict returns the stream's dictionary.
func (s *Stream) Dict() *Dict { return s.dict }

// maxEqualDepth bounds the nesting Equal descends into; parsed objects nest
// at most maxNesting levels.
const maxEqualDepth = maxNesting + 2

// Equal reports whether a and b are the same object: references by number
// and generation, reals by value, dictionaries regardless of key order,
// strings by their decoded bytes, streams by dictionary and encoded bytes.
// The objects may come from different Readers (different revisions).
func Equal(a, b Object) bool { return equal(a, b, 0) }

func equal(a, b Object, depth int) bool {
	if depth > maxEqualDepth {
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, int64, Name, Ref:
		return a == b
	case Real:
		y, ok := b.(Real)
		if !ok {
			return false
		}
		fx, errx := strconv.ParseFloat(string(x), 64)
		fy, erry := strconv.ParseFloat(string(y), 64)
		if errx != nil || erry != nil {
			return x == y
		}
		return fx == fy
	case String:
		y, ok := b.(String)
		return ok && bytes.Equal(x.Bytes, y.Bytes)
	case []Object:
		y, ok := b.([]Object)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case *Dict:
		y, ok := b.(*Dict)
		return ok && equalDicts(x, y, depth)
	case *Stream:
		y, ok := b.(*Stream)
		return ok && equalDicts(x.dict, y.dict, depth) && sameData(x, y)
	}
	return false
}

func equalDicts(x, y *Dict, depth int) bool {
	if x.Len() != y.Len() {
		return false
	}
	for k, v := range x.All() {
		w := y.Get(k)
		if w == nil || !equal(v, w, depth+1) {
			return false
		}
	}
	return true
}

// sameData compares the encoded data of two streams, a chunk at a time.
func sameData(x, y *Stream) bool {
	if x.n != y.n {
		return false
	}
	if x.r == y.r && x.off == y.off {
		return true
	}
	const chunk = 32 << 10
	bx, by := make([]byte, chunk), make([]byte, chunk)
	for p := int64(0); p < x.n; p += chunk {
		n := min(chunk, x.n-p)
		mx, _ := x.r.ReadAt(bx[:n], x.off+p)
		my, _ := y.r.ReadAt(by[:n], y.off+p)
		if mx != my || !bytes.Equal(bx[:mx], by[:my]) {
			return false
		}
	}
	return true
}

func (d *Dict) set(k Name, v Object) {
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
}

func (d *Dict) del(k Name) {
	if _, ok := d.vals[k]; !ok {
		return
	}
	delete(d.vals, k)
	for i, kk := range d.keys {
		if kk == k {
			d.keys = append(d.keys[:i:i], d.keys[i+1:]...)
			break
		}
	}
}

// clone copies the dictionary itself (values are shared).
func (d *Dict) clone() *Dict {
	c := &Dict{keys: append([]Name(nil), d.keys...), vals: make(map[Name]Object, len(d.vals))}
	for k, v := range d.vals {
		c.vals[k] = v
	}
	return c
}

func (d *Dict) nameOf(k Name) Name {
	n, _ := d.Get(k).(Name)
	return n
}

// writeObject serializes o in PDF syntax. Streams cannot be written this way
// (their data is copied by the caller).
func writeObject(b *bytes.Buffer, o Object) {
	switch v := o.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case int:
		b.WriteString(strconv.Itoa(v))
	case Real:
		b.WriteString(string(v))
	case Name:
		writeName(b, v)
	case String:
		writeString(b, v)
	case []Object:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeObject(b, e)
		}
		b.WriteByte(']')
	case *Dict:
		b.WriteString("<<")
		for _, k := range v.keys {
			writeName(b, k)
			b.WriteByte(' ')
			writeObject(b, v.vals[k])
		}
		b.WriteString(">>")
	case Ref:
		fmt.Fprintf(b, "%d %d R", v.Num, v.Gen)
	case *Stream:
		// A stream inside another object cannot be written; null keeps the
		// output well formed (it cannot happen with parsed input).
		b.WriteString("null")
	default:
		panic(fmt.Sprintf("pdf: cannot write %T", o))
	}
}

func writeName(b *bytes.Buffer, n Name) {
	b.WriteByte('/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || c == '#' || isDelim(c) {
			fmt.Fprintf(b, "#%02X", c)
			continue
		}
		b.WriteByte(c)
	}
}

func writeString(b *bytes.Buffer, s String) {
	if s.Hex {
		b.WriteByte('<')
		const hexdig = "0123456789ABCDEF"
		for _, c := range s.Bytes {
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
		b.WriteByte('>')
		return
	}
	b.WriteByte('(')
	for _, c := range s.Bytes {
		switch {
		case c == '(' || c == ')' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\n':
			b.WriteString(`\n`)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(')')
}

func isWhite(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}
