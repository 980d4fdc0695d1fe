package verify

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// Limits of the PDF reader. Each bounds what a hostile file can make the
// validator do; real documents stay far below them.
const (
	// maxXrefSections bounds the /Prev chain: one section per incremental
	// update; documents with thousands of revisions do not exist in practice.
	maxXrefSections = 4096
	// maxObjectNumber bounds object numbers (xref /Size), so that tables
	// sized from the file stay small.
	maxObjectNumber = 8_000_000
	// maxDecoded bounds the bytes decoded from all streams of one
	// validation: xref and object streams and DSS data are far smaller; it
	// stops decompression bombs.
	maxDecoded = 256 << 20
	// maxResolves bounds the number of object look-ups of one validation.
	maxResolves = 2_000_000
)

var (
	errNotPDF = errors.New("verify: not a PDF")
	errBudget = errors.New("verify: document too complex")
)

// budget is shared by all documents (revisions) read in one validation.
type budget struct {
	ctx      context.Context
	decoded  int
	resolves int
}

func (b *budget) tick() error {
	b.resolves++
	if b.resolves > maxResolves {
		return errBudget
	}
	if b.resolves%1024 == 0 && b.ctx != nil {
		if err := b.ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

type xrefEntry struct {
	free     bool
	offset   int // byte offset (in use, not compressed)
	gen      int
	stream   int // object stream number when compressed
	index    int // index in the object stream
	inObjStm bool
}

// document is one revision of a PDF: the bytes up to its end, its merged
// cross-reference table and its trailer.
type document struct {
	data     []byte
	xref     map[int]xrefEntry
	trailer  pdfDict
	sections []int // offsets of the xref sections read, newest first
	repaired bool  // the xref was rebuilt by scanning for objects
	cache    map[int]object
	objstm   map[int]map[int]object
	b        *budget
	loading  map[int]bool
}

var startxrefRE = regexp.MustCompile(`startxref\s+(\d+)`)

// openDocument reads the revision made of data (the file up to a %%EOF).
func openDocument(data []byte, b *budget) (*document, error) {
	d := &document{data: data, xref: map[int]xrefEntry{}, cache: map[int]object{}, objstm: map[int]map[int]object{}, b: b, loading: map[int]bool{}}
	tail := data
	if len(tail) > 4096 {
		tail = tail[len(tail)-4096:]
	}
	ms := startxrefRE.FindAllSubmatch(tail, -1)
	var err error
	if len(ms) == 0 {
		err = fmt.Errorf("%w: no startxref", errSyntax)
	} else {
		off, perr := strconv.Atoi(string(ms[len(ms)-1][1]))
		if perr != nil {
			err = fmt.Errorf("%w: startxref", errSyntax)
		} else {
			err = d.readXrefChain(off)
		}
	}
	if err == nil {
		if _, ok := d.trailer["Root"].(pdfRef); !ok {
			err = fmt.Errorf("%w: trailer without /Root", errSyntax)
		}
	}
	if err != nil {
		if errors.Is(err, errBudget) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, err
		}
		if rerr := d.rebuild(); rerr != nil {
			return nil, fmt.Errorf("%w (rebuild: %w)", err, rerr)
		}
	}
	return d, nil
}

// readXrefChain reads the xref section at off and its /Prev ancestors; the
// newest entry of each object wins.
func (d *document) readXrefChain(off int) error {
	seen := map[int]bool{}
	first := true
	for {
		if seen[off] {
			return fmt.Errorf("%w: xref /Prev loop", errSyntax)
		}
		if len(seen) >= maxXrefSections {
			return errBudget
		}
		seen[off] = true
		if err := d.b.tick(); err != nil {
			return err
		}
		trailer, err := d.readXrefSection(off)
		if err != nil {
			return err
		}
		d.sections = append(d.sections, off)
		if first {
			d.trailer = trailer
			first = false
		}
		// Hybrid files: the xref stream of /XRefStm completes this section.
		if xs, ok := trailer["XRefStm"].(int64); ok && !seen[int(xs)] {
			seen[int(xs)] = true
			if _, err := d.readXrefSection(int(xs)); err != nil {
				return err
			}
		}
		prev, ok := trailer["Prev"].(int64)
		if !ok {
			return nil
		}
		off = int(prev)
	}
}

func (d *document) add(num int, e xrefEntry) {
	if _, ok := d.xref[num]; !ok {
		d.xref[num] = e
	}
}

// readXrefSection reads a classic table or an xref stream at off.
func (d *document) readXrefSection(off int) (pdfDict, error) {
	if off < 0 || off >= len(d.data) {
		return nil, fmt.Errorf("%w: xref offset %d out of the file", errSyntax, off)
	}
	l := &lexer{data: d.data, pos: off}
	if l.expectKeyword("xref") {
		return d.readXrefTable(l)
	}
	num, _, obj, err := d.parseIndirectAt(off)
	if err != nil {
		return nil, err
	}
	s, ok := obj.(*pdfStream)
	if !ok || s.dict["Type"] != pdfName("XRef") {
		return nil, fmt.Errorf("%w: object %d at xref offset is not an xref stream", errSyntax, num)
	}
	return s.dict, d.readXrefStream(s)
}

func (d *document) readXrefTable(l *lexer) (pdfDict, error) {
	for {
		l.skipWS()
		if l.peekKeyword("trailer") {
			l.expectKeyword("trailer")
			t, err := l.parseObject(0)
			if err != nil {
				return nil, err
			}
			td, ok := t.(pdfDict)
			if !ok {
				return nil, l.errorf("trailer is not a dictionary")
			}
			return td, nil
		}
		start, err1 := strconv.Atoi(string(l.regular()))
		l.skipWS()
		count, err2 := strconv.Atoi(string(l.regular()))
		if err1 != nil || err2 != nil || start < 0 || count < 0 || start+count > maxObjectNumber {
			return nil, l.errorf("bad xref subsection header")
		}
		for i := 0; i < count; i++ {
			if err := d.b.tick(); err != nil {
				return nil, err
			}
			l.skipWS()
			o, err1 := strconv.Atoi(string(l.regular()))
			l.skipWS()
			g, err2 := strconv.Atoi(string(l.regular()))
			l.skipWS()
			kind := string(l.regular())
			if err1 != nil || err2 != nil || (kind != "n" && kind != "f") {
				return nil, l.errorf("bad xref entry")
			}
			num := start + i
			if kind == "f" {
				d.add(num, xrefEntry{free: true})
			} else {
				d.add(num, xrefEntry{offset: o, gen: g})
			}
		}
	}
}

func (d *document) readXrefStream(s *pdfStream) error {
	data, err := d.decode(s)
	if err != nil {
		return err
	}
	w, ok := s.dict["W"].(pdfArray)
	if !ok || len(w) != 3 {
		return fmt.Errorf("%w: xref stream /W", errSyntax)
	}
	var ws [3]int
	for i := range ws {
		v, ok := w[i].(int64)
		if !ok || v < 0 || v > 8 {
			return fmt.Errorf("%w: xref stream /W", errSyntax)
		}
		ws[i] = int(v)
	}
	size, _ := s.dict["Size"].(int64)
	index := []int64{0, size}
	if idx, ok := s.dict["Index"].(pdfArray); ok {
		index = index[:0]
		for _, v := range idx {
			n, ok := v.(int64)
			if !ok {
				return fmt.Errorf("%w: xref stream /Index", errSyntax)
			}
			index = append(index, n)
		}
	}
	rowLen := ws[0] + ws[1] + ws[2]
	if rowLen == 0 {
		return fmt.Errorf("%w: xref stream /W", errSyntax)
	}
	pos := 0
	field := func(n int) int {
		v := 0
		for k := 0; k < n; k++ {
			v = v<<8 | int(data[pos])
			pos++
		}
		return v
	}
	for i := 0; i+1 < len(index); i += 2 {
		start, count := index[i], index[i+1]
		if start < 0 || count < 0 || start+count > maxObjectNumber {
			return fmt.Errorf("%w: xref stream /Index", errSyntax)
		}
		for k := int64(0); k < count; k++ {
			if pos+rowLen > len(data) {
				return fmt.Errorf("%w: xref stream too short", errSyntax)
			}
			typ := 1
			if ws[0] > 0 {
				typ = field(ws[0])
			}
			f2, f3 := field(ws[1]), field(ws[2])
			num := int(start + k)
			switch typ {
			case 0:
				d.add(num, xrefEntry{free: true})
			case 1:
				d.add(num, xrefEntry{offset: f2, gen: f3})
			case 2:
				d.add(num, xrefEntry{inObjStm: true, stream: f2, index: f3})
			}
		}
	}
	return nil
}

var objHeaderRE = regexp.MustCompile(`(\d+)[ \t\r\n\f\x00]+(\d+)[ \t\r\n\f\x00]+obj\b`)

// rebuild scans the data for "N G obj" headers when the xref cannot be read,
// as viewers do; the last definition of a number wins.
func (d *document) rebuild() error {
	d.repaired = true
	d.xref = map[int]xrefEntry{}
	d.sections = nil
	for _, m := range objHeaderRE.FindAllSubmatchIndex(d.data, -1) {
		if err := d.b.tick(); err != nil {
			return err
		}
		if m[0] > 0 && !isWhite(d.data[m[0]-1]) && !isDelim(d.data[m[0]-1]) {
			continue
		}
		num, err1 := strconv.Atoi(string(d.data[m[2]:m[3]]))
		gen, err2 := strconv.Atoi(string(d.data[m[4]:m[5]]))
		if err1 != nil || err2 != nil || num > maxObjectNumber {
			continue
		}
		d.xref[num] = xrefEntry{offset: m[0], gen: gen}
	}
	// The trailer: the last trailer dictionary or xref stream with a /Root.
	d.trailer = nil
	for i := bytes.LastIndex(d.data, []byte("trailer")); i >= 0; i = bytes.LastIndex(d.data[:i], []byte("trailer")) {
		l := &lexer{data: d.data, pos: i + len("trailer")}
		if t, err := l.parseObject(0); err == nil {
			if td, ok := t.(pdfDict); ok {
				if _, ok := td["Root"].(pdfRef); ok {
					d.trailer = td
					break
				}
			}
		}
	}
	if d.trailer == nil {
		for num := range d.xref {
			o, err := d.resolve(pdfRef{num: num})
			if err != nil {
				continue
			}
			if s, ok := o.(*pdfStream); ok && s.dict["Type"] == pdfName("XRef") {
				if _, ok := s.dict["Root"].(pdfRef); ok {
					d.trailer = s.dict
				}
			}
		}
	}
	if d.trailer == nil {
		for num := range d.xref {
			o, err := d.resolve(pdfRef{num: num})
			if err == nil {
				if dd, ok := o.(pdfDict); ok && dd["Type"] == pdfName("Catalog") {
					d.trailer = pdfDict{"Root": pdfRef{num: num}}
					break
				}
			}
		}
	}
	if d.trailer == nil {
		return fmt.Errorf("%w: no document catalog", errSyntax)
	}
	return nil
}

// parseIndirectAt parses "N G obj ... endobj" at off.
func (d *document) parseIndirectAt(off int) (num, gen int, obj object, err error) {
	if off < 0 || off >= len(d.data) {
		return 0, 0, nil, fmt.Errorf("%w: object offset %d out of the file", errSyntax, off)
	}
	l := &lexer{data: d.data, pos: off}
	l.skipWS()
	n, err1 := strconv.Atoi(string(l.regular()))
	l.skipWS()
	g, err2 := strconv.Atoi(string(l.regular()))
	if err1 != nil || err2 != nil || !l.expectKeyword("obj") {
		return 0, 0, nil, l.errorf("no object header")
	}
	obj, err = l.parseObject(0)
	if err != nil {
		return n, g, nil, err
	}
	dict, isDict := obj.(pdfDict)
	if isDict && l.expectKeyword("stream") {
		// The stream keyword is followed by CRLF or LF (a lone CR is tolerated).
		if l.pos < len(d.data) && d.data[l.pos] == '\r' {
			l.pos++
		}
		if l.pos < len(d.data) && d.data[l.pos] == '\n' {
			l.pos++
		}
		start := l.pos
		end := -1
		if length, ok := d.streamLength(dict); ok && length >= 0 && start+length <= len(d.data) {
			rest := &lexer{data: d.data, pos: start + length}
			if rest.expectKeyword("endstream") {
				end = start + length
			}
		}
		if end < 0 { // wrong /Length: find endstream
			i := bytes.Index(d.data[start:], []byte("endstream"))
			if i < 0 {
				return n, g, nil, l.errorf("unterminated stream")
			}
			end = start + i
			for end > start && (d.data[end-1] == '\n' || d.data[end-1] == '\r') {
				end--
			}
		}
		return n, g, &pdfStream{dict: dict, raw: d.data[start:end]}, nil
	}
	return n, g, obj, nil
}

func (d *document) streamLength(dict pdfDict) (int, bool) {
	switch v := dict["Length"].(type) {
	case int64:
		return int(v), true
	case pdfRef:
		if d.loading[v.num] {
			return 0, false
		}
		o, err := d.resolve(v)
		if n, ok := o.(int64); err == nil && ok {
			return int(n), true
		}
	}
	return 0, false
}

// resolve returns the object o refers to, following references (a direct
// object is returned as is). Missing objects are null, as the PDF
// specification says.
func (d *document) resolve(o object) (object, error) {
	for hops := 0; ; hops++ {
		r, ok := o.(pdfRef)
		if !ok {
			return o, nil
		}
		if hops > 32 {
			return nil, fmt.Errorf("%w: reference chain too long", errSyntax)
		}
		if err := d.b.tick(); err != nil {
			return nil, err
		}
		if v, ok := d.cache[r.num]; ok {
			o = v
			continue
		}
		v, err := d.load(r.num)
		if err != nil {
			return nil, err
		}
		d.cache[r.num] = v
		o = v
	}
}

// get resolves o and ignores errors (a broken object reads as null).
func (d *document) get(o object) object {
	v, err := d.resolve(o)
	if err != nil {
		return nil
	}
	return v
}

func (d *document) dict(o object) pdfDict {
	switch v := d.get(o).(type) {
	case pdfDict:
		return v
	case *pdfStream:
		return v.dict
	}
	return nil
}

func (d *document) load(num int) (object, error) {
	e, ok := d.xref[num]
	if !ok || e.free {
		return nil, nil
	}
	if d.loading[num] {
		return nil, fmt.Errorf("%w: object %d refers to itself while loading", errSyntax, num)
	}
	d.loading[num] = true
	defer delete(d.loading, num)
	if e.inObjStm {
		return d.loadCompressed(num, e)
	}
	n, _, obj, err := d.parseIndirectAt(e.offset)
	if err != nil {
		return nil, err
	}
	if n != num {
		return nil, fmt.Errorf("%w: xref entry of object %d points to object %d", errSyntax, num, n)
	}
	return obj, nil
}

func (d *document) loadCompressed(num int, e xrefEntry) (object, error) {
	objs, ok := d.objstm[e.stream]
	if !ok {
		if d.loading[e.stream] {
			return nil, fmt.Errorf("%w: object stream loop", errSyntax)
		}
		se, ok := d.xref[e.stream]
		if !ok || se.free || se.inObjStm {
			return nil, fmt.Errorf("%w: object stream %d missing", errSyntax, e.stream)
		}
		d.loading[e.stream] = true
		_, _, o, err := d.parseIndirectAt(se.offset)
		delete(d.loading, e.stream)
		if err != nil {
			return nil, err
		}
		s, ok := o.(*pdfStream)
		if !ok {
			return nil, fmt.Errorf("%w: object stream %d is not a stream", errSyntax, e.stream)
		}
		objs, err = d.parseObjStm(s)
		if err != nil {
			return nil, err
		}
		d.objstm[e.stream] = objs
	}
	return objs[num], nil
}

func (d *document) parseObjStm(s *pdfStream) (map[int]object, error) {
	data, err := d.decode(s)
	if err != nil {
		return nil, err
	}
	n, _ := s.dict["N"].(int64)
	first, _ := s.dict["First"].(int64)
	if n < 0 || first < 0 || int(first) > len(data) || n > int64(len(data)) {
		return nil, fmt.Errorf("%w: object stream header", errSyntax)
	}
	l := &lexer{data: data[:first]}
	type pair struct{ num, off int }
	pairs := make([]pair, 0, n)
	for i := int64(0); i < n; i++ {
		l.skipWS()
		a, err1 := strconv.Atoi(string(l.regular()))
		l.skipWS()
		b, err2 := strconv.Atoi(string(l.regular()))
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: object stream header", errSyntax)
		}
		pairs = append(pairs, pair{a, b})
	}
	out := make(map[int]object, len(pairs))
	for _, p := range pairs {
		if err := d.b.tick(); err != nil {
			return nil, err
		}
		off := int(first) + p.off
		if off < 0 || off >= len(data) {
			continue
		}
		ol := &lexer{data: data, pos: off}
		o, err := ol.parseObject(0)
		if err != nil {
			continue
		}
		if _, dup := out[p.num]; !dup {
			out[p.num] = o
		}
	}
	return out, nil
}

// decode returns the decoded bytes of s (FlateDecode with predictors; no
// filter). Other filters are errors: nothing the validator reads uses them.
func (d *document) decode(s *pdfStream) ([]byte, error) {
	var filters []pdfName
	var parms []pdfDict
	switch f := d.get(s.dict["Filter"]).(type) {
	case pdfName:
		filters = []pdfName{f}
		parms = []pdfDict{d.dict(s.dict["DecodeParms"])}
	case pdfArray:
		pa, _ := d.get(s.dict["DecodeParms"]).(pdfArray)
		for i, x := range f {
			n, ok := x.(pdfName)
			if !ok {
				return nil, fmt.Errorf("%w: filter", errSyntax)
			}
			filters = append(filters, n)
			var p pdfDict
			if i < len(pa) {
				p = d.dict(pa[i])
			}
			parms = append(parms, p)
		}
	}
	data := s.raw
	for i, f := range filters {
		switch f {
		case "FlateDecode", "Fl":
			out, err := d.inflate(data)
			if err != nil {
				return nil, err
			}
			if data, err = unpredict(out, parms[i]); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: unsupported filter %s", errSyntax, f)
		}
	}
	return data, nil
}

func (d *document) inflate(in []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(in))
	if err != nil {
		return nil, fmt.Errorf("%w: flate: %w", errSyntax, err)
	}
	defer zr.Close()
	left := maxDecoded - d.b.decoded
	out, err := io.ReadAll(io.LimitReader(zr, int64(left)+1))
	d.b.decoded += len(out)
	if len(out) > left {
		return nil, errBudget
	}
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("%w: flate: %w", errSyntax, err)
	}
	return out, nil // a truncated but non-empty stream is used as far as it goes
}

// unpredict undoes PNG predictors (the only ones xref streams use).
func unpredict(data []byte, p pdfDict) ([]byte, error) {
	pred, _ := p["Predictor"].(int64)
	if pred < 10 {
		if pred > 1 {
			return nil, fmt.Errorf("%w: TIFF predictor", errSyntax)
		}
		return data, nil
	}
	cols := int64(1)
	if c, ok := p["Columns"].(int64); ok {
		cols = c
	}
	colors := int64(1)
	if c, ok := p["Colors"].(int64); ok {
		colors = c
	}
	bpc := int64(8)
	if c, ok := p["BitsPerComponent"].(int64); ok {
		bpc = c
	}
	if cols <= 0 || cols > 1<<20 || colors <= 0 || colors > 32 || bpc <= 0 || bpc > 16 {
		return nil, fmt.Errorf("%w: predictor parameters", errSyntax)
	}
	bpp := int((colors*bpc + 7) / 8)
	rowLen := int((cols*colors*bpc + 7) / 8)
	out := make([]byte, 0, len(data))
	prev := make([]byte, rowLen)
	for len(data) > 0 {
		if len(data) < rowLen+1 {
			break
		}
		typ, row := data[0], append([]byte(nil), data[1:rowLen+1]...)
		data = data[rowLen+1:]
		for i := range row {
			var left, up, ul byte
			if i >= bpp {
				left = row[i-bpp]
				ul = prev[i-bpp]
			}
			up = prev[i]
			switch typ {
			case 0:
			case 1:
				row[i] += left
			case 2:
				row[i] += up
			case 3:
				row[i] += byte((int(left) + int(up)) / 2)
			case 4:
				row[i] += paeth(left, up, ul)
			default:
				return nil, fmt.Errorf("%w: png predictor %d", errSyntax, typ)
			}
		}
		out = append(out, row...)
		prev = row
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// catalog returns the document catalog.
func (d *document) catalog() pdfDict { return d.dict(d.trailer["Root"]) }
