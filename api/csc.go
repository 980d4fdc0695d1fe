package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/csc"
	"github.com/paraphe/paraphe/signer"
)

// CSC is the Cloud Signature Consortium API as its handlers use it.
type CSC interface {
	Config() csc.Config
	Authenticate(ctx context.Context, token string) (*csc.Principal, error)
	Token(ctx context.Context, in csc.TokenRequest) (*csc.TokenResponse, error)
	Revoke(ctx context.Context, clientID, secret, token string) error
	Push(ctx context.Context, secret string, p csc.AuthorizeParams) (*csc.PushedRequest, error)
	StartAuthorize(ctx context.Context, p csc.AuthorizeParams) (*csc.Authorizing, *signer.Request, error)
	Poll(ctx context.Context, secret string, peek bool) (*csc.PollState, error)
	List(ctx context.Context, p *csc.Principal, in csc.ListRequest) ([]csc.CredentialInfo, error)
	Info(ctx context.Context, p *csc.Principal, in csc.InfoRequest) (*csc.CredentialInfo, error)
	Authorize(ctx context.Context, p *csc.Principal, in csc.AuthorizeRequest) (string, *signer.Request, error)
	AuthorizeCheck(ctx context.Context, p *csc.Principal, handle string) (*csc.Checked, error)
	Extend(ctx context.Context, p *csc.Principal, credentialID, sad string) (*csc.Checked, error)
	SignHash(ctx context.Context, p *csc.Principal, in csc.SignHashRequest) ([]string, string, error)
	SignPolling(ctx context.Context, p *csc.Principal, responseID string) (*csc.PollResult, error)
	SignDoc(ctx context.Context, p *csc.Principal, in csc.SignDocRequest) (*csc.SignDocResult, string, error)
	Timestamp(ctx context.Context, hash, hashAlgorithmOID, nonce string) ([]byte, error)
}

const ctxCSC = "paraphe.csc"

// routeCSC adds the CSC API v2 under /csc/v2/, its v1.0.4.0 subset under /csc/v1/, and
// the RFC 8414 metadata.
func (s *server) routeCSC(r *gin.Engine) {
	perClient := s.RateLimit.middleware(func(c *gin.Context) string { return cscPrincipal(c).ClientID }, cscTooMany)
	// The authorization endpoint asks a signer's phone without client authentication
	// (as OAuth does): limited per address like the other public calls that reach a
	// person; the signer's own pending limit bounds the rest.
	byIP := s.IPLimit.middleware(func(c *gin.Context) string { return c.ClientIP() }, cscTooMany)
	r.GET("/.well-known/oauth-authorization-server", s.cscServed, s.cscMetadata)
	r.GET("/.well-known/oauth-authorization-server/csc/v2", s.cscServed, s.cscMetadata)
	v2 := r.Group("/csc/v2", s.cscServed)
	v2.POST("/info", s.cscInfo("2.0.0.2", csc.Methods))
	v2.GET("/info", s.cscInfo("2.0.0.2", csc.Methods))
	v2.GET("/oauth2/authorize", byIP, s.cscAuthorizePage)
	v2.GET("/oauth2/authorize/poll/:secret", s.cscPoll)
	v2.POST("/oauth2/token", s.cscToken)
	v2.POST("/oauth2/revoke", s.cscRevoke)
	v2.POST("/oauth2/pushed_authorize", s.cscPush)
	a2 := v2.Group("", s.cscAuth, perClient)
	a2.POST("/credentials/list", s.cscList(false))
	a2.POST("/credentials/info", s.cscCredInfo(false))
	a2.POST("/credentials/authorize", s.cscCredAuthorize)
	a2.POST("/credentials/authorizeCheck", s.cscAuthorizeCheck)
	a2.POST("/credentials/extendTransaction", s.cscExtend)
	a2.POST("/signatures/signHash", s.cscSignHash(false))
	a2.POST("/signatures/signPolling", s.cscSignPolling)
	a2.POST("/signatures/signDoc", s.cscSignDoc)
	a2.POST("/signatures/timestamp", s.cscTimestamp)
	v1 := r.Group("/csc/v1", s.cscServed)
	v1.POST("/info", s.cscInfo("1.0.4.0", csc.MethodsV1))
	a1 := v1.Group("", s.cscAuth, perClient)
	a1.POST("/credentials/list", s.cscList(true))
	a1.POST("/credentials/info", s.cscCredInfo(true))
	a1.POST("/signatures/signHash", s.cscSignHash(true))
	a1.POST("/signatures/timestamp", s.cscTimestamp)
}

// cscServed answers 404 when this server has no CSC service.
func (s *server) cscServed(c *gin.Context) {
	if s.CSC == nil {
		c.AbortWithStatusJSON(http.StatusNotFound, cscErrorOut{Error: csc.CodeInvalidRequest, ErrorDescription: "The CSC API is not served here"})
	}
}

// cscErrorOut is the CSC error body.
type cscErrorOut struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// cscFail is the one place where errors become CSC answers: the service's own errors
// keep their status; the workflow's refusals are 400 invalid_request; anything else is
// a 5xx whose detail goes to the log only.
func cscFail(c *gin.Context, err error) {
	status, out := cscAnswer(c, err)
	var ce *csc.Error
	if status == http.StatusUnauthorized && errors.As(err, &ce) && ce.Code == csc.CodeInvalidToken {
		c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if status == http.StatusTooManyRequests {
		c.Header("Retry-After", "30")
	}
	c.AbortWithStatusJSON(status, out)
}

// cscAnswer maps an error to its CSC status and body, logging what a 5xx hides.
func cscAnswer(c *gin.Context, err error) (int, cscErrorOut) {
	var ce *csc.Error
	switch {
	case errors.As(err, &ce):
		return ce.Status, cscErrorOut{Error: ce.Code, ErrorDescription: ce.Description}
	case errors.Is(err, signer.ErrTooManyPending):
		return http.StatusTooManyRequests, cscErrorOut{Error: csc.CodeUnavailable, ErrorDescription: err.Error()}
	case errors.Is(err, signer.ErrInvalid), errors.Is(err, signer.ErrSignerInactive), errors.Is(err, signer.ErrSignerNotFound),
		errors.Is(err, signer.ErrNotFound):
		return http.StatusBadRequest, cscErrorOut{Error: csc.CodeInvalidRequest, ErrorDescription: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		logger(c).Error("csc request failed", "status", http.StatusServiceUnavailable, "err", err)
		return http.StatusServiceUnavailable, cscErrorOut{Error: csc.CodeUnavailable, ErrorDescription: "Timed out"}
	}
	logger(c).Error("csc request failed", "status", http.StatusInternalServerError, "err", err)
	return http.StatusInternalServerError, cscErrorOut{Error: csc.CodeServerError, ErrorDescription: "Internal error"}
}

// isCSC tells a call of the CSC API, whose errors are never problem+json.
func isCSC(c *gin.Context) bool { return strings.HasPrefix(c.Request.URL.Path, "/csc/") }

// cscStatus answers an invalid_request CSC error with a status of the router's own.
func cscStatus(c *gin.Context, status int, description string) {
	c.AbortWithStatusJSON(status, cscErrorOut{Error: csc.CodeInvalidRequest, ErrorDescription: description})
}

func cscTooMany(c *gin.Context, secs int64) {
	c.AbortWithStatusJSON(http.StatusTooManyRequests, cscErrorOut{Error: csc.CodeUnavailable,
		ErrorDescription: fmt.Sprintf("rate limit reached; retry after %d s", secs)})
}

func cscBad(c *gin.Context, format string, args ...any) {
	c.AbortWithStatusJSON(http.StatusBadRequest, cscErrorOut{Error: csc.CodeInvalidRequest, ErrorDescription: fmt.Sprintf(format, args...)})
}

// cscJSON reads a capped JSON body into v. Unknown fields are ignored, as the CSC
// specification lets clients send their own (clientData, signed_props...).
func (s *server) cscJSON(c *gin.Context, limit int64, v any) bool {
	if !capBody(c, limit) {
		cscTooLarge(c, limit)
		return false
	}
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/json" {
		cscBad(c, "send application/json")
		return false
	}
	dec := json.NewDecoder(c.Request.Body)
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			cscTooLarge(c, limit)
			return false
		}
		cscBad(c, "Malformed JSON body: %v", err)
		return false
	}
	return true
}

func cscTooLarge(c *gin.Context, limit int64) {
	c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, cscErrorOut{Error: csc.CodeInvalidRequest,
		ErrorDescription: fmt.Sprintf("the body may have at most %d bytes", limit)})
	linger(c)
}

func (s *server) cscAuth(c *gin.Context) {
	tok, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		cscFail(c, &csc.Error{Status: http.StatusUnauthorized, Code: csc.CodeInvalidToken, Description: "Missing Bearer access token"})
		return
	}
	p, err := s.CSC.Authenticate(c.Request.Context(), strings.TrimSpace(tok))
	if err != nil {
		cscFail(c, err)
		return
	}
	c.Set(ctxCSC, p)
	c.Set(ctxLogger, logger(c).With("clientId", p.ClientID))
	c.Next()
}

func cscPrincipal(c *gin.Context) *csc.Principal { return c.MustGet(ctxCSC).(*csc.Principal) }

// requireService refuses methods that a credential-scoped token may not call.
func requireService(c *gin.Context) bool {
	if cscPrincipal(c).Scope != csc.ScopeService {
		cscFail(c, &csc.Error{Status: http.StatusUnauthorized, Code: csc.CodeInvalidToken, Description: "This method needs a token of scope service"})
		return false
	}
	return true
}

type cscInfoOut struct {
	Specs               string              `json:"specs"`
	Name                string              `json:"name"`
	Logo                string              `json:"logo"`
	Region              string              `json:"region"`
	Lang                string              `json:"lang"`
	Description         string              `json:"description"`
	AuthType            []string            `json:"authType"`
	OAuth2              string              `json:"oauth2"`
	OAuth2Issuer        string              `json:"oauth2Issuer,omitempty"`
	AsynchronousMode    *bool               `json:"asynchronousOperationMode,omitempty"`
	Methods             []string            `json:"methods"`
	ValidationInfo      *bool               `json:"validationInfo,omitempty"`
	SignAlgorithms      cscSignAlgorithms   `json:"signAlgorithms"`
	SignatureFormats    *cscSignatureFormat `json:"signature_formats,omitempty"`
	ConformanceLevels   []string            `json:"conformance_levels,omitempty"`
	AuthorizationDetail []string            `json:"authorization_details_types_supported,omitempty"`
}

type cscSignAlgorithms struct {
	Algos []string `json:"algos"`
}

type cscSignatureFormat struct {
	Formats            []string   `json:"formats"`
	EnvelopeProperties [][]string `json:"envelope_properties"`
}

func (s *server) cscInfo(specs string, methods []string) gin.HandlerFunc {
	return func(c *gin.Context) {
		cfg := s.CSC.Config()
		yes := true
		out := cscInfoOut{Specs: specs, Name: cfg.Name, Logo: cfg.Logo, Region: cfg.Region, Lang: cfg.Lang, Description: cfg.Description,
			AuthType: []string{"oauth2client", "oauth2code"}, OAuth2: cfg.BaseURL + "/csc/v2", Methods: methods,
			SignAlgorithms: cscSignAlgorithms{Algos: csc.AllSignAlgos}}
		if specs != "1.0.4.0" {
			out.OAuth2Issuer = cfg.BaseURL + "/csc/v2"
			out.AsynchronousMode = &yes
			no := false
			out.ValidationInfo = &no
			// PAdES for documents and for documentDigests (an approval signature: a new revision);
			// detached CAdES for documentDigests.
			out.SignatureFormats = &cscSignatureFormat{Formats: []string{"C", "P"}, EnvelopeProperties: [][]string{{"Detached"}, {"Revision"}}}
			out.ConformanceLevels = []string{"Ades-B-B", "Ades-B-T", "Ades-B-LT", "Ades-B-LTA"}
			out.AuthorizationDetail = []string{"credential"}
		}
		c.JSON(http.StatusOK, out)
	}
}

// cscMetadataOut is RFC 8414 authorization server metadata.
type cscMetadataOut struct {
	Issuer                     string   `json:"issuer"`
	AuthorizationEndpoint      string   `json:"authorization_endpoint"`
	TokenEndpoint              string   `json:"token_endpoint"`
	RevocationEndpoint         string   `json:"revocation_endpoint"`
	PushedAuthorizationRequest string   `json:"pushed_authorization_request_endpoint"`
	ResponseTypes              []string `json:"response_types_supported"`
	GrantTypes                 []string `json:"grant_types_supported"`
	TokenAuthMethods           []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethods      []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethods       []string `json:"code_challenge_methods_supported"`
	Scopes                     []string `json:"scopes_supported"`
	AuthorizationDetailsTypes  []string `json:"authorization_details_types_supported"`
}

func (s *server) cscMetadata(c *gin.Context) {
	base := s.CSC.Config().BaseURL + "/csc/v2"
	auth := []string{"client_secret_post", "client_secret_basic"}
	c.JSON(http.StatusOK, cscMetadataOut{Issuer: base, AuthorizationEndpoint: base + "/oauth2/authorize", TokenEndpoint: base + "/oauth2/token",
		RevocationEndpoint: base + "/oauth2/revoke", PushedAuthorizationRequest: base + "/oauth2/pushed_authorize",
		ResponseTypes: []string{"code"}, GrantTypes: []string{"authorization_code", "client_credentials"},
		TokenAuthMethods: auth, RevocationAuthMethods: auth, CodeChallengeMethods: []string{"S256"},
		Scopes: []string{csc.ScopeService, csc.ScopeCredential}, AuthorizationDetailsTypes: []string{"credential"}})
}

// cscForm parses an application/x-www-form-urlencoded body (1 MiB at most) and returns
// the client id and secret from the body or HTTP Basic authentication.
func (s *server) cscForm(c *gin.Context) (id, secret string, ok bool) {
	if !capBody(c, s.Limits.JSONBody) {
		cscTooLarge(c, s.Limits.JSONBody)
		return "", "", false
	}
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		cscBad(c, "send application/x-www-form-urlencoded")
		return "", "", false
	}
	if err := c.Request.ParseForm(); err != nil {
		cscBad(c, "Malformed form body")
		return "", "", false
	}
	id, secret = c.Request.PostForm.Get("client_id"), c.Request.PostForm.Get("client_secret")
	if bid, bsecret, basic := c.Request.BasicAuth(); basic {
		id, secret = bid, bsecret
	}
	return id, secret, true
}

type cscTokenOut struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	CredentialID string `json:"credentialID,omitempty"`
	// AuthorizationDetails are the RAR details the signer approved (RFC 9396 §7).
	AuthorizationDetails json.RawMessage `json:"authorization_details,omitempty"`
}

func (s *server) cscToken(c *gin.Context) {
	id, secret, ok := s.cscForm(c)
	if !ok {
		return
	}
	f := c.Request.PostForm
	out, err := s.CSC.Token(c.Request.Context(), csc.TokenRequest{GrantType: f.Get("grant_type"), ClientID: id, Secret: secret,
		Code: f.Get("code"), RedirectURI: f.Get("redirect_uri"), CodeVerifier: f.Get("code_verifier")})
	if err != nil {
		cscFail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	resp := cscTokenOut{AccessToken: out.AccessToken, TokenType: out.TokenType, ExpiresIn: out.ExpiresIn, Scope: out.Scope,
		CredentialID: out.CredentialID}
	if out.AuthorizationDetails != "" {
		resp.AuthorizationDetails = json.RawMessage(out.AuthorizationDetails)
	}
	c.JSON(http.StatusOK, resp)
}

func (s *server) cscRevoke(c *gin.Context) {
	id, secret, ok := s.cscForm(c)
	if !ok {
		return
	}
	if err := s.CSC.Revoke(c.Request.Context(), id, secret, c.Request.PostForm.Get("token")); err != nil {
		cscFail(c, err)
		return
	}
	c.Status(http.StatusOK)
}

func authorizeParams(get func(string) string) csc.AuthorizeParams {
	return csc.AuthorizeParams{ResponseType: get("response_type"), ClientID: get("client_id"), RedirectURI: get("redirect_uri"),
		Scope: get("scope"), CodeChallenge: get("code_challenge"), CodeChallengeMethod: get("code_challenge_method"), State: get("state"),
		CredentialID: get("credentialID"), NumSignatures: get("numSignatures"), Hashes: get("hashes"), HashAlgorithmOID: get("hashAlgorithmOID"),
		Description: get("description"), AuthorizationDetails: get("authorization_details"), RequestURI: get("request_uri"),
		CallbackURL: get("callbackUrl")}
}

type cscPushOut struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int    `json:"expires_in"`
}

func (s *server) cscPush(c *gin.Context) {
	id, secret, ok := s.cscForm(c)
	if !ok {
		return
	}
	p := authorizeParams(c.Request.PostForm.Get)
	p.ClientID = id
	out, err := s.CSC.Push(c.Request.Context(), secret, p)
	if err != nil {
		cscFail(c, err)
		return
	}
	c.JSON(http.StatusCreated, cscPushOut{RequestURI: out.RequestURI, ExpiresIn: out.ExpiresIn})
}

type cscAuthorizeOut struct {
	Icon *iconOut `json:"icon"`
	Poll string   `json:"poll"`
	// RequestID is Paraphe's extension: the signature request behind the authorization
	// (its evidence record, its webhook).
	RequestID string `json:"requestId"`
}

// wantsJSON reports whether the client prefers JSON to HTML.
func wantsJSON(c *gin.Context) bool {
	a := c.GetHeader("Accept")
	return strings.Contains(a, "application/json") && !strings.Contains(a, "text/html")
}

// cscAuthorizePage serves oauth2/authorize in the signer's browser: the page shows the
// icon to pick on the phone and waits; JSON clients get the icon and the poll URL. An
// unknown client or redirect URI is shown on a page (never redirected to); other errors
// go back to the redirect URI.
func (s *server) cscAuthorizePage(c *gin.Context) {
	a, r, err := s.CSC.StartAuthorize(c.Request.Context(), authorizeParams(c.Query))
	if err != nil {
		// The client and its redirect URI are good: the browser goes back to the client
		// with the error and the state (RFC 6749 §4.1.2.1).
		var ae *csc.AuthorizeError
		if !wantsJSON(c) && errors.As(err, &ae) {
			_, out := cscAnswer(c, err)
			c.Header("Cache-Control", "no-store")
			c.Redirect(http.StatusSeeOther, ae.Location(out.Error, out.ErrorDescription))
			c.Abort()
			return
		}
		var ce *csc.Error
		if !wantsJSON(c) && errors.As(err, &ce) {
			c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
			c.Status(ce.Status)
			_ = authorizeErrorPage.Execute(c.Writer, ce)
			c.Abort()
			return
		}
		cscFail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	if wantsJSON(c) {
		c.JSON(http.StatusOK, cscAuthorizeOut{Icon: iconView(a.Icon), Poll: a.PollPath, RequestID: a.RequestID})
		return
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'")
	c.Header("X-Frame-Options", "DENY")
	c.Status(http.StatusOK)
	_ = authorizePage.Execute(c.Writer, map[string]any{"Icon": iconView(a.Icon), "Poll": a.PollPath, "Description": r.Description,
		"Count": len(r.Documents), "Expires": r.ExpiresAt.UTC().Format(time.RFC3339)})
}

type cscPollOut struct {
	Status string `json:"status"`
}

// cscPoll is the wait: 202 while the signer has not answered, then 303 to the redirect
// URI (once); ?peek=1 only reports the state (the page's script asks that way).
func (s *server) cscPoll(c *gin.Context) {
	peek := c.Query("peek") != ""
	st, err := s.CSC.Poll(c.Request.Context(), c.Param("secret"), peek)
	if err != nil {
		cscFail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	switch {
	case st.Pending:
		c.JSON(http.StatusAccepted, cscPollOut{Status: "pending"})
	case peek && st.Approved:
		c.JSON(http.StatusOK, cscPollOut{Status: "approved"})
	case peek:
		c.JSON(http.StatusOK, cscPollOut{Status: "denied"})
	default:
		c.Redirect(http.StatusSeeOther, st.Location)
	}
}

type cscListIn struct {
	UserID         string `json:"userID"`
	CredentialInfo bool   `json:"credentialInfo"`
	Certificates   string `json:"certificates"`
	CertInfo       bool   `json:"certInfo"`
	AuthInfo       bool   `json:"authInfo"`
}

type cscListOut struct {
	CredentialIDs   []string         `json:"credentialIDs"`
	CredentialInfos []map[string]any `json:"credentialInfos,omitempty"`
}

func (s *server) cscList(v1 bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in cscListIn
		if !s.cscJSON(c, s.Limits.JSONBody, &in) {
			return
		}
		infos, err := s.CSC.List(c.Request.Context(), cscPrincipal(c), csc.ListRequest{UserID: in.UserID, CredentialInfo: in.CredentialInfo,
			Info: csc.InfoRequest{Certificates: in.Certificates, CertInfo: in.CertInfo, AuthInfo: in.AuthInfo}})
		if err != nil {
			cscFail(c, err)
			return
		}
		out := cscListOut{CredentialIDs: []string{}}
		for _, i := range infos {
			out.CredentialIDs = append(out.CredentialIDs, i.ID)
			if in.CredentialInfo && !v1 {
				m := credentialInfoView(i, false)
				m["credentialID"] = i.ID
				out.CredentialInfos = append(out.CredentialInfos, m)
			}
		}
		c.JSON(http.StatusOK, out)
	}
}

type cscInfoIn struct {
	CredentialID string `json:"credentialID"`
	Certificates string `json:"certificates"`
	CertInfo     bool   `json:"certInfo"`
	AuthInfo     bool   `json:"authInfo"`
}

func (s *server) cscCredInfo(v1 bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in cscInfoIn
		if !s.cscJSON(c, s.Limits.JSONBody, &in) {
			return
		}
		info, err := s.CSC.Info(c.Request.Context(), cscPrincipal(c), csc.InfoRequest{CredentialID: in.CredentialID, Certificates: in.Certificates,
			CertInfo: in.CertInfo, AuthInfo: in.AuthInfo})
		if err != nil {
			cscFail(c, err)
			return
		}
		c.JSON(http.StatusOK, credentialInfoView(*info, v1))
	}
}

// credentialInfoView shapes credentials/info: v2 (auth.mode, auth.objects) or v1
// (authMode, PIN and OTP presence).
func credentialInfoView(i csc.CredentialInfo, v1 bool) map[string]any {
	key := map[string]any{"status": i.KeyStatus, "algo": i.KeyAlgos, "len": i.KeyLen}
	if i.KeyCurve != "" {
		key["curve"] = i.KeyCurve
	}
	cert := map[string]any{"status": i.CertStatus}
	if len(i.Certificates) > 0 {
		cert["certificates"] = i.Certificates
	}
	if x := i.Cert; x != nil {
		cert["issuerDN"] = x.Issuer.String()
		cert["subjectDN"] = x.Subject.String()
		cert["serialNumber"] = x.SerialNumber.Text(16)
		cert["validFrom"] = x.NotBefore.UTC().Format("20060102150405Z")
		cert["validTo"] = x.NotAfter.UTC().Format("20060102150405Z")
	}
	out := map[string]any{"description": i.Description, "key": key, "cert": cert, "SCAL": "2", "multisign": i.Multisign, "lang": "en-US"}
	if v1 {
		out["authMode"] = "explicit"
		out["PIN"] = map[string]any{"presence": "false"}
		out["OTP"] = map[string]any{"presence": "true", "type": "online", "ID": "phone", "provider": "Paraphe",
			"description": "Approve on your phone: pick the icon shown and enter your PIN"}
		return out
	}
	if i.AuthInfo {
		out["auth"] = map[string]any{"mode": "explicit", "expression": "phone", "objects": []map[string]any{{
			"type": "ChallengeResponseOOB", "id": "phone", "format": "N", "label": "Phone approval",
			"description": "Approve on your phone: pick the icon shown here and enter your PIN",
		}}}
	}
	return out
}

type cscAuthData struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

type cscCredAuthorizeIn struct {
	CredentialID     string        `json:"credentialID"`
	NumSignatures    int           `json:"numSignatures"`
	Hashes           []string      `json:"hashes"`
	HashAlgorithmOID string        `json:"hashAlgorithmOID"`
	AuthData         []cscAuthData `json:"authData"`
	Description      string        `json:"description"`
	// CallbackURL is Paraphe's extension: a webhook on the final state, as on the REST API.
	CallbackURL string `json:"callbackUrl"`
}

type cscHandleOut struct {
	Handle string   `json:"handle"`
	Icon   *iconOut `json:"icon,omitempty"`
	// RequestID is Paraphe's extension: the signature request behind the authorization
	// (GET /v1/signature-requests/{id} and its evidence with the same client's API key).
	RequestID string `json:"requestId,omitempty"`
}

func (s *server) cscCredAuthorize(c *gin.Context) {
	var in cscCredAuthorizeIn
	if !s.cscJSON(c, s.Limits.JSONBody, &in) {
		return
	}
	ids := make([]string, len(in.AuthData))
	for i, a := range in.AuthData {
		ids[i] = a.ID
	}
	h, r, err := s.CSC.Authorize(c.Request.Context(), cscPrincipal(c), csc.AuthorizeRequest{CredentialID: in.CredentialID,
		NumSignatures: in.NumSignatures, Hashes: in.Hashes, HashAlgorithmOID: in.HashAlgorithmOID, Description: in.Description, AuthDataIDs: ids,
		CallbackURL: in.CallbackURL})
	if err != nil {
		cscFail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, cscHandleOut{Handle: h, Icon: iconView(r.IconID), RequestID: r.ID})
}

type cscHandleIn struct {
	Handle string `json:"handle"`
}

type cscSADOut struct {
	SAD       string `json:"SAD"`
	ExpiresIn int    `json:"expiresIn"`
}

func (s *server) cscAuthorizeCheck(c *gin.Context) {
	var in cscHandleIn
	if !s.cscJSON(c, s.Limits.JSONBody, &in) {
		return
	}
	out, err := s.CSC.AuthorizeCheck(c.Request.Context(), cscPrincipal(c), in.Handle)
	if err != nil {
		cscFail(c, err)
		return
	}
	if out.Pending {
		c.JSON(http.StatusAccepted, cscHandleOut{Handle: in.Handle})
		return
	}
	c.JSON(http.StatusOK, cscSADOut{SAD: out.SAD, ExpiresIn: out.ExpiresIn})
}

type cscExtendIn struct {
	CredentialID string   `json:"credentialID"`
	SAD          string   `json:"SAD"`
	Hashes       []string `json:"hashes"`
}

func (s *server) cscExtend(c *gin.Context) {
	var in cscExtendIn
	if !s.cscJSON(c, s.Limits.JSONBody, &in) {
		return
	}
	out, err := s.CSC.Extend(c.Request.Context(), cscPrincipal(c), in.CredentialID, in.SAD)
	if err != nil {
		cscFail(c, err)
		return
	}
	c.JSON(http.StatusOK, cscSADOut{SAD: out.SAD, ExpiresIn: out.ExpiresIn})
}

type cscSignHashIn struct {
	CredentialID     string   `json:"credentialID"`
	SAD              string   `json:"SAD"`
	Hashes           []string `json:"hashes"`
	HashAlgorithmOID string   `json:"hashAlgorithmOID"`
	SignAlgo         string   `json:"signAlgo"`
	OperationMode    string   `json:"operationMode"`
	// v1.0.4.0 names.
	Hash     []string `json:"hash"`
	HashAlgo string   `json:"hashAlgo"`
}

type cscSignaturesOut struct {
	Signatures []string `json:"signatures"`
}

type cscResponseOut struct {
	ResponseID string `json:"responseID"`
}

func (s *server) cscSignHash(v1 bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in cscSignHashIn
		if !s.cscJSON(c, s.Limits.JSONBody, &in) {
			return
		}
		if v1 {
			in.Hashes, in.HashAlgorithmOID, in.OperationMode = in.Hash, in.HashAlgo, ""
		}
		if !validOperationMode(c, in.OperationMode) {
			return
		}
		sigs, resp, err := s.CSC.SignHash(c.Request.Context(), cscPrincipal(c), csc.SignHashRequest{CredentialID: in.CredentialID, SAD: in.SAD,
			Hashes: in.Hashes, HashAlgorithmOID: in.HashAlgorithmOID, SignAlgo: in.SignAlgo, Async: in.OperationMode == "A"})
		if err != nil {
			cscFail(c, err)
			return
		}
		if resp != "" {
			c.JSON(http.StatusAccepted, cscResponseOut{ResponseID: resp})
			return
		}
		c.JSON(http.StatusOK, cscSignaturesOut{Signatures: sigs})
	}
}

// validOperationMode accepts "S" (the default) and "A"; anything else is answered 400.
func validOperationMode(c *gin.Context, mode string) bool {
	switch mode {
	case "", "S", "A":
		return true
	}
	cscBad(c, "Invalid parameter operationMode: S or A")
	return false
}

type cscPollingIn struct {
	ResponseID string `json:"responseID"`
}

func (s *server) cscSignPolling(c *gin.Context) {
	var in cscPollingIn
	if !s.cscJSON(c, s.Limits.JSONBody, &in) {
		return
	}
	res, err := s.CSC.SignPolling(c.Request.Context(), cscPrincipal(c), in.ResponseID)
	if err != nil {
		cscFail(c, err)
		return
	}
	switch {
	case res == nil:
		c.JSON(http.StatusAccepted, cscResponseOut(in))
	case res.Doc:
		c.JSON(http.StatusOK, cscSignDocOut{DocumentWithSignature: res.DocumentWithSignature, SignatureObject: res.SignatureObject})
	default:
		c.JSON(http.StatusOK, cscSignaturesOut{Signatures: res.Signatures})
	}
}

type cscDocIn struct {
	Document         string `json:"document"`
	SignatureFormat  string `json:"signature_format"`
	ConformanceLevel string `json:"conformance_level"`
	SignAlgo         string `json:"signAlgo"`
}

// cscDocDigestsIn is one documentDigests entry: digests of what the client signs (for
// PAdES, a PDF's byte range), each answered with a detached CMS in SignatureObject.
type cscDocDigestsIn struct {
	Hashes           []string `json:"hashes"`
	HashAlgorithmOID string   `json:"hashAlgorithmOID"`
	SignatureFormat  string   `json:"signature_format"`
	ConformanceLevel string   `json:"conformance_level"`
	SignAlgo         string   `json:"signAlgo"`
}

type cscSignDocIn struct {
	CredentialID    string            `json:"credentialID"`
	SAD             string            `json:"SAD"`
	Documents       []cscDocIn        `json:"documents"`
	DocumentDigests []cscDocDigestsIn `json:"documentDigests"`
	OperationMode   string            `json:"operationMode"`
}

type cscSignDocOut struct {
	DocumentWithSignature []string `json:"DocumentWithSignature,omitempty"`
	SignatureObject       []string `json:"SignatureObject,omitempty"`
}

func (s *server) cscSignDoc(c *gin.Context) {
	var in cscSignDocIn
	// base64 makes a PDF 4/3 larger; the JSON around it is small.
	if !s.cscJSON(c, s.Limits.PDFBody/3*4+s.Limits.JSONBody, &in) {
		return
	}
	if !validOperationMode(c, in.OperationMode) {
		return
	}
	req := csc.SignDocRequest{CredentialID: in.CredentialID, SAD: in.SAD, Async: in.OperationMode == "A"}
	for _, d := range in.Documents {
		req.Documents = append(req.Documents, csc.SignDocItem{Document: d.Document, SignatureFormat: d.SignatureFormat,
			ConformanceLevel: d.ConformanceLevel, SignAlgo: d.SignAlgo})
	}
	for _, d := range in.DocumentDigests {
		req.DocumentDigests = append(req.DocumentDigests, csc.SignDocDigests{Hashes: d.Hashes, HashAlgorithmOID: d.HashAlgorithmOID,
			SignatureFormat: d.SignatureFormat, ConformanceLevel: d.ConformanceLevel, SignAlgo: d.SignAlgo})
	}
	out, resp, err := s.CSC.SignDoc(c.Request.Context(), cscPrincipal(c), req)
	if err != nil {
		cscFail(c, err)
		return
	}
	if resp != "" {
		c.JSON(http.StatusAccepted, cscResponseOut{ResponseID: resp})
		return
	}
	c.JSON(http.StatusOK, cscSignDocOut{DocumentWithSignature: out.DocumentWithSignature, SignatureObject: out.SignatureObject})
}

type cscTimestampIn struct {
	Hash             string `json:"hash"`
	HashAlgorithmOID string `json:"hashAlgorithmOID"`
	HashAlgo         string `json:"hashAlgo"` // v1.0.4.0's name
	Nonce            string `json:"nonce"`
}

type cscTimestampOut struct {
	Timestamp string `json:"timestamp"`
}

func (s *server) cscTimestamp(c *gin.Context) {
	var in cscTimestampIn
	if !s.cscJSON(c, s.Limits.JSONBody, &in) || !requireService(c) {
		return
	}
	oid := in.HashAlgorithmOID
	if oid == "" {
		oid = in.HashAlgo
	}
	tok, err := s.CSC.Timestamp(c.Request.Context(), in.Hash, oid, in.Nonce)
	if err != nil {
		cscFail(c, err)
		return
	}
	c.JSON(http.StatusOK, cscTimestampOut{Timestamp: base64.StdEncoding.EncodeToString(tok)})
}

// authorizePage waits for the phone: it shows the icon the signer must pick, asks the
// poll URL every second, and follows it once the signer answered.
var authorizePage = template.Must(template.New("authorize").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Approve on your phone — Paraphe</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;text-align:center;color:#222}
img{width:9rem;height:9rem;border:2px solid #333;border-radius:1rem;padding:1rem}p.small{color:#555;font-size:.9rem}</style></head>
<body>
<h1>Approve on your phone</h1>
<p>Open Paraphe on your phone, choose <strong>this icon</strong> and enter your PIN.</p>
<figure data-icon-id="{{.Icon.ID}}"><img src="{{.Icon.SVG}}" alt="{{.Icon.Label}}"><figcaption>{{.Icon.Label}}</figcaption></figure>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<p class="small">{{.Count}} signature(s) to approve · this request ends at {{.Expires}}</p>
<p class="small" id="status" role="status">Waiting for your phone…</p>
<script>
(function () {
  var poll = {{.Poll}};
  function ask() {
    fetch(poll + "?peek=1", {headers: {Accept: "application/json"}, cache: "no-store"}).then(function (r) {
      if (r.status === 202) { setTimeout(ask, 1000); return; }
      window.location.replace(poll);
    }).catch(function () { setTimeout(ask, 3000); });
  }
  ask();
})();
</script>
</body></html>
`))

var authorizeErrorPage = template.Must(template.New("authorize-error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorization refused — Paraphe</title></head>
<body><h1>This authorization cannot start</h1><p>{{.Code}}: {{.Description}}</p></body></html>
`))
