package csc

import (
	"fmt"
	"net/http"
)

// Error is a CSC error answer: the OAuth 2.0 style code, its description and the HTTP
// status the specification gives for it.
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string { return "csc: " + e.Code + ": " + e.Description }

// Error codes used by the CSC specification and OAuth 2.0.
const (
	CodeInvalidRequest = "invalid_request"
	CodeInvalidClient  = "invalid_client"
	CodeInvalidGrant   = "invalid_grant"
	CodeUnsupported    = "unsupported_grant_type"
	// CodeUnsupportedResponse is oauth2/authorize's answer to a response_type other than code.
	CodeUnsupportedResponse = "unsupported_response_type"
	CodeInvalidScope        = "invalid_scope"
	CodeInvalidToken        = "invalid_token"
	CodeAccessDenied        = "access_denied"
	CodeUnauthorized        = "unauthorized_client"
	CodeServerError         = "server_error"
	CodeUnavailable         = "temporarily_unavailable"
)

func invalidRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Description: fmt.Sprintf(format, args...)}
}

func invalidParam(name string) *Error {
	return invalidRequest("Invalid parameter %s", name)
}

func missingParam(name string) *Error {
	return invalidRequest("Missing (or invalid type) parameter %s", name)
}

var (
	errInvalidClient = &Error{Status: http.StatusUnauthorized, Code: CodeInvalidClient, Description: "Client authentication failed"}
	errInvalidToken  = &Error{Status: http.StatusUnauthorized, Code: CodeInvalidToken, Description: "The access token is missing, unknown, expired or revoked"}
	errInvalidGrant  = &Error{Status: http.StatusBadRequest, Code: CodeInvalidGrant, Description: "The authorization code is unknown, expired, already used, or does not match the client, redirect URI or code verifier"}
	errAccessDenied  = &Error{Status: http.StatusBadRequest, Code: CodeAccessDenied, Description: "The signer refused, or the authorization expired or was cancelled"}
)
