package pdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
)

// decode returns the decoded data of a stream, at most maxDecoded bytes.
// Only the filters found on object streams, xref streams and DSS entries in
// practice are supported: FlateDecode (with PNG predictors) and
// ASCIIHexDecode.
func (d *reader) decode(s *Stream) ([]byte, error) {
	if s.n < 0 || s.n > maxDecoded || s.off+s.n > sizeOf(s.r, d.size) {
		return nil, d.broken("stream too large or out of file")
	}
	data := make([]byte, s.n)
	if _, err := s.r.ReadAt(data, s.off); err != nil && !(errors.Is(err, io.EOF)) {
		return nil, d.broken("reading stream: %v", err)
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
	d.b.decoded += len(data)
	for i, f := range fl {
		var p *Dict
		if i < len(pl) {
			p, _ = d.resolveDict(pl[i])
		}
		switch f {
		case Name("FlateDecode"), Name("Fl"):
			if data, err = inflate(data); err != nil {
				return nil, d.broken("%v", err)
			}
			d.b.decoded += len(data)
			if data, err = unpredict(data, p); err != nil {
				return nil, d.broken("%v", err)
			}
		case Name("ASCIIHexDecode"), Name("AHx"):
			l := newLexer(bytes.NewReader(append(data, '>')), int64(len(data))+1, 0)
			if data, err = l.hexString(); err != nil {
				return nil, d.broken("%v", err)
			}
		default:
			return nil, d.broken("unsupported filter %v", f)
		}
	}
	if d.b.decoded > maxDecodedTotal {
		return nil, fmt.Errorf("%w: %w: too many bytes decoded", ErrBroken, ErrLimit)
	}
	return data, nil
}

func sizeOf(r io.ReaderAt, fileSize int64) int64 {
	if b, ok := r.(*bytes.Reader); ok {
		return b.Size()
	}
	return fileSize
}

func inflate(data []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("flate: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
	if len(out) > maxDecoded {
		return nil, errors.New("flate: stream too large")
	}
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("flate: %v", err)
	}
	return out, nil // a truncated or bad-checksum stream keeps what decoded
}

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
	out := make([]byte, 0, len(data))
	prev := make([]byte, rowLen)
	for p := 0; p+1 <= len(data); p += rowLen + 1 {
		typ := data[p]
		end := min(p+1+rowLen, len(data))
		row := make([]byte, rowLen)
		copy(row, data[p+1:end])
		for i := 0; i < rowLen; i++ {
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
				return nil, fmt.Errorf("bad PNG predictor row type %d", typ)
			}
		}
		out = append(out, row[:end-p-1]...)
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
