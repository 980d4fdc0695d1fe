package pdf

import (
	"context"
	"io"
	"slices"
)

// Signature is one signature (or document timestamp) of a PDF.
type Signature struct {
	// Field is the fully qualified name of the signature field.
	Field string
	// Type is the dictionary's /Type: "Sig" or "DocTimeStamp" (empty when
	// absent, which older signatures allow).
	Type string
	// SubFilter is, e.g., "ETSI.CAdES.detached", "adbe.pkcs7.detached" or
	// "ETSI.RFC3161".
	SubFilter string
	// ByteRange is the signed ranges as written (pairs of offset, length).
	ByteRange []int64
	// Contents is the CMS (or timestamp token) in DER, without the zero
	// padding after it.
	Contents []byte
	// RevisionEnd is the end of the signed revision (the end of the last
	// byte range).
	RevisionEnd int64
}

// Signatures lists the signed signature fields of a PDF, in revision order
// (by RevisionEnd). It does not verify anything. An encrypted document gives
// ErrEncrypted (its /Contents cannot be read without the key).
func Signatures(ctx context.Context, r io.ReaderAt, size int64) ([]Signature, error) {
	d, err := open(ctx, r, size)
	if err != nil {
		return nil, err
	}
	if d.trailer.Get("Encrypt") != nil {
		return nil, ErrEncrypted
	}
	fields, err := d.fields()
	if err != nil {
		return nil, err
	}
	var out []Signature
	for _, f := range fields {
		if f.ft != "Sig" || !f.signed {
			continue
		}
		v, err := d.resolveDict(f.v)
		if err != nil {
			return nil, err
		}
		s := Signature{Field: f.name, Type: string(v.nameOf("Type")), SubFilter: string(v.nameOf("SubFilter"))}
		if c, ok := v.Get("Contents").(String); ok {
			s.Contents = trimDER(c.Bytes)
		}
		br, _ := d.resolveArray(v.Get("ByteRange"))
		for _, x := range br {
			if i, ok := x.(int64); ok {
				s.ByteRange = append(s.ByteRange, i)
			}
		}
		if n := len(s.ByteRange); n >= 2 && n%2 == 0 {
			s.RevisionEnd = s.ByteRange[n-2] + s.ByteRange[n-1]
		}
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b Signature) int {
		switch {
		case a.RevisionEnd < b.RevisionEnd:
			return -1
		case a.RevisionEnd > b.RevisionEnd:
			return 1
		}
		return 0
	})
	return out, nil
}

// trimDER cuts b after the DER element it starts with (the zero padding of a
// placeholder follows it); b is returned whole when it does not start with
// a well-formed length.
func trimDER(b []byte) []byte {
	if len(b) < 2 {
		return b
	}
	l := int(b[1])
	hdr := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < 2+n {
			return b
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if l < 0 || hdr+l > len(b) {
		return b
	}
	return b[:hdr+l]
}
