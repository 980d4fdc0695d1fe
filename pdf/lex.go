package pdf

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Parser limits. They bound memory and time on hostile input while leaving
// room for any real document: the largest strings real PDFs carry are
// signature /Contents (well under 1 MiB), and nesting deeper than 64 levels
// has no legitimate use.
const (
	maxStringLen = 8 << 20
	maxNesting   = 64
	maxTokenLen  = 4096
	// maxContainerLen caps the items of one array or dictionary: the
	// largest real ones (a flat page tree's /Kids, a CID font's /W) hold
	// tens of thousands; a million items take 16 MiB once parsed.
	maxContainerLen = 1 << 20
)

var errSyntax = errors.New("pdf: syntax error")

type tokKind int

const (
	tEOF tokKind = iota
	tInt
	tReal
	tName
	tString
	tKeyword // true, false, null, obj, R, stream, xref, ...
	tArrayOpen
	tArrayClose
	tDictOpen
	tDictClose
)

type token struct {
	kind tokKind
	s    string // keyword, name, real text
	i    int64
	b    []byte // string
	hex  bool
	pos  int64 // offset of the token's first byte
}

// lexer reads tokens from an io.ReaderAt through a small window, so that an
// object is read without loading the file.
type lexer struct {
	r     io.ReaderAt
	size  int64
	buf   []byte
	start int64 // file offset of buf[0]
	pos   int64 // next byte to read
	back  []token
	// b, when set, is charged for every object parsed (Limits.Elements).
	b *budget
}

func newLexer(r io.ReaderAt, size, pos int64) *lexer {
	return &lexer{r: r, size: size, pos: pos}
}

func (l *lexer) fill() bool {
	if l.pos >= l.size {
		return false
	}
	if l.buf == nil {
		l.buf = make([]byte, 4096)
	}
	n := int64(len(l.buf[:cap(l.buf)]))
	if l.pos+n > l.size {
		n = l.size - l.pos
	}
	m, err := l.r.ReadAt(l.buf[:n], l.pos)
	if m <= 0 && err != nil {
		return false
	}
	l.buf = l.buf[:m]
	l.start = l.pos
	return true
}

// peekByte returns the byte at pos, or -1 at the end.
func (l *lexer) peekByte() int {
	if l.pos < l.start || l.pos >= l.start+int64(len(l.buf)) {
		if !l.fill() {
			return -1
		}
	}
	return int(l.buf[l.pos-l.start])
}

func (l *lexer) readByte() int {
	c := l.peekByte()
	if c >= 0 {
		l.pos++
	}
	return c
}

func (l *lexer) unread(t token) { l.back = append(l.back, t) }

// seek moves the lexer to an absolute offset and drops pushed-back tokens.
func (l *lexer) seek(pos int64) {
	l.pos = pos
	l.back = l.back[:0]
}

// offset is where the next token (or byte) will be read.
func (l *lexer) offset() int64 {
	if len(l.back) > 0 {
		return l.back[len(l.back)-1].pos
	}
	return l.pos
}

func (l *lexer) skipSpace() {
	for {
		c := l.peekByte()
		switch {
		case c < 0:
			return
		case isWhite(byte(c)):
			l.pos++
		case c == '%':
			for c >= 0 && c != '\n' && c != '\r' {
				l.pos++
				c = l.peekByte()
			}
		default:
			return
		}
	}
}

func (l *lexer) next() (token, error) {
	if n := len(l.back); n > 0 {
		t := l.back[n-1]
		l.back = l.back[:n-1]
		return t, nil
	}
	l.skipSpace()
	pos := l.pos
	c := l.readByte()
	if c < 0 {
		return token{kind: tEOF, pos: pos}, nil
	}
	switch c {
	case '[':
		return token{kind: tArrayOpen, pos: pos}, nil
	case ']':
		return token{kind: tArrayClose, pos: pos}, nil
	case '{', '}':
		return token{kind: tKeyword, s: string(rune(c)), pos: pos}, nil
	case '<':
		if l.peekByte() == '<' {
			l.pos++
			return token{kind: tDictOpen, pos: pos}, nil
		}
		b, err := l.hexString()
		return token{kind: tString, b: b, hex: true, pos: pos}, err
	case '>':
		if l.peekByte() == '>' {
			l.pos++
			return token{kind: tDictClose, pos: pos}, nil
		}
		return token{}, fmt.Errorf("%w: stray '>' at %d", errSyntax, pos)
	case '(':
		b, err := l.literalString()
		return token{kind: tString, b: b, pos: pos}, err
	case '/':
		s, err := l.name()
		return token{kind: tName, s: s, pos: pos}, err
	case ')':
		return token{}, fmt.Errorf("%w: stray ')' at %d", errSyntax, pos)
	}
	// a regular token: number or keyword
	word := []byte{byte(c)}
	for {
		c := l.peekByte()
		if c < 0 || isWhite(byte(c)) || isDelim(byte(c)) {
			break
		}
		if len(word) >= maxTokenLen {
			return token{}, fmt.Errorf("%w: token too long at %d", errSyntax, pos)
		}
		word = append(word, byte(c))
		l.pos++
	}
	s := string(word)
	if isNumber(s) {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return token{kind: tInt, i: i, s: s, pos: pos}, nil
		}
		return token{kind: tReal, s: s, pos: pos}, nil
	}
	return token{kind: tKeyword, s: s, pos: pos}, nil
}

func isNumber(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		case (c == '+' || c == '-') && i == 0:
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

func (l *lexer) name() (string, error) {
	var b []byte
	for {
		c := l.peekByte()
		if c < 0 || isWhite(byte(c)) || isDelim(byte(c)) {
			return string(b), nil
		}
		l.pos++
		if c == '#' {
			h1, h2 := l.peekHex(0), l.peekHex(1)
			if h1 >= 0 && h2 >= 0 {
				l.pos += 2
				c = h1<<4 | h2
			}
		}
		if len(b) >= maxTokenLen {
			return "", fmt.Errorf("%w: name too long", errSyntax)
		}
		b = append(b, byte(c))
	}
}

func (l *lexer) peekHex(k int64) int {
	save := l.pos
	l.pos += k
	c := l.peekByte()
	l.pos = save
	return unhex(c)
}

func unhex(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return -1
}

func (l *lexer) hexString() ([]byte, error) {
	var b []byte
	hi := -1
	for {
		c := l.readByte()
		if c < 0 {
			return nil, fmt.Errorf("%w: unterminated hex string", errSyntax)
		}
		if c == '>' {
			if hi >= 0 {
				b = append(b, byte(hi<<4))
			}
			return b, nil
		}
		if isWhite(byte(c)) {
			continue
		}
		v := unhex(c)
		if v < 0 {
			return nil, fmt.Errorf("%w: bad hex digit %q", errSyntax, rune(c))
		}
		if hi < 0 {
			hi = v
			continue
		}
		if len(b) >= maxStringLen {
			return nil, fmt.Errorf("%w: string too long", errSyntax)
		}
		b = append(b, byte(hi<<4|v))
		hi = -1
	}
}

func (l *lexer) literalString() ([]byte, error) {
	var b []byte
	depth := 1
	for {
		if len(b) >= maxStringLen {
			return nil, fmt.Errorf("%w: string too long", errSyntax)
		}
		c := l.readByte()
		switch c {
		case -1:
			return nil, fmt.Errorf("%w: unterminated string", errSyntax)
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return b, nil
			}
		case '\r':
			if l.peekByte() == '\n' {
				l.pos++
			}
			c = '\n'
		case '\\':
			e := l.readByte()
			switch e {
			case -1:
				return nil, fmt.Errorf("%w: unterminated string", errSyntax)
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
				if l.peekByte() == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := e - '0'
					for k := 0; k < 2; k++ {
						d := l.peekByte()
						if d < '0' || d > '7' {
							break
						}
						l.pos++
						v = v*8 + d - '0'
					}
					c = v & 0xff
				} else {
					c = e
				}
			}
		}
		b = append(b, byte(c))
	}
}

// parseObject reads one direct object. Indirect references (n g R) are
// recognized by looking two tokens ahead.
func (l *lexer) parseObject(depth int) (Object, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: nesting too deep", errSyntax)
	}
	t, err := l.next()
	if err != nil {
		return nil, err
	}
	if l.b != nil {
		// an element costs about 32 bytes once parsed; a string its bytes
		if err := l.b.parsed(1 + int64(len(t.b))/32); err != nil {
			return nil, err
		}
	}
	switch t.kind {
	case tEOF:
		return nil, fmt.Errorf("%w: unexpected end of file", errSyntax)
	case tInt:
		t2, err := l.next()
		if err != nil {
			return nil, err
		}
		if t2.kind == tInt {
			t3, err := l.next()
			if err != nil {
				return nil, err
			}
			if t3.kind == tKeyword && t3.s == "R" {
				if t.i < 0 || t.i > 1<<31 || t2.i < 0 || t2.i > 65535 {
					return nil, fmt.Errorf("%w: bad reference at %d", errSyntax, t.pos)
				}
				return Ref{int(t.i), int(t2.i)}, nil
			}
			l.unread(t3)
		}
		l.unread(t2)
		return t.i, nil
	case tReal:
		return Real(t.s), nil
	case tName:
		return Name(t.s), nil
	case tString:
		return String{Bytes: t.b, Hex: t.hex}, nil
	case tArrayOpen:
		var a []Object
		for {
			t, err := l.next()
			if err != nil {
				return nil, err
			}
			if t.kind == tArrayClose {
				if a == nil {
					a = []Object{}
				}
				return a, nil
			}
			if t.kind == tEOF {
				return nil, fmt.Errorf("%w: unterminated array", errSyntax)
			}
			if len(a) >= maxContainerLen {
				return nil, limitErr("array of more than %d items at %d", maxContainerLen, t.pos)
			}
			l.unread(t)
			o, err := l.parseObject(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, o)
		}
	case tDictOpen:
		d := newDict()
		for {
			t, err := l.next()
			if err != nil {
				return nil, err
			}
			if t.kind == tDictClose {
				return d, nil
			}
			if t.kind != tName {
				return nil, fmt.Errorf("%w: dictionary key is not a name at %d", errSyntax, t.pos)
			}
			if d.Len() >= maxContainerLen {
				return nil, limitErr("dictionary of more than %d entries at %d", maxContainerLen, t.pos)
			}
			v, err := l.parseObject(depth + 1)
			if err != nil {
				return nil, err
			}
			if v == nil {
				continue // a null value is the same as an absent key
			}
			d.set(Name(t.s), v)
		}
	case tKeyword:
		switch t.s {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null":
			return nil, nil
		}
		return nil, fmt.Errorf("%w: unexpected keyword %q at %d", errSyntax, t.s, t.pos)
	}
	return nil, fmt.Errorf("%w: unexpected token at %d", errSyntax, t.pos)
}
