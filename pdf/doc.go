// Package pdf owns the PDF side of PAdES: it reads a document far enough to
// decide whether it can be signed, and appends the incremental updates that
// sign it (a signature or a document timestamp with a placeholder for the
// CMS, filled later) and that carry validation data (/DSS). It never builds
// a CMS (package cades does) and never verifies one.
//
// Flow, two-phase:
//
//	info, err := pdf.Inspect(ctx, src, size)            // refuse early (415/422)
//	p, err := pdf.Prepare(ctx, src, size, dst, sha256.New(), req) // dst: a file
//	// ... persist p; later, the CMS over p.Digest (cades, no signing-time) ...
//	err = pdf.Embed(dstFile, p, cms)
//	n, err := pdf.AddDSS(ctx, signed, size, out, dss)   // B-LT
//	// B-LTA: Prepare with DocTimestamp, token over p.Digest, Embed.
//
// Rules kept here:
//   - The source is never modified: every output is the source, byte for
//     byte, followed by exactly one incremental update, so earlier
//     signatures stay valid. The update adds or rewrites only what it must
//     (signature dictionary, field and widget, form, page /Annots, catalog
//     when /AcroForm or /DSS is added there), keeps every other form field
//     and /DA, /DR, /NeedAppearances, keeps /Info and the first /ID, and
//     writes a cross-reference of the same kind as the previous one (table,
//     or stream) with /Prev. When the source's cross-reference was damaged
//     (or its /Prev chain loops) and had to be rebuilt by scanning, the
//     update carries a complete cross-reference instead.
//   - /ByteRange is written once, at its final width, and the placeholder
//     size is fixed by the caller: nothing is ever rewritten or retried, so
//     the signer (HSM, user approval) and the TSA are asked once. The
//     placeholder is located by the offsets Prepare returns, never by
//     searching the file.
//   - Prepare reads the source through io.ReaderAt and streams it to the
//     output and the hash in one pass: memory depends on the update (a few
//     kilobytes plus the placeholder), never on the document.
//   - Hostile input is refused in bounded time and memory (ErrLimit, with
//     ErrBroken): every operation runs under one budget, Limits (carried
//     by the context, WithLimits; DefaultLimits otherwise): object numbers,
//     revisions, object reads, elements parsed, bytes of one stream, bytes
//     decoded in all, decoded object streams cached; one array or
//     dictionary holds at most maxContainerLen items. Decoded bytes are charged for every
//     filter and predictor step as really produced: a buffer is never sized
//     from declared parameters (a predictor row of Columns × Colors × BPC
//     is decoded only as far as the data goes), and inflate counts a
//     stream's size before it allocates it, so a bomb costs its budget in
//     CPU and nothing in memory. Offsets and counts from the file are
//     checked without overflow (an xref subsection at 2^63-1 is ErrLimit,
//     not a wrapped number). Nesting and page tree nodes are bounded, and
//     ctx is checked every few object reads, every stream decoded and
//     every MiB inflated, so work stops when the caller's request ends.
//     DefaultLimits explains each default's value.
//   - Refused: not a PDF (ErrNotPDF), encrypted (ErrEncrypted, whether or
//     not a password is needed), certified with DocMDP P=1
//     (ErrCertifiedNoChanges), damaged beyond repair (ErrBroken).
//   - Nothing is logged; document content never leaves the package except
//     as the outputs asked for.
//   - Appearances never add what a PDF/A file may not hold: the text is
//     drawn in an embedded subset of Go Regular (Type0, CIDFontType2,
//     Identity-H, with a ToUnicode map and a CIDSet), only DeviceGray is
//     used (made device independent by a CalGray DefaultGray in the
//     appearance's resources when a PDF/A document has no PDF/A output
//     intent to cover it), nothing is transparent; so the file's
//     OutputIntent and PDF/A identification, which the update never
//     touches, stay true. The subset
//     keeps glyph indices (CID = glyph index) and empties the outlines not
//     drawn. On a page with /Rotate the box is placed and its text turned
//     (/Matrix on the form, /MK /R on the widget) so that it reads upright
//     as the page is shown. Invisible signatures and document timestamps
//     get a widget with a zero /Rect and no appearance stream.
//
// Validators read documents through Open: a Reader resolves objects and
// decodes streams, and Reader.Revision reads each earlier revision through
// its own cross-reference, under the same limits, with one budget for all
// revisions of a file (package verify uses it; it has no parser of its
// own). Open accepts encrypted and certified documents, and after opening
// never rebuilds the cross-reference behind the caller's back.
//
// The PDF reader is this package's own, so that damaged files can be
// repaired and every limit above enforced; github.com/digitorus/pdfsign
// (with its reader, digitorus/pdf) is used in tests only, as a second
// verifier (pdfsign/verify) and as the benchmark baseline
// (BenchmarkRawPdfsign).
//
// Functions hold no state and are safe for concurrent use; concurrent calls
// must not share a destination writer.
package pdf
