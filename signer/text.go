package signer

import "unicode"

// unsafeRune reports whether r must not appear in text that the signer's phone shows
// (document names, descriptions) or that goes into the signed file (reason, location).
// The phone's screen is where the signer decides: text must read there as it is. So
// these are refused:
//   - control characters (C0, DEL, C1) and the line and paragraph separators;
//   - format characters (Unicode category Cf): the bidirectional overrides, embeddings
//     and isolates (U+202A..U+202E, U+2066..U+2069) and marks (U+200E, U+200F, U+061C),
//     which can show "contract.pdf" for a name that reads "fdp.tcartnoc", and the
//     zero-width characters (U+200B..U+200D, U+2060, U+FEFF, the soft hyphen), which
//     make two different names look the same;
//   - private-use characters, which have no meaning a reader could rely on.
//
// The cost is that names needing a zero-width joiner or non-joiner (some Persian and
// Indic spellings, emoji sequences) are refused; a file name loses nothing essential
// without them.
func unsafeRune(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) ||
		unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) || r == 0x7f
}
