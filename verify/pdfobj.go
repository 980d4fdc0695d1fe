package verify

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// errSyntax reports PDF syntax this reader cannot make sense of.
var errSyntax = errors.New("verify: pdf syntax error")

// maxDepth bounds the nesting of arrays and dictionaries. Real documents
// nest a handful of levels; a hostile file must not exhaust the stack.
const maxDepth = 64

// A PDF object is one of: nil (null), bool, int64, float64, pdfName,
// pdfString, pdfArray, pdfDict, pdfRef, *pdfStream.
type object any

type pdfName string

// pdfString is a literal or hexadecimal string with the offsets of its
// token in the parsed data (for the /Contents gap check).
type pdfString struct {
	b          []byte
	hex        bool
	start, end int
}

type pdfArray []object

type pdfDict map[pdfName]object

type pdfRef struct{ num, gen int }

// pdfStream is a stream object: its dictionary and its raw (still encoded)
// bytes, aliasing the file.
type pdfStream struct {
	dict pdfDict
	raw  []byte
}

func isWhite(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// lexer reads tokens from data starting at pos.
type lexer struct {
	data []byte
	pos  int
}

func (l *lexer) skipWS() {
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		if isWhite(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.data) && l.data[l.pos] != '\n' && l.data[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

// keyword reads a regular token (a number, keyword or boolean) without consuming delimiters.
func (l *lexer) regular() []byte {
	start := l.pos
	for l.pos < len(l.data) && !isWhite(l.data[l.pos]) && !isDelim(l.data[l.pos]) {
		l.pos++
	}
	return l.data[start:l.pos]
}

// peekKeyword reports whether the next token is kw, without consuming it.
func (l *lexer) peekKeyword(kw string) bool {
	save := l.pos
	l.skipWS()
	t := l.regular()
	l.pos = save
	return string(t) == kw
}

func (l *lexer) expectKeyword(kw string) bool {
	save := l.pos
	l.skipWS()
	if string(l.regular()) == kw {
		return true
	}
	l.pos = save
	return false
}

func (l *lexer) errorf(format string, args ...any) error {
	return fmt.Errorf("%w at byte %d: %s", errSyntax, l.pos, fmt.Sprintf(format, args...))
}

// parseObject reads one direct object (with "N G R" references).
func (l *lexer) parseObject(depth int) (object, error) {
	if depth > maxDepth {
		return nil, l.errorf("nesting too deep")
	}
	l.skipWS()
	if l.pos >= len(l.data) {
		return nil, l.errorf("unexpected end of data")
	}
	c := l.data[l.pos]
	switch {
	case c == '/':
		return l.parseName()
	case c == '(':
		return l.parseLiteral()
	case c == '<' && l.pos+1 < len(l.data) && l.data[l.pos+1] == '<':
		return l.parseDict(depth)
	case c == '<':
		return l.parseHex()
	case c == '[':
		l.pos++
		var arr pdfArray
		for {
			l.skipWS()
			if l.pos >= len(l.data) {
				return nil, l.errorf("unterminated array")
			}
			if l.data[l.pos] == ']' {
				l.pos++
				return arr, nil
			}
			o, err := l.parseObject(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, o)
		}
	}
	tok := l.regular()
	if len(tok) == 0 {
		l.pos++ // an unexpected delimiter such as ')' or '>'
		return nil, l.errorf("unexpected %q", c)
	}
	switch string(tok) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if n, err := strconv.ParseInt(string(tok), 10, 64); err == nil {
		// Maybe "N G R".
		save := l.pos
		l.skipWS()
		g := l.regular()
		if gen, err := strconv.ParseInt(string(g), 10, 32); err == nil && len(g) > 0 && g[0] != '+' && g[0] != '-' {
			l.skipWS()
			if l.pos < len(l.data) && l.data[l.pos] == 'R' && (l.pos+1 == len(l.data) || isWhite(l.data[l.pos+1]) || isDelim(l.data[l.pos+1])) {
				l.pos++
				if n < 0 || n > 1<<31 || gen < 0 {
					return nil, l.errorf("bad reference")
				}
				return pdfRef{int(n), int(gen)}, nil
			}
		}
		l.pos = save
		return n, nil
	}
	if f, err := strconv.ParseFloat(string(tok), 64); err == nil && !bytes.ContainsAny(tok, "eEnNiIxX") {
		return f, nil
	}
	return nil, l.errorf("unknown token %q", truncate(tok, 20))
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func (l *lexer) parseName() (object, error) {
	l.pos++ // '/'
	raw := l.regular()
	if bytes.IndexByte(raw, '#') < 0 {
		return pdfName(raw), nil
	}
	var out []byte
	for i := 0; i < len(raw); i++ {
		if raw[i] == '#' && i+2 < len(raw) {
			if v, err := strconv.ParseUint(string(raw[i+1:i+3]), 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, raw[i])
	}
	return pdfName(out), nil
}

func (l *lexer) parseLiteral() (object, error) {
	start := l.pos
	l.pos++ // '('
	var out []byte
	depth := 1
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return pdfString{b: out, start: start, end: l.pos}, nil
			}
		case '\\':
			if l.pos >= len(l.data) {
				return nil, l.errorf("unterminated string")
			}
			e := l.data[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.data) && l.data[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.data) && l.data[l.pos] >= '0' && l.data[l.pos] <= '7'; k++ {
						v = v*8 + int(l.data[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return nil, l.errorf("unterminated string")
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *lexer) parseHex() (object, error) {
	start := l.pos
	l.pos++ // '<'
	out := make([]byte, 0, 64)
	var hi byte
	half := false
	for l.pos < len(l.data) {
		c := l.data[l.pos]
		l.pos++
		if c == '>' {
			if half {
				out = append(out, hi<<4)
			}
			return pdfString{b: out, hex: true, start: start, end: l.pos}, nil
		}
		if isWhite(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, l.errorf("bad hex string")
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	return nil, l.errorf("unterminated hex string")
}

func (l *lexer) parseDict(depth int) (object, error) {
	l.pos += 2 // "<<"
	d := pdfDict{}
	for {
		l.skipWS()
		if l.pos+1 < len(l.data) && l.data[l.pos] == '>' && l.data[l.pos+1] == '>' {
			l.pos += 2
			return d, nil
		}
		if l.pos >= len(l.data) {
			return nil, l.errorf("unterminated dictionary")
		}
		if l.data[l.pos] != '/' {
			return nil, l.errorf("dictionary key is not a name")
		}
		k, _ := l.parseName()
		v, err := l.parseObject(depth + 1)
		if err != nil {
			return nil, err
		}
		if v != nil { // a null value is the same as an absent key
			d[k.(pdfName)] = v
		}
	}
}

// equalObjects compares two objects structurally (references by number,
// streams by dictionary and raw bytes).
func equalObjects(a, b object) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool, int64, pdfName, pdfRef:
		return a == b
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case pdfString:
		y, ok := b.(pdfString)
		return ok && bytes.Equal(x.b, y.b)
	case pdfArray:
		y, ok := b.(pdfArray)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalObjects(x[i], y[i]) {
				return false
			}
		}
		return true
	case pdfDict:
		y, ok := b.(pdfDict)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equalObjects(v, w) {
				return false
			}
		}
		return true
	case *pdfStream:
		y, ok := b.(*pdfStream)
		return ok && equalObjects(x.dict, y.dict) && bytes.Equal(x.raw, y.raw)
	}
	return false
}
