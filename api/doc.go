// Package api owns the HTTP surface: Gin routers and handlers that decode, authorize,
// call one service and encode; RFC 9457 problem+json errors mapped in one place
// (errors.go); body limits; request ids and access logs.
//
// Nothing below this package imports Gin. Handlers pass c.Request.Context() down, never
// the *gin.Context. 5xx answers never carry internal detail: that goes to the log with
// the request id.
package api
