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
		return s.signAsync(ctx, p, ci)
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

// asyncResult is what an asynchronous signHash stores for signPolling.
type asyncResult struct {
	Done        bool     `json:"done"`
	Signatures  []string `json:"signatures,omitempty"`
	Error       string   `json:"error,omitempty"`
	Description string   `json:"errorDescription,omitempty"`
}

func (s *Service) signAsync(ctx context.Context, p *Principal, ci signer.ConsumeInput) ([]string, string, error) {
	d, _ := json.Marshal(asyncResult{})
	id, err := s.issue(ctx, "csc_resp_", Token{Kind: KindResponse, ClientID: p.ClientID, RequestID: ci.RequestID, Data: string(d)},
		s.cfg.AccessTTL)
	if err != nil {
		return nil, "", err
	}
	hash := hashSecret(id)
	go func() {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SignTimeout)
		defer cancel()
		res := asyncResult{Done: true}
		sigs, err := s.consumeRaw(bctx, ci)
		var ce *Error
		switch {
		case err == nil:
			res.Signatures = sigs
		case errors.As(err, &ce):
			res.Error, res.Description = ce.Code, ce.Description
		default:
			s.Log.Error("asynchronous signHash failed", "requestId", ci.RequestID, "err", err)
			res.Error, res.Description = CodeServerError, "signing failed"
		}
		b, _ := json.Marshal(res)
		if err := s.Store.SetTokenData(bctx, hash, string(b)); err != nil {
			s.Log.Error("asynchronous signHash result not stored", "requestId", ci.RequestID, "err", err)
		}
	}()
	return nil, id, nil
}

// SignPolling serves signatures/signPolling: pending (nil, nil), or the result of an
// asynchronous signHash of the same client.
func (s *Service) SignPolling(ctx context.Context, p *Principal, responseID string) ([]string, error) {
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
	return r.Signatures, nil
}

// SignDocItem is one document of signatures/signDoc.
type SignDocItem struct {
	Document         string // base64 PDF
	SignatureFormat  string // "P" (PAdES) only
	ConformanceLevel string // Ades-B-B, Ades-B-T, Ades-B-LT, Ades-B-LTA
	SignAlgo         string
}

// SignDocRequest is signatures/signDoc.
type SignDocRequest struct {
	CredentialID string
	SAD          string
	Documents    []SignDocItem
}

var levels = map[string]signer.Level{"Ades-B-B": signer.LevelBB, "Ades-B-T": signer.LevelBT, "Ades-B-LT": signer.LevelBLT,
	"Ades-B-LTA": signer.LevelBLTA, "AdES-B-B": signer.LevelBB, "AdES-B-T": signer.LevelBT, "AdES-B-LT": signer.LevelBLT,
	"AdES-B-LTA": signer.LevelBLTA}

// maxDocument bounds one signDoc document: the JSON body limit of the CSC routes decides
// first; this is the decoded size check.
const maxDocument = 50_000_000

// SignDoc serves signatures/signDoc: PAdES signatures of whole PDFs whose SHA-256 the
// authorization covers, through PDF mode's own path.
func (s *Service) SignDoc(ctx context.Context, p *Principal, in SignDocRequest) ([]string, error) {
	reqID, err := s.authorizationFor(ctx, p, in.CredentialID, in.SAD)
	if err != nil {
		return nil, err
	}
	if len(in.Documents) == 0 {
		return nil, missingParam("documents")
	}
	c, err := s.credential(ctx, in.CredentialID)
	if err != nil {
		return nil, err
	}
	pdfs := make([][]byte, len(in.Documents))
	lv := make([]signer.Level, len(in.Documents))
	digests := make([][]byte, len(in.Documents))
	for i, d := range in.Documents {
		if d.SignatureFormat != "P" {
			return nil, invalidRequest("Invalid parameter signature_format: only P (PAdES) is served")
		}
		l, ok := levels[d.ConformanceLevel]
		if d.ConformanceLevel == "" {
			l, ok = signer.LevelBB, true
		}
		if !ok {
			return nil, invalidParam("conformance_level")
		}
		if d.SignAlgo != "" {
			if _, e := signHashFor(c.Cert, d.SignAlgo, OIDSHA256); e != nil {
				return nil, e
			}
		}
		b, err := base64.StdEncoding.DecodeString(d.Document)
		if err != nil || len(b) == 0 || len(b) > maxDocument {
			return nil, invalidRequest("Invalid parameter document: item %d is not a base64 PDF of at most %d bytes", i, maxDocument)
		}
		sum := sha256.Sum256(b)
		pdfs[i], lv[i], digests[i] = b, l, sum[:]
	}
	var signed [][]byte
	_, err = s.Requests.Consume(ctx, signer.ConsumeInput{IntegratorID: p.ClientID, RequestID: reqID, CertificateSerial: c.ID,
		Hash: crypto.SHA256, Digests: digests},
		func(ctx context.Context, key crypto.Signer, cert *x509.Certificate, docs []signer.Document) ([][]byte, error) {
			cms := make([][]byte, len(docs))
			signed = make([][]byte, len(docs))
			for i := range docs {
				out, sig, err := s.Requests.SignPDF(ctx, signer.SignPDFInput{Key: key, Certificate: cert, PDF: pdfs[i], Level: lv[i]})
				if err != nil {
					return nil, err
				}
				signed[i], cms[i] = out, sig
			}
			return cms, nil
		})
	if err != nil {
		return nil, consumeError(err)
	}
	out := make([]string, len(signed))
	for i, b := range signed {
		out[i] = base64.StdEncoding.EncodeToString(b)
	}
	return out, nil
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
