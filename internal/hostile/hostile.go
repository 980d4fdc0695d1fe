package hostile

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
)

const header = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"

const (
	catalog = "<< /Type /Catalog /Pages 2 0 R >>"
	pages   = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
	page    = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
)

// Predictor is a PNG predictor whose rows are 2^20 × 32 × 16 bits: 64 MiB
// each, declared on streams that hold one byte.
const Predictor = "/DecodeParms << /Predictor 12 /Columns 1048576 /Colors 32 /BitsPerComponent 16 >>"

// classic returns a PDF holding objs (object number → body) with a classic
// cross-reference table, and the offset of that table.
func classic(objs map[int]string, extraTrailer string) ([]byte, int) {
	var b bytes.Buffer
	b.WriteString(header)
	size := 0
	for n := range objs {
		size = max(size, n+1)
	}
	offs := make([]int, size)
	for n := 1; n < size; n++ {
		if body, ok := objs[n]; ok {
			offs[n] = b.Len()
			fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", n, body)
		}
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", size)
	for n := 1; n < size; n++ {
		if _, ok := objs[n]; ok {
			fmt.Fprintf(&b, "%010d 00000 n \n", offs[n])
		} else {
			b.WriteString("0000000000 65535 f \n")
		}
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n", size, extraTrailer, xref)
	return b.Bytes(), xref
}

func deflate(parts ...[]byte) []byte {
	var b bytes.Buffer
	w, _ := zlib.NewWriterLevel(&b, zlib.BestCompression)
	for _, p := range parts {
		_, _ = w.Write(p)
	}
	_ = w.Close()
	return b.Bytes()
}

// oneByteStream is a FlateDecode stream under Predictor whose data is the
// single row-type byte 2 ("Up") and no row.
func oneByteStream(extra string) string {
	z := deflate([]byte{2})
	return fmt.Sprintf("<< /Length %d /Filter /FlateDecode %s %s>>\nstream\n%s\nendstream", len(z), Predictor, extra, z)
}

// PredictorRepeat is a one-page PDF whose /DSS lists one tiny predicted
// stream n times in /Certs (and in /OCSPs and /CRLs).
func PredictorRepeat(n int) []byte {
	refs := strings.Repeat("5 0 R ", n)
	objs := map[int]string{
		1: "<< /Type /Catalog /Pages 2 0 R /DSS 4 0 R >>", 2: pages, 3: page,
		4: "<< /Certs [" + refs + "] /OCSPs [" + refs + "] /CRLs [" + refs + "] >>",
		5: oneByteStream(""),
	}
	b, _ := classic(objs, "")
	return b
}

// XrefChain is a one-page PDF whose classic cross-reference table is
// followed by n cross-reference streams chained by /Prev, each a one-byte
// stream under Predictor.
func XrefChain(n int) []byte {
	data, prev := classic(map[int]string{1: catalog, 2: pages, 3: page}, "")
	b := bytes.NewBuffer(data)
	z := deflate([]byte{2})
	for i := 0; i < n; i++ {
		num := 4 + i
		off := b.Len()
		fmt.Fprintf(b, "%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Prev %d /Length %d /Filter /FlateDecode %s >>\nstream\n%s\nendstream\nendobj\n",
			num, num+1, prev, len(z), Predictor, z)
		fmt.Fprintf(b, "startxref\n%d\n%%%%EOF\n", off)
		prev = off
	}
	return b.Bytes()
}

// FlateBomb is a one-page PDF whose catalog and page tree lie in an object
// stream that inflates to mib MiB (zeros after the objects); the file is
// about mib KiB.
func FlateBomb(mib int) []byte { return objStmBomb(mib, 0) }

// ObjStmCount is FlateBomb(mib) whose object stream declares n objects
// (/N) while holding three: /N is only bounded by the decoded size (two
// bytes an entry), so 8 MiB of zeros allow an /N of four million.
func ObjStmCount(mib, n int) []byte { return objStmBomb(mib, n) }

// objStmBomb is FlateBomb, with /N declared as n when n > 0.
func objStmBomb(mib, n int) []byte {
	members := []struct {
		num  int
		body string
	}{{1, catalog}, {2, pages}, {3, page}}
	var head, body bytes.Buffer
	for _, m := range members {
		fmt.Fprintf(&head, "%d %d ", m.num, body.Len())
		body.WriteString(m.body + " ")
	}
	parts := [][]byte{head.Bytes(), body.Bytes()}
	zeros := make([]byte, 1<<20)
	for i := 0; i < mib; i++ {
		parts = append(parts, zeros)
	}
	comp := deflate(parts...)
	var b bytes.Buffer
	b.WriteString(header)
	offStm := b.Len()
	declared := len(members)
	if n > 0 {
		declared = n
	}
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n",
		declared, head.Len(), len(comp), comp)
	offXref := b.Len()
	type entry struct{ typ, f2, f3 int }
	entries := map[int]entry{0: {0, 0, 65535}, 4: {1, offStm, 0}, 5: {1, offXref, 0}}
	for i, m := range members {
		entries[m.num] = entry{2, 4, i}
	}
	var rows []byte
	for k := 0; k < 6; k++ {
		e := entries[k]
		rows = append(rows, byte(e.typ), byte(e.f2>>24), byte(e.f2>>16), byte(e.f2>>8), byte(e.f2), byte(e.f3>>8), byte(e.f3))
	}
	xs := deflate(rows)
	fmt.Fprintf(&b, "5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n", len(xs), xs)
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", offXref)
	return b.Bytes()
}

// onePage writes the header and objects 1-3 (catalog, page tree, page) to b and
// returns their offsets, for the files whose cross-reference section is the hostile part.
func onePage(b *bytes.Buffer) []int {
	b.WriteString(header)
	var offs []int
	for i, body := range []string{catalog, pages, page} {
		offs = append(offs, b.Len())
		fmt.Fprintf(b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	return offs
}

// XrefOverflow is a one-page PDF whose classic cross-reference table has a
// second subsection starting at object 2^63-1: start+count wraps around in
// signed 64-bit arithmetic.
func XrefOverflow() []byte {
	var b bytes.Buffer
	offs := onePage(&b)
	xref := b.Len()
	b.WriteString("xref\n0 4\n0000000000 65535 f \n")
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "9223372036854775807 1\n%010d 00000 n \n", offs[0])
	fmt.Fprintf(&b, "trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// XrefStreamOverflow is like XrefOverflow with a cross-reference stream
// whose /Index starts at 2^63-1.
func XrefStreamOverflow() []byte {
	var b bytes.Buffer
	offs := onePage(&b)
	xref := b.Len()
	var rows []byte
	row := func(typ, off int) {
		rows = append(rows, byte(typ), byte(off>>24), byte(off>>16), byte(off>>8), byte(off), 0, 0)
	}
	row(0, 0)
	for _, o := range offs {
		row(1, o)
	}
	row(1, xref)
	row(1, offs[0])
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /XRef /Size 5 /W [1 4 2] /Index [0 5 9223372036854775807 1] /Root 1 0 R /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(rows), rows)
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}

// ArrayBomb is a one-page PDF whose page tree node, in an object stream,
// carries an array of n zeros (2n bytes once inflated, about n/500 bytes in
// the file): parsed, each item takes 16 bytes or more.
func ArrayBomb(n int) []byte {
	big := bytes.Repeat([]byte("0 "), n)
	members := []struct {
		num  int
		body []byte
	}{{1, []byte(catalog)}, {2, append(append([]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 /Junk ["), big...), "] >>"...)}, {3, []byte(page)}}
	var head, body bytes.Buffer
	for _, m := range members {
		fmt.Fprintf(&head, "%d %d ", m.num, body.Len())
		body.Write(m.body)
		body.WriteByte(' ')
	}
	comp := deflate(head.Bytes(), body.Bytes())
	var b bytes.Buffer
	b.WriteString(header)
	offStm := b.Len()
	fmt.Fprintf(&b, "4 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n",
		len(members), head.Len(), len(comp), comp)
	offXref := b.Len()
	var rows []byte
	row := func(typ, f2, f3 int) {
		rows = append(rows, byte(typ), byte(f2>>24), byte(f2>>16), byte(f2>>8), byte(f2), byte(f3>>8), byte(f3))
	}
	row(0, 0, 65535)
	for i := range members {
		row(2, 4, i)
	}
	row(1, offStm, 0)
	row(1, offXref, 0)
	fmt.Fprintf(&b, "5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(rows), rows)
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", offXref)
	return b.Bytes()
}

// DistinctDSS is a one-page PDF whose /DSS /Certs lists n different
// FlateDecode streams, each inflating to mib MiB (one distinguishing byte,
// then zeros); the file is about n × mib KiB.
func DistinctDSS(n, mib int) []byte {
	refs := ""
	objs := map[int]string{2: pages, 3: page}
	zeros := make([]byte, 1<<20)
	for i := 0; i < n; i++ {
		parts := [][]byte{{byte(i), byte(i >> 8)}}
		for j := 0; j < mib; j++ {
			parts = append(parts, zeros)
		}
		z := deflate(parts...)
		objs[5+i] = fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", len(z), z)
		refs += fmt.Sprintf("%d 0 R ", 5+i)
	}
	objs[1] = "<< /Type /Catalog /Pages 2 0 R /DSS 4 0 R >>"
	objs[4] = "<< /Certs [" + refs + "] >>"
	b, _ := classic(objs, "")
	return b
}
