// Package errkind gives domain errors a kind: what went wrong, in terms any front end can
// answer in its own words. Domain packages declare their sentinel errors with New, so
// each carries its kind; wrapping (fmt.Errorf("...: %w", err)) keeps it. Each front end
// maps kinds once: the REST API to RFC 9457 problem+json statuses (api/errors.go), a CSC
// front end to its {"error","error_description"} pairs (Invalid → invalid_request,
// Unauthenticated → invalid_token, Forbidden and Locked → access_denied, ...). The
// model is letsencrypt/boulder's errors package and its web/probs.go.
//
// Rules:
//   - A kind says whose fault it is and whether retrying can help, never how to say it:
//     HTTP statuses and CSC error codes live in the front ends.
//   - An error without a kind is Internal: its detail goes to the log, never to the
//     client.
package errkind

import "errors"

// Kind is the class of an error.
type Kind int

// The kinds. Internal is the zero value: an error nobody classified.
const (
	Internal        Kind = iota
	Invalid              // the input is wrong; retrying the same call fails the same way
	NotFound             // no such thing (or not the caller's: tenancy hides it)
	Conflict             // the thing is not in a state that allows the call
	Unauthenticated      // who is calling is unknown or not proven
	Forbidden            // the caller is known but may not do this
	Locked               // the account or resource is locked until someone acts
	TooMany              // a limit was reached; retrying later may work
	Unavailable          // a part of this service (the HSM, the database) is down
	Upstream             // a service this one depends on (a TSA) failed
)

var names = [...]string{"internal", "invalid", "not-found", "conflict", "unauthenticated", "forbidden", "locked", "too-many", "unavailable", "upstream"}

// String returns the kind's name, in lowercase with dashes.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(names) {
		return "internal"
	}
	return names[k]
}

// Error is an error with a kind. Sentinels made by New are compared by identity
// (errors.Is), as errors.New's are.
type Error struct {
	kind Kind
	msg  string
}

// New returns an error of kind k with message msg (lowercase, prefixed by the package).
func New(k Kind, msg string) *Error { return &Error{kind: k, msg: msg} }

// Error returns the message.
func (e *Error) Error() string { return e.msg }

// Kind returns the error's kind.
func (e *Error) Kind() Kind { return e.kind }

// Of returns the kind of the first error in err's chain that has one (a method
// Kind() Kind), and Internal when none does.
func Of(err error) Kind {
	var k interface{ Kind() Kind }
	if errors.As(err, &k) {
		return k.Kind()
	}
	return Internal
}

// Wrap returns an error of kind k that wraps err, for errors of other packages that a
// domain package classifies (a PKCS#11 device error is Unavailable).
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &wrapped{kind: k, err: err}
}

type wrapped struct {
	kind Kind
	err  error
}

func (w *wrapped) Error() string { return w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
func (w *wrapped) Kind() Kind    { return w.kind }
