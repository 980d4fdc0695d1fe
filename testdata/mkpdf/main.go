// Command mkpdf writes the small PDF fixtures of testdata/: a classic-xref PDF with one
// line of text per page. Run from the repository root:
//
//	go run ./testdata/mkpdf -pages 2 -title "Employment contract" testdata/contract.pdf
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
)

func main() {
	pages := flag.Int("pages", 1, "number of pages")
	title := flag.String("title", "Contract", "text on each page (ASCII)")
	flag.Parse()
	if flag.NArg() != 1 || *pages < 1 {
		fmt.Fprintln(os.Stderr, "usage: mkpdf [-pages N] [-title T] OUT.pdf")
		os.Exit(2)
	}
	if err := os.WriteFile(flag.Arg(0), build(*pages, *title), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mkpdf:", err)
		os.Exit(1)
	}
}

// build lays out catalog (1), pages (2), font (3), then a content stream and a page per page.
func build(pages int, title string) []byte {
	objs := [][]byte{[]byte("<< /Type /Catalog /Pages 2 0 R >>"), nil, []byte("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")}
	var kids bytes.Buffer
	for i := 1; i <= pages; i++ {
		text := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s - page %d of %d) Tj ET", title, i, pages)
		objs = append(objs, fmt.Appendf(nil, "<< /Length %d >>\nstream\n%s\nendstream", len(text), text))
		content := len(objs)
		objs = append(objs, fmt.Appendf(nil, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", content))
		fmt.Fprintf(&kids, "%d 0 R ", len(objs))
	}
	objs[1] = fmt.Appendf(nil, "<< /Type /Pages /Kids [%s] /Count %d >>", bytes.TrimSpace(kids.Bytes()), pages)
	var out bytes.Buffer
	out.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return out.Bytes()
}
