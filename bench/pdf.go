package bench

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net/http"
	"os"
	"time"

	digitoruspdf "github.com/digitorus/pdf"
	pdfsign "github.com/digitorus/pdfsign/sign"
)

// writePDF writes a valid one-page PDF of size bytes (give or take a few hundred) to
// path: the page and, to make up the size, an unreferenced binary stream, the shape of a
// scanned contract.
func writePDF(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var offs []int
	n := 0
	put := func(s string) {
		k, _ := w.WriteString(s)
		n += k
	}
	put("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	text := "BT /F1 18 Tf 72 720 Td (Paraphe benchmark contract) Tj ET"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(text), text),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	for i, o := range objs {
		offs = append(offs, n)
		put(fmt.Sprintf("%d 0 obj\n%s\nendobj\n", i+1, o))
	}
	pad := max(size-n-400, 0)
	offs = append(offs, n)
	put(fmt.Sprintf("%d 0 obj\n<< /Length %d >>\nstream\n", len(objs)+1, pad))
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i*7919>>3) | 0x80
	}
	for left := pad; left > 0; {
		k := min(left, len(buf))
		w.Write(buf[:k])
		n += k
		left -= k
	}
	put("\nendstream\nendobj\n")
	x := n
	put(fmt.Sprintf("xref\n0 %d\n0000000000 65535 f \n", len(offs)+1))
	for _, o := range offs {
		put(fmt.Sprintf("%010d 00000 n \n", o))
	}
	put(fmt.Sprintf("trailer\n<< /Size %d /Root 1 0 R /ID [<00112233445566778899AABBCCDDEEFF> <00112233445566778899AABBCCDDEEFF>] >>\nstartxref\n%d\n%%%%EOF\n", len(offs)+1, x))
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// memSigner is an in-memory P-256 key with a three-certificate chain (user, issuing CA,
// root), the same shape as Paraphe's users' chains: the raw baseline's key.
type memSigner struct {
	key   *ecdsa.PrivateKey
	chain []*x509.Certificate
}

func newMemSigner() (*memSigner, error) {
	now := time.Now()
	mk := func(cn string, serial int64, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, ca bool) (*x509.Certificate, error) {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, Country: []string{"BE"}},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			BasicConstraintsValid: true, IsCA: ca,
		}
		if ca {
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		} else {
			tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		}
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(der)
	}
	keys := make([]*ecdsa.PrivateKey, 3)
	for i := range keys {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	root, err := mk("Bench Root", 1, keys[0].Public(), nil, keys[0], true)
	if err != nil {
		return nil, err
	}
	issuing, err := mk("Bench Issuing", 2, keys[1].Public(), root, keys[0], true)
	if err != nil {
		return nil, err
	}
	user, err := mk("Bench Signer", 3, keys[2].Public(), issuing, keys[1], false)
	if err != nil {
		return nil, err
	}
	return &memSigner{key: keys[2], chain: []*x509.Certificate{user, issuing, root}}, nil
}

// rawPdfsign signs the file at in with pdfsign into a new file at out, as a server
// keeping its result would: read through digitorus/pdf, signature built in memory.
func rawPdfsign(in, out string, m *memSigner) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(in)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	o, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer os.Remove(out)
	rdr, err := digitoruspdf.NewReader(f, st.Size())
	if err != nil {
		o.Close()
		return 0, fmt.Errorf("bench: pdfsign reader: %w", err)
	}
	err = pdfsign.Sign(f, o, rdr, st.Size(), pdfsign.SignData{
		Signature:         pdfsign.SignDataSignature{CertType: pdfsign.ApprovalSignature, Info: pdfsign.SignDataSignatureInfo{Name: "Bench Signer", Date: time.Now()}},
		Signer:            m.key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       m.chain[0],
		CertificateChains: [][]*x509.Certificate{m.chain},
	})
	if cerr := o.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("bench: pdfsign: %w", err)
	}
	return time.Since(start), nil
}

// hashFile times one SHA-256 pass over the file (from the page cache, as the other
// measurements read it).
func hashFile(path string) (time.Duration, error) {
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, f, make([]byte, 256<<10)); err != nil {
		return 0, err
	}
	h.Sum(nil)
	return time.Since(start), nil
}

// pdfTimes are the parts of one PDF-mode request.
type pdfTimes struct {
	total, create, approve, fetch time.Duration
}

// pdfRequest runs one PDF-mode request end to end: the multipart upload streamed from
// the file (the client does not hold the file in memory), the device's reading and
// approval, the download of the signed PDF.
func (s *service) pdfRequest(ctx context.Context, d *dev, path, level string, size int64) (pdfTimes, error) {
	var t pdfTimes
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			if err := mw.WriteField("signer", d.st.UserID); err != nil {
				return err
			}
			if err := mw.WriteField("level", level); err != nil {
				return err
			}
			part, err := mw.CreateFormFile("file", "contract.pdf")
			if err != nil {
				return err
			}
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(part, f); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/v1/signature-requests", pr)
	if err != nil {
		return t, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+s.apiKey)
	var c created
	if err := s.do(req, http.StatusCreated, &c); err != nil {
		return t, err
	}
	t.create = time.Since(start)
	it, err := s.fetchForApproval(ctx, d, c.ID)
	if err != nil {
		return t, err
	}
	ab, err := approveBody(d, it, c.Icon.ID)
	if err != nil {
		return t, err
	}
	t1 := time.Now()
	if err := s.approve(ctx, d, c.ID, ab); err != nil {
		return t, err
	}
	t.approve = time.Since(t1)
	t2 := time.Now()
	w, err := s.fetchResult(ctx, c.ID)
	if err != nil {
		return t, err
	}
	t.fetch = time.Since(t2)
	t.total = time.Since(start)
	if w.n <= size || string(w.head[:5]) != "%PDF-" {
		return t, fmt.Errorf("bench: PDF %s: result of %d bytes is not an update of the %d-byte input", level, w.n, size)
	}
	return t, nil
}
