// Package api owns the HTTP surface: Gin routers and handlers that decode, authorize,
// call one service and encode; RFC 9457 problem+json errors mapped in one place
// (errors.go); body limits; request ids and access logs.
//
// Nothing below this package imports Gin. Handlers pass c.Request.Context() down, never
// the *gin.Context. 5xx answers never carry internal detail: that goes to the log with
// the request id.
//
// X-Forwarded-Proto is believed only behind a TLS proxy (Deps.BehindTLSProxy) and only
// from the trusted proxies' addresses; it is removed from every other request, so that
// no client can pass a plain-HTTP request off as https. Answers over https carry HSTS.
// The phone web app (/app/) and the demo page (/demo) are mounted here too; they are
// pages, not the API, and openapi.yaml does not list them.
package api
