package ca

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ocspResponseValidity is how long an OCSP response is fresh (nextUpdate - thisUpdate):
// one hour, short enough that a revocation shows within the hour for relying
// parties that cache.
const ocspResponseValidity = time.Hour

// maxOCSPRequest bounds the request size. A one-certificate request is about
// 80 to 120 bytes (with a nonce); 16 KiB leaves room for several CertIDs and
// extensions while keeping parsing cheap.
const maxOCSPRequest = 16 << 10

// Status is what the CA's store says about a certificate serial.
type Status struct {
	// Known is true when the serial is one the issuing CA issued.
	Known bool
	// RevokedAt is the revocation time; zero means not revoked.
	RevokedAt time.Time
	// Reason is the RFC 5280 CRLReason code (0 unspecified, 1 keyCompromise,
	// ..., 10 aACompromise); values outside it are answered as unspecified.
	Reason int
}

// StatusSource gives the status of a serial issued by the issuing CA.
type StatusSource interface {
	// CertificateStatus returns the status of serial; an unknown serial is
	// Status{Known: false} and a nil error.
	CertificateStatus(ctx context.Context, serial *big.Int) (Status, error)
}

// OCSP answers an RFC 6960 request (DER) about a certificate of the issuing
// CA and returns the DER response. The answer is good, revoked (with time and
// reason) or unknown (serial not known to src); it is signed by the delegated
// responder (OCSPResponder), includes that certificate, uses the CertID hash
// of the request; producedAt and thisUpdate are the current time rounded up
// to the second (a response made after a signature timestamp is never dated
// before it) and
// nextUpdate one hour later. The responder's own certificate
// is always good. Requests the responder cannot answer get an OCSP error
// response and a nil error: malformedRequest for bytes that do not parse,
// unauthorized for a certificate of another issuer (RFC 6960 §2.3, as RFC
// 5019 §2.2.3 does). Only the first CertID of a request is answered; request
// nonces are not echoed (RFC 8954 allows a responder to ignore them).
//
// When src or the HSM fails, OCSP returns an internalError response together
// with a non-nil error: the caller logs the error and may send the bytes.
func (a *Authority) OCSP(ctx context.Context, request []byte, src StatusSource) ([]byte, error) {
	if len(request) > maxOCSPRequest {
		return ocsp.MalformedRequestErrorResponse, nil
	}
	req, err := ocsp.ParseRequest(request)
	if err != nil || req.SerialNumber == nil {
		return ocsp.MalformedRequestErrorResponse, nil
	}
	if !a.isIssuingCA(req) {
		return ocsp.UnauthorizedErrorResponse, nil
	}

	// thisUpdate and producedAt are the same whole second (the encoding has
	// no fraction), rounded up: never earlier than the moment the response
	// is made, so never before a signature timestamp made earlier, even one
	// with a fraction of a second; thisUpdate never after producedAt (NSS
	// rejects a response "from the future"). Validators allow minutes of
	// clock skew; this is less than a second ahead.
	now := ceilSecond(a.cfg.Now())
	tmpl := ocspSingle{
		hash:       req.HashAlgorithm,
		nameHash:   req.IssuerNameHash,
		keyHash:    req.IssuerKeyHash,
		serial:     req.SerialNumber,
		thisUpdate: now,
		nextUpdate: now.Add(ocspResponseValidity),
		status:     ocsp.Good,
	}
	if req.SerialNumber.Cmp(a.ocsp.SerialNumber) != 0 {
		if src == nil {
			return ocsp.InternalErrorErrorResponse, fmt.Errorf("ca: ocsp: no status source")
		}
		st, err := src.CertificateStatus(ctx, req.SerialNumber)
		if err != nil {
			return ocsp.InternalErrorErrorResponse, fmt.Errorf("ca: ocsp: status of serial %s: %w", req.SerialNumber.Text(16), err)
		}
		switch {
		case !st.Known:
			tmpl.status = ocsp.Unknown
		case !st.RevokedAt.IsZero():
			tmpl.status = ocsp.Revoked
			tmpl.revokedAt = st.RevokedAt
			tmpl.reason = crlReason(st.Reason)
		}
	}
	if err := ctx.Err(); err != nil {
		return ocsp.TryLaterErrorResponse, fmt.Errorf("ca: ocsp: %w", err)
	}
	resp, err := buildOCSPResponse(tmpl, a.ocsp, a.ocspKey, now)
	if err != nil {
		return ocsp.InternalErrorErrorResponse, err
	}
	return resp, nil
}

// ceilSecond rounds t up to a whole second.
func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// isIssuingCA reports whether the request's CertID names the issuing CA.
func (a *Authority) isIssuingCA(req *ocsp.Request) bool {
	h := req.HashAlgorithm
	if !h.Available() {
		return false
	}
	keyBits, err := spkiBits(a.issuing.RawSubjectPublicKeyInfo)
	if err != nil {
		return false
	}
	return bytes.Equal(req.IssuerNameHash, digest(h, a.issuing.RawSubject)) &&
		bytes.Equal(req.IssuerKeyHash, digest(h, keyBits))
}

func digest(h crypto.Hash, data []byte) []byte {
	d := h.New()
	d.Write(data)
	return d.Sum(nil)
}

// crlReason maps a store reason to a valid RFC 5280 CRLReason: 7 is unused
// and anything outside 0..10 becomes unspecified.
func crlReason(r int) int {
	if r < 0 || r > 10 || r == 7 {
		return ocsp.Unspecified
	}
	return r
}
