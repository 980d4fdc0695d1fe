package engine

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paraphe/paraphe/blob"
	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/hsm"
	"github.com/paraphe/paraphe/pdf"
)

// Level is an ETSI baseline level.
type Level string

// Baseline levels.
const (
	LevelBB   Level = "B-B"
	LevelBT   Level = "B-T"
	LevelBLT  Level = "B-LT"
	LevelBLTA Level = "B-LTA"
)

// ErrUnsupported is returned when the engine lacks what a level or format needs (no
// time-stamping authority, no revocation source, no file store).
var ErrUnsupported = errors.New("engine: not configured for this")

// ErrKeyMismatch is returned by Open when the certificate is not the key's.
var ErrKeyMismatch = errors.New("engine: the certificate's public key is not the key's")

// Keys opens users' signing keys by the reference the HSM handed back.
type Keys interface {
	SigningKey(ctx context.Context, ref hsm.KeyRef) (crypto.Signer, error)
}

// Files keeps PDF files: the prepared revisions read, the signed files written.
type Files interface {
	Create(ctx context.Context, key string) (blob.Writer, error)
	Open(ctx context.Context, key string) (blob.File, error)
	Delete(ctx context.Context, key string) error
}

// ValidationData gathers what B-LT embeds in /DSS for a set of certificates: the
// certificates themselves, OCSP responses and CRLs.
type ValidationData interface {
	ForCertificates(ctx context.Context, certs []*x509.Certificate) (pdf.DSS, error)
}

// Deps are the engine's collaborators; those a format or level does not use may be nil.
type Deps struct {
	Keys       Keys
	Files      Files               // PAdES
	TSA        cades.Timestamper   // B-T and up: signature and document time-stamps
	Validation ValidationData      // B-LT and up
	Chain      []*x509.Certificate // CA certificates included beside the signer's
	// Parallel is how many signatures of one call are made at once (0: the HSM's
	// default session pool, hsm.DefaultSessions).
	Parallel int
}

// Engine makes signatures. It is safe for concurrent use.
type Engine struct {
	d Deps
}

// New returns an Engine.
func New(d Deps) *Engine { return &Engine{d: d} }

// Chain returns the CA certificates the engine includes beside the signer's.
func (e *Engine) Chain() []*x509.Certificate { return e.d.Chain }

// Check reports (ErrUnsupported, with the reason) whether the engine can produce level,
// for PDFs when pdfMode is set, detached CMS otherwise.
func (e *Engine) Check(level Level, pdfMode bool) error {
	if pdfMode && e.d.Files == nil {
		return fmt.Errorf("%w: PDF mode is not configured on this server", ErrUnsupported)
	}
	if level != LevelBB && e.d.TSA == nil {
		return fmt.Errorf("%w: level %s needs a time-stamping authority, and none is configured", ErrUnsupported, level)
	}
	if (level == LevelBLT || level == LevelBLTA) && e.d.Validation == nil {
		return fmt.Errorf("%w: level %s needs revocation data, and no source is configured", ErrUnsupported, level)
	}
	return nil
}

// Signer is a user's key, open, with its certificate.
type Signer struct {
	Key         crypto.Signer
	Certificate *x509.Certificate
}

// Open opens the key that ref refers to and checks that cert is its certificate.
func (e *Engine) Open(ctx context.Context, ref hsm.KeyRef, cert *x509.Certificate) (Signer, error) {
	if e.d.Keys == nil {
		return Signer{}, fmt.Errorf("%w: no key store", ErrUnsupported)
	}
	key, err := e.d.Keys.SigningKey(ctx, ref)
	if err != nil {
		return Signer{}, fmt.Errorf("engine: key: %w", err)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return Signer{}, ErrKeyMismatch
	}
	return Signer{Key: key, Certificate: cert}, nil
}

// Digest is one approved digest.
type Digest struct {
	Hash  crypto.Hash
	Value []byte
}

// Batcher is a key that offers a signer for one batch of signatures, with checks made
// for a batch (hsm.Key: see hsm.BatchSigner). The engine signs every batch through it.
type Batcher interface {
	Batch() crypto.Signer
}

// forBatch returns the signer of one batch with key.
func forBatch(key crypto.Signer) crypto.Signer {
	if b, ok := key.(Batcher); ok {
		return b.Batch()
	}
	return key
}

// Raw returns raw signature values over the digests, in order: ASN.1 DER Ecdsa-Sig-Value
// for ECDSA keys, PKCS #1 v1.5 for RSA keys.
func Raw(ctx context.Context, key crypto.Signer, ds []Digest) ([][]byte, error) {
	key = forBatch(key)
	out := make([][]byte, len(ds))
	for i, d := range ds {
		if len(d.Value) != d.Hash.Size() {
			return nil, fmt.Errorf("engine: digest %d: %d bytes for a %d-byte hash", i, len(d.Value), d.Hash.Size())
		}
		var (
			sig []byte
			err error
		)
		if cs, ok := key.(cades.ContextSigner); ok {
			sig, err = cs.SignContext(ctx, d.Value, d.Hash)
		} else {
			sig, err = key.Sign(rand.Reader, d.Value, d.Hash)
		}
		if err != nil {
			return nil, fmt.Errorf("engine: signature %d: %w", i, err)
		}
		out[i] = sig
	}
	return out, nil
}

// Raw returns raw signature values over the digests with s's key (see the function Raw).
func (s Signer) Raw(ctx context.Context, ds []Digest) ([][]byte, error) { return Raw(ctx, s.Key, ds) }

// CMS returns one detached CMS per digest at level B-B or B-T, each with the signer's
// certificate and the engine's chain; signingTime, when not zero, is claimed in it.
func (e *Engine) CMS(ctx context.Context, s Signer, level Level, signingTime time.Time, ds []Digest) ([][]byte, error) {
	if level != LevelBB && level != LevelBT {
		return nil, fmt.Errorf("%w: a detached CMS is made at B-B or B-T", ErrUnsupported)
	}
	if err := e.Check(level, false); err != nil {
		return nil, err
	}
	// One batch per hash: the parts the signatures share are encoded once. The key's
	// batch signer is shared by them: its checks are made per call, not per hash.
	key := forBatch(s.Key)
	batches := map[crypto.Hash]*cades.Batch{}
	for _, d := range ds {
		if batches[d.Hash] != nil {
			continue
		}
		req := cades.SignRequest{Hash: d.Hash, Signer: key, Certificate: s.Certificate, Chain: e.d.Chain, SigningTime: signingTime}
		if level == LevelBT {
			req.Timestamper = e.d.TSA
		}
		b, err := cades.NewBatch(req)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		batches[d.Hash] = b
	}
	out := make([][]byte, len(ds))
	err := e.parallel(ctx, len(ds), func(ctx context.Context, i int) error {
		sig, err := batches[ds[i].Hash].Sign(ctx, ds[i].Value)
		if err != nil {
			return fmt.Errorf("engine: document %d: %w", i, err)
		}
		out[i] = sig
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// defaultParallel is how many signatures of one batch are made at once when Deps gives
// no number: the HSM's default session pool (hsm.DefaultSessions), so that a batch keeps
// every session busy, while time-stamp requests of a B-T batch overlap too.
const defaultParallel = hsm.DefaultSessions

// parallel runs fn for 0..n-1 on up to Deps.Parallel goroutines; the first error stops
// the others (their context is cancelled) and is returned.
func (e *Engine) parallel(ctx context.Context, n int, fn func(context.Context, int) error) error {
	workers := e.d.Parallel
	if workers <= 0 {
		workers = defaultParallel
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			if err := fn(ctx, i); err != nil {
				return err
			}
		}
		return nil
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || wctx.Err() != nil {
					return
				}
				if err := fn(wctx, i); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err() // the caller's end left some undone
}

// PDF is one prepared PDF to sign.
type PDF struct {
	// Prepared says where the placeholder is; its Digest (SHA-256 of the byte ranges)
	// is what gets signed.
	Prepared pdf.Prepared
	// Source is the file key of the prepared file; it is only read.
	Source string
	// Dest is the file key the signed file is written to; step files take its name
	// with a suffix.
	Dest string
}

// PAdES signs prepared PDFs at a level: the CMS goes into each placeholder, then the
// post-signing steps of the level run (validation data at B-LT, a document time-stamp
// at B-LTA). It returns each document's CMS (kept as evidence); the signed files are
// under their Dest keys. All are signed or none.
func (e *Engine) PAdES(ctx context.Context, s Signer, level Level, docs []PDF) (out [][]byte, err error) {
	if err := e.Check(level, true); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			for _, d := range docs {
				_ = e.d.Files.Delete(context.WithoutCancel(ctx), d.Dest)
			}
		}
	}()
	out = make([][]byte, len(docs))
	for i, d := range docs {
		cms, err := e.signPDF(ctx, s, level, d)
		if err != nil {
			return nil, fmt.Errorf("engine: document %d: %w", i, err)
		}
		out[i] = cms
	}
	return out, nil
}

func (e *Engine) signPDF(ctx context.Context, s Signer, level Level, d PDF) ([]byte, error) {
	req := cades.SignRequest{Digest: d.Prepared.Digest, Hash: crypto.SHA256, Signer: s.Key, Certificate: s.Certificate, Chain: e.d.Chain}
	if level != LevelBB {
		req.Timestamper = e.d.TSA
	}
	cms, err := cades.Sign(ctx, req)
	if err != nil {
		return nil, err
	}
	// The signed revision: a copy of the prepared file with the CMS in its placeholder.
	signed := d.Dest + ".signed"
	if err := e.derive(ctx, d.Source, signed, func(f blob.File, w blob.Writer) error {
		if _, err := io.Copy(w, io.NewSectionReader(f, 0, f.Size())); err != nil {
			return err
		}
		p := d.Prepared
		return pdf.Embed(w, &p, cms)
	}); err != nil {
		return nil, err
	}
	steps := []string{signed}
	defer func() {
		for _, k := range steps {
			_ = e.d.Files.Delete(context.WithoutCancel(ctx), k)
		}
	}()
	var post pdf.PostSignInstructions
	if level == LevelBLT || level == LevelBLTA {
		certs := append([]*x509.Certificate{s.Certificate}, e.d.Chain...)
		tsaCerts, err := timestampCertificates(cms)
		if err != nil {
			return nil, err
		}
		dss, err := e.d.Validation.ForCertificates(ctx, append(certs, tsaCerts...))
		if err != nil {
			return nil, fmt.Errorf("validation data: %w", err)
		}
		post.ValidationData = &dss
	}
	if level == LevelBLTA {
		post.DocTimestamper = e.d.TSA
	}
	last := signed
	for _, st := range post.Steps() {
		next := d.Dest + "." + st.Name
		steps = append(steps, next)
		if err := e.derive(ctx, last, next, func(src blob.File, w blob.Writer) error {
			return st.Apply(ctx, src, src.Size(), w)
		}); err != nil {
			return nil, err
		}
		last = next
	}
	// The final file under its stable key.
	if err := e.derive(ctx, last, d.Dest, func(f blob.File, w blob.Writer) error {
		_, err := io.Copy(w, io.NewSectionReader(f, 0, f.Size()))
		return err
	}); err != nil {
		return nil, err
	}
	return cms, nil
}

// derive writes a new file dst from src with fn, committing only if fn succeeds.
func (e *Engine) derive(ctx context.Context, src, dst string, fn func(blob.File, blob.Writer) error) error {
	f, err := e.d.Files.Open(ctx, src)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := e.d.Files.Create(ctx, dst)
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
