package pdf

import (
	"context"
	"fmt"
)

// Limits bound the work of one operation (Inspect, Prepare, AddDSS,
// Signatures, or an Open with every revision it reads) on one document.
// Hostile input reaches one of them and is refused with ErrLimit (wrapped
// with ErrBroken) instead of costing unbounded time or memory. A zero field
// takes its default (DefaultLimits).
type Limits struct {
	// Objects caps object numbers, hence the entries of the
	// cross-reference kept in memory (about 50 bytes each). A
	// cross-reference naming an object at or beyond it is refused, and so
	// is an offset or count that would overflow.
	Objects int
	// Revisions caps the cross-reference sections followed through /Prev.
	Revisions int
	// StreamBytes caps the bytes of one stream, raw or decoded: object
	// streams, cross-reference streams and /DSS entries are the only
	// streams decoded.
	StreamBytes int64
	// DecodedBytes caps the bytes read and decoded from streams by one
	// operation, summed over every filter and predictor step and every
	// retry: it bounds both the CPU a decompression bomb costs and the
	// decoded data held at once.
	DecodedBytes int64
	// CacheBytes caps the decoded object streams kept for later reads,
	// summed over every revision of the operation (the stream being read
	// is always kept while it is read).
	CacheBytes int64
	// ObjectReads caps the objects parsed by one operation.
	ObjectReads int
	// Elements caps the elements parsed by one operation (numbers, names,
	// references, strings, array items, dictionary entries; a string
	// counts one per 32 bytes): it bounds the memory parsed objects take,
	// some 32 bytes each, which the bytes read do not (two bytes of
	// "0 " in a decoded object stream become a 16-byte array item).
	Elements int64
}

// DefaultLimits are far above real documents (a 1,200-page document with
// object streams has about 50,000 objects and 500,000 elements, a few MiB
// of object streams and a handful of revisions; a large national CRL in a
// /DSS is tens of MiB; the files of the shared corpus parse fewer than
// 20,000 elements) and bound one operation on any input to a few seconds
// of CPU and, at worst, about 350 MiB of memory: one stream (48 MiB), the
// cache (32 MiB), the cross-reference (about 50 MiB) and parsed objects
// (8 million elements, about 200 MiB); hostile files seen so far stop far
// below that, and real documents use a few MiB.
func DefaultLimits() Limits {
	return Limits{
		Objects:      1_000_000,
		Revisions:    1024,
		StreamBytes:  48 << 20,
		DecodedBytes: 256 << 20,
		CacheBytes:   32 << 20,
		ObjectReads:  2_000_000,
		Elements:     8_000_000,
	}
}

// withDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) withDefaults() Limits {
	def := DefaultLimits()
	if l.Objects <= 0 {
		l.Objects = def.Objects
	}
	if l.Revisions <= 0 {
		l.Revisions = def.Revisions
	}
	if l.StreamBytes <= 0 {
		l.StreamBytes = def.StreamBytes
	}
	if l.DecodedBytes <= 0 {
		l.DecodedBytes = def.DecodedBytes
	}
	if l.CacheBytes <= 0 {
		l.CacheBytes = def.CacheBytes
	}
	if l.ObjectReads <= 0 {
		l.ObjectReads = def.ObjectReads
	}
	if l.Elements <= 0 {
		l.Elements = def.Elements
	}
	return l
}

type limitsKey struct{}

// WithLimits returns a context whose PDF operations use l (zero fields take
// their defaults). The server sets them once on its base context from the
// configuration; without it, DefaultLimits apply.
func WithLimits(ctx context.Context, l Limits) context.Context {
	return context.WithValue(ctx, limitsKey{}, l.withDefaults())
}

// LimitsFrom returns the limits PDF operations use under ctx.
func LimitsFrom(ctx context.Context) Limits {
	if l, ok := ctx.Value(limitsKey{}).(Limits); ok {
		return l
	}
	return DefaultLimits()
}

// budget counts the work of one operation, shared by the readers of every
// revision of one document. Readers sharing a budget run on one goroutine.
type budget struct {
	lim     Limits
	fetches int
	decoded int64
	elems   int64
	// cached lists the decoded object streams kept by the readers sharing
	// the budget, oldest first, with their total size in cachedBytes.
	cached      []cachedStm
	cachedBytes int64
}

type cachedStm struct {
	d   *reader
	num int
	n   int64
}

func newBudget(ctx context.Context) *budget {
	return &budget{lim: LimitsFrom(ctx)}
}

func limitErr(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrBroken, ErrLimit}, args...)...)
}

// charge counts n decoded bytes, refusing once the operation's total is
// exceeded.
func (b *budget) charge(n int64) error {
	b.decoded += n
	if b.decoded > b.lim.DecodedBytes {
		return limitErr("more than %d bytes decoded", b.lim.DecodedBytes)
	}
	return nil
}

// parsed counts n parsed elements, refusing once the operation's total is
// exceeded.
func (b *budget) parsed(n int64) error {
	b.elems += n
	if b.elems > b.lim.Elements {
		return limitErr("more than %d elements parsed", b.lim.Elements)
	}
	return nil
}

// room is the most one stream may still decode to: its own cap, or what
// is left of the operation's.
func (b *budget) room() int64 {
	return max(0, min(b.lim.StreamBytes, b.lim.DecodedBytes-b.decoded))
}

// keep records that d caches object stream num (n bytes), evicting the
// oldest cached streams of every reader until the cache fits its cap.
func (b *budget) keep(d *reader, num int, n int64) {
	for len(b.cached) > 0 && b.cachedBytes+n > b.lim.CacheBytes {
		old := b.cached[0]
		b.cached = b.cached[1:]
		b.cachedBytes -= old.n
		delete(old.d.objstms, old.num)
	}
	b.cached = append(b.cached, cachedStm{d: d, num: num, n: n})
	b.cachedBytes += n
}

// drop forgets the cached streams of d (its cache is being replaced).
func (b *budget) drop(d *reader) {
	kept := b.cached[:0]
	for _, c := range b.cached {
		if c.d == d {
			b.cachedBytes -= c.n
			continue
		}
		kept = append(kept, c)
	}
	clear(b.cached[len(kept):])
	b.cached = kept
}
