package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
)

// Fixed reader limits (the configurable ones are in Limits), chosen so
// hostile input is refused in bounded time and memory while real documents
// (including 1200-page ones with object streams) are far below them.
const (
	maxFetchDepth  = 16       // nested reads (an indirect /Length inside a stream dict)
	maxObjStmCache = 16       // decoded object streams one reader keeps at once
	maxPageNodes   = 1 << 20  // page tree nodes visited
	tailWindow     = 64 << 10 // bytes searched for the last startxref
	maxGen         = 65535    // the largest generation number (ISO 32000-1, 7.5.4)
	// ctxEvery is how many object reads pass between two looks at the
	// context: parsing 64 objects takes microseconds.
	ctxEvery = 64
)

type xrefKind int

const (
	xrefTable xrefKind = iota
	xrefStream
)

type xrefEntry struct {
	kind byte  // 0: free; 1: at an offset in the file; 2: inside an object stream
	off  int64 // kind 1: absolute offset; kind 2: object stream number
	gen  int   // kind 1: generation; kind 2: index inside the stream
}

type objStm struct {
	data []byte
	offs map[int]int64 // object number → offset in data
	idx  map[int]int   // object number → index in the stream
}

// reader is a parsed view of a PDF: its cross-reference (all revisions
// merged, newest first), its trailer and lazily read objects. It is not
// safe for concurrent use.
type reader struct {
	ctx  context.Context
	r    io.ReaderAt
	size int64
	base int64 // offset of "%PDF-": xref offsets are relative to it

	version   string
	xref      map[int]xrefEntry
	trailer   *Dict
	startxref int64 // last startxref value, relative to base
	lastKind  xrefKind
	repaired  bool // xref rebuilt by scanning; the update writes a full xref
	prevLoop  bool // /Prev chain had a loop; also written with a full xref
	maxNum    int

	cache   map[int]Object
	objstms map[int]*objStm
	b       *budget
	depth   int
	// keepXref: an object that cannot be read is an error, not a reason to
	// rebuild the xref (Open: a validator compares what each revision's
	// own xref says).
	keepXref bool
}

// load reads the header and the cross-reference, rebuilt by scanning when
// it cannot be read.
func load(ctx context.Context, r io.ReaderAt, size int64, b *budget) (*reader, error) {
	d := &reader{ctx: ctx, r: r, size: size, cache: map[int]Object{}, objstms: map[int]*objStm{}, b: b}
	if err := d.readHeader(); err != nil {
		return nil, err
	}
	if err := d.loadXref(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, ErrLimit) {
			return nil, err
		}
		if err := d.repair(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func open(ctx context.Context, r io.ReaderAt, size int64) (*reader, error) {
	d, err := load(ctx, r, size, newBudget(ctx))
	if err != nil {
		return nil, err
	}
	if d.trailer.Get("Encrypt") != nil {
		return nil, fmt.Errorf("%w: the trailer has /Encrypt", ErrEncrypted)
	}
	// a /Prev loop, or a catalog or page tree that cannot be read through
	// the xref, is retried once on a rebuilt xref
	check := func() error {
		if d.prevLoop {
			return d.broken("/Prev loop")
		}
		_, err := d.pages()
		return err
	}
	if err := check(); err != nil {
		if d.repaired || ctx.Err() != nil || errors.Is(err, ErrLimit) {
			return nil, err
		}
		if rerr := d.repair(); rerr != nil {
			return nil, err
		}
		if d.trailer.Get("Encrypt") != nil {
			return nil, fmt.Errorf("%w: the trailer has /Encrypt", ErrEncrypted)
		}
		if err := check(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

var headerRE = regexp.MustCompile(`%PDF-([0-9A-Za-z.]{1,8})`)

func (d *reader) readHeader() error {
	buf := make([]byte, 1024)
	n, _ := d.r.ReadAt(buf[:min(int64(len(buf)), d.size)], 0)
	m := headerRE.FindSubmatchIndex(buf[:n])
	if m == nil {
		return ErrNotPDF
	}
	d.base = int64(m[0])
	d.version = string(buf[m[2]:m[3]])
	return nil
}

func (d *reader) broken(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBroken}, args...)...)
}

// findStartxref returns the value after the last "startxref" keyword.
func (d *reader) findStartxref() (int64, error) {
	n := min(int64(tailWindow), d.size)
	buf := make([]byte, n)
	if _, err := d.r.ReadAt(buf, d.size-n); err != nil && err != io.EOF {
		return 0, err
	}
	i := bytes.LastIndex(buf, []byte("startxref"))
	if i < 0 {
		return 0, d.broken("no startxref")
	}
	l := newLexer(bytes.NewReader(buf), n, int64(i+len("startxref")))
	t, err := l.next()
	if err != nil || t.kind != tInt || t.i < 0 {
		return 0, d.broken("bad startxref")
	}
	return t.i, nil
}

func (d *reader) loadXref() error {
	sx, err := d.findStartxref()
	if err != nil {
		return err
	}
	d.startxref = sx
	bases := []int64{d.base}
	if d.base != 0 {
		bases = append(bases, 0)
	}
	var firstErr error
	for _, b := range bases {
		d.base = b
		d.xref = map[int]xrefEntry{}
		d.trailer = newDict()
		d.prevLoop = false
		if err := d.loadChain(sx); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		return nil
	}
	return firstErr
}

func (d *reader) loadChain(off int64) error {
	seen := map[int64]bool{}
	for i := 0; ; i++ {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		if seen[off] {
			d.prevLoop = true
			break
		}
		if i >= d.b.lim.Revisions {
			return limitErr("more than %d cross-reference sections", d.b.lim.Revisions)
		}
		seen[off] = true
		tr, kind, err := d.readSection(off, true)
		if err != nil {
			return err
		}
		if i == 0 {
			d.lastKind = kind
		}
		for _, k := range tr.keys {
			if _, ok := d.trailer.vals[k]; !ok {
				d.trailer.set(k, tr.vals[k])
			}
		}
		if sz, ok := tr.Get("Size").(int64); ok && sz > 0 && sz <= int64(d.b.lim.Objects) {
			d.maxNum = max(d.maxNum, int(sz)-1)
		}
		prev, ok := tr.Get("Prev").(int64)
		if !ok {
			break
		}
		if prev < 0 || prev >= d.size-d.base {
			return d.broken("bad /Prev %d", prev)
		}
		off = prev
	}
	if _, ok := d.trailer.Get("Root").(Ref); !ok {
		return d.broken("trailer has no /Root")
	}
	return nil
}

// readSection reads the xref section (table or stream) at off (relative to
// base), adds its entries where none newer exists, and returns its trailer.
func (d *reader) readSection(off int64, allowHybrid bool) (*Dict, xrefKind, error) {
	if off < 0 || off >= d.size-d.base {
		return nil, 0, d.broken("xref offset %d out of file", off)
	}
	pos := d.base + off
	l := d.lexer(d.r, d.size, pos)
	t, err := l.next()
	if err != nil {
		return nil, 0, d.broken("xref: %v", err)
	}
	if t.kind == tKeyword && t.s == "xref" {
		tr, err := d.readTable(l)
		if err != nil {
			return nil, 0, err
		}
		if xs, ok := tr.Get("XRefStm").(int64); ok && allowHybrid {
			if _, _, err := d.readSection(xs, false); err != nil {
				return nil, 0, err
			}
		}
		return tr, xrefTable, nil
	}
	if t.kind != tInt {
		return nil, 0, d.broken("no xref at offset %d", off)
	}
	obj, _, err := d.parseIndirectAt(pos, -1)
	if err != nil {
		return nil, 0, err
	}
	s, ok := obj.(*Stream)
	if !ok || s.dict.nameOf("Type") != "XRef" {
		return nil, 0, d.broken("object at xref offset %d is not an xref stream", off)
	}
	if err := d.readXrefStream(s); err != nil {
		return nil, 0, err
	}
	return s.dict, xrefStream, nil
}

func (d *reader) addEntry(num int, e xrefEntry) {
	if _, ok := d.xref[num]; ok {
		return
	}
	d.xref[num] = e
	d.maxNum = max(d.maxNum, num)
}

func (d *reader) readTable(l *lexer) (*Dict, error) {
	for {
		if err := d.ctx.Err(); err != nil {
			return nil, err
		}
		t, err := l.next()
		if err != nil {
			return nil, d.broken("xref table: %v", err)
		}
		if t.kind == tKeyword && t.s == "trailer" {
			o, err := l.parseObject(0)
			if errors.Is(err, ErrLimit) {
				return nil, err
			}
			if err != nil {
				return nil, d.broken("trailer: %v", err)
			}
			tr, ok := o.(*Dict)
			if !ok {
				return nil, d.broken("trailer is not a dictionary")
			}
			return tr, nil
		}
		t2, err := l.next()
		if err != nil || t.kind != tInt || t2.kind != tInt || t.i < 0 || t2.i < 0 {
			return nil, d.broken("bad xref subsection at %d", t.pos)
		}
		start, count := t.i, t2.i
		if err := d.checkRange(start, count); err != nil {
			return nil, err
		}
		// each entry takes at least 6 bytes ("0 0 n "): a larger count is a lie
		if count > (d.size-l.offset())/6+1 {
			return nil, d.broken("xref subsection too large")
		}
		for i := int64(0); i < count; i++ {
			a, err1 := l.next()
			b, err2 := l.next()
			c, err3 := l.next()
			if err1 != nil || err2 != nil || err3 != nil || a.kind != tInt || b.kind != tInt || c.kind != tKeyword {
				return nil, d.broken("bad xref entry at %d", a.pos)
			}
			num := int(start + i)
			switch c.s {
			case "n":
				if (a.i <= 0 || a.i >= d.size-d.base || b.i < 0 || b.i > maxGen) && num != 0 {
					continue // an in-use entry out of the file is meaningless; leave it to older sections
				}
				if num != 0 {
					d.addEntry(num, xrefEntry{kind: 1, off: d.base + a.i, gen: int(b.i)})
				}
			case "f":
				if num != 0 {
					d.addEntry(num, xrefEntry{kind: 0})
				}
			default:
				return nil, d.broken("bad xref entry type %q", c.s)
			}
		}
	}
}

func (d *reader) readXrefStream(s *Stream) error {
	data, err := d.decode(s)
	if err != nil {
		return err
	}
	wa, _ := s.dict.Get("W").([]Object)
	if len(wa) != 3 {
		return d.broken("xref stream /W")
	}
	var w [3]int
	rowLen := 0
	for i := range w {
		v, ok := wa[i].(int64)
		if !ok || v < 0 || v > 8 {
			return d.broken("xref stream /W")
		}
		w[i] = int(v)
		rowLen += w[i]
	}
	if rowLen == 0 {
		return d.broken("xref stream /W")
	}
	size, _ := s.dict.Get("Size").(int64)
	index := []Object{int64(0), size}
	if ia, ok := s.dict.Get("Index").([]Object); ok {
		index = ia
	}
	if len(index)%2 != 0 {
		return d.broken("xref stream /Index")
	}
	field := func(row []byte, i, def int) int64 {
		if w[i] == 0 {
			return int64(def)
		}
		var v int64
		start := 0
		for j := 0; j < i; j++ {
			start += w[j]
		}
		for _, c := range row[start : start+w[i]] {
			if v > math.MaxInt64>>8 {
				return -1 // does not fit: no offset, number or index is that large
			}
			v = v<<8 | int64(c)
		}
		return v
	}
	p := 0
	for k := 0; k < len(index); k += 2 {
		start, ok1 := index[k].(int64)
		count, ok2 := index[k+1].(int64)
		if !ok1 || !ok2 {
			return d.broken("xref stream /Index")
		}
		if err := d.checkRange(start, count); err != nil {
			return err
		}
		for i := int64(0); i < count; i++ {
			if p+rowLen > len(data) {
				return nil // short stream: keep what was there
			}
			row := data[p : p+rowLen]
			p += rowLen
			num := int(start + i)
			switch field(row, 0, 1) {
			case 1:
				off, gen := field(row, 1, 0), field(row, 2, 0)
				if num != 0 && off > 0 && off < d.size-d.base && gen >= 0 && gen <= maxGen {
					d.addEntry(num, xrefEntry{kind: 1, off: d.base + off, gen: int(gen)})
				}
			case 2:
				stm, idx := field(row, 1, 0), field(row, 2, 0)
				if stm > 0 && stm < int64(d.b.lim.Objects) && idx >= 0 && idx < int64(d.b.lim.Objects) {
					d.addEntry(num, xrefEntry{kind: 2, off: stm, gen: int(idx)})
				}
			default:
				if num != 0 {
					d.addEntry(num, xrefEntry{kind: 0})
				}
			}
		}
	}
	return nil
}

// parseIndirectAt parses "num gen obj ... [stream]" at an absolute offset.
// With wantNum >= 0 the object number must match.
func (d *reader) parseIndirectAt(pos int64, wantNum int) (Object, Ref, error) {
	d.b.fetches++
	if d.b.fetches > d.b.lim.ObjectReads {
		return nil, Ref{}, limitErr("more than %d object reads", d.b.lim.ObjectReads)
	}
	if d.b.fetches%ctxEvery == 0 {
		if err := d.ctx.Err(); err != nil {
			return nil, Ref{}, err
		}
	}
	l := d.lexer(d.r, d.size, pos)
	a, err1 := l.next()
	b, err2 := l.next()
	c, err3 := l.next()
	if err1 != nil || err2 != nil || err3 != nil || a.kind != tInt || b.kind != tInt || c.kind != tKeyword || c.s != "obj" {
		return nil, Ref{}, d.broken("no object at offset %d", pos)
	}
	id := Ref{int(a.i), int(b.i)}
	if wantNum >= 0 && id.Num != wantNum {
		return nil, Ref{}, d.broken("object %d expected at offset %d, found %d", wantNum, pos, id.Num)
	}
	o, err := l.parseObject(0)
	if errors.Is(err, ErrLimit) {
		return nil, Ref{}, err
	}
	if err != nil {
		return nil, Ref{}, d.broken("object %d: %v", id.Num, err)
	}
	sd, ok := o.(*Dict)
	if !ok {
		return o, id, nil
	}
	t, err := l.next()
	if err != nil || t.kind != tKeyword || t.s != "stream" {
		return o, id, nil
	}
	// stream data starts after the end of line following "stream"
	p := t.pos + int64(len("stream"))
	l.seek(p)
	switch l.peekByte() {
	case '\r':
		p++
		l.seek(p)
		if l.peekByte() == '\n' {
			p++
		}
	case '\n':
		p++
	}
	n, err := d.streamLength(sd, p)
	if err != nil {
		return nil, Ref{}, err
	}
	return &Stream{dict: sd, r: d.r, off: p, n: n}, id, nil
}

// streamLength trusts /Length when "endstream" follows it, else searches for
// "endstream".
func (d *reader) streamLength(sd *Dict, p int64) (int64, error) {
	var n int64 = -1
	switch v := sd.Get("Length").(type) {
	case int64:
		n = v
	case Ref:
		if d.depth < maxFetchDepth {
			d.depth++
			o, err := d.fetch(v)
			d.depth--
			if err == nil {
				n, _ = o.(int64)
			}
		}
	}
	if n >= 0 && n <= d.size-p {
		l := newLexer(d.r, d.size, p+n)
		if t, err := l.next(); err == nil && t.kind == tKeyword && t.s == "endstream" {
			return n, nil
		}
	}
	// search forward for "endstream"
	const chunk = 64 << 10
	buf := make([]byte, chunk+16)
	for q := p; q < d.size; q += chunk {
		if err := d.ctx.Err(); err != nil {
			return 0, err
		}
		m, _ := d.r.ReadAt(buf[:min(int64(len(buf)), d.size-q)], q)
		if i := bytes.Index(buf[:m], []byte("endstream")); i >= 0 {
			end := q + int64(i)
			// drop the end-of-line before endstream
			for end > p {
				var c [1]byte
				d.r.ReadAt(c[:], end-1)
				if c[0] != '\n' && c[0] != '\r' {
					break
				}
				end--
			}
			return end - p, nil
		}
	}
	return 0, d.broken("stream without endstream at %d", p)
}

// fetch reads an indirect object, repairing the xref once if it is wrong.
func (d *reader) fetch(r Ref) (Object, error) {
	if o, ok := d.cache[r.Num]; ok {
		return o, nil
	}
	o, err := d.fetchUncached(r)
	if err != nil && !d.repaired && !d.keepXref && d.ctx.Err() == nil && d.depth == 0 && !errors.Is(err, ErrLimit) {
		if rerr := d.repair(); rerr != nil {
			return nil, err
		}
		o, err = d.fetchUncached(r)
	}
	if err != nil {
		return nil, err
	}
	if _, isStream := o.(*Stream); !isStream || len(d.cache) < 100000 {
		d.cache[r.Num] = o
	}
	return o, nil
}

func (d *reader) fetchUncached(r Ref) (Object, error) {
	e, ok := d.xref[r.Num]
	if !ok {
		return nil, nil // a reference to a missing object is null
	}
	switch e.kind {
	case 1:
		o, _, err := d.parseIndirectAt(e.off, r.Num)
		return o, err
	case 2:
		return d.fetchCompressed(r.Num, int(e.off))
	}
	return nil, nil
}

func (d *reader) fetchCompressed(num, stmNum int) (Object, error) {
	os, ok := d.objstms[stmNum]
	if !ok {
		if d.depth >= maxFetchDepth {
			return nil, d.broken("object streams nested too deep")
		}
		e, ok := d.xref[stmNum]
		if !ok || e.kind != 1 {
			return nil, d.broken("object stream %d not found", stmNum)
		}
		d.depth++
		o, _, err := d.parseIndirectAt(e.off, stmNum)
		d.depth--
		if err != nil {
			return nil, err
		}
		s, ok := o.(*Stream)
		if !ok || s.dict.nameOf("Type") != "ObjStm" {
			return nil, d.broken("object %d is not an object stream", stmNum)
		}
		if os, err = d.loadObjStm(s); err != nil {
			return nil, err
		}
		if len(d.objstms) >= maxObjStmCache {
			d.b.drop(d)
			clear(d.objstms)
		}
		d.objstms[stmNum] = os
		d.b.keep(d, stmNum, int64(len(os.data)))
	}
	off, ok := os.offs[num]
	if !ok {
		return nil, d.broken("object %d not in object stream %d", num, stmNum)
	}
	l := d.lexer(bytes.NewReader(os.data), int64(len(os.data)), off)
	o, err := l.parseObject(0)
	if errors.Is(err, ErrLimit) {
		return nil, err
	}
	if err != nil {
		return nil, d.broken("object %d: %v", num, err)
	}
	return o, nil
}

func (d *reader) loadObjStm(s *Stream) (*objStm, error) {
	data, err := d.decode(s)
	if err != nil {
		return nil, err
	}
	n, _ := s.dict.Get("N").(int64)
	first, _ := s.dict.Get("First").(int64)
	if n < 0 || first < 0 || first > int64(len(data)) || n > int64(len(data))/2+1 {
		return nil, d.broken("bad object stream header")
	}
	// The maps grow with the entries really read: /N is only what the stream
	// declares, and sizing them from it (a few MiB of zeros allow an /N of
	// tens of millions) would allocate gigabytes before the first entry.
	os := &objStm{data: data, offs: map[int]int64{}, idx: map[int]int{}}
	l := newLexer(bytes.NewReader(data), first, 0)
	for i := int64(0); i < n; i++ {
		a, err1 := l.next()
		b, err2 := l.next()
		if err1 != nil || err2 != nil || a.kind != tInt || b.kind != tInt {
			break
		}
		if a.i <= 0 || a.i >= int64(d.b.lim.Objects) || b.i < 0 || b.i > int64(len(data))-first {
			continue
		}
		if _, dup := os.offs[int(a.i)]; !dup {
			os.offs[int(a.i)] = first + b.i
			os.idx[int(a.i)] = int(i)
		}
	}
	return os, nil
}

// resolve follows references (a chain of them, bounded).
func (d *reader) resolve(o Object) (Object, error) {
	for i := 0; i < 8; i++ {
		r, ok := o.(Ref)
		if !ok {
			return o, nil
		}
		var err error
		if o, err = d.fetch(r); err != nil {
			return nil, err
		}
	}
	return nil, d.broken("reference chain too long")
}

// resolveDict resolves o and returns it as a dictionary (a stream's
// dictionary counts), or nil.
func (d *reader) resolveDict(o Object) (*Dict, error) {
	o, err := d.resolve(o)
	if err != nil {
		return nil, err
	}
	switch v := o.(type) {
	case *Dict:
		return v, nil
	case *Stream:
		return v.dict, nil
	}
	return nil, nil
}

func (d *reader) resolveArray(o Object) ([]Object, error) {
	o, err := d.resolve(o)
	if err != nil {
		return nil, err
	}
	a, _ := o.([]Object)
	return a, nil
}

func (d *reader) resolveInt(o Object) (int64, bool) {
	o, err := d.resolve(o)
	if err != nil {
		return 0, false
	}
	i, ok := o.(int64)
	return i, ok
}

func (d *reader) rootRef() Ref { r, _ := d.trailer.Get("Root").(Ref); return r }

func (d *reader) catalog() (*Dict, error) {
	r, ok := d.trailer.Get("Root").(Ref)
	if !ok {
		return nil, d.broken("trailer has no /Root")
	}
	o, err := d.fetch(r)
	if err != nil {
		return nil, err
	}
	c, ok := o.(*Dict)
	if !ok {
		return nil, d.broken("catalog is not a dictionary")
	}
	if t := c.nameOf("Type"); t != "" && t != "Catalog" {
		return nil, d.broken("catalog has /Type /%s", t)
	}
	if c.Get("Pages") == nil {
		return nil, d.broken("catalog has no /Pages")
	}
	return c, nil
}

var objRE = regexp.MustCompile(`(\d{1,10})[\x00\t\n\f\r ]+(\d{1,5})[\x00\t\n\f\r ]+obj\b|trailer[\x00\t\n\f\r ]*<<`)

// repair rebuilds the cross-reference by scanning the whole file for
// "n g obj" and "trailer" (later definitions win), then reads object and
// xref streams found on the way.
func (d *reader) repair() error {
	d.repaired = true
	d.prevLoop = false
	d.xref = map[int]xrefEntry{}
	d.trailer = newDict()
	d.cache = map[int]Object{}
	d.b.drop(d)
	d.objstms = map[int]*objStm{}
	d.maxNum = 0
	d.base = 0 // offsets found by scanning are absolute
	var trailers []int64
	const chunk, overlap = 1 << 20, 64
	buf := make([]byte, chunk+overlap)
	for p := int64(0); p < d.size; p += chunk {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		n, _ := d.r.ReadAt(buf[:min(int64(len(buf)), d.size-p)], p)
		for _, m := range objRE.FindAllSubmatchIndex(buf[:n], -1) {
			if int64(m[0]) >= chunk {
				continue // seen again in the next chunk
			}
			if m[0] > 0 {
				if c := buf[m[0]-1]; c >= '0' && c <= '9' {
					continue
				}
			}
			if m[2] < 0 {
				trailers = append(trailers, p+int64(m[0]+len("trailer")))
				continue
			}
			num, _ := strconv.Atoi(string(buf[m[2]:m[3]]))
			gen, _ := strconv.Atoi(string(buf[m[4]:m[5]]))
			if num <= 0 || num >= d.b.lim.Objects || gen > maxGen {
				continue
			}
			d.xref[num] = xrefEntry{kind: 1, off: p + int64(m[0]), gen: gen}
			d.maxNum = max(d.maxNum, num)
		}
	}
	for _, t := range trailers {
		l := d.lexer(d.r, d.size, t)
		o, err := l.parseObject(0)
		if errors.Is(err, ErrLimit) {
			return err
		}
		if err == nil {
			if tr, ok := o.(*Dict); ok {
				for _, k := range tr.keys {
					d.trailer.set(k, tr.vals[k])
				}
			}
		}
	}
	// object streams and xref streams
	direct := make([]int, 0, len(d.xref))
	for num := range d.xref {
		direct = append(direct, num)
	}
	var catalog Ref
	for _, num := range direct {
		e := d.xref[num]
		o, id, err := d.parseIndirectAt(e.off, num)
		if err != nil {
			if errors.Is(err, ErrLimit) || d.ctx.Err() != nil {
				return err
			}
			delete(d.xref, num)
			continue
		}
		var dd *Dict
		switch v := o.(type) {
		case *Dict:
			dd = v
		case *Stream:
			dd = v.dict
			switch v.dict.nameOf("Type") {
			case "ObjStm":
				os, err := d.loadObjStm(v)
				if errors.Is(err, ErrLimit) || d.ctx.Err() != nil {
					return err
				}
				if err == nil {
					for n := range os.offs {
						if _, ok := d.xref[n]; !ok {
							d.xref[n] = xrefEntry{kind: 2, off: int64(num), gen: os.idx[n]}
							d.maxNum = max(d.maxNum, n)
						}
					}
				}
			case "XRef":
				for _, k := range []Name{"Root", "Info", "ID"} {
					if d.trailer.Get(k) == nil && v.dict.Get(k) != nil {
						d.trailer.set(k, v.dict.Get(k))
					}
				}
			}
		}
		if dd != nil && dd.nameOf("Type") == "Catalog" && catalog.Num == 0 {
			catalog = id
		}
	}
	if _, ok := d.trailer.Get("Root").(Ref); !ok || d.rootBad() {
		if catalog.Num == 0 {
			return d.broken("no catalog found")
		}
		d.trailer.set("Root", catalog)
	}
	d.lastKind = xrefTable
	for _, e := range d.xref {
		if e.kind == 2 {
			d.lastKind = xrefStream
			break
		}
	}
	d.cache = map[int]Object{}
	return nil
}

func (d *reader) rootBad() bool {
	_, err := d.catalog()
	return err != nil
}

// checkRange refuses a cross-reference subsection (start, count) that names
// objects beyond the limit, with arithmetic that cannot overflow: a
// subsection starting at 2^63-1 is refused, not wrapped around.
func (d *reader) checkRange(start, count int64) error {
	lim := int64(d.b.lim.Objects)
	if start < 0 || count < 0 {
		return d.broken("negative xref subsection %d %d", start, count)
	}
	if start > lim || count > lim-start {
		return limitErr("xref subsection %d %d names objects beyond the limit of %d", start, count, lim)
	}
	return nil
}

// lexer returns a lexer over r whose parsed objects are charged to d's budget.
func (d *reader) lexer(r io.ReaderAt, size, pos int64) *lexer {
	l := newLexer(r, size, pos)
	l.b = d.b
	return l
}
