package pdf

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// update builds one incremental update in memory: its size depends on the
// objects written (a few kilobytes plus the signature placeholder), never on
// the size of the document it is appended to.
type update struct {
	d       *reader
	buf     bytes.Buffer
	start   int64 // output offset of buf[0] (the size of the source)
	offsets map[int]xrefEntry
	next    int
}

func newUpdate(d *reader) (*update, error) {
	u := &update{d: d, start: d.size, offsets: map[int]xrefEntry{}, next: d.maxNum + 1}
	// the update must start on a new line
	var last [1]byte
	if d.size > 0 {
		if _, err := d.r.ReadAt(last[:], d.size-1); err != nil && err != io.EOF {
			return nil, fmt.Errorf("pdf: reading the source: %w", err)
		}
	}
	if last[0] != '\n' && last[0] != '\r' {
		u.buf.WriteByte('\n')
	}
	return u, nil
}

func (u *update) alloc() Ref {
	r := Ref{Num: u.next}
	u.next++
	return r
}

// pos is the output offset of the next byte written.
func (u *update) pos() int64 { return u.start + int64(u.buf.Len()) }

func (u *update) begin(r Ref) {
	u.offsets[r.Num] = xrefEntry{kind: 1, off: u.pos(), gen: r.Gen}
	fmt.Fprintf(&u.buf, "%d %d obj\n", r.Num, r.Gen)
}

func (u *update) writeObj(r Ref, o Object) {
	u.begin(r)
	writeObject(&u.buf, o)
	u.buf.WriteString("\nendobj\n")
}

func (u *update) writeStream(r Ref, d *Dict, data []byte) {
	d = d.clone()
	d.del("Filter")
	d.del("DecodeParms")
	u.writeEncodedStream(r, d, data)
}

// writeEncodedStream writes a stream object whose data is already encoded
// as d's /Filter says; /Length is set here.
func (u *update) writeEncodedStream(r Ref, d *Dict, data []byte) {
	d = d.clone()
	d.set("Length", int64(len(data)))
	u.begin(r)
	writeObject(&u.buf, d)
	u.buf.WriteString("\nstream\n")
	u.buf.Write(data)
	u.buf.WriteString("\nendstream\nendobj\n")
}

// finish writes the cross-reference section (a table or a stream, like the
// previous section; a complete one without /Prev when the source's was
// repaired or looped), the trailer and %%EOF.
func (u *update) finish() error {
	d := u.d
	full := d.repaired || d.prevLoop
	entries := map[int]xrefEntry{}
	if full {
		for n, e := range d.xref {
			if e.kind != 0 {
				entries[n] = e
			}
		}
	}
	for n, e := range u.offsets {
		entries[n] = e
	}
	kind := d.lastKind
	if full {
		kind = xrefTable
		for _, e := range entries {
			if e.kind == 2 {
				kind = xrefStream
				break
			}
		}
	}
	tr := newDict()
	for _, k := range []Name{"Root", "Info"} {
		if v := d.trailer.Get(k); v != nil {
			tr.set(k, v)
		}
	}
	id0 := make([]byte, 16)
	id1 := make([]byte, 16)
	if _, err := rand.Read(id1); err != nil {
		return err
	}
	copy(id0, id1)
	if ids, ok := d.trailer.Get("ID").([]Object); ok && len(ids) >= 1 {
		if s, ok := ids[0].(String); ok && len(s.Bytes) > 0 {
			id0 = s.Bytes
		}
	}
	tr.set("ID", []Object{String{Bytes: id0, Hex: true}, String{Bytes: id1, Hex: true}})
	if !full {
		tr.set("Prev", d.startxref)
	}
	var xrefRef Ref
	if kind == xrefStream {
		xrefRef = u.alloc()
		entries[xrefRef.Num] = xrefEntry{kind: 1, off: u.pos()}
	}
	size := u.next
	tr.set("Size", int64(size))
	nums := make([]int, 0, len(entries)+1)
	for n := range entries {
		nums = append(nums, n)
	}
	if full {
		nums = append(nums, 0)
	}
	slices.Sort(nums)
	rel := func(e xrefEntry) int64 {
		if e.kind == 1 {
			return e.off - d.base
		}
		return e.off
	}
	xrefPos := u.pos()
	if kind == xrefTable {
		u.buf.WriteString("xref\n")
		for i := 0; i < len(nums); {
			j := i + 1
			for j < len(nums) && nums[j] == nums[j-1]+1 {
				j++
			}
			fmt.Fprintf(&u.buf, "%d %d\n", nums[i], j-i)
			for _, n := range nums[i:j] {
				if n == 0 {
					u.buf.WriteString("0000000000 65535 f\r\n")
					continue
				}
				e := entries[n]
				fmt.Fprintf(&u.buf, "%010d %05d n\r\n", rel(e), e.gen)
			}
			i = j
		}
		u.buf.WriteString("trailer\n")
		writeObject(&u.buf, tr)
		u.buf.WriteString("\n")
	} else {
		var maxOff int64
		maxGen := 0
		for _, n := range nums {
			maxOff = max(maxOff, rel(entries[n]), int64(n))
			maxGen = max(maxGen, entries[n].gen)
		}
		w1 := bytesFor(maxOff)
		w2 := max(bytesFor(int64(maxGen)), 2)
		var index []Object
		var data []byte
		for i := 0; i < len(nums); {
			j := i + 1
			for j < len(nums) && nums[j] == nums[j-1]+1 {
				j++
			}
			index = append(index, int64(nums[i]), int64(j-i))
			for _, n := range nums[i:j] {
				e := entries[n]
				typ, f2, f3 := byte(e.kind), rel(e), int64(e.gen)
				if n == 0 {
					typ, f2, f3 = 0, 0, 65535
				}
				data = append(data, typ)
				data = appendBE(data, f2, w1)
				data = appendBE(data, f3, w2)
			}
			i = j
		}
		tr.set("Type", Name("XRef"))
		tr.set("W", []Object{int64(1), int64(w1), int64(w2)})
		tr.set("Index", index)
		u.writeStream(xrefRef, tr, data)
	}
	u.buf.WriteString("startxref\n" + strconv.FormatInt(xrefPos-d.base, 10) + "\n%%EOF\n")
	return nil
}

func bytesFor(v int64) int {
	n := 1
	for v > 0xff {
		v >>= 8
		n++
	}
	return n
}

func appendBE(b []byte, v int64, w int) []byte {
	for i := w - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}
