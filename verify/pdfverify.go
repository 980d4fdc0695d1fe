package verify

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/pdf"
)

// pdfEntry is a signature or document timestamp being validated.
type pdfEntry struct {
	sig       *Signature
	field     sigField
	subFilter string
	docTS     bool
	br        [4]int
	end       int // end of the byte range
	rev       int // index of the signed revision
	brOK      bool
	contents  []byte // the DER (padding removed), when it parsed
	sd        *cades.SignedData
	so        signerOutcome
	ts        tsOutcome // document timestamps
	sigNum    int       // object number of the signature dictionary
}

func (e *pdfEntry) res() result { return result{e.sig} }

// validatePDF fills rep. It returns an error only when the analysis was cut
// short (budget, deadline) or the input is not a PDF.
func (r *run) validatePDF(ctx context.Context, src source, rep *Report) error {
	r.src = src
	ends, err := src.revisionEnds(ctx)
	if err != nil {
		return err
	}
	f := &pdfFile{ctx: ctx, src: src, ends: ends, docs: map[int]*document{}, errs: map[int]error{}}
	rep.Document.Revisions = len(f.ends)
	fr, err := pdf.Open(ctx, src.r, src.size)
	if err != nil {
		if isAbort(err) {
			return err
		}
		rep.Notes = append(rep.Notes, "the PDF structure cannot be read: "+err.Error())
		return nil
	}
	f.final = fr
	final := newDocument(fr)
	if fr.Repaired() {
		rep.Notes = append(rep.Notes, "the cross-reference table is broken; objects were found by scanning the file")
	}
	if final.trailer.Get("Encrypt") != nil {
		rep.Notes = append(rep.Notes, "the document is encrypted; encrypted objects cannot be compared across revisions")
	}
	rd, pool, err := readDSS(ctx, final)
	if err != nil {
		return err
	}
	rd.ctx = ctx
	rd.online = r.fetcher(ctx)
	certP, certNum := docMDP(final)

	var entries []*pdfEntry
	for _, sf := range final.signatureFields() {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := r.prepareEntry(f, sf)
		if e == nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("signature field %q holds an empty signature placeholder (not signed)", sf.name))
			continue
		}
		if e.sigNum != 0 && e.sigNum == certNum {
			e.sig.DocMDP = certP
		}
		entries = append(entries, e)
	}
	sortEntries(entries)

	// Document timestamps first: they prove the existence of what they cover.
	for _, e := range entries {
		if e.docTS && e.brOK && e.contents != nil {
			r.checkDocTimestamp(e, pool, rd)
		}
	}
	for _, e := range entries {
		if e.docTS || !e.brOK || e.sd == nil {
			continue
		}
		var poe *time.Time
		for _, d := range entries {
			if d.docTS && d.ts.valid && d.end > e.end {
				t := d.ts.ts.Time
				poe = &t
				break
			}
		}
		br := e.br
		digestOf := func(h crypto.Hash) []byte { return src.rangeDigest(ctx, br, h) }
		if e.subFilter == "adbe.pkcs7.sha1" {
			digestOf = func(h crypto.Hash) []byte {
				hh := h.New()
				hh.Write(e.sd.Content)
				return hh.Sum(nil)
			}
		}
		so := checkSigner(e.res(), e.sd, digestOf, pool)
		so.finish(r, e.res(), e.sd, pool, rd, poe)
		e.so = so
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	r.levels(f, entries)
	if err := r.modifications(f, final, entries, certP); err != nil {
		return err
	}
	for _, e := range entries {
		rep.Signatures = append(rep.Signatures, *e.sig)
	}
	return nil
}

func isAbort(err error) bool {
	return errors.Is(err, pdf.ErrLimit) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// prepareEntry checks the signature dictionary and its byte range and
// parses the CMS. It returns nil for an empty placeholder.
func (r *run) prepareEntry(f *pdfFile, sf sigField) *pdfEntry {
	sig := &Signature{Field: sf.name, Kind: KindSignature, Indication: TotalPassed, Level: LevelNone, ModificationsAfterSigning: []Modification{}, Checks: []Check{}}
	e := &pdfEntry{sig: sig, field: sf, sigNum: sf.sigRef.Num}
	res := e.res()
	d := sf.sig
	sub, _ := d.Get("SubFilter").(pdf.Name)
	e.subFilter = string(sub)
	sig.SubFilter = e.subFilter
	if d.Get("Type") == pdf.Name("DocTimeStamp") || sub == "ETSI.RFC3161" {
		e.docTS = true
		sig.Kind = KindDocumentTimestamp
	}
	contents, _ := d.Get("Contents").(pdf.String)
	if isZero(contents.Bytes) {
		return nil
	}
	if s, ok := d.Get("Reason").(pdf.String); ok {
		sig.Reason = s.Text()
	}
	if s, ok := d.Get("Location").(pdf.String); ok {
		sig.Location = s.Text()
	}
	if s, ok := d.Get("M").(pdf.String); ok {
		if t, ok := timeFromPDF(string(s.Bytes)); ok {
			sig.ClaimedSigningTime = &t
		}
	}

	// Byte range: [0 b c d], the gap exactly the /Contents hex string,
	// ending at a revision's %%EOF.
	src := f.src
	arr, _ := d.Get("ByteRange").([]pdf.Object)
	var nums []int
	for _, x := range arr {
		n, ok := x.(int64)
		if !ok || n < 0 || n > src.size+1 {
			nums = nil
			break
		}
		nums = append(nums, int(n))
	}
	switch {
	case len(nums) != 4:
		res.fail("byte-range", TotalFailed, FormatFailure, fmt.Sprintf("/ByteRange must hold 4 non-negative numbers, found %d", len(arr)))
		return e
	case nums[0] != 0:
		res.fail("byte-range", TotalFailed, FormatFailure, "/ByteRange does not start at the beginning of the file")
		return e
	case nums[1] <= 0 || nums[2] < nums[1] || int64(nums[2])+int64(nums[3]) > src.size:
		res.fail("byte-range", TotalFailed, FormatFailure, "/ByteRange overlaps itself or goes past the end of the file")
		return e
	}
	copy(e.br[:], nums)
	e.end = nums[2] + nums[3]
	if int64(nums[1]) >= src.size || src.byteAt(int64(nums[1])) != '<' {
		res.fail("byte-range", TotalFailed, FormatFailure, "the byte range gap does not start at the /Contents string")
		return e
	}
	hs, gapEnd, err := pdf.HexStringAt(src.r, src.size, int64(nums[1]))
	if err != nil || gapEnd != int64(nums[2]) || !bytesEqual(hs, contents.Bytes) {
		res.fail("byte-range", TotalFailed, FormatFailure, "the byte range gap is not exactly the /Contents string")
		return e
	}
	rev, ok := f.revisionOf(e.end)
	if !ok {
		res.fail("byte-range", TotalFailed, FormatFailure, "the byte range does not end at a revision's %%EOF")
		return e
	}
	e.rev = rev
	sig.Revision = rev + 1
	// The signed revision must hold this signature dictionary with the
	// same byte range and contents.
	sdoc, err := f.doc(rev)
	if err != nil {
		res.fail("byte-range", Indeterminate, FormatFailure, "the signed revision cannot be read: "+err.Error())
		return e
	}
	var signedDict *pdf.Dict
	if !sf.direct {
		signedDict = sdoc.dict(sf.sigRef)
	} else if sf.fieldNum != 0 {
		signedDict = sdoc.dict(sdoc.dict(pdf.Ref{Num: sf.fieldNum}).Get("V"))
	}
	if signedDict == nil || !pdf.Equal(signedDict.Get("ByteRange"), d.Get("ByteRange")) {
		res.fail("byte-range", TotalFailed, FormatFailure, "the signed revision does not hold this signature dictionary")
		return e
	}
	if sc, _ := signedDict.Get("Contents").(pdf.String); !bytesEqual(sc.Bytes, contents.Bytes) {
		res.fail("byte-range", TotalFailed, FormatFailure, "the signature's /Contents differs from the signed revision's")
		return e
	}
	e.brOK = true
	res.check("byte-range", true, fmt.Sprintf("covers revision %d except the /Contents string", rev+1))

	der, ber, err := signatureBytes(contents.Bytes)
	if err != nil {
		res.fail("cms-structure", TotalFailed, FormatFailure, "the signature is not one DER element: "+err.Error())
		return e
	}
	if ber {
		res.check("cms-encoding", true, "the CMS uses BER lengths; read as DER (the signed attributes are unchanged)")
	}
	e.contents = der
	switch e.subFilter {
	case "ETSI.CAdES.detached", "adbe.pkcs7.detached", "adbe.pkcs7.sha1":
	case "ETSI.RFC3161":
		return e
	case "":
		res.fail("sub-filter", TotalFailed, FormatFailure, "the signature dictionary has no /SubFilter")
		return e
	default:
		res.fail("sub-filter", Indeterminate, SignedDataNotFound, "signature format "+e.subFilter+" is not supported")
		return e
	}
	sd, err := cades.Parse(der)
	if errors.Is(err, cades.ErrUnsupportedAlgorithm) {
		res.fail("cms-structure", Indeterminate, CryptoConstraintsFailure, "a certificate's key cannot be checked here: "+err.Error())
		return e
	}
	if err != nil {
		res.fail("cms-structure", TotalFailed, FormatFailure, "the CMS does not parse (strict DER): "+err.Error())
		return e
	}
	if e.subFilter == "adbe.pkcs7.sha1" {
		if sd.Content == nil {
			res.fail("detached", TotalFailed, FormatFailure, "adbe.pkcs7.sha1 needs the SHA-1 digest as encapsulated content")
			return e
		}
		want := src.rangeDigest(f.ctx, e.br, crypto.SHA1)
		if !bytesEqual(encapsulatedOctets(sd.Content), want) {
			res.fail("message-digest", TotalFailed, HashFailure, "the encapsulated SHA-1 digest does not match the signed bytes")
			return e
		}
	} else if sd.Content != nil {
		res.fail("detached", TotalFailed, FormatFailure, "the CMS encapsulates content although "+e.subFilter+" is detached")
		return e
	}
	res.check("cms-structure", true, "strict DER SignedData")
	e.sd = sd
	return e
}

// signatureBytes returns the DER signature in a /Contents value: one DER
// element followed by zero padding, or a BER element re-encoded as DER.
func signatureBytes(b []byte) ([]byte, bool, error) {
	der, err := trimDER(b)
	if err == nil {
		return der, false, nil
	}
	norm, n, berr := berToDER(b)
	if berr != nil || !isZero(b[n:]) {
		return nil, false, err
	}
	return norm, true, nil
}

// encapsulatedOctets returns the eContent bytes; some producers wrap the
// digest in a further OCTET STRING.
func encapsulatedOctets(c []byte) []byte {
	if len(c) == 22 && c[0] == 0x04 && c[1] == 20 {
		return c[2:]
	}
	return c
}

// checkDocTimestamp validates a document timestamp entry.
func (r *run) checkDocTimestamp(e *pdfEntry, pool []*x509.Certificate, rd *revocationData) {
	res := e.res()
	o := r.checkTimestamp(e.contents, func(h crypto.Hash) []byte { return r.src.rangeDigest(r.ctx, e.br, h) }, pool)
	e.ts = o
	if o.cert != nil {
		e.sig.Signer = describe(o.cert)
	}
	if o.tok != nil {
		t := o.ts.Time
		e.sig.SigningTime = &t
		e.sig.DigestAlgorithm = hashName(o.tok.Hash, "")
		if len(o.tok.SignedData.Signers) == 1 {
			e.sig.SignatureAlgorithm = sigAlgName(o.tok.SignedData.Signers[0].SignatureAlgorithm.Algorithm.String())
		}
	}
	if !o.valid {
		res.fail("document-timestamp", o.ind, o.sub, o.ts.Detail)
		return
	}
	res.check("document-timestamp", true, "timestamp of "+o.ts.Time.Format(time.RFC3339)+" by "+o.cert.Subject.CommonName+" verifies and chains to a trust anchor")
	if o.tok.SignedData != nil {
		rd.addCMS(o.tok.SignedData)
	}
	at := r.opts.At
	if at.IsZero() {
		at = o.ts.Time
	}
	checkRevocation(res, "tsa", o.chain, rd, at)
}

// maxDSSEntries caps the entries read from each array of the /DSS (/Certs,
// /OCSPs, /CRLs): a document extended a hundred times holds a few hundred,
// and every entry costs a decode and, for each certificate checked, a
// parse and a signature check.
const maxDSSEntries = 2000

// readDSS returns the revocation data and certificates of the /DSS. An
// entry listed again (the same object, or the same bytes) is read once;
// entries past maxDSSEntries are ignored (and reported by the checks that
// miss them). It returns an error only when the budget or ctx ends it.
func readDSS(ctx context.Context, d *document) (*revocationData, []*x509.Certificate, error) {
	rd := &revocationData{}
	var pool []*x509.Certificate
	dss := d.dict(d.catalog().Get("DSS"))
	if dss == nil {
		return rd, nil, nil
	}
	seen := map[pdf.Ref]bool{}
	have := map[[32]byte]bool{}
	streams := func(key pdf.Name) ([][]byte, error) {
		arr, _ := d.get(dss.Get(key)).([]pdf.Object)
		var out [][]byte
		for i, x := range arr {
			if i >= maxDSSEntries {
				break
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if r, ok := x.(pdf.Ref); ok {
				if seen[r] {
					continue
				}
				seen[r] = true
			}
			o, err := d.r.Resolve(x)
			if isAbort(err) {
				return nil, err
			}
			s, ok := o.(*pdf.Stream)
			if !ok {
				continue
			}
			b, err := d.r.Decode(s)
			if isAbort(err) {
				return nil, err
			}
			if err != nil || have[sha256.Sum256(b)] {
				continue
			}
			have[sha256.Sum256(b)] = true
			out = append(out, b)
		}
		return out, nil
	}
	certs, err := streams("Certs")
	if err != nil {
		return nil, nil, err
	}
	for _, b := range certs {
		if c, err := cades.ParseCertificate(b); err == nil {
			pool = append(pool, c)
		}
	}
	if rd.ocsp, err = streams("OCSPs"); err != nil {
		return nil, nil, err
	}
	if rd.crls, err = streams("CRLs"); err != nil {
		return nil, nil, err
	}
	rd.dssOCSP, rd.dssCRL = len(rd.ocsp), len(rd.crls)
	return rd, pool, nil
}

// docMDP returns the DocMDP permission (1-3) and the certification
// signature's object number, or zeros.
func docMDP(d *document) (int, int) {
	perms := d.dict(d.catalog().Get("Perms"))
	if perms == nil {
		return 0, 0
	}
	ref, ok := perms.Get("DocMDP").(pdf.Ref)
	if !ok {
		return 0, 0
	}
	sig := d.dict(ref)
	p := 2
	refs, _ := d.get(sig.Get("Reference")).([]pdf.Object)
	for _, x := range refs {
		rd := d.dict(x)
		if rd.Get("TransformMethod") != pdf.Name("DocMDP") {
			continue
		}
		if v, ok := d.get(d.dict(rd.Get("TransformParams")).Get("P")).(int64); ok && v >= 1 && v <= 3 {
			p = int(v)
		}
	}
	return p, ref.Num
}

// levels sets the PAdES baseline level of each signature.
func (r *run) levels(f *pdfFile, entries []*pdfEntry) {
	for _, e := range entries {
		if e.docTS || e.sd == nil || !e.so.ok {
			continue
		}
		si := e.so.si
		if e.subFilter != "ETSI.CAdES.detached" || si.SignedAttrsRaw == nil || !hasSigningCert(si) {
			e.sig.Level = LevelNone
			continue
		}
		level := LevelB
		tsOK := e.so.tso != nil && e.so.tso.valid
		for _, d := range entries {
			if d.docTS && d.ts.valid && d.end > e.end {
				tsOK = true
			}
		}
		if tsOK {
			level = LevelT
			if e.so.chainOK && e.so.revocation.found && e.so.revocation.fromDSS {
				level = LevelLT
				for _, d := range entries {
					if !d.docTS || !d.ts.valid || d.end <= e.end {
						continue
					}
					if doc, err := f.doc(d.rev); err == nil && doc.dict(doc.catalog().Get("DSS")) != nil {
						level = LevelLTA
					}
				}
			}
		}
		e.sig.Level = level
	}
}

func hasSigningCert(si *cades.SignerInfo) bool {
	if len(si.SigningCertificateV2) > 0 {
		return true
	}
	for _, a := range si.SignedAttrs {
		if a.Type.Equal(cades.OIDAttrSigningCertificate) {
			return true
		}
	}
	return false
}
