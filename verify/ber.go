package verify

import "errors"

var errBER = errors.New("verify: malformed BER")

// berToDER re-encodes a BER element with definite, minimal lengths and
// primitive OCTET STRINGs, as many PDF signers (Adobe, iText) emit the
// outer CMS in BER. The bytes signatures cover (signed attributes, which
// must already be DER) keep their encoding. It returns the element and the
// number of bytes read.
func berToDER(b []byte) ([]byte, int, error) {
	return berElem(b, 0)
}

func berElem(b []byte, depth int) ([]byte, int, error) {
	if depth > 64 || len(b) < 2 {
		return nil, 0, errBER
	}
	// Tag (high-tag-number form included).
	p := 1
	if b[0]&0x1f == 0x1f {
		for p < len(b) && b[p]&0x80 != 0 {
			p++
		}
		p++
		if p >= len(b) || p > 6 {
			return nil, 0, errBER
		}
	}
	tag := b[:p]
	constructed := b[0]&0x20 != 0
	if p >= len(b) {
		return nil, 0, errBER
	}
	l := int(b[p])
	p++
	indefinite := false
	switch {
	case l == 0x80:
		if !constructed {
			return nil, 0, errBER
		}
		indefinite = true
	case l > 0x80:
		n := l & 0x7f
		if n > 4 || p+n > len(b) {
			return nil, 0, errBER
		}
		l = 0
		for i := 0; i < n; i++ {
			l = l<<8 | int(b[p+i])
		}
		p += n
	}
	var content []byte
	end := 0
	if !indefinite {
		if l < 0 || p+l > len(b) {
			return nil, 0, errBER
		}
		end = p + l
		if !constructed {
			return encodeTLV(tag, b[p:end]), end, nil
		}
		for q := p; q < end; {
			child, n, err := berElem(b[q:end], depth+1)
			if err != nil {
				return nil, 0, err
			}
			content = append(content, child...)
			q += n
		}
	} else {
		q := p
		for {
			if q+2 > len(b) {
				return nil, 0, errBER
			}
			if b[q] == 0 && b[q+1] == 0 {
				end = q + 2
				break
			}
			child, n, err := berElem(b[q:], depth+1)
			if err != nil {
				return nil, 0, err
			}
			content = append(content, child...)
			q += n
		}
	}
	// Constructed OCTET STRING / BIT STRING: concatenate the segments.
	if len(tag) == 1 && (tag[0] == 0x24 || tag[0] == 0x23) {
		var flat []byte
		rest := content
		for len(rest) > 0 {
			seg, n, err := berElem(rest, depth+1)
			if err != nil || seg[0]&0x20 != 0 {
				return nil, 0, errBER
			}
			_, hdr := derHeaderLen(seg)
			flat = append(flat, seg[hdr:]...)
			rest = rest[n:]
		}
		return encodeTLV([]byte{tag[0] &^ 0x20}, flat), end, nil
	}
	return encodeTLV(tag, content), end, nil
}

func derHeaderLen(der []byte) (int, int) {
	p := 1
	if der[0]&0x1f == 0x1f {
		for der[p]&0x80 != 0 {
			p++
		}
		p++
	}
	l := int(der[p])
	p++
	if l > 0x80 {
		n := l & 0x7f
		l = 0
		for i := 0; i < n; i++ {
			l = l<<8 | int(der[p+i])
		}
		p += n
	}
	return l, p
}

func encodeTLV(tag, content []byte) []byte {
	out := append([]byte(nil), tag...)
	n := len(content)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 1<<8:
		out = append(out, 0x81, byte(n))
	case n < 1<<16:
		out = append(out, 0x82, byte(n>>8), byte(n))
	case n < 1<<24:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		out = append(out, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, content...)
}
