package pdf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
)

// maxDSSEntries caps the entries of each array of an existing /DSS
// (/Certs, /OCSPs, /CRLs) that AddDSS reads: a document signed and extended
// a hundred times holds a few hundred.
const maxDSSEntries = 10000

// DSS is validation data for PAdES B-LT: DER certificates, OCSP responses
// and CRLs, written to the document security store.
type DSS struct {
	Certs, OCSPs, CRLs [][]byte
}

// AddDSS copies src to dst and appends one incremental update adding a
// document security store (/DSS) to the catalog with the given entries, one
// stream each. An existing /DSS is kept and extended: its entries (and
// /VRI) stay, and data it already holds is not added twice. It returns the
// size of the output. Documents that cannot be signed give the errors
// Inspect gives.
func AddDSS(ctx context.Context, src io.ReaderAt, size int64, dst io.Writer, dss DSS) (int64, error) {
	d, err := openChecked(ctx, src, size)
	if err != nil {
		return 0, err
	}
	cat, err := d.catalog()
	if err != nil {
		return 0, err
	}
	u, err := newUpdate(d)
	if err != nil {
		return 0, err
	}
	var dssRef Ref
	old := newDict()
	switch v := cat.Get("DSS").(type) {
	case Ref:
		dssRef = v
		if od, err := d.resolveDict(v); err != nil {
			return 0, err
		} else if od != nil {
			old = od
		}
	case *Dict:
		old = v
	}
	nd := old.clone()
	nd.set("Type", Name("DSS"))
	for _, part := range []struct {
		key  Name
		data [][]byte
	}{{"Certs", dss.Certs}, {"OCSPs", dss.OCSPs}, {"CRLs", dss.CRLs}} {
		existing, err := d.resolveArray(old.Get(part.key))
		if err != nil {
			return 0, err
		}
		if len(existing) > maxDSSEntries {
			return 0, limitErr("/DSS /%s holds %d entries (the limit is %d)", part.key, len(existing), maxDSSEntries)
		}
		// an entry listed again is decoded once; every decode counts
		// against the budget, and the context is checked on the way
		have := map[[sha256.Size]byte]bool{}
		seen := map[Ref]bool{}
		for _, e := range existing {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if r, ok := e.(Ref); ok {
				if seen[r] {
					continue
				}
				seen[r] = true
			}
			o, err := d.resolve(e)
			if err != nil {
				return 0, err
			}
			if s, ok := o.(*Stream); ok {
				b, err := d.decode(s)
				switch {
				case err == nil:
					have[sha256.Sum256(b)] = true
				case errors.Is(err, ErrLimit) || ctx.Err() != nil:
					return 0, err
				}
			}
		}
		arr := append([]Object{}, existing...)
		for _, b := range part.data {
			if len(b) == 0 || have[sha256.Sum256(b)] {
				continue
			}
			have[sha256.Sum256(b)] = true
			r := u.alloc()
			u.writeStream(r, newDict(), bytes.Clone(b))
			arr = append(arr, r)
		}
		if len(arr) > 0 {
			nd.set(part.key, arr)
		}
	}
	if dssRef.Num != 0 {
		u.writeObj(dssRef, nd)
	} else {
		dssRef = u.alloc()
		u.writeObj(dssRef, nd)
		nc := cat.clone()
		nc.set("DSS", dssRef)
		u.writeObj(d.rootRef(), nc)
	}
	if err := u.finish(); err != nil {
		return 0, err
	}
	if err := copySection(ctx, dst, src, 0, size); err != nil {
		return 0, err
	}
	if _, err := dst.Write(u.buf.Bytes()); err != nil {
		return 0, fmt.Errorf("pdf: writing: %w", err)
	}
	return u.pos(), nil
}
