package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/paraphe/paraphe/blob"
	"github.com/paraphe/paraphe/engine"
	"github.com/paraphe/paraphe/pdf"
)

// Blobs keeps PDF mode's files: uploads, prepared revisions and signed results.
type Blobs interface {
	Create(ctx context.Context, key string) (blob.Writer, error)
	Open(ctx context.Context, key string) (blob.File, error)
	Delete(ctx context.Context, key string) error
	DeletePrefix(ctx context.Context, prefix string) error
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
// computed once and never retried. (The document time-stamp of B-LTA reserves
// pdf.DefaultDocTimestampSize in its own revision.)
const (
	cmsOverhead    = 4096
	timestampSpace = 16384
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
	if err := s.engine.Check(in.Level, true); err != nil {
		return invalidf("%v", err)
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
		if len(v) > 255 || !utf8.ValidString(v) || strings.ContainsFunc(v, unsafeRune) {
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
	key := blob.UploadsPrefix + "/" + uuid.NewString() + ".pdf"
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
	case errors.Is(err, pdf.ErrLimit):
		return fmt.Errorf("%w: file %d (%s) needs more work to read than the PDF limits allow (limits.pdf): %v", ErrUnsignable, i, name, err)
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
	size := contentsSize(cert, s.engine.Chain(), r.Level)
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

// signPDFs signs every prepared document through the engine; the result of each is its
// CMS (kept as evidence), the signed PDF goes to the blob store. All are signed or none.
func (s *Service) signPDFs(ctx context.Context, r *Request, key engine.Signer) ([][]byte, error) {
	docs := make([]engine.PDF, len(r.Documents))
	for i, d := range r.Documents {
		if d.PDF == nil {
			return nil, fmt.Errorf("signer: document %d has no prepared state", i)
		}
		docs[i] = engine.PDF{Prepared: d.PDF.Prepared, Source: preparedKey(r.ID, i), Dest: signedKey(r.ID, i)}
	}
	out, err := s.engine.PAdES(ctx, key, r.Level, docs)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	for i := range r.Documents {
		_ = s.blobs.Delete(ctx, preparedKey(r.ID, i))
	}
	return out, nil
}

// SignPDFInput is one whole PDF to sign at once, outside PDF mode's life cycle: the
// caller consumed an authorization that covers it (CSC signDoc).
type SignPDFInput struct {
	Key         crypto.Signer
	Certificate *x509.Certificate
	PDF         []byte
	Level       Level
	Options     PDFOptions
}

// SignPDF signs a PDF through PDF mode's own path (prepare, then the engine: CMS, embed,
// /DSS and the document time-stamp as the level asks) and returns the signed file and
// its CMS. Its working files are deleted before it returns.
func (s *Service) SignPDF(ctx context.Context, in SignPDFInput) (signed, cms []byte, err error) {
	if err := s.validatePDF(&CreateInput{Level: in.Level, PDFs: []PDFInput{{Name: "document"}}, PDF: in.Options}); err != nil {
		return nil, nil, err
	}
	key, err := s.StageUpload(ctx, bytes.NewReader(in.PDF), int64(len(in.PDF)))
	if err != nil {
		return nil, nil, err
	}
	r := &Request{ID: uuid.NewString(), Level: in.Level, CreatedAt: s.now().UTC()}
	defer func() {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		s.dropBlobs(r.ID)
	}()
	size := contentsSize(in.Certificate, s.engine.Chain(), in.Level)
	doc, err := s.prepareOne(ctx, r, 0, PDFInput{Name: "document", UploadKey: key}, in.Options, in.Certificate.Subject.CommonName, size)
	if err != nil {
		return nil, nil, err
	}
	r.Documents = []Document{doc}
	out, err := s.signPDFs(ctx, r, engine.Signer{Key: in.Key, Certificate: in.Certificate})
	if err != nil {
		return nil, nil, err
	}
	f, err := s.blobs.Open(ctx, signedKey(r.ID, 0))
	if err != nil {
		return nil, nil, fmt.Errorf("signer: signed PDF: %w", err)
	}
	defer f.Close()
	signed, err = io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if err != nil {
		return nil, nil, fmt.Errorf("signer: signed PDF: %w", err)
	}
	return signed, out[0], nil
}

// SignCMSInput is digests to sign as detached CMS outside a request's life cycle: the
// caller consumed an authorization that covers them (CSC signDoc with documentDigests).
type SignCMSInput struct {
	Key         crypto.Signer
	Certificate *x509.Certificate
	// Level is B-B or B-T: the later levels add to the document, which the caller holds.
	Level Level
	// SigningTime, when not zero, is claimed in the signed attributes; PAdES leaves it
	// zero (the PDF's /M carries the claimed time).
	SigningTime time.Time
	Hash        crypto.Hash
	Digests     [][]byte
}

// SignCMS returns one detached CMS (CAdES) per digest, in order, with the signer's
// certificate and the CA chain: what a PDF tool embeds in /Contents for a PAdES
// signature over its byte range, or a detached CAdES signature of a document.
func (s *Service) SignCMS(ctx context.Context, in SignCMSInput) ([][]byte, error) {
	if in.Level != LevelBB && in.Level != LevelBT {
		return nil, invalidf("a signature over a digest is made at B-B or B-T; level %s adds to the document", in.Level)
	}
	if err := s.engine.Check(in.Level, false); err != nil {
		return nil, invalidf("%v", err)
	}
	ds := make([]engine.Digest, len(in.Digests))
	for i, d := range in.Digests {
		ds[i] = engine.Digest{Hash: in.Hash, Value: d}
	}
	out, err := s.engine.CMS(ctx, engine.Signer{Key: in.Key, Certificate: in.Certificate}, in.Level, in.SigningTime, ds)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return out, nil
}
