package csc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/paraphe/paraphe/integrator"
	"github.com/paraphe/paraphe/signer"
)

// TokenRequest is the form of oauth2/token. ClientID and Secret come from the body or
// from HTTP Basic authentication.
type TokenRequest struct {
	GrantType    string
	ClientID     string
	Secret       string
	Code         string
	RedirectURI  string
	CodeVerifier string
}

// TokenResponse is the answer of oauth2/token.
type TokenResponse struct {
	AccessToken  string
	TokenType    string
	ExpiresIn    int
	Scope        string
	CredentialID string
	// AuthorizationDetails are the RAR details the signer approved (RFC 9396 §7: the
	// token response carries them), JSON; empty when the client sent none.
	AuthorizationDetails string
}

func (s *Service) client(ctx context.Context, id, secret string) (*integrator.Integrator, error) {
	if id == "" || secret == "" {
		return nil, errInvalidClient
	}
	in, err := s.Clients.AuthenticateClient(ctx, id, secret)
	if errors.Is(err, integrator.ErrUnauthenticated) {
		return nil, errInvalidClient
	}
	return in, err
}

// Token serves oauth2/token: client_credentials gives a service token; authorization_code
// (with PKCE) gives a credential token bound to what the signer approved.
func (s *Service) Token(ctx context.Context, in TokenRequest) (*TokenResponse, error) {
	switch in.GrantType {
	case "client_credentials", "authorization_code":
	case "":
		return nil, missingParam("grant_type")
	default:
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeUnsupported, Description: "grant_type must be client_credentials or authorization_code"}
	}
	cl, err := s.client(ctx, in.ClientID, in.Secret)
	if err != nil {
		return nil, err
	}
	if in.GrantType == "client_credentials" {
		tok, err := s.issue(ctx, accessPrefix, Token{Kind: KindAccess, ClientID: cl.ID, Scope: ScopeService}, s.cfg.AccessTTL)
		if err != nil {
			return nil, err
		}
		return &TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds()), Scope: ScopeService}, nil
	}
	return s.exchange(ctx, cl, in)
}

// codeData is what an authorization code remembers.
type codeData struct {
	RedirectURI          string `json:"redirectUri"`
	CodeChallenge        string `json:"codeChallenge"`
	State                string `json:"state,omitempty"`
	AuthorizationDetails string `json:"authorizationDetails,omitempty"`
}

func (s *Service) exchange(ctx context.Context, cl *integrator.Integrator, in TokenRequest) (*TokenResponse, error) {
	if in.Code == "" || in.CodeVerifier == "" {
		return nil, missingParam("code and code_verifier")
	}
	t, err := s.live(ctx, in.Code, KindCode)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, errInvalidGrant
	}
	if err != nil {
		return nil, err
	}
	var d codeData
	if err := json.Unmarshal([]byte(t.Data), &d); err != nil {
		return nil, fmt.Errorf("csc: code data: %w", err)
	}
	if t.ClientID != cl.ID {
		return nil, errInvalidGrant
	}
	if t.UsedAt != nil {
		// Used once already. The token it gave stays usable: a refused call consumes
		// nothing (RFC 6749 §4.1.2's revocation is a SHOULD this contract does not take).
		return nil, errInvalidGrant
	}
	sum := sha256.Sum256([]byte(in.CodeVerifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if in.RedirectURI != d.RedirectURI || !validVerifier(in.CodeVerifier) ||
		subtle.ConstantTimeCompare([]byte(challenge), []byte(d.CodeChallenge)) != 1 {
		return nil, errInvalidGrant
	}
	ok, err := s.Store.UseToken(ctx, t.Hash, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errInvalidGrant
	}
	r, err := s.Requests.Authorization(ctx, cl.ID, t.RequestID)
	if err != nil {
		return nil, err
	}
	if r.Status != signer.StatusAuthorized || r.AuthorizedUntil == nil {
		return nil, errInvalidGrant
	}
	ttl := min(s.cfg.AccessTTL, r.AuthorizedUntil.Sub(s.Now()))
	if ttl <= 0 {
		return nil, errInvalidGrant
	}
	tok, err := s.issue(ctx, accessPrefix, Token{Kind: KindAccess, ClientID: cl.ID, Scope: ScopeCredential,
		CredentialID: t.CredentialID, RequestID: t.RequestID}, ttl)
	if err != nil {
		return nil, err
	}
	return &TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: max(int(ttl.Seconds()), 1), Scope: ScopeCredential,
		CredentialID: t.CredentialID, AuthorizationDetails: d.AuthorizationDetails}, nil
}

// validVerifier checks RFC 7636 §4.1: 43 to 128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, r := range v {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)) {
			return false
		}
	}
	return true
}

// Revoke serves oauth2/revoke (RFC 7009): the client's own token stops working. An
// unknown token is no error.
func (s *Service) Revoke(ctx context.Context, clientID, secret, token string) error {
	cl, err := s.client(ctx, clientID, secret)
	if err != nil {
		return err
	}
	if token == "" {
		return missingParam("token")
	}
	return s.Store.RevokeToken(ctx, hashSecret(token), cl.ID, s.Now().UTC())
}

// AuthorizeParams are the parameters of oauth2/authorize (or of a pushed request).
type AuthorizeParams struct {
	ResponseType         string `json:"response_type"`
	ClientID             string `json:"client_id"`
	RedirectURI          string `json:"redirect_uri"`
	Scope                string `json:"scope"`
	CodeChallenge        string `json:"code_challenge"`
	CodeChallengeMethod  string `json:"code_challenge_method"`
	State                string `json:"state"`
	CredentialID         string `json:"credentialID"`
	NumSignatures        string `json:"numSignatures"`
	Hashes               string `json:"hashes"`
	HashAlgorithmOID     string `json:"hashAlgorithmOID"`
	Description          string `json:"description"`
	AuthorizationDetails string `json:"authorization_details"`
	RequestURI           string `json:"request_uri"`
	CallbackURL          string `json:"callbackUrl"` // Paraphe's extension: a webhook on the final state
}

// authorizationDetail is one RAR entry (RFC 9396) of type "credential" (CSC 2.0.0.2 §8.4).
type authorizationDetail struct {
	Type             string `json:"type"`
	CredentialID     string `json:"credentialID"`
	HashAlgorithmOID string `json:"hashAlgorithmOID"`
	DocumentDigests  []struct {
		Hash  string `json:"hash"`
		Label string `json:"label,omitempty"`
	} `json:"documentDigests"`
	Description string `json:"description,omitempty"`
}

// Authorizing is an authorization started in the signer's browser.
type Authorizing struct {
	RequestID string // the signature request (evidence, webhooks)
	Icon      string // the right icon's id
	PollPath  string // path of the poll URL, with its secret
}

// pollData is what the browser's wait remembers.
type pollData struct {
	RedirectURI          string `json:"redirectUri"`
	State                string `json:"state,omitempty"`
	CodeChallenge        string `json:"codeChallenge"`
	AuthorizationDetails string `json:"authorizationDetails,omitempty"`
}

// checkClientRedirect checks the client of oauth2/authorize and that the redirect URI is
// one registered for it, compared exactly.
func (s *Service) checkClientRedirect(ctx context.Context, p *AuthorizeParams) (*integrator.Integrator, error) {
	if p.ClientID == "" {
		return nil, missingParam("client_id")
	}
	cl, err := s.Clients.Client(ctx, p.ClientID)
	if errors.Is(err, integrator.ErrNotFound) {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidClient, Description: "Unknown client_id"}
	}
	if err != nil {
		return nil, err
	}
	if p.RedirectURI == "" || !slices.Contains(cl.RedirectURIs, p.RedirectURI) {
		return nil, invalidRequest("Invalid parameter redirect_uri: not a redirect URI registered for this client")
	}
	return cl, nil
}

// AuthorizeError is an error of oauth2/authorize found once the client and its redirect
// URI are known good: RFC 6749 §4.1.2.1 sends it to the redirect URI with the state,
// rather than showing it to the signer. Errors about the client or the redirect URI
// itself are never redirected.
type AuthorizeError struct {
	RedirectURI string
	State       string
	Err         error
}

func (e *AuthorizeError) Error() string { return e.Err.Error() }
func (e *AuthorizeError) Unwrap() error { return e.Err }

// Location is the redirect URI carrying an error code and its description.
func (e *AuthorizeError) Location(code, description string) string {
	q := url.Values{"error": {code}, "error_description": {description}}
	if e.State != "" {
		q.Set("state", e.State)
	}
	return withQuery(e.RedirectURI, q)
}

// withQuery adds parameters to a redirect URI, which may have a query of its own.
func withQuery(uri string, q url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + q.Encode()
}

// StartAuthorize serves oauth2/authorize: it checks the client, its redirect URI and
// PKCE, creates the authorization on the signer's phone and returns the icon to show and
// the poll path. Once the client and the redirect URI are known good, an error is an
// *AuthorizeError.
func (s *Service) StartAuthorize(ctx context.Context, p AuthorizeParams) (*Authorizing, *signer.Request, error) {
	if p.RequestURI != "" {
		pushed, err := s.pushed(ctx, p.ClientID, p.RequestURI)
		if err != nil {
			return nil, nil, err
		}
		p = *pushed
	}
	cl, err := s.checkClientRedirect(ctx, &p)
	if err != nil {
		return nil, nil, err
	}
	a, r, err := s.startAuthorize(ctx, cl, p)
	if err != nil {
		state := p.State
		if len(state) > maxState {
			state = ""
		}
		return nil, nil, &AuthorizeError{RedirectURI: p.RedirectURI, State: state, Err: err}
	}
	return a, r, nil
}

// maxState bounds the state a client passes through oauth2/authorize.
const maxState = 500

func (s *Service) startAuthorize(ctx context.Context, cl *integrator.Integrator, p AuthorizeParams) (*Authorizing, *signer.Request, error) {
	if p.ResponseType != "code" {
		return nil, nil, &Error{Status: http.StatusBadRequest, Code: CodeUnsupportedResponse, Description: "Invalid parameter response_type: only code is served"}
	}
	if p.Scope != ScopeCredential && p.AuthorizationDetails == "" {
		return nil, nil, &Error{Status: http.StatusBadRequest, Code: CodeInvalidScope, Description: "scope must be credential (or authorization_details given)"}
	}
	if p.CodeChallengeMethod != "S256" || len(p.CodeChallenge) != 43 {
		return nil, nil, invalidRequest("PKCE is required: code_challenge (S256, 43 characters) and code_challenge_method=S256")
	}
	if len(p.State) > maxState {
		return nil, nil, invalidParam("state")
	}
	ask, err := s.authorizeAsk(p)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.startAuthorization(ctx, cl.ID, ask)
	if err != nil {
		return nil, nil, err
	}
	d, _ := json.Marshal(pollData{RedirectURI: p.RedirectURI, State: p.State, CodeChallenge: p.CodeChallenge,
		AuthorizationDetails: ask.Details})
	poll, err := s.issue(ctx, "csc_poll_", Token{Kind: KindPoll, ClientID: cl.ID, CredentialID: ask.CredentialID, RequestID: r.ID,
		Data: string(d)}, r.ExpiresAt.Sub(s.Now())+s.cfg.CodeTTL)
	if err != nil {
		return nil, nil, err
	}
	return &Authorizing{RequestID: r.ID, Icon: r.IconID, PollPath: "/csc/v2/oauth2/authorize/poll/" + poll}, r, nil
}

// authorizeAsk turns the URL parameters or authorization_details into what to ask.
func (s *Service) authorizeAsk(p AuthorizeParams) (authorizeAsk, error) {
	if p.AuthorizationDetails != "" {
		var ds []authorizationDetail
		if err := json.Unmarshal([]byte(p.AuthorizationDetails), &ds); err != nil || len(ds) != 1 || ds[0].Type != "credential" {
			return authorizeAsk{}, invalidRequest("Invalid parameter authorization_details: one object of type credential is served")
		}
		d := ds[0]
		// What the signer approves, as the token response gives it back (RFC 9396 §7):
		// the fields this service reads, the others dropped.
		granted, _ := json.Marshal(ds)
		a := authorizeAsk{CredentialID: d.CredentialID, HashAlgorithmOID: d.HashAlgorithmOID, NumSignatures: len(d.DocumentDigests),
			Description: d.Description, CallbackURL: p.CallbackURL, Details: string(granted)}
		for _, dd := range d.DocumentDigests {
			a.Hashes = append(a.Hashes, dd.Hash)
			a.Labels = append(a.Labels, dd.Label)
		}
		return a, nil
	}
	n, err := strconv.Atoi(p.NumSignatures)
	if err != nil {
		return authorizeAsk{}, missingParam("numSignatures")
	}
	var hashes []string
	if p.Hashes != "" {
		// Plain base64 put in a URL without escaping its "+" reads back with a space there;
		// a digest has no space, so the space can only have been a "+".
		hashes = strings.Split(strings.ReplaceAll(p.Hashes, " ", "+"), ",")
	}
	return authorizeAsk{CredentialID: p.CredentialID, NumSignatures: n, Hashes: hashes, HashAlgorithmOID: p.HashAlgorithmOID,
		Description: p.Description, CallbackURL: p.CallbackURL}, nil
}

// PollState is what the browser's wait finds.
type PollState struct {
	Pending  bool
	Approved bool   // Location carries a code
	Location string // where to send the browser (303) once decided
}

// Poll serves the browser's wait: pending, or the redirect (once) with a code when the
// signer approved, with error=access_denied otherwise. peek only reports, minting nothing.
func (s *Service) Poll(ctx context.Context, secret string, peek bool) (*PollState, error) {
	t, err := s.live(ctx, secret, KindPoll)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, invalidRequest("Unknown or expired poll URL")
	}
	if err != nil {
		return nil, err
	}
	if t.UsedAt != nil {
		return nil, invalidRequest("This authorization was already answered")
	}
	var d pollData
	if err := json.Unmarshal([]byte(t.Data), &d); err != nil {
		return nil, fmt.Errorf("csc: poll data: %w", err)
	}
	r, err := s.Requests.Authorization(ctx, t.ClientID, t.RequestID)
	if err != nil {
		return nil, err
	}
	if r.Status == signer.StatusPending {
		return &PollState{Pending: true}, nil
	}
	approved := r.Status == signer.StatusAuthorized
	if peek {
		return &PollState{Approved: approved}, nil
	}
	ok, err := s.Store.UseToken(ctx, t.Hash, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalidRequest("This authorization was already answered")
	}
	q := url.Values{}
	if approved {
		cd, _ := json.Marshal(codeData{RedirectURI: d.RedirectURI, CodeChallenge: d.CodeChallenge, State: d.State,
			AuthorizationDetails: d.AuthorizationDetails})
		code, err := s.issue(ctx, "csc_code_", Token{Kind: KindCode, ClientID: t.ClientID, CredentialID: t.CredentialID,
			RequestID: t.RequestID, Data: string(cd)}, s.cfg.CodeTTL)
		if err != nil {
			return nil, err
		}
		q.Set("code", code)
	} else {
		q.Set("error", CodeAccessDenied)
		q.Set("error_description", "the signer refused, or the authorization expired")
	}
	if d.State != "" {
		q.Set("state", d.State)
	}
	return &PollState{Approved: approved, Location: withQuery(d.RedirectURI, q)}, nil
}

// PushedRequest is the answer of oauth2/pushed_authorize (RFC 9126).
type PushedRequest struct {
	RequestURI string
	ExpiresIn  int
}

// parPrefix starts every request_uri (RFC 9126 §2.2).
const parPrefix = "urn:ietf:params:oauth:request_uri:"

// Push serves oauth2/pushed_authorize: an authenticated client stores its authorize
// parameters and gets a request_uri to send the browser with.
func (s *Service) Push(ctx context.Context, secret string, p AuthorizeParams) (*PushedRequest, error) {
	cl, err := s.client(ctx, p.ClientID, secret)
	if err != nil {
		return nil, err
	}
	if p.RequestURI != "" {
		return nil, invalidRequest("request_uri may not be pushed")
	}
	if _, err := s.checkClientRedirect(ctx, &p); err != nil {
		return nil, err
	}
	d, _ := json.Marshal(p)
	v, err := s.issue(ctx, "", Token{Kind: KindPAR, ClientID: cl.ID, Data: string(d)}, s.cfg.PARTTL)
	if err != nil {
		return nil, err
	}
	return &PushedRequest{RequestURI: parPrefix + v, ExpiresIn: int(s.cfg.PARTTL.Seconds())}, nil
}

// pushed returns the parameters of a pushed request, once.
func (s *Service) pushed(ctx context.Context, clientID, requestURI string) (*AuthorizeParams, error) {
	v, ok := strings.CutPrefix(requestURI, parPrefix)
	if !ok {
		return nil, invalidParam("request_uri")
	}
	t, err := s.live(ctx, v, KindPAR)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, invalidRequest("Invalid parameter request_uri: unknown, expired or used")
	}
	if err != nil {
		return nil, err
	}
	if t.ClientID != clientID {
		return nil, invalidRequest("Invalid parameter request_uri: pushed by another client")
	}
	if ok, err := s.Store.UseToken(ctx, t.Hash, s.Now().UTC()); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, invalidRequest("Invalid parameter request_uri: already used")
	}
	var p AuthorizeParams
	if err := json.Unmarshal([]byte(t.Data), &p); err != nil {
		return nil, fmt.Errorf("csc: pushed request: %w", err)
	}
	return &p, nil
}
