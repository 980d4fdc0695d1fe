package csc

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/paraphe/paraphe/signer"
)

// credential is a signer's current key and certificate. Its id is the certificate's
// serial number in lowercase hex: opaque to clients, and new at each re-activation.
type credential struct {
	ID     string
	UserID string
	Cert   *x509.Certificate
	Usable bool // enrolled, not blocked, not locked
}

func credentialID(cert *x509.Certificate) string { return cert.SerialNumber.Text(16) }

// credential resolves a credentialID; a certificate that is no longer its user's current
// one (re-activation) is unknown.
func (s *Service) credential(ctx context.Context, id string) (*credential, error) {
	if id == "" {
		return nil, missingParam("credentialID")
	}
	if len(id) > 64 || strings.ToLower(id) != id {
		return nil, invalidParam("credentialID")
	}
	user, err := s.Store.CertificateOwner(ctx, id)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, invalidParam("credentialID")
	}
	if err != nil {
		return nil, err
	}
	c, err := s.userCredential(ctx, user)
	if err != nil {
		return nil, err
	}
	if c == nil || c.ID != id {
		return nil, invalidParam("credentialID")
	}
	return c, nil
}

// userCredential returns the user's current credential, nil when they have none.
func (s *Service) userCredential(ctx context.Context, userID string) (*credential, error) {
	id, err := s.Identities.Identity(ctx, userID)
	if errors.Is(err, signer.ErrSignerNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(id.CertificateDER) == 0 {
		return nil, nil
	}
	cert, err := x509.ParseCertificate(id.CertificateDER)
	if err != nil {
		return nil, fmt.Errorf("csc: certificate: %w", err)
	}
	return &credential{ID: credentialID(cert), UserID: userID, Cert: cert, Usable: id.Enrolled && !id.Blocked}, nil
}

// ListRequest is credentials/list.
type ListRequest struct {
	UserID         string
	CredentialInfo bool
	Info           InfoRequest // what each credentialInfos entry holds
}

// List serves credentials/list: the signer's credential (one per signer).
func (s *Service) List(ctx context.Context, p *Principal, in ListRequest) ([]CredentialInfo, error) {
	if in.UserID == "" && p.Scope == ScopeCredential {
		// The signer is implicit in a token the signer's own approval gave (CSC 2.0.0.2
		// §11.4): its credential, while it is still the signer's current one.
		c, err := s.credential(ctx, p.CredentialID)
		var ce *Error
		if errors.As(err, &ce) {
			return []CredentialInfo{}, nil
		}
		if err != nil {
			return nil, err
		}
		return []CredentialInfo{s.describe(c, in.Info)}, nil
	}
	if in.UserID == "" {
		return nil, missingParam("userID")
	}
	if len(in.UserID) > 64 {
		return nil, invalidParam("userID")
	}
	c, err := s.userCredential(ctx, in.UserID)
	if err != nil {
		return nil, err
	}
	if c == nil || (p.Scope == ScopeCredential && p.CredentialID != c.ID) {
		return []CredentialInfo{}, nil
	}
	return []CredentialInfo{s.describe(c, in.Info)}, nil
}

// InfoRequest selects what credentials/info returns.
type InfoRequest struct {
	CredentialID string
	Certificates string // "none", "single" or "chain" (default "single")
	CertInfo     bool
	AuthInfo     bool
}

// CredentialInfo is what credentials/info returns (the api package shapes it for v1 or v2).
type CredentialInfo struct {
	ID           string
	Description  string
	KeyStatus    string // "enabled" or "disabled"
	KeyAlgos     []string
	KeyLen       int
	KeyCurve     string
	CertStatus   string // "valid", "expired", "revoked", "suspended"
	Certificates []string
	Cert         *x509.Certificate // set when CertInfo was asked
	AuthInfo     bool
	Multisign    int
}

func (s *Service) describe(c *credential, in InfoRequest) CredentialInfo {
	algos, bits, curve := keyInfo(c.Cert.PublicKey)
	out := CredentialInfo{ID: c.ID, Description: "Qualified signing key of " + c.Cert.Subject.CommonName, KeyStatus: "enabled",
		KeyAlgos: algos, KeyLen: bits, KeyCurve: curve, CertStatus: "valid", AuthInfo: in.AuthInfo, Multisign: s.cfg.Multisign}
	if !c.Usable {
		out.KeyStatus = "disabled"
	}
	now := s.Now()
	if now.After(c.Cert.NotAfter) {
		out.CertStatus = "expired"
	}
	switch in.Certificates {
	case "none":
	case "chain":
		out.Certificates = append(out.Certificates, base64.StdEncoding.EncodeToString(c.Cert.Raw))
		for _, ca := range s.Chain {
			out.Certificates = append(out.Certificates, base64.StdEncoding.EncodeToString(ca.Raw))
		}
	default:
		out.Certificates = []string{base64.StdEncoding.EncodeToString(c.Cert.Raw)}
	}
	if in.CertInfo {
		out.Cert = c.Cert
	}
	return out
}

// Info serves credentials/info.
func (s *Service) Info(ctx context.Context, p *Principal, in InfoRequest) (*CredentialInfo, error) {
	switch in.Certificates {
	case "", "none", "single", "chain":
	default:
		return nil, invalidParam("certificates")
	}
	c, err := s.credential(ctx, in.CredentialID)
	if err != nil {
		return nil, err
	}
	if p.Scope == ScopeCredential && p.CredentialID != c.ID {
		return nil, invalidParam("credentialID")
	}
	out := s.describe(c, in)
	return &out, nil
}

// authorizeAsk is what a client asks the signer to approve.
type authorizeAsk struct {
	CredentialID     string
	NumSignatures    int
	Hashes           []string
	Labels           []string // RAR labels, shown as the documents' names
	Details          string   // the RAR authorization_details as approved (JSON), for the token response
	HashAlgorithmOID string
	Description      string
	CallbackURL      string // Paraphe's extension: the integrator's webhook, as on the REST API
}

// startAuthorization checks what the client asks and creates the authorization: a
// request of the raw format with one document per hash, sent to the signer's phone.
func (s *Service) startAuthorization(ctx context.Context, clientID string, a authorizeAsk) (*signer.Request, error) {
	c, err := s.credential(ctx, a.CredentialID)
	if err != nil {
		return nil, err
	}
	if !c.Usable {
		return nil, invalidRequest("The credential's key is disabled (signer blocked, locked or without an active phone)")
	}
	h, ok := hashByOID[a.HashAlgorithmOID]
	if !ok {
		if a.HashAlgorithmOID == "" {
			return nil, missingParam("hashAlgorithmOID")
		}
		return nil, invalidParam("hashAlgorithmOID")
	}
	if a.NumSignatures < 1 || a.NumSignatures > s.cfg.Multisign {
		return nil, invalidRequest("Invalid parameter numSignatures: 1 to %d (multisign)", s.cfg.Multisign)
	}
	if a.NumSignatures != len(a.Hashes) {
		return nil, invalidRequest("Invalid parameter numSignatures: it must equal the number of hashes (%d), each signature bound to the digest the signer approves", len(a.Hashes))
	}
	digests, e := decodeHashes(a.Hashes, h.Size(), "hashes")
	if e != nil {
		return nil, e
	}
	if utf8.RuneCountInString(a.Description) > 500 {
		return nil, invalidRequest("Invalid parameter description: at most 500 characters")
	}
	docs := make([]signer.DocumentInput, len(digests))
	for i, d := range digests {
		name := fmt.Sprintf("Hash %d of %d", i+1, len(digests))
		if i < len(a.Labels) && a.Labels[i] != "" && utf8.RuneCountInString(a.Labels[i]) <= 200 {
			name = a.Labels[i]
		}
		docs[i] = signer.DocumentInput{Name: name, Hash: h, Digest: d}
	}
	r, _, err := s.Requests.Create(ctx, signer.CreateInput{IntegratorID: clientID, UserID: c.UserID, Format: signer.FormatRaw,
		Documents: docs, Description: a.Description, CallbackURL: a.CallbackURL})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AuthorizeRequest is credentials/authorize.
type AuthorizeRequest struct {
	CredentialID     string
	NumSignatures    int
	Hashes           []string
	HashAlgorithmOID string
	Description      string
	AuthDataIDs      []string // the ids of authData objects; only "phone" is served
	CallbackURL      string   // Paraphe's extension: a webhook on the final state
}

// Authorize serves credentials/authorize: the explicit, out-of-band authorization. The
// signer is asked on the phone; the handle is checked with AuthorizeCheck.
func (s *Service) Authorize(ctx context.Context, p *Principal, in AuthorizeRequest) (handle string, r *signer.Request, err error) {
	for _, id := range in.AuthDataIDs {
		if id != "phone" {
			return "", nil, invalidRequest("Invalid parameter authData: the only authentication object is \"phone\"")
		}
	}
	if p.Scope == ScopeCredential && p.CredentialID != in.CredentialID {
		return "", nil, invalidParam("credentialID")
	}
	r, err = s.startAuthorization(ctx, p.ClientID, authorizeAsk{CredentialID: in.CredentialID, NumSignatures: in.NumSignatures,
		Hashes: in.Hashes, HashAlgorithmOID: in.HashAlgorithmOID, Description: in.Description, CallbackURL: in.CallbackURL})
	if err != nil {
		return "", nil, err
	}
	handle, err = s.issue(ctx, "csc_h_", Token{Kind: KindHandle, ClientID: p.ClientID, CredentialID: in.CredentialID, RequestID: r.ID},
		r.ExpiresAt.Sub(s.Now())+s.cfg.CodeTTL)
	if err != nil {
		return "", nil, err
	}
	return handle, r, nil
}

// Checked is the answer of credentials/authorizeCheck once the signer approved.
type Checked struct {
	Pending   bool
	SAD       string
	ExpiresIn int
}

// AuthorizeCheck serves credentials/authorizeCheck: pending, the SAD (once) when the
// signer approved, access_denied when they refused or the request ended otherwise.
func (s *Service) AuthorizeCheck(ctx context.Context, p *Principal, handle string) (*Checked, error) {
	if handle == "" {
		return nil, missingParam("handle")
	}
	t, err := s.live(ctx, handle, KindHandle)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, invalidParam("handle")
	}
	if err != nil {
		return nil, err
	}
	if t.ClientID != p.ClientID {
		return nil, invalidParam("handle")
	}
	if t.UsedAt != nil {
		return nil, invalidRequest("Invalid parameter handle: its SAD was already given")
	}
	r, err := s.Requests.Authorization(ctx, p.ClientID, t.RequestID)
	if err != nil {
		return nil, err
	}
	switch r.Status {
	case signer.StatusPending:
		return &Checked{Pending: true}, nil
	case signer.StatusAuthorized:
	default:
		return nil, errAccessDenied
	}
	ok, err := s.Store.UseToken(ctx, t.Hash, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalidRequest("Invalid parameter handle: its SAD was already given")
	}
	sad, exp, err := s.newSAD(ctx, p.ClientID, t.CredentialID, r)
	if err != nil {
		return nil, err
	}
	return &Checked{SAD: sad, ExpiresIn: exp}, nil
}

func (s *Service) newSAD(ctx context.Context, clientID, credentialID string, r *signer.Request) (string, int, error) {
	if r.AuthorizedUntil == nil {
		return "", 0, errAccessDenied
	}
	ttl := min(s.cfg.SADTTL, r.AuthorizedUntil.Sub(s.Now()))
	if ttl <= 0 {
		return "", 0, errAccessDenied
	}
	sad, err := s.issue(ctx, "csc_sad_", Token{Kind: KindSAD, ClientID: clientID, CredentialID: credentialID, RequestID: r.ID}, ttl)
	if err != nil {
		return "", 0, err
	}
	return sad, max(int(ttl.Seconds()), 1), nil
}

// Extend serves credentials/extendTransaction: a new SAD for the same authorization (the
// same hashes, never new ones), within the authorization's own time; the old SAD dies.
func (s *Service) Extend(ctx context.Context, p *Principal, credentialID, sad string) (*Checked, error) {
	t, err := s.sad(ctx, p, credentialID, sad)
	if err != nil {
		return nil, err
	}
	r, err := s.Requests.Authorization(ctx, p.ClientID, t.RequestID)
	if err != nil {
		return nil, err
	}
	if r.Status != signer.StatusAuthorized {
		return nil, invalidRequest("Invalid parameter SAD: its authorization is used up or ended")
	}
	if err := s.Store.RevokeAuthorizationTokens(ctx, r.ID, KindSAD, s.Now().UTC()); err != nil {
		return nil, err
	}
	next, exp, err := s.newSAD(ctx, p.ClientID, credentialID, r)
	if err != nil {
		return nil, err
	}
	return &Checked{SAD: next, ExpiresIn: exp}, nil
}

// sad checks a SAD: live, the client's own, for that credential.
func (s *Service) sad(ctx context.Context, p *Principal, credentialID, sad string) (*Token, error) {
	if sad == "" {
		return nil, missingParam("SAD")
	}
	t, err := s.live(ctx, sad, KindSAD)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, invalidRequest("Invalid parameter SAD: unknown, expired or revoked")
	}
	if err != nil {
		return nil, err
	}
	if t.ClientID != p.ClientID {
		return nil, invalidRequest("Invalid parameter SAD: obtained by another client")
	}
	if t.CredentialID != credentialID {
		return nil, invalidRequest("Invalid parameter SAD: it does not authorize this credential")
	}
	return t, nil
}
