package pdf

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// grayICC is a minimal ICC v2 monochrome display profile (class mntr, colour
// space GRAY, PCS XYZ) with the tags ICC.1:2001-04 requires of it: desc,
// cprt, wtpt (D50) and kTRC (gamma 2.2).
func grayICC() []byte {
	be := binary.BigEndian
	s15 := func(v float64) []byte { return be.AppendUint32(nil, uint32(int32(v*65536))) }
	pad4 := func(b []byte) []byte {
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	desc := append([]byte("desc\x00\x00\x00\x00"), be.AppendUint32(nil, uint32(len("Test Gray")+1))...)
	desc = append(desc, "Test Gray\x00"...)
	desc = append(desc, make([]byte, 4+4+2+1+67)...) // no Unicode, no ScriptCode description
	cprt := []byte("text\x00\x00\x00\x00No copyright, test data\x00")
	wtpt := append([]byte("XYZ \x00\x00\x00\x00"), append(append(s15(0.9642), s15(1)...), s15(0.8249)...)...)
	trc := append([]byte("curv\x00\x00\x00\x00"), 0, 0, 0, 1, 0x02, 0x33) // u8Fixed8 2.2
	tags := []struct {
		sig  string
		data []byte
	}{{"desc", desc}, {"cprt", cprt}, {"wtpt", wtpt}, {"kTRC", trc}}
	off := 128 + 4 + 12*len(tags)
	var table, data []byte
	table = be.AppendUint32(table, uint32(len(tags)))
	for _, t := range tags {
		table = append(table, t.sig...)
		table = be.AppendUint32(table, uint32(off+len(data)))
		table = be.AppendUint32(table, uint32(len(t.data)))
		data = pad4(append(data, t.data...))
	}
	size := off + len(data)
	h := be.AppendUint32(nil, uint32(size))
	h = append(h, "\x00\x00\x00\x00"...)   // preferred CMM
	h = be.AppendUint32(h, 0x02100000)     // version 2.1
	h = append(h, "mntrGRAYXYZ "...)       // class, colour space, PCS
	h = append(h, 0x07, 0xea, 0, 12, 0, 3) // 2026-12-03
	h = append(h, 0, 12, 0, 0, 0, 0)       // 12:00:00
	h = append(h, "acsp"...)
	h = append(h, make([]byte, 4+4+4+4+8+4)...) // platform, flags, manufacturer, model, attributes, intent
	h = append(h, append(append(s15(0.9642), s15(1)...), s15(0.8249)...)...)
	h = append(h, make([]byte, 128-len(h))...) // creator, ID, reserved
	return append(append(h, table...), data...)
}

// makePDFA writes a one-page PDF/A-2b file: XMP metadata with its PDF/A
// identification, no font (the page draws a grey bar), no /Info; with
// intent, a PDF/A output intent with grayICC, else the page's DeviceGray
// made device independent by a CalGray DefaultGray, as ISO 19005-2 allows.
func makePDFA(intent bool) []byte {
	const xmp = `<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>2</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>`
	icc := grayICC()
	content := "0.2 g 72 700 300 40 re f"
	res := "<< >>"
	catalog := "<< /Type /Catalog /Pages 2 0 R /Metadata 3 0 R /OutputIntents [6 0 R] >>"
	if !intent {
		res = "<< /ColorSpace << /DefaultGray [/CalGray << /WhitePoint [0.9505 1 1.089] /Gamma 2.2 >>] >> >>"
		catalog = "<< /Type /Catalog /Pages 2 0 R /Metadata 3 0 R >>"
	}
	objs := []string{
		catalog,
		"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
		fmt.Sprintf("<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n%s\nendstream", len(xmp), xmp),
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources " + res + " /Contents 4 0 R >>",
		"<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (Test Gray) /Info (Test Gray) /DestOutputProfile 7 0 R >>",
		fmt.Sprintf("<< /N 1 /Length %d >>\nstream\n%s\nendstream", len(icc), icc),
	}
	raw := make([][]byte, len(objs))
	for i, o := range objs {
		raw[i] = []byte(o)
	}
	return classicPDF(raw, "")
}

// TestPDFA2bSigned signs PDF/A-2b files made here, with and without an
// output intent, with a visible appearance, and runs the checks of veraPDF
// that concern what signing adds: every font embedded (pdffonts), no
// transparency group, soft mask or constant alpha, no colour space but
// DeviceGray, which is covered by the PDF/A output intent or, without one,
// by a DefaultGray in the appearance's resources; the output intent and the
// XMP identification kept in the signed revision's catalog. A document that
// is not PDF/A gets no DefaultGray.
func TestPDFA2bSigned(t *testing.T) {
	pdffonts := requireTool(t, "pdffonts")
	pdftoppm := requireTool(t, "pdftoppm")
	for _, intent := range []bool{true, false} {
		t.Run(fmt.Sprintf("output intent %v", intent), func(t *testing.T) {
			in := makePDFA(intent)
			if ok, msg := qpdfCheck(t, writeTemp(t, "in.pdf", in)); !ok {
				t.Fatalf("the input does not pass qpdf --check: %s", msg)
			}
			out, _ := sign(t, in, 0, PrepareRequest{Appearance: &Appearance{Page: 1, Rect: [4]float64{40, 40, 340, 100},
				Lines: []string{"Signed by " + unicodeName, "Qualified electronic signature"}}})
			path := writeTemp(t, "a.pdf", out)
			if ok, msg := qpdfCheck(t, path); !ok {
				t.Fatalf("qpdf --check: %s", msg)
			}
			upd := out[len(in):]
			for _, bad := range []string{"/Group", "/SMask", "/CA ", "/ca ", " rg\n", " RG\n", "/DeviceRGB", "/DeviceCMYK", "/Type1", "/TrueType", "/D <<", "/R <<"} {
				if bytes.Contains(upd, []byte(bad)) {
					t.Errorf("the signature revision adds %q", bad)
				}
			}

			r, err := Open(context.Background(), bytes.NewReader(out), int64(len(out)))
			if err != nil {
				t.Fatal(err)
			}
			dict := func(o Object) *Dict {
				t.Helper()
				o, err := r.Resolve(o)
				if err != nil {
					t.Fatal(err)
				}
				if s, ok := o.(*Stream); ok {
					return s.dict
				}
				d, ok := o.(*Dict)
				if !ok {
					t.Fatalf("%v is not a dictionary", o)
				}
				return d
			}
			cat := dict(r.Trailer().Get("Root"))
			fields, _ := dict(cat.Get("AcroForm")).Get("Fields").([]Object)
			if len(fields) != 1 {
				t.Fatalf("%d fields", len(fields))
			}
			form := dict(dict(dict(fields[0]).Get("AP")).Get("N"))
			var dg Object
			if cs := dict(form.Get("Resources")).Get("ColorSpace"); cs != nil {
				dg = dict(cs).Get("DefaultGray")
			}
			if a, _ := dg.([]Object); (len(a) == 2 && a[0] == Name("CalGray")) == intent {
				t.Errorf("the appearance's DefaultGray is %v; want CalGray only without an output intent", dg)
			}
			if got := cat.Get("Metadata"); got != (Ref{Num: 3}) {
				t.Errorf("signed catalog /Metadata %v, want 3 0 R", got)
			}
			if got, ok := cat.Get("OutputIntents").([]Object); intent && (!ok || len(got) != 1 || got[0] != (Ref{Num: 6})) {
				t.Errorf("signed catalog /OutputIntents %v, want [6 0 R]", cat.Get("OutputIntents"))
			}

			fonts, err := exec.Command(pdffonts, path).Output()
			if err != nil {
				t.Fatal(err)
			}
			rows := strings.Split(strings.TrimSpace(string(fonts)), "\n")[2:]
			if len(rows) != 1 {
				t.Errorf("pdffonts lists %d fonts, want the appearance's one:\n%s", len(rows), fonts)
			}
			for _, row := range rows {
				if !regexp.MustCompile(`CID TrueType +Identity-H +yes +yes +yes +\d+ +\d+$`).MatchString(row) {
					t.Errorf("font not an embedded subset with ToUnicode: %q", row)
				}
			}

			// the box still renders as the light grey it is drawn in
			img := renderPage(t, pdftoppm, path)
			want := image.Rect(40, 792-100, 340, 792-40)
			box := denseBox(subImage(img, want.Inset(-4)), func(v uint8) bool { return v >= 236 && v <= 252 }, 0.25)
			if abs(box.Min.X-want.Min.X) > 2 || abs(box.Min.Y-want.Min.Y) > 2 || abs(box.Max.X-want.Max.X) > 2 || abs(box.Max.Y-want.Max.Y) > 2 {
				t.Errorf("appearance box rendered at %v, want %v", box, want)
			}
		})
	}
}
