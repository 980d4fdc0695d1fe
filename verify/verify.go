package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/tsl"
)

// Sentinel errors callers branch on.
var (
	// ErrNotPDF reports input that is not a PDF at all (exit code 2).
	ErrNotPDF = errors.New("verify: not a PDF")
	// ErrInvalidInput reports a hash-mode input that cannot be validated
	// (no signature, neither data nor digest, a digest of the wrong size).
	ErrInvalidInput = errors.New("verify: invalid input")
)

// DefaultTimeout bounds one validation: the contract promises an answer
// within 10 s per file, so the work stops a little before.
const DefaultTimeout = 8 * time.Second

// Options configure a Validator.
type Options struct {
	// Anchors are the trusted root certificates.
	Anchors []*x509.Certificate
	// At, when set, is the validation time for every certificate check;
	// otherwise a valid timestamp's time is used, else Now.
	At time.Time
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Timeout bounds one validation; DefaultTimeout when zero.
	Timeout time.Duration
	// Online allows asking issuers (OCSP, then CRL) about certificates the document
	// carries no revocation data for. Off by default: validation is offline.
	Online bool
	// HTTPClient makes those requests; nil uses a client with a 3 s timeout.
	HTTPClient *http.Client
	// TrustedLists, when set, add the CA/QC services granted at the
	// validation time as trust anchors, and decide signer.qualified for the
	// certificates they cover (with their qualifiers).
	TrustedLists *tsl.Set
}

// Validator validates signed PDFs and detached CMS signatures. It holds no
// mutable state and is safe for concurrent use.
type Validator struct {
	opts Options
}

// New returns a Validator.
func New(opts Options) *Validator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Validator{opts: opts}
}

// LoadAnchors reads PEM certificates from the given files.
func LoadAnchors(paths ...string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("verify: trust anchors: %w", err)
		}
		certs, err := cades.ParsePEMCertificates(b)
		if err != nil {
			return nil, fmt.Errorf("verify: trust anchors in %s: %w", p, err)
		}
		out = append(out, certs...)
	}
	return out, nil
}

// run is the state of one validation.
type run struct {
	opts Options
	now  time.Time
	ctx  context.Context
	src  source
}

func (v *Validator) newRun() *run {
	return &run{opts: v.opts, now: v.opts.Now()}
}

// IsPDF reports whether data starts like a PDF (%PDF- within the first KiB,
// as viewers accept).
func IsPDF(data []byte) bool {
	head := data
	if len(head) > 1024 {
		head = head[:1024]
	}
	return bytes.Contains(head, []byte("%PDF-"))
}

// workerGrace is how long an answer given at the deadline waits for the
// validation's worker to stop: it looks at the context between every few
// object reads and every MiB decoded, so it stops in milliseconds; the
// wait makes sure no work goes on once the answer is out.
const workerGrace = 2 * time.Second

// ValidatePDF validates every signature and document timestamp of a PDF
// held in memory; see ValidatePDFAt.
func (v *Validator) ValidatePDF(ctx context.Context, data []byte) (*Report, error) {
	return v.ValidatePDFAt(ctx, bytes.NewReader(data), int64(len(data)))
}

// ValidatePDFAt validates every signature and document timestamp of the
// PDF of size bytes that r reads (a file: it is never loaded whole). It
// returns ErrNotPDF for input that is not a PDF. A document too complex or
// too slow to analyse gets an INDETERMINATE report, not an error. The work
// stops when ctx ends or the timeout passes, and ValidatePDFAt returns only
// once it has stopped (or workerGrace later).
func (v *Validator) ValidatePDFAt(ctx context.Context, r io.ReaderAt, size int64) (*Report, error) {
	src := source{r: r, size: size}
	if !IsPDF(src.at(0, 1024)) {
		return nil, ErrNotPDF
	}
	ctx, cancel := context.WithTimeout(ctx, v.opts.Timeout)
	defer cancel()
	run := v.newRun()
	run.ctx = ctx
	rep := &Report{ValidationTime: run.now.UTC(), Signatures: []Signature{}}
	h := sha256.New()
	if err := src.scan(ctx, 0, size, func(b []byte) bool { h.Write(b); return true }); err != nil {
		if ctx.Err() != nil {
			return incomplete(rep, err), nil
		}
		return nil, fmt.Errorf("verify: reading the document: %w", err)
	}
	rep.Document = DocumentInfo{Size: int(size), SHA256: hex.EncodeToString(h.Sum(nil))}

	vt, docInfo := rep.ValidationTime, rep.Document // the worker owns rep
	type outcome struct {
		rep *Report
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("verify: internal error: %v", p)}
			}
		}()
		err := run.validatePDF(ctx, src, rep)
		done <- outcome{rep: rep, err: err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			if errors.Is(o.err, ErrNotPDF) {
				return nil, o.err
			}
			return incomplete(rep, o.err), nil
		}
		o.rep.summarize()
		return o.rep, nil
	case <-ctx.Done():
		// The worker stops at its next look at the context; its report is
		// not used.
		select {
		case <-done:
		case <-time.After(workerGrace):
		}
		return incomplete(&Report{ValidationTime: vt, Document: docInfo, Signatures: []Signature{}}, ctx.Err()), nil
	}
}

// incomplete turns a validation that could not finish into an
// INDETERMINATE report.
func incomplete(rep *Report, err error) *Report {
	detail := "the document could not be fully analysed: " + err.Error()
	if errors.Is(err, context.DeadlineExceeded) {
		detail = "the document could not be analysed in the time allowed"
	}
	out := &Report{ValidationTime: rep.ValidationTime, Document: rep.Document, Signatures: []Signature{}}
	out.Notes = append(rep.Notes, detail)
	out.Indication, out.SubIndication = Indeterminate, Generic
	return out
}

// CMSInput is a detached CMS signature with the data it signs, or its digest.
type CMSInput struct {
	// Signature is the DER CMS ContentInfo.
	Signature []byte
	// Data is the signed content; nil when Digest or DataDigests is given.
	Data []byte
	// DataDigests are the signed content's digests under several algorithms,
	// for a caller that hashed the content as it streamed by rather than hold
	// it (the validation API): the signature's own algorithm is looked up here.
	DataDigests map[crypto.Hash][]byte
	// Digest is the content's digest with DigestAlgorithm (hash mode).
	Digest          []byte
	DigestAlgorithm crypto.Hash
}

// ValidateCMS validates a detached CMS signature over in.Data or in.Digest.
func (v *Validator) ValidateCMS(ctx context.Context, in CMSInput) (*Report, error) {
	if len(in.Signature) == 0 {
		return nil, fmt.Errorf("%w: no signature", ErrInvalidInput)
	}
	if in.Data == nil && in.DataDigests == nil && in.Digest == nil {
		return nil, fmt.Errorf("%w: neither data nor digest", ErrInvalidInput)
	}
	if in.Digest != nil && (in.DigestAlgorithm == 0 || !in.DigestAlgorithm.Available() || len(in.Digest) != in.DigestAlgorithm.Size()) {
		return nil, fmt.Errorf("%w: digest length does not match its algorithm", ErrInvalidInput)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := v.newRun()
	rep := &Report{ValidationTime: r.now.UTC(), Signatures: []Signature{}}
	sum := sha256.Sum256(in.Signature)
	rep.Document = DocumentInfo{Size: len(in.Signature), SHA256: hex.EncodeToString(sum[:])}
	sig := Signature{Kind: KindCMS, Indication: TotalPassed, Level: LevelNone, ModificationsAfterSigning: []Modification{}}
	res := result{&sig}
	digestOf := func(h crypto.Hash) []byte {
		if in.Data != nil {
			hh := h.New()
			hh.Write(in.Data)
			return hh.Sum(nil)
		}
		if in.DataDigests != nil {
			return in.DataDigests[h]
		}
		if h == in.DigestAlgorithm {
			return in.Digest
		}
		return nil
	}
	sd, err := cades.Parse(in.Signature)
	switch {
	case errors.Is(err, cades.ErrUnsupportedAlgorithm):
		res.fail("cms-structure", Indeterminate, CryptoConstraintsFailure, "a certificate's key cannot be checked here: "+err.Error())
	case err != nil:
		res.fail("cms-structure", TotalFailed, FormatFailure, "the CMS does not parse (strict DER): "+err.Error())
	case sd.Content != nil:
		res.fail("detached", TotalFailed, FormatFailure, "the CMS encapsulates content; a detached signature was expected")
	default:
		res.check("cms-structure", true, "strict DER SignedData, detached")
		if in.Data == nil && in.DataDigests == nil && len(sd.Signers) == 1 && sd.Signers[0].Hash != in.DigestAlgorithm {
			res.fail("digest-algorithm", Indeterminate, SignedDataNotFound,
				fmt.Sprintf("the signature uses %s; the digest given is %s", hashName(sd.Signers[0].Hash, "?"), hashName(in.DigestAlgorithm, "?")))
			break
		}
		rd := &revocationData{online: r.fetcher(ctx)}
		rd.addCMS(sd)
		r.finishSigner(res, sd, digestOf, nil, rd, nil)
		if len(sd.Signers) == 1 && len(sd.Signers[0].SigningCertificateV2) > 0 {
			sig.Level = Level("CAdES-BASELINE-B")
			if sig.Timestamp != nil && sig.Timestamp.Valid {
				sig.Level = Level("CAdES-BASELINE-T")
			}
		}
	}
	rep.Signatures = append(rep.Signatures, sig)
	rep.summarize()
	return rep, nil
}

// finishSigner checks the SignerInfo, its timestamp, chain, revocation and
// qualified status. It returns the outcome and the signature timestamp's.
func (r *run) finishSigner(res result, sd *cades.SignedData, digestOf func(crypto.Hash) []byte, pool []*x509.Certificate, rd *revocationData, laterPOE *time.Time) (signerOutcome, *tsOutcome) {
	so := checkSigner(res, sd, digestOf, pool)
	so.finish(r, res, sd, pool, rd, laterPOE)
	return so, so.tso
}

func (so *signerOutcome) finish(r *run, res result, sd *cades.SignedData, pool []*x509.Certificate, rd *revocationData, laterPOE *time.Time) {
	if so.si == nil {
		return
	}
	if !so.si.SigningTime.IsZero() && res.sig.ClaimedSigningTime == nil {
		t := so.si.SigningTime.UTC()
		res.sig.ClaimedSigningTime = &t
	}
	var tso *tsOutcome
	if len(so.si.SignatureTimestamps) > 0 {
		sigValue := so.si.Signature
		o := r.checkTimestamp(so.si.SignatureTimestamps[0], func(h crypto.Hash) []byte {
			hh := h.New()
			hh.Write(sigValue)
			return hh.Sum(nil)
		}, append(append([]*x509.Certificate(nil), sd.Certificates...), pool...))
		tso = &o
		so.tso = tso
		res.sig.Timestamp = o.ts
		if o.valid {
			res.check("signature-timestamp", true, "timestamp of "+o.ts.Time.Format(time.RFC3339)+" by "+o.cert.Subject.CommonName+" verifies")
			if o.tok != nil && o.tok.SignedData != nil {
				rd.addCMS(o.tok.SignedData)
			}
		} else {
			// A bad signature timestamp does not by itself fail the signature;
			// it is reported, and the signature is then not proven at that time.
			res.check("signature-timestamp", false, o.ts.Detail)
			if o.ind == TotalFailed {
				res.set(Indeterminate, SigConstraintsFailure)
			}
		}
	}
	if so.cert == nil || !so.ok {
		return
	}
	// The best-proven time: the timestamp's, or a later document timestamp's.
	at := r.opts.At
	switch {
	case !at.IsZero():
	case tso != nil && tso.valid:
		at = tso.ts.Time
	case laterPOE != nil:
		at = *laterPOE
	default:
		at = r.now
	}
	t := at.UTC()
	if tso != nil && tso.valid {
		tt := tso.ts.Time
		res.sig.SigningTime = &tt
	} else if res.sig.ClaimedSigningTime != nil {
		res.sig.SigningTime = res.sig.ClaimedSigningTime
	}
	chainPool := append(append([]*x509.Certificate(nil), sd.Certificates...), pool...)
	anchors := r.opts.Anchors
	if tl := r.opts.TrustedLists.AnchorsAt(t); len(tl) > 0 {
		anchors = append(append([]*x509.Certificate(nil), anchors...), tl...)
	}
	cr := buildChain(so.cert, anchors, chainPool, t)
	if cr.ind != TotalPassed {
		res.fail("certificate-chain", cr.ind, cr.sub, cr.detail)
		return
	}
	res.check("certificate-chain", true, cr.detail)
	f := r.opts.TrustedLists.Qualify(so.cert, cr.chain, qcStatementsOf(so.cert), t)
	if f != nil {
		res.sig.Signer.Qualified = f.QualifiedESig()
		res.sig.Signer.TrustedList = &TrustedListGrant{
			List: f.List, Territory: f.Territory, SequenceNumber: f.Sequence,
			Provider: f.Provider, Service: f.Service, Status: f.Status, StatusSince: f.Since.UTC(),
			Qualifiers: f.Qualifiers,
		}
	}
	so.chainOK = true
	so.revocation = checkRevocation(res, "signer", cr.chain, rd, t)
	if tso != nil && tso.valid && len(tso.chain) > 0 {
		checkRevocation(res, "tsa", tso.chain, rd, t)
	}
	switch {
	case f != nil && res.sig.Signer.Qualified:
		res.check("qualified", true, fmt.Sprintf("qualified certificate for electronic signatures with its key in a QSCD, per the %s trusted list (%s, sequence %d): service %q of %s, %s since %s; qualifiers %s",
			f.Territory, f.List, f.Sequence, f.Service, f.Provider, path.Base(f.Status), f.Since.UTC().Format(time.RFC3339), strings.Join(f.Qualifiers, ", ")))
	case f != nil:
		res.check("qualified", false, fmt.Sprintf("the %s trusted list (%s) covers the issuer, service %q (%s at %s), but not as a qualified certificate for electronic signatures in a QSCD (qualifiers: %s)",
			f.Territory, f.List, f.Service, path.Base(f.Status), t.Format(time.RFC3339), strings.Join(f.Qualifiers, ", ")))
	case res.sig.Signer.Qualified:
		res.check("qualified", true, "qualified certificate for electronic signatures, key in a QSCD (qcStatements and policy)")
	default:
		res.check("qualified", false, "not a qualified certificate (qcStatements QcCompliance, QcSSCD, QcType-esign and a qualified policy are needed)")
	}
}

// sortEntries orders entries by the end of their byte range.
func sortEntries(entries []*pdfEntry) {
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].end < entries[j].end })
}
