package csc

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"

	"github.com/paraphe/paraphe/signer"
)

// SignHashRequest is signatures/signHash (v2 names; v1's hash and hashAlgo map here).
type SignHashRequest struct {
	CredentialID     string
	SAD              string
	Hashes           []string
	HashAlgorithmOID string
	SignAlgo         string
	Async            bool // operationMode "A"
}

// authorizationFor finds the authorization a signing call consumes: the SAD's, or the
// credential-scoped token's.
func (s *Service) authorizationFor(ctx context.Context, p *Principal, credentialID, sad string) (string, error) {
	if credentialID == "" {
		return "", missingParam("credentialID")
	}
	if strings.HasPrefix(sad, accessPrefix) {
		// CSC 2.0.0.2 lets older clients pass a credential-scoped access token as the SAD.
		t, err := s.live(ctx, sad, KindAccess)
		if err != nil || t.Scope != ScopeCredential || t.ClientID != p.ClientID {
			if err != nil && !errors.Is(err, ErrTokenNotFound) {
				return "", err
			}
			return "", invalidRequest("Invalid parameter SAD: not a live credential-scoped access token of this client")
		}
		if t.CredentialID != credentialID {
			return "", invalidRequest("Invalid parameter SAD: it does not authorize this credential")
		}
		return t.RequestID, nil
	}
	if sad != "" {
		t, err := s.sad(ctx, p, credentialID, sad)
		if err != nil {
			return "", err
		}
		return t.RequestID, nil
	}
	if p.Scope == ScopeCredential {
		if p.CredentialID != credentialID {
			return "", invalidRequest("Invalid parameter credentialID: the access token authorizes another credential")
		}
		return p.RequestID, nil
	}
	return "", missingParam("SAD")
}

// SignHash serves signatures/signHash: raw signature values over hashes the
// authorization covers, in order. With Async it returns a responseID at once.
func (s *Service) SignHash(ctx context.Context, p *Principal, in SignHashRequest) (sigs []string, responseID string, err error) {
	reqID, err := s.authorizationFor(ctx, p, in.CredentialID, in.SAD)
	if err != nil {
		return nil, "", err
	}
	if in.SignAlgo == "" {
		return nil, "", missingParam("signAlgo")
	}
	c, err := s.credential(ctx, in.CredentialID)
	if err != nil {
		return nil, "", err
	}
	h, e := signHashFor(c.Cert, in.SignAlgo, in.HashAlgorithmOID)
	if e != nil {
		return nil, "", e
	}
	digests, e := decodeHashes(in.Hashes, h.Size(), "hashes")
	if e != nil {
		return nil, "", e
	}
	if len(digests) > s.cfg.Multisign {
		return nil, "", invalidRequest("Invalid parameter hashes: at most %d (multisign)", s.cfg.Multisign)
	}
	ci := signer.ConsumeInput{IntegratorID: p.ClientID, RequestID: reqID, CertificateSerial: c.ID, Hash: h, Digests: digests}
	if in.Async {
		id, err := s.runAsync(ctx, p, reqID, func(ctx context.Context) (asyncResult, error) {
			sigs, err := s.consumeRaw(ctx, ci)
			return asyncResult{Signatures: sigs}, err
		})
		return nil, id, err
	}
	sigs, err = s.consumeRaw(ctx, ci)
	return sigs, "", err
}

func (s *Service) consumeRaw(ctx context.Context, ci signer.ConsumeInput) ([]string, error) {
	raw, err := s.Requests.Consume(ctx, ci, signer.RawSignatures)
	if err != nil {
		return nil, consumeError(err)
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		out[i] = base64.StdEncoding.EncodeToString(r)
	}
	return out, nil
}

// consumeError maps the workflow's refusals to CSC errors; others stay internal.
func consumeError(err error) error {
	switch {
	case errors.Is(err, signer.ErrNotCovered):
		return invalidRequest("Invalid parameter hashes: a hash is not covered by the authorization, or was already signed")
	case errors.Is(err, signer.ErrNotAuthorized), errors.Is(err, signer.ErrNotFound):
		return invalidRequest("Invalid parameter SAD: its authorization is used up, expired or ended")
	case errors.Is(err, signer.ErrWrongCertificate):
		return invalidParam("credentialID")
	case errors.Is(err, signer.ErrSignerInactive):
		return invalidRequest("The credential's key is disabled (signer blocked, locked or re-activated)")
	case errors.Is(err, signer.ErrInvalid), errors.Is(err, signer.ErrNotPDF), errors.Is(err, signer.ErrUnsignable):
		return invalidRequest("%s", err.Error())
	}
	return err
}

// asyncResult is what an asynchronous signHash or signDoc stores for signPolling.
type asyncResult struct {
	Done bool `json:"done"`
	// Doc marks a signDoc's result (DocumentWithSignature and SignatureObject).
	Doc                   bool     `json:"doc,omitempty"`
	Signatures            []string `json:"signatures,omitempty"`
	DocumentWithSignature []string `json:"documentWithSignature,omitempty"`
	SignatureObject       []string `json:"signatureObject,omitempty"`
	Error                 string   `json:"error,omitempty"`
	Description           string   `json:"errorDescription,omitempty"`
}

// PollResult is a finished asynchronous call: a signHash's signatures, or (Doc) a
// signDoc's signed documents and signature objects.
type PollResult struct {
	Doc                   bool
	Signatures            []string
	DocumentWithSignature []string
	SignatureObject       []string
}

// runAsync answers an operationMode "A" call: it issues the responseID at once, and
// work runs detached from the caller (bounded by SignTimeout) and stores its result
// under that responseID for signPolling.
func (s *Service) runAsync(ctx context.Context, p *Principal, requestID string, work func(context.Context) (asyncResult, error)) (string, error) {
	d, _ := json.Marshal(asyncResult{})
	id, err := s.issue(ctx, "csc_resp_", Token{Kind: KindResponse, ClientID: p.ClientID, RequestID: requestID, Data: string(d)},
		s.cfg.AccessTTL)
	if err != nil {
		return "", err
	}
	hash := hashSecret(id)
	go func() {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SignTimeout)
		defer cancel()
		res, err := work(bctx)
		var ce *Error
		switch {
		case err == nil:
		case errors.As(err, &ce):
			res = asyncResult{Error: ce.Code, Description: ce.Description}
		default:
			s.Log.Error("asynchronous signature failed", "requestId", requestID, "err", err)
			res = asyncResult{Error: CodeServerError, Description: "signing failed"}
		}
		res.Done = true
		b, _ := json.Marshal(res)
		if err := s.Store.SetTokenData(bctx, hash, string(b)); err != nil {
			s.Log.Error("asynchronous signature result not stored", "requestId", requestID, "err", err)
		}
	}()
	return id, nil
}

// SignPolling serves signatures/signPolling: pending (nil, nil), or the result of an
// asynchronous signHash or signDoc of the same client.
func (s *Service) SignPolling(ctx context.Context, p *Principal, responseID string) (*PollResult, error) {
	if responseID == "" {
		return nil, missingParam("responseID")
	}
	t, err := s.live(ctx, responseID, KindResponse)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, invalidParam("responseID")
	}
	if err != nil {
		return nil, err
	}
	if t.ClientID != p.ClientID {
		return nil, invalidParam("responseID")
	}
	var r asyncResult
	if err := json.Unmarshal([]byte(t.Data), &r); err != nil {
		return nil, fmt.Errorf("csc: response data: %w", err)
	}
	if !r.Done {
		// The replica that took the call died before storing a result: the hashes it had
		// reserved stay used (never signed twice), and the client is told.
		if s.Now().After(t.CreatedAt.Add(2 * s.cfg.SignTimeout)) {
			return nil, &Error{Status: http.StatusInternalServerError, Code: CodeServerError,
				Description: "The asynchronous signature was interrupted; ask the signer again"}
		}
		return nil, nil
	}
	if r.Error != "" {
		st := http.StatusBadRequest
		if r.Error == CodeServerError {
			st = http.StatusInternalServerError
		}
		return nil, &Error{Status: st, Code: r.Error, Description: r.Description}
	}
	return &PollResult{Doc: r.Doc, Signatures: r.Signatures, DocumentWithSignature: r.DocumentWithSignature,
		SignatureObject: r.SignatureObject}, nil
}

// SignDocItem is one document of signatures/signDoc.
type SignDocItem struct {
	Document         string // base64 PDF
	SignatureFormat  string // "P" (PAdES) only
	ConformanceLevel string // Ades-B-B, Ades-B-T, Ades-B-LT, Ades-B-LTA
	SignAlgo         string
}

// SignDocDigests is one documentDigests entry of signatures/signDoc: digests of signed
// data representations the client holds (for PAdES, of a PDF's byte range), each of
// which gets a detached CMS the client embeds itself.
type SignDocDigests struct {
	Hashes           []string // base64 (either alphabet)
	HashAlgorithmOID string   // may be left out when signAlgo names the hash
	SignatureFormat  string   // "P" (the CMS of a PAdES signature) or "C" (detached CAdES)
	ConformanceLevel string   // Ades-B-B or Ades-B-T
	SignAlgo         string
}

// SignDocRequest is signatures/signDoc: documents, documentDigests, or both.
type SignDocRequest struct {
	CredentialID    string
	SAD             string
	Documents       []SignDocItem
	DocumentDigests []SignDocDigests
	Async           bool // operationMode "A"
}

// SignDocResult is the answer of signatures/signDoc: the signed PDFs in the order of
// the documents, and the detached signatures in the order of the documentDigests'
// hashes.
type SignDocResult struct {
	DocumentWithSignature []string
	SignatureObject       []string
}

var levels = map[string]signer.Level{"Ades-B-B": signer.LevelBB, "Ades-B-T": signer.LevelBT, "Ades-B-LT": signer.LevelBLT,
	"Ades-B-LTA": signer.LevelBLTA, "AdES-B-B": signer.LevelBB, "AdES-B-T": signer.LevelBT, "AdES-B-LT": signer.LevelBLT,
	"AdES-B-LTA": signer.LevelBLTA}

// maxDocument bounds one signDoc document: the JSON body limit of the CSC routes decides
// first; this is the decoded size check.
const maxDocument = 50_000_000

// docJob is one signature signDoc makes, in the order of the digests it consumes: a
// whole PDF (pdf set) or a detached CMS over a digest.
type docJob struct {
	pdf    []byte
	level  signer.Level
	pades  bool // a digest's CMS for a PAdES signature: no signing-time attribute
	digest []byte
}

// SignDoc serves signatures/signDoc: PAdES signatures of whole PDFs whose SHA-256 the
// authorization covers, through PDF mode's own path, and detached CMS signatures over
// documentDigests the authorization covers. Every signature of the call is consumed in
// one reservation: all are made or none. With Async the request is checked, then the
// signatures are made after the answer, which is the responseID for signPolling.
func (s *Service) SignDoc(ctx context.Context, p *Principal, in SignDocRequest) (*SignDocResult, string, error) {
	reqID, err := s.authorizationFor(ctx, p, in.CredentialID, in.SAD)
	if err != nil {
		return nil, "", err
	}
	if len(in.Documents) == 0 && len(in.DocumentDigests) == 0 {
		return nil, "", missingParam("documents or documentDigests")
	}
	c, err := s.credential(ctx, in.CredentialID)
	if err != nil {
		return nil, "", err
	}
	jobs, hash, e := s.docJobs(c, in)
	if e != nil {
		return nil, "", e
	}
	if len(jobs) > s.cfg.Multisign {
		return nil, "", invalidRequest("Invalid parameter documentDigests: at most %d signatures in one call (multisign)", s.cfg.Multisign)
	}
	ci := signer.ConsumeInput{IntegratorID: p.ClientID, RequestID: reqID, CertificateSerial: c.ID, Hash: hash}
	for _, j := range jobs {
		ci.Digests = append(ci.Digests, j.digest)
	}
	if in.Async {
		id, err := s.runAsync(ctx, p, reqID, func(ctx context.Context) (asyncResult, error) {
			out, err := s.signDoc(ctx, ci, jobs)
			if err != nil {
				return asyncResult{}, err
			}
			return asyncResult{Doc: true, DocumentWithSignature: out.DocumentWithSignature, SignatureObject: out.SignatureObject}, nil
		})
		return nil, id, err
	}
	out, err := s.signDoc(ctx, ci, jobs)
	return out, "", err
}

// signDoc consumes the authorization for the jobs' digests and makes their signatures.
func (s *Service) signDoc(ctx context.Context, ci signer.ConsumeInput, jobs []docJob) (*SignDocResult, error) {
	var signed [][]byte
	_, err := s.Requests.Consume(ctx, ci,
		func(ctx context.Context, key crypto.Signer, cert *x509.Certificate, _ []signer.Document) ([][]byte, error) {
			signed = make([][]byte, len(jobs))
			return s.signDocJobs(ctx, key, cert, ci.Hash, jobs, signed)
		})
	if err != nil {
		return nil, consumeError(err)
	}
	out := &SignDocResult{}
	for i, j := range jobs {
		if j.pdf != nil {
			out.DocumentWithSignature = append(out.DocumentWithSignature, base64.StdEncoding.EncodeToString(signed[i]))
		} else {
			out.SignatureObject = append(out.SignatureObject, base64.StdEncoding.EncodeToString(signed[i]))
		}
	}
	return out, nil
}

// docJobs checks a signDoc request and lists its signatures: the documents first, then
// the hashes of documentDigests in order. Every digest must be of one hash algorithm,
// the authorization's.
func (s *Service) docJobs(c *credential, in SignDocRequest) ([]docJob, crypto.Hash, *Error) {
	var (
		jobs []docJob
		hash crypto.Hash
	)
	sameHash := func(h crypto.Hash) *Error {
		if hash != 0 && h != hash {
			return invalidRequest("Invalid parameter hashAlgorithmOID: one call signs digests of one hash algorithm, the authorization's")
		}
		hash = h
		return nil
	}
	for i, d := range in.Documents {
		if d.SignatureFormat != "P" {
			return nil, 0, invalidRequest("Invalid parameter signature_format: documents are signed in P (PAdES); send documentDigests for a detached signature")
		}
		l, ok := levels[d.ConformanceLevel]
		if d.ConformanceLevel == "" {
			l, ok = signer.LevelBB, true
		}
		if !ok {
			return nil, 0, invalidParam("conformance_level")
		}
		if d.SignAlgo != "" {
			if _, e := signHashFor(c.Cert, d.SignAlgo, OIDSHA256); e != nil {
				return nil, 0, e
			}
		}
		b, err := base64.StdEncoding.DecodeString(d.Document)
		if err != nil || len(b) == 0 || len(b) > maxDocument {
			return nil, 0, invalidRequest("Invalid parameter document: item %d is not a base64 PDF of at most %d bytes", i, maxDocument)
		}
		if e := sameHash(crypto.SHA256); e != nil {
			return nil, 0, e
		}
		sum := sha256.Sum256(b)
		jobs = append(jobs, docJob{pdf: b, level: l, digest: sum[:]})
	}
	for i, d := range in.DocumentDigests {
		var pades bool
		switch d.SignatureFormat {
		case "P":
			pades = true
		case "C":
		default:
			return nil, 0, invalidRequest("Invalid parameter signature_format: documentDigests item %d: P (PAdES) or C (CAdES)", i)
		}
		l, ok := levels[d.ConformanceLevel]
		if d.ConformanceLevel == "" {
			l, ok = signer.LevelBB, true
		}
		if !ok {
			return nil, 0, invalidParam("conformance_level")
		}
		if l != signer.LevelBB && l != signer.LevelBT {
			return nil, 0, invalidRequest("Invalid parameter conformance_level: documentDigests are signed at Ades-B-B or Ades-B-T; the later levels add validation data to the document, which the client holds")
		}
		var h crypto.Hash
		switch {
		case d.SignAlgo != "":
			var e *Error
			if h, e = signHashFor(c.Cert, d.SignAlgo, d.HashAlgorithmOID); e != nil {
				return nil, 0, e
			}
		case d.HashAlgorithmOID == "":
			return nil, 0, missingParam("signAlgo")
		default:
			if h, ok = hashByOID[d.HashAlgorithmOID]; !ok {
				return nil, 0, invalidParam("hashAlgorithmOID")
			}
		}
		if e := sameHash(h); e != nil {
			return nil, 0, e
		}
		ds, e := decodeHashes(d.Hashes, h.Size(), "hashes")
		if e != nil {
			return nil, 0, e
		}
		for _, dg := range ds {
			jobs = append(jobs, docJob{level: l, pades: pades, digest: dg})
		}
	}
	return jobs, hash, nil
}

// signDocJobs makes the signatures of jobs into signed (PDFs, or CMS) and returns the
// CMS of each, kept as the evidence of the authorization's occurrences.
func (s *Service) signDocJobs(ctx context.Context, key crypto.Signer, cert *x509.Certificate, hash crypto.Hash, jobs []docJob, signed [][]byte) ([][]byte, error) {
	cms := make([][]byte, len(jobs))
	// The detached signatures are made in batches of one level and one kind, as the
	// engine shares what their CMS have in common.
	type batch struct {
		level signer.Level
		pades bool
	}
	groups := map[batch][]int{}
	var order []batch
	for i, j := range jobs {
		if j.pdf != nil {
			out, sig, err := s.Requests.SignPDF(ctx, signer.SignPDFInput{Key: key, Certificate: cert, PDF: j.pdf, Level: j.level})
			if err != nil {
				return nil, err
			}
			signed[i], cms[i] = out, sig
			continue
		}
		b := batch{j.level, j.pades}
		if groups[b] == nil {
			order = append(order, b)
		}
		groups[b] = append(groups[b], i)
	}
	for _, b := range order {
		idx := groups[b]
		in := signer.SignCMSInput{Key: key, Certificate: cert, Level: b.level, Hash: hash}
		if !b.pades {
			in.SigningTime = s.Now().UTC()
		}
		for _, i := range idx {
			in.Digests = append(in.Digests, jobs[i].digest)
		}
		out, err := s.Requests.SignCMS(ctx, in)
		if err != nil {
			return nil, err
		}
		for k, i := range idx {
			signed[i], cms[i] = out[k], out[k]
		}
	}
	return cms, nil
}

// Timestamp serves signatures/timestamp: an RFC 3161 token over a hash. A nonce, when
// given (hexadecimal, as CSC asks), goes into the request and the token must carry it.
func (s *Service) Timestamp(ctx context.Context, hash, hashAlgorithmOID, nonce string) ([]byte, error) {
	if s.TSA == nil {
		return nil, &Error{Status: http.StatusNotImplemented, Code: CodeInvalidRequest, Description: "No time-stamping authority is configured"}
	}
	h, ok := hashByOID[hashAlgorithmOID]
	if !ok {
		if hashAlgorithmOID == "" {
			return nil, missingParam("hashAlgorithmOID")
		}
		return nil, invalidParam("hashAlgorithmOID")
	}
	d, ok := decodeB64(hash)
	if !ok || len(d) != h.Size() {
		return nil, invalidParam("hash")
	}
	var n *big.Int
	if nonce != "" {
		var ok bool
		n, ok = parseNonce(nonce)
		if !ok {
			return nil, invalidParam("nonce")
		}
	}
	tok, err := s.TSA.TimestampWithNonce(ctx, d, h, n)
	if err != nil {
		return nil, fmt.Errorf("csc: timestamp: %w", err)
	}
	return tok, nil
}

// Methods lists the v2 methods served, for info.
var Methods = []string{"info", "oauth2/authorize", "oauth2/token", "oauth2/revoke", "oauth2/pushed_authorize",
	"credentials/list", "credentials/info", "credentials/authorize", "credentials/authorizeCheck",
	"credentials/extendTransaction", "signatures/signHash", "signatures/signDoc", "signatures/signPolling", "signatures/timestamp"}

// MethodsV1 lists the v1.0.4.0 methods served under /csc/v1/.
var MethodsV1 = []string{"info", "credentials/list", "credentials/info", "signatures/signHash", "signatures/timestamp"}

// parseNonce reads a CSC nonce: hexadecimal, positive, at most 256 bits (64 digits).
func parseNonce(s string) (*big.Int, bool) {
	if len(s) > 64 {
		return nil, false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return nil, false
		}
	}
	n, ok := new(big.Int).SetString(s, 16)
	if !ok || n.Sign() <= 0 {
		return nil, false
	}
	return n, true
}
