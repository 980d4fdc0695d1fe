package pdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"sync"
)

const (
	// maxFilters caps the filters of one stream: real files use one or two.
	maxFilters = 8
	// decodeCost is charged to the budget for every stream decoded, on top
	// of its bytes: decoding the same one-byte stream a million times is
	// work too.
	decodeCost = 1 << 10
)

// decode returns the decoded data of a stream. Only the filters found on
// object streams, xref streams and DSS entries in practice are supported:
// FlateDecode (with PNG predictors) and ASCIIHexDecode. Every step is
// charged to the budget by the bytes it really produced, and no step
// allocates more than it produces: a stream's declared parameters (its
// /Length, a predictor's /Columns) never size a buffer by themselves.
func (d *reader) decode(s *Stream) ([]byte, error) {
	if err := d.ctx.Err(); err != nil {
		return nil, err
	}
	lim := d.b.lim
	if s.n < 0 || s.off < 0 || s.off > sizeOf(s.r, d.size)-s.n {
		return nil, d.broken("stream out of file")
	}
	if s.n > lim.StreamBytes {
		return nil, limitErr("stream of %d bytes (the limit is %d)", s.n, lim.StreamBytes)
	}
	filters, err := d.resolve(s.dict.Get("Filter"))
	if err != nil {
		return nil, err
	}
	parms, err := d.resolve(s.dict.Get("DecodeParms"))
	if err != nil {
		return nil, err
	}
	var fl []Object
	var pl []Object
	switch f := filters.(type) {
	case nil:
	case Name:
		fl = []Object{f}
		pl = []Object{parms}
	case []Object:
		fl = f
		pl, _ = parms.([]Object)
	default:
		return nil, d.broken("bad /Filter")
	}
	if len(fl) > maxFilters {
		return nil, d.broken("%d filters on one stream", len(fl))
	}
	if err := d.b.charge(decodeCost + s.n); err != nil {
		return nil, err
	}
	data := make([]byte, s.n)
	if _, err := s.r.ReadAt(data, s.off); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, d.broken("reading stream: %v", err)
	}
	for i, f := range fl {
		var p *Dict
		if i < len(pl) {
			if p, err = d.resolveDict(pl[i]); err != nil {
				return nil, err
			}
		}
		switch f {
		case Name("FlateDecode"), Name("Fl"):
			if data, err = d.inflate(data); err != nil {
				return nil, err
			}
			if pred, _ := p.Get("Predictor").(int64); pred > 1 {
				if data, err = unpredict(data, p); err != nil {
					return nil, d.broken("%v", err)
				}
				// the predictor reads and writes every byte once more
				if err := d.b.charge(int64(len(data))); err != nil {
					return nil, err
				}
			}
		case Name("ASCIIHexDecode"), Name("AHx"):
			l := newLexer(bytes.NewReader(append(data, '>')), int64(len(data))+1, 0)
			if data, err = l.hexString(); err != nil {
				return nil, d.broken("%v", err)
			}
			if err := d.b.charge(int64(len(data))); err != nil {
				return nil, err
			}
		default:
			return nil, d.broken("unsupported filter %v", f)
		}
	}
	return data, nil
}

func sizeOf(r io.ReaderAt, fileSize int64) int64 {
	if b, ok := r.(*bytes.Reader); ok {
		return b.Size()
	}
	return fileSize
}

// inflateChunk is how much is inflated between two looks at the context.
const inflateChunk = 1 << 20

// inflate decompresses zlib data in two passes: the first counts the
// output (into a small scratch buffer, charged to the budget, checking the
// context), the second fills a buffer of exactly that size. A
// decompression bomb thus costs the budget's bytes of CPU and no memory; a
// truncated stream or one with a bad checksum keeps what decoded.
func (d *reader) inflate(data []byte) ([]byte, error) {
	room := d.b.room()
	zr, err := newInflater(data)
	if err != nil {
		return nil, d.broken("flate: %v", err)
	}
	defer inflaters.Put(zr)
	var n int64
	var rerr error
	for n <= room {
		if err := d.ctx.Err(); err != nil {
			return nil, err
		}
		m, err := io.Copy(io.Discard, io.LimitReader(zr, min(inflateChunk, room+1-n)))
		n += m
		if err != nil {
			rerr = err
			break
		}
		if m == 0 {
			break
		}
	}
	if cerr := d.b.charge(n); cerr != nil {
		return nil, cerr
	}
	if n > room {
		return nil, limitErr("a stream decodes to more than %d bytes", room)
	}
	if rerr != nil && n == 0 {
		return nil, d.broken("flate: %v", rerr)
	}
	if err := zr.(zlib.Resetter).Reset(bytes.NewReader(data), nil); err != nil {
		return nil, d.broken("flate: %v", err)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, d.broken("flate: %v", err)
	}
	return out, nil
}

// inflaters keeps zlib readers (about 40 KiB of window and tables each)
// for reuse: a document may hold many small streams.
var inflaters sync.Pool

func newInflater(data []byte) (io.ReadCloser, error) {
	if zr, ok := inflaters.Get().(io.ReadCloser); ok {
		if err := zr.(zlib.Resetter).Reset(bytes.NewReader(data), nil); err != nil {
			return nil, err
		}
		return zr, nil
	}
	return zlib.NewReader(bytes.NewReader(data))
}

// unpredict undoes a PNG predictor. Rows are as long as the parameters say,
// but the work and the output follow the data present: a short last row
// (or a stream of one byte under parameters of 64 MiB rows) is decoded
// only as far as it goes, so the output is never longer than the input.
func unpredict(data []byte, p *Dict) ([]byte, error) {
	if p == nil {
		return data, nil
	}
	pred, _ := p.Get("Predictor").(int64)
	if pred <= 1 {
		return data, nil
	}
	if pred < 10 {
		return nil, fmt.Errorf("unsupported predictor %d", pred)
	}
	cols, colors, bpc := int64(1), int64(1), int64(8)
	if v, ok := p.Get("Columns").(int64); ok {
		cols = v
	}
	if v, ok := p.Get("Colors").(int64); ok {
		colors = v
	}
	if v, ok := p.Get("BitsPerComponent").(int64); ok {
		bpc = v
	}
	if cols <= 0 || cols > 1<<20 || colors <= 0 || colors > 32 || bpc <= 0 || bpc > 16 {
		return nil, errors.New("bad predictor parameters")
	}
	bpp := int((colors*bpc + 7) / 8)
	rowLen := int((cols*colors*bpc + 7) / 8)
	out := make([]byte, 0, len(data)) // never reallocated: rows below alias it
	var prev []byte
	for p := 0; p < len(data); p += rowLen + 1 {
		typ := data[p]
		end := min(p+1+rowLen, len(data))
		start := len(out)
		out = append(out, data[p+1:end]...)
		row := out[start:]
		for i := range row {
			var left, up, ul byte
			if i >= bpp {
				left = row[i-bpp]
				if i-bpp < len(prev) {
					ul = prev[i-bpp]
				}
			}
			if i < len(prev) {
				up = prev[i]
			}
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
				return nil, fmt.Errorf("bad PNG predictor row type %d", typ)
			}
		}
		prev = row
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
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
