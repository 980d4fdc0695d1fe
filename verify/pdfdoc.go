package verify

import (
	"github.com/paraphe/paraphe/pdf"
)

// document is one revision of a PDF as package pdf reads it, with the
// lenient accessors the validator uses: an object that cannot be read
// reads as null, so that one damaged object is reported as a change or a
// missing value, not as the end of the validation.
type document struct {
	r       *pdf.Reader
	trailer *pdf.Dict
}

func newDocument(r *pdf.Reader) *document {
	return &document{r: r, trailer: r.Trailer()}
}

// get resolves o and ignores errors (a broken object reads as null).
func (d *document) get(o pdf.Object) pdf.Object {
	v, err := d.r.Resolve(o)
	if err != nil {
		return nil
	}
	return v
}

// dict resolves o to a dictionary (a stream's counts), or nil.
func (d *document) dict(o pdf.Object) *pdf.Dict {
	switch v := d.get(o).(type) {
	case *pdf.Dict:
		return v
	case *pdf.Stream:
		return v.Dict()
	}
	return nil
}

// catalog returns the document catalog.
func (d *document) catalog() *pdf.Dict { return d.dict(d.trailer.Get("Root")) }
