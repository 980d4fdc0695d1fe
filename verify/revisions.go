package verify

import (
	"bytes"
	"context"
	"fmt"

	"github.com/paraphe/paraphe/pdf"
)

// pdfFile is the input PDF with its revisions.
type pdfFile struct {
	ctx context.Context
	src source
	// ends holds the end offset of each revision (just after %%EOF and its
	// end-of-line), ascending.
	ends []int
	// final reads the whole file; the revisions are opened from it and
	// share its budget.
	final *pdf.Reader
	docs  map[int]*document
	errs  map[int]error
}

// revisionOf returns the index of the revision ending at end. A byte range
// may stop right after %%EOF or after its end-of-line.
func (f *pdfFile) revisionOf(end int) (int, bool) {
	for i, e := range f.ends {
		if e == end {
			return i, true
		}
		// end is just after "%%EOF", before its end-of-line.
		if end < e && end >= e-2 && end >= 5 && bytes.Equal(f.src.at(int64(end-5), 5), []byte("%%EOF")) && isEOLOnly(f.src.at(int64(end), int64(e-end))) {
			return i, true
		}
	}
	return 0, false
}

func isEOLOnly(b []byte) bool {
	for _, c := range b {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// doc opens (once) the revision with index i.
func (f *pdfFile) doc(i int) (*document, error) {
	if d, ok := f.docs[i]; ok {
		return d, nil
	}
	if err, ok := f.errs[i]; ok {
		return nil, err
	}
	if i < 0 || i >= len(f.ends) {
		return nil, fmt.Errorf("verify: no revision %d", i)
	}
	r, err := f.final.Revision(int64(f.ends[i]))
	if err != nil {
		f.errs[i] = err
		return nil, err
	}
	d := newDocument(r)
	f.docs[i] = d
	return d, nil
}
