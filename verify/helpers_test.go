package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/paraphe/paraphe/cades"
)

// testPKI is a root CA and a qualified signer certificate.
type testPKI struct {
	root     *x509.Certificate
	signer   *x509.Certificate
	key      *ecdsa.PrivateKey
	otherKey *ecdsa.PrivateKey
}

func qcStatementsDER(t *testing.T) []byte {
	t.Helper()
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for _, id := range []asn1.ObjectIdentifier{oidQcCompliance, oidQcSSCD} {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(id) })
		}
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidQcType)
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidQcTypeESign) })
		})
	})
	der, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func newTestPKI(t *testing.T, qualified bool) *testPKI {
	t.Helper()
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root CA", Country: []string{"BE"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rootDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "Alice Martin", Country: []string{"BE"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(12 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	if qualified {
		pol, _ := x509.OIDFromInts([]uint64{0, 4, 0, 194112, 1, 2})
		tmpl.Policies = []x509.OID{pol}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidQCStatements, Value: qcStatementsDER(t)}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root, &key.PublicKey, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return &testPKI{root: root, signer: cert, key: key, otherKey: other}
}

// pdfWriter builds small PDFs with classic xref tables.
type pdfWriter struct {
	buf     bytes.Buffer
	offsets map[int]int
}

func (w *pdfWriter) obj(num int, body string) {
	w.offsets[num] = w.buf.Len()
	fmt.Fprintf(&w.buf, "%d 0 obj\n%s\nendobj\n", num, body)
}

func stream(content string) string {
	return fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content)
}

// section writes an xref section for the objects written since the last
// one, its trailer and %%EOF; it returns the xref offset.
func (w *pdfWriter) section(size, prev int) int {
	off := w.buf.Len()
	w.buf.WriteString("xref\n0 1\n0000000000 65535 f \n")
	nums := make([]int, 0, len(w.offsets))
	for n := range w.offsets {
		nums = append(nums, n)
	}
	for i := 0; i < len(nums); i++ {
		for j := i + 1; j < len(nums); j++ {
			if nums[j] < nums[i] {
				nums[i], nums[j] = nums[j], nums[i]
			}
		}
	}
	for _, n := range nums {
		fmt.Fprintf(&w.buf, "%d 1\n%010d 00000 n \n", n, w.offsets[n])
	}
	w.buf.WriteString("trailer\n<< /Size " + fmt.Sprint(size) + " /Root 1 0 R")
	if prev >= 0 {
		fmt.Fprintf(&w.buf, " /Prev %d", prev)
	}
	fmt.Fprintf(&w.buf, " >>\nstartxref\n%d\n%%%%EOF\n", off)
	w.offsets = map[int]int{}
	return off
}

const pageText = "BT /F1 18 Tf 72 200 Td (Contrat de travail) Tj ET"

// unsignedPDF returns a one-page PDF and its xref offset.
func unsignedPDF() ([]byte, int) {
	w := &pdfWriter{offsets: map[int]int{}}
	w.buf.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	w.obj(1, "<< /Type /Catalog /Pages 2 0 R >>")
	w.obj(2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	w.obj(3, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>")
	w.obj(4, stream(pageText))
	w.obj(5, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	xref := w.section(6, -1)
	return w.buf.Bytes(), xref
}

const placeholderHex = 8192

// signPDF appends a signature revision to base (whose last xref is at prev)
// with field name and signature object numbers sigField, sigField+1. The
// CMS is made by cades.Sign with key and cert.
func signPDF(t *testing.T, base []byte, prev, size int, name string, annots string, fields string, key crypto.Signer, cert *x509.Certificate) []byte {
	t.Helper()
	return signPDFWith(t, base, prev, size, name, annots, fields, func(signed []byte) []byte {
		d := sha256.Sum256(signed)
		cms, err := cades.Sign(context.Background(), cades.SignRequest{Digest: d[:], Hash: crypto.SHA256, Signer: key, Certificate: cert})
		if err != nil {
			t.Fatal(err)
		}
		return cms
	})
}

// signPDFWith is signPDF with the CMS made by makeCMS from the signed bytes
// (the byte ranges, concatenated).
func signPDFWith(t *testing.T, base []byte, prev, size int, name string, annots string, fields string, makeCMS func(signed []byte) []byte) []byte {
	t.Helper()
	w := &pdfWriter{offsets: map[int]int{}}
	w.buf.Write(base)
	field, sig := size, size+1
	w.obj(1, fmt.Sprintf("<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [%s%d 0 R] /SigFlags 3 >> >>", fields, field))
	w.obj(3, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R /Annots [%s%d 0 R] >>", annots, field))
	w.obj(field, fmt.Sprintf("<< /FT /Sig /T (%s) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /F 132 /P 3 0 R /V %d 0 R >>", name, sig))
	brPlace := "/ByteRange [0 0000000000 0000000000 0000000000]"
	w.obj(sig, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached "+brPlace+
		" /Contents <"+strings.Repeat("0", placeholderHex)+"> /M (D:20260101120000Z) >>")
	w.section(size+2, prev)
	out := w.buf.Bytes()
	// Fill the byte range.
	sigStart := bytes.LastIndex(out, []byte(brPlace))
	gapStart := bytes.Index(out[sigStart:], []byte("/Contents <")) + sigStart + len("/Contents ")
	gapEnd := gapStart + placeholderHex + 2
	br := fmt.Sprintf("/ByteRange [0 %010d %010d %010d]", gapStart, gapEnd, len(out)-gapEnd)
	copy(out[sigStart:], br)
	signed := append(append([]byte(nil), out[:gapStart]...), out[gapEnd:]...)
	hx := hex.EncodeToString(makeCMS(signed))
	if len(hx) > placeholderHex {
		t.Fatal("placeholder too small")
	}
	copy(out[gapStart+1:], hx)
	return out
}

// signedPDF returns a PDF with one B-B signature by p's signer.
func signedPDF(t *testing.T, p *testPKI) []byte {
	t.Helper()
	base, xref := unsignedPDF()
	return signPDF(t, base, xref, 6, "Signature1", "", "", p.key, p.signer)
}

// lastXref returns the offset of the last startxref.
func lastXref(data []byte) int {
	i := bytes.LastIndex(data, []byte("startxref"))
	var n int
	fmt.Sscan(strings.Fields(string(data[i+len("startxref"):]))[0], &n)
	return n
}

// appendUpdate appends an incremental update defining the given objects.
func appendUpdate(data []byte, size int, objs map[int]string) []byte {
	w := &pdfWriter{offsets: map[int]int{}}
	w.buf.Write(data)
	for n, body := range objs {
		w.obj(n, body)
	}
	w.section(size, lastXref(data))
	return w.buf.Bytes()
}
