package verify

import (
	"bytes"
	"context"
	"crypto"
	"io"
)

// source is the document being validated, read through io.ReaderAt so that
// a file on disk is never loaded whole: the validator reads the few bytes
// it checks and streams the signed byte ranges through the hash.
type source struct {
	r    io.ReaderAt
	size int64
}

// sourceChunk is the block size of the scans and hashes over the source.
const sourceChunk = 256 << 10

// at returns the n bytes at off (fewer at the end of the file).
func (s source) at(off, n int64) []byte {
	if off < 0 || off >= s.size || n <= 0 {
		return nil
	}
	b := make([]byte, min(n, s.size-off))
	m, _ := s.r.ReadAt(b, off)
	return b[:m]
}

// byteAt returns the byte at off, or 0 past the end.
func (s source) byteAt(off int64) byte {
	if b := s.at(off, 1); len(b) == 1 {
		return b[0]
	}
	return 0
}

// scan calls f with consecutive blocks of [off, end), checking ctx between
// them; f returns false to stop.
func (s source) scan(ctx context.Context, off, end int64, f func(block []byte) bool) error {
	buf := make([]byte, sourceChunk)
	for p := off; p < end; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := s.r.ReadAt(buf[:min(int64(len(buf)), end-p)], p)
		if n == 0 {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if !f(buf[:n]) {
			return nil
		}
		p += int64(n)
	}
	return nil
}

// blankFrom reports whether every byte from off to the end is white space.
func (s source) blankFrom(ctx context.Context, off int64) bool {
	blank := true
	_ = s.scan(ctx, off, s.size, func(b []byte) bool {
		blank = len(bytes.TrimSpace(b)) == 0
		return blank
	})
	return blank && ctx.Err() == nil
}

// rangeDigest hashes the two byte ranges of br; nil when ctx ended first.
func (s source) rangeDigest(ctx context.Context, br [4]int, h crypto.Hash) []byte {
	hh := h.New()
	for _, r := range [][2]int{{br[0], br[1]}, {br[2], br[3]}} {
		if err := s.scan(ctx, int64(r[0]), int64(r[0]+r[1]), func(b []byte) bool { hh.Write(b); return true }); err != nil {
			return nil
		}
	}
	return hh.Sum(nil)
}

// revisionEnds returns the offsets just after each %%EOF marker and its
// optional end-of-line, ascending.
func (s source) revisionEnds(ctx context.Context) ([]int, error) {
	var ends []int
	marker := []byte("%%EOF")
	const overlap = 8 // the marker and its end-of-line across two blocks
	var carry []byte
	var base int64 // offset of carry[0]
	err := s.scan(ctx, 0, s.size, func(b []byte) bool {
		buf := append(carry, b...)
		next := 0 // where the search resumes within buf
		for {
			j := bytes.Index(buf[next:], marker)
			if j < 0 {
				break
			}
			e := next + j + len(marker)
			if e+2 > len(buf) && base+int64(len(buf)) < s.size {
				// the end-of-line may be in the next block: look again there
				next = next + j
				break
			}
			if e < len(buf) && buf[e] == '\r' {
				e++
			}
			if e < len(buf) && buf[e] == '\n' {
				e++
			}
			ends = append(ends, int(base)+e)
			next = e
		}
		keep := max(next, len(buf)-overlap)
		if keep > len(buf) {
			keep = len(buf)
		}
		carry = append([]byte(nil), buf[keep:]...)
		base += int64(keep)
		return true
	})
	return ends, err
}
