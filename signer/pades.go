package signer

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"github.com/paraphe/paraphe/blob"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/pdf"
)

// Blobs keeps PDF mode's files: uploads, prepared revisions and signed results.
type Blobs interface {
	Create(ctx context.Context, key string) (blob.Writer, error)
	Open(ctx context.Context, key string) (blob.File, error)
	Delete(ctx context.Context, key string) error
	DeletePrefix(ctx context.Context, prefix string) error
}

// ValidationData gathers what B-LT embeds in /DSS for a set of certificates: the
// certificates themselves, OCSP responses and CRLs.
type ValidationData interface {
	ForCertificates(ctx context.Context, certs []*x509.Certificate) (pdf.DSS, error)
}

// PDFInput is one uploaded PDF of a request, staged by StageUpload.
type PDFInput struct {
	Name      string
	UploadKey string
}

// PDFOptions are the signature dictionary's options in PDF mode.
type PDFOptions struct {
	Reason     string
	Location   string
	Field      string          // sign into this existing empty signature field
	Appearance *pdf.Appearance // nil: invisible
}

// PDFState is what a prepared document needs later: where the placeholder is.
type PDFState struct {
	Prepared pdf.Prepared
}

// Reserved space in /Contents. The CMS holds the certificates, the signed attributes and
// the signature value; a signature time-stamp adds a token with the TSA's certificates.
// These margins are several times what the built-in PKI produces, so the size is
// computed once and never retried.
const (
	cmsOverhead    = 4096
	timestampSpace = 16384
	docTSSpace     = 24576
)

func contentsSize(cert *x509.Certificate, chain []*x509.Certificate, level Level) int {
	n := len(cert.Raw) + cmsOverhead
	for _, c := range chain {
		n += len(c.Raw)
	}
	if level != LevelBB {
		n += timestampSpace
	}
	return n
}

func (s *Service) validatePDF(in *CreateInput) error {
	if s.blobs == nil {
		return invalidf("PDF mode is not configured on this server")
	}
	if in.Level != LevelBB && s.tsa == nil {
		return invalidf("level %s needs a time-stamping authority, and none is configured", in.Level)
	}
	if (in.Level == LevelBLT || in.Level == LevelBLTA) && s.vdata == nil {
		return invalidf("level %s needs revocation data, and no source is configured", in.Level)
	}
	if len(in.PDFs) == 0 {
		return invalidf("at least one file part is needed")
	}
	if len(in.PDFs) > s.cfg.MaxDocuments {
		return invalidf("at most %d documents per request", s.cfg.MaxDocuments)
	}
	for i, d := range in.PDFs {
		if err := checkDocName(d.Name); err != nil {
			return invalidf("file %d: %v", i, err)
		}
	}
	for name, v := range map[string]string{"reason": in.PDF.Reason, "location": in.PDF.Location, "field": in.PDF.Field} {
		if len(v) > 255 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }) {
			return invalidf("%s must be at most 255 printable characters", name)
		}
	}
	return s.validateCommon(in)
}

// StageUpload streams one uploaded file into the blob store, up to limit bytes, and
// returns its key. The caller passes the key in CreateInput.PDFs; uploads are deleted
// once the request is prepared or refused.
func (s *Service) StageUpload(ctx context.Context, r io.Reader, limit int64) (string, error) {
	if s.blobs == nil {
		return "", invalidf("PDF mode is not configured on this server")
	}
	key := "uploads/" + uuid.NewString() + ".pdf"
	w, err := s.blobs.Create(ctx, key)
	if err != nil {
		return "", fmt.Errorf("signer: stage upload: %w", err)
	}
	n, err := io.Copy(w, io.LimitReader(r, limit+1))
	if err != nil {
		w.Abort()
		return "", fmt.Errorf("signer: stage upload: %w", err)
	}
	if n > limit {
		w.Abort()
		return "", ErrTooLarge
	}
	if err := w.Commit(); err != nil {
		return "", fmt.Errorf("signer: stage upload: %w", err)
	}
	return key, nil
}

// DropUploads deletes staged uploads (after creation, or when it was refused).
func (s *Service) DropUploads(ctx context.Context, in []PDFInput) {
	for _, d := range in {
		if err := s.blobs.Delete(context.WithoutCancel(ctx), d.UploadKey); err != nil {
			s.log.Warn("upload not deleted", "key", d.UploadKey, "err", err)
		}
	}
}

// SignedKey is the blob key of a request's signed document.
func SignedKey(requestID string, i int) string { return signedKey(requestID, i) }

func preparedKey(requestID string, i int) string {
	return fmt.Sprintf("requests/%s/%d.prepared.pdf", requestID, i)
}
func signedKey(requestID string, i int) string {
	return fmt.Sprintf("requests/%s/%d.pdf", requestID, i)
}
func stepKey(requestID string, i int, step string) string {
	return fmt.Sprintf("requests/%s/%d.%s.pdf", requestID, i, step)
}

func (s *Service) dropBlobs(requestID string) {
	if err := s.blobs.DeletePrefix(context.Background(), "requests/"+requestID); err != nil {
		s.log.Warn("request files not deleted", "requestId", requestID, "err", err)
	}
}

// mapPDFError turns the pdf package's refusals into the API's.
func mapPDFError(i int, name string, err error) error {
	switch {
	case errors.Is(err, pdf.ErrNotPDF):
		return fmt.Errorf("%w: file %d (%s) is not a PDF", ErrNotPDF, i, name)
	case errors.Is(err, pdf.ErrEncrypted):
		return fmt.Errorf("%w: file %d (%s) is encrypted; send it without encryption", ErrUnsignable, i, name)
	case errors.Is(err, pdf.ErrCertifiedNoChanges):
		return fmt.Errorf("%w: file %d (%s) is certified with DocMDP P=1, which forbids any change, signatures included", ErrUnsignable, i, name)
	case errors.Is(err, pdf.ErrBroken):
		return fmt.Errorf("%w: file %d (%s) is damaged beyond repair: %v", ErrUnsignable, i, name, err)
	case errors.Is(err, pdf.ErrFieldNotFound):
		return fmt.Errorf("%w: file %d (%s): %v", ErrUnsignable, i, name, err)
	case errors.Is(err, pdf.ErrInvalidRequest):
		return invalidf("file %d (%s): %v", i, name, err)
	}
	return fmt.Errorf("signer: prepare file %d: %w", i, err)
}

// preparePDFs checks every upload and writes its prepared revision (signature dictionary
// with the placeholder); the digest of its byte range is what the device shows and the
// CMS will sign. All documents are prepared or none.
func (s *Service) preparePDFs(ctx context.Context, r *Request, in CreateInput, id Identity) (err error) {
	cert, err := x509.ParseCertificate(id.CertificateDER)
	if err != nil {
		return fmt.Errorf("signer: certificate: %w", err)
	}
	defer func() {
		if err != nil {
			s.dropBlobs(r.ID)
		}
	}()
	size := contentsSize(cert, s.chain, r.Level)
	for i, d := range in.PDFs {
		doc, err := s.prepareOne(ctx, r, i, d, in.PDF, cert.Subject.CommonName, size)
		if err != nil {
			return err
		}
		r.Documents = append(r.Documents, doc)
	}
	return nil
}

func (s *Service) prepareOne(ctx context.Context, r *Request, i int, d PDFInput, o PDFOptions, name string, size int) (Document, error) {
	f, err := s.blobs.Open(ctx, d.UploadKey)
	if err != nil {
		return Document{}, fmt.Errorf("signer: open upload: %w", err)
	}
	defer f.Close()
	if _, err := pdf.Inspect(ctx, f, f.Size()); err != nil {
		return Document{}, mapPDFError(i, d.Name, err)
	}
	w, err := s.blobs.Create(ctx, preparedKey(r.ID, i))
	if err != nil {
		return Document{}, fmt.Errorf("signer: prepare: %w", err)
	}
	ap := o.Appearance
	if ap != nil && len(ap.Lines) == 0 {
		c := *ap
		c.Lines = []string{"Signed by " + name, r.CreatedAt.UTC().Format("2006-01-02 15:04 UTC"), "Qualified electronic signature"}
		ap = &c
	}
	p, err := pdf.Prepare(ctx, f, f.Size(), w, sha256.New(), pdf.PrepareRequest{
		Name: name, Reason: o.Reason, Location: o.Location, SigningTime: r.CreatedAt, Field: o.Field,
		Appearance: ap, ContentsSize: size,
	})
	if err != nil {
		w.Abort()
		return Document{}, mapPDFError(i, d.Name, err)
	}
	if err := w.Commit(); err != nil {
		return Document{}, fmt.Errorf("signer: prepare: %w", err)
	}
	return Document{Index: i, Name: d.Name, Hash: crypto.SHA256, Digest: p.Digest, PDF: &PDFState{Prepared: *p}}, nil
}

// signPDFs signs every prepared document; the result of each is its CMS (kept as
// evidence), the signed PDF goes to the blob store. All are signed or none.
func (s *Service) signPDFs(ctx context.Context, r *Request, key crypto.Signer, cert *x509.Certificate) (out [][]byte, err error) {
	defer func() {
		if err != nil {
			for i := range r.Documents {
				_ = s.blobs.Delete(context.WithoutCancel(ctx), signedKey(r.ID, i))
			}
		}
	}()
	out = make([][]byte, len(r.Documents))
	for i, d := range r.Documents {
		if d.PDF == nil {
			return nil, fmt.Errorf("signer: document %d has no prepared state", i)
		}
		cms, err := s.signPDF(ctx, r, i, d, key, cert)
		if err != nil {
			return nil, fmt.Errorf("signer: document %d: %w", i, err)
		}
		out[i] = cms
	}
	for i := range r.Documents {
		_ = s.blobs.Delete(ctx, preparedKey(r.ID, i))
	}
	return out, nil
}

func (s *Service) signPDF(ctx context.Context, r *Request, i int, d Document, key crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	req := cades.SignRequest{Digest: d.Digest, Hash: crypto.SHA256, Signer: key, Certificate: cert, Chain: s.chain}
	if r.Level != LevelBB {
		req.Timestamper = s.tsa
	}
	cms, err := cades.Sign(ctx, req)
	if err != nil {
		return nil, err
	}
	// The signed revision: a copy of the prepared file with the CMS in its placeholder.
	signed := stepKey(r.ID, i, "signed")
	if err := s.copyBlob(ctx, preparedKey(r.ID, i), signed, func(w blob.Writer) error {
		p := d.PDF.Prepared
		return pdf.Embed(w, &p, cms)
	}); err != nil {
		return nil, err
	}
	last := signed
	if r.Level == LevelBLT || r.Level == LevelBLTA {
		certs := append([]*x509.Certificate{cert}, s.chain...)
		tsaCerts, err := timestampCertificates(cms)
		if err != nil {
			return nil, err
		}
		dss, err := s.vdata.ForCertificates(ctx, append(certs, tsaCerts...))
		if err != nil {
			return nil, fmt.Errorf("validation data: %w", err)
		}
		lt := stepKey(r.ID, i, "lt")
		if err := s.derive(ctx, last, lt, func(src blob.File, w blob.Writer) error {
			_, err := pdf.AddDSS(ctx, src, src.Size(), w, dss)
			return err
		}); err != nil {
			return nil, err
		}
		last = lt
	}
	if r.Level == LevelBLTA {
		lta := stepKey(r.ID, i, "lta")
		if err := s.derive(ctx, last, lta, func(src blob.File, w blob.Writer) error {
			p, err := pdf.Prepare(ctx, src, src.Size(), w, sha256.New(), pdf.PrepareRequest{DocTimestamp: true, ContentsSize: docTSSpace})
			if err != nil {
				return err
			}
			tok, err := s.tsa.Timestamp(ctx, p.Digest, crypto.SHA256)
			if err != nil {
				return fmt.Errorf("document time-stamp: %w", err)
			}
			return pdf.Embed(w, p, tok)
		}); err != nil {
			return nil, err
		}
		last = lta
	}
	// The final file under its stable key; the steps are dropped.
	if err := s.copyBlob(ctx, last, signedKey(r.ID, i), nil); err != nil {
		return nil, err
	}
	for _, k := range []string{signed, stepKey(r.ID, i, "lt"), stepKey(r.ID, i, "lta")} {
		_ = s.blobs.Delete(ctx, k)
	}
	return cms, nil
}

// copyBlob copies src to a new blob dst, lets edit change it (in place, WriteAt), commits.
func (s *Service) copyBlob(ctx context.Context, src, dst string, edit func(blob.Writer) error) error {
	return s.derive(ctx, src, dst, func(f blob.File, w blob.Writer) error {
		if _, err := io.Copy(w, io.NewSectionReader(f, 0, f.Size())); err != nil {
			return err
		}
		if edit != nil {
			return edit(w)
		}
		return nil
	})
}

// derive writes a new blob dst from src with fn, committing only if fn succeeds.
func (s *Service) derive(ctx context.Context, src, dst string, fn func(blob.File, blob.Writer) error) error {
	f, err := s.blobs.Open(ctx, src)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := s.blobs.Create(ctx, dst)
	if err != nil {
		return err
	}
	if err := fn(f, w); err != nil {
		w.Abort()
		return err
	}
	return w.Commit()
}

// timestampCertificates returns the certificates carried by the CMS's signature
// time-stamp token (the TSA's), for the DSS.
func timestampCertificates(cms []byte) ([]*x509.Certificate, error) {
	sd, err := cades.Parse(cms)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, si := range sd.Signers {
		for _, tok := range si.SignatureTimestamps {
			tt, err := cades.ParseTimestampToken(tok)
			if err != nil {
				return nil, err
			}
			out = append(out, tt.SignedData.Certificates...)
		}
	}
	return out, nil
}
