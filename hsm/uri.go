package hsm

import (
	"errors"
	"fmt"
	"strings"
)

// URI is the subset of an RFC 7512 PKCS#11 URI that Paraphe uses to name a
// key: pkcs11:token=<token label>;object=<key label>;id=<CKA_ID>.
// Token is Config.TokenLabel and Object is the label given to FindKey.
// Empty fields (nil ID) are absent from the URI.
type URI struct {
	Token  string // token label (CK_TOKEN_INFO label)
	Object string // object label (CKA_LABEL)
	ID     []byte // CKA_ID
}

// uriScheme is the scheme of RFC 7512 URIs.
const uriScheme = "pkcs11:"

// maxURILen bounds the input of ParseURI: labels are short, and a URI of
// more than 4 KiB is not one Paraphe wrote.
const maxURILen = 4096

// ParseURI parses a PKCS#11 URI. Only the token, object and id path
// attributes are understood; any other attribute, a repeated attribute, or a
// query component (which could carry a pin-value) is an error, since RFC 7512
// wants a URI with attributes the consumer does not understand to match
// nothing. Values are percent-decoded.
func ParseURI(s string) (URI, error) {
	var u URI
	if len(s) > maxURILen {
		return u, fmt.Errorf("hsm: pkcs11 uri longer than %d bytes", maxURILen)
	}
	if len(s) < len(uriScheme) || !strings.EqualFold(s[:len(uriScheme)], uriScheme) {
		return u, errors.New("hsm: pkcs11 uri must start with \"pkcs11:\"")
	}
	rest := s[len(uriScheme):]
	if strings.ContainsAny(rest, "?#") {
		return u, errors.New("hsm: pkcs11 uri query and fragment are not supported")
	}
	if rest == "" {
		return u, nil
	}
	seen := map[string]bool{}
	for attr := range strings.SplitSeq(rest, ";") {
		name, raw, ok := strings.Cut(attr, "=")
		if !ok {
			return URI{}, fmt.Errorf("hsm: pkcs11 uri attribute %q has no value", attr)
		}
		if seen[name] {
			return URI{}, fmt.Errorf("hsm: pkcs11 uri attribute %q repeated", name)
		}
		seen[name] = true
		val, err := pctDecode(raw)
		if err != nil {
			return URI{}, fmt.Errorf("hsm: pkcs11 uri attribute %q: %w", name, err)
		}
		switch name {
		case "token":
			u.Token = string(val)
		case "object":
			u.Object = string(val)
		case "id":
			u.ID = val
		default:
			return URI{}, fmt.Errorf("hsm: pkcs11 uri attribute %q is not supported", name)
		}
	}
	return u, nil
}

// String returns u as a PKCS#11 URI, attributes in the order token, object,
// id. The id is percent-encoded byte by byte, as RFC 7512 recommends.
func (u URI) String() string {
	var b strings.Builder
	b.WriteString(uriScheme)
	sep := ""
	add := func(name, val string, all bool) {
		b.WriteString(sep)
		b.WriteString(name)
		b.WriteByte('=')
		pctEncode(&b, val, all)
		sep = ";"
	}
	if u.Token != "" {
		add("token", u.Token, false)
	}
	if u.Object != "" {
		add("object", u.Object, false)
	}
	if len(u.ID) > 0 {
		add("id", string(u.ID), true)
	}
	return b.String()
}

// pathChar reports whether c may appear unencoded in a path attribute value:
// RFC 3986 unreserved characters and RFC 7512 pk11-path-res-avail.
func pathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:[]@!$'()*+,=", c) >= 0
}

func pctEncode(b *strings.Builder, s string, all bool) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !all && pathChar(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
}

func pctDecode(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) {
				return nil, errors.New("truncated percent-encoding")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("invalid percent-encoding %q", s[i:i+3])
			}
			out = append(out, hi<<4|lo)
			i += 2
		case pathChar(c):
			out = append(out, c)
		default:
			return nil, fmt.Errorf("character %q must be percent-encoded", c)
		}
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// URI returns the PKCS#11 URI naming the key labelled label on t.
func (t *Token) URI(label string) URI {
	return URI{Token: t.label, Object: label}
}
