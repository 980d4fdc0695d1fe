package pdf

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// The object model is deliberately small: it holds what an incremental
// update must read and write back unchanged.
//
//	nil        null
//	bool       boolean
//	int64      integer
//	real       real number, kept as written so it round-trips exactly
//	name       name, decoded (without the slash)
//	pdfString  string, decoded bytes
//	[]object   array
//	*dict      dictionary, keys in file order
//	ref        indirect reference
//	*stream    stream: its dictionary and where its data lies
type object any

type real string

type name string

type pdfString struct {
	b   []byte
	hex bool
}

type ref struct {
	num int
	gen int
}

type dict struct {
	keys []name
	vals map[name]object
}

type stream struct {
	dict *dict
	r    io.ReaderAt // where the data lies (the file, or a decoded object stream)
	off  int64       // absolute offset of the first data byte in r
	n    int64       // number of data bytes
}

func newDict() *dict { return &dict{vals: map[name]object{}} }

func (d *dict) get(k name) object {
	if d == nil {
		return nil
	}
	return d.vals[k]
}

func (d *dict) set(k name, v object) {
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
}

func (d *dict) del(k name) {
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
func (d *dict) clone() *dict {
	c := &dict{keys: append([]name(nil), d.keys...), vals: make(map[name]object, len(d.vals))}
	for k, v := range d.vals {
		c.vals[k] = v
	}
	return c
}

func (d *dict) nameOf(k name) name {
	n, _ := d.get(k).(name)
	return n
}

// writeObject serializes o in PDF syntax. Streams cannot be written this way
// (their data is copied by the caller).
func writeObject(b *bytes.Buffer, o object) {
	switch v := o.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case int:
		b.WriteString(strconv.Itoa(v))
	case real:
		b.WriteString(string(v))
	case name:
		writeName(b, v)
	case pdfString:
		writeString(b, v)
	case []object:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeObject(b, e)
		}
		b.WriteByte(']')
	case *dict:
		b.WriteString("<<")
		for _, k := range v.keys {
			writeName(b, k)
			b.WriteByte(' ')
			writeObject(b, v.vals[k])
		}
		b.WriteString(">>")
	case ref:
		fmt.Fprintf(b, "%d %d R", v.num, v.gen)
	case *stream:
		// A stream inside another object cannot be written; null keeps the
		// output well formed (it cannot happen with parsed input).
		b.WriteString("null")
	default:
		panic(fmt.Sprintf("pdf: cannot write %T", o))
	}
}

func writeName(b *bytes.Buffer, n name) {
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

func writeString(b *bytes.Buffer, s pdfString) {
	if s.hex {
		b.WriteByte('<')
		const hexdig = "0123456789ABCDEF"
		for _, c := range s.b {
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
		b.WriteByte('>')
		return
	}
	b.WriteByte('(')
	for _, c := range s.b {
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
