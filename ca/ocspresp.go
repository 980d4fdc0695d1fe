package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"
)

// The response is built here rather than by ocsp.CreateResponse, which
// rounds producedAt down to the minute: a response made at 12:00:48 would
// then claim 12:00:00, earlier than a signature timestamp it is meant to
// follow, and validation policies that want revocation data issued after
// the signing time would refuse it (issue 16, item 7).

var (
	oidOCSPBasic       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	oidSHA1            = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidRSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
)

type ocspCertID struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type ocspRevokedInfo struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

type ocspSingleResponse struct {
	CertID     ocspCertID
	Good       asn1.Flag       `asn1:"tag:0,optional"`
	Revoked    ocspRevokedInfo `asn1:"tag:1,optional"`
	Unknown    asn1.Flag       `asn1:"tag:2,optional"`
	ThisUpdate time.Time       `asn1:"generalized"`
	NextUpdate time.Time       `asn1:"generalized,explicit,tag:0,optional"`
}

type ocspResponseData struct {
	ResponderKeyHash []byte    `asn1:"explicit,tag:2"`
	ProducedAt       time.Time `asn1:"generalized"`
	Responses        []ocspSingleResponse
}

type ocspBasicResponse struct {
	TBS       asn1.RawValue
	Algorithm pkix.AlgorithmIdentifier
	Signature asn1.BitString
	Certs     []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspResponseBytes struct {
	Type     asn1.ObjectIdentifier
	Response []byte
}

type ocspResponse struct {
	Status asn1.Enumerated
	Bytes  ocspResponseBytes `asn1:"explicit,tag:0"`
}

// ocspSingle is what one response says about one certificate.
type ocspSingle struct {
	hash       crypto.Hash
	nameHash   []byte
	keyHash    []byte
	serial     *big.Int
	status     int
	revokedAt  time.Time
	reason     int
	thisUpdate time.Time
	nextUpdate time.Time
}

// buildOCSPResponse signs a successful basic OCSP response about s with
// key, naming the responder by the SHA-1 hash of its key and including its
// certificate. producedAt is the current second of now; thisUpdate must not
// be after it.
func buildOCSPResponse(s ocspSingle, responder *x509.Certificate, key crypto.Signer, producedAt time.Time) ([]byte, error) {
	hashOID, ok := map[crypto.Hash]asn1.ObjectIdentifier{crypto.SHA1: oidSHA1, crypto.SHA256: oidSHA256, crypto.SHA384: oidSHA384, crypto.SHA512: oidSHA512}[s.hash]
	if !ok {
		return nil, fmt.Errorf("ca: ocsp: CertID hash %v not supported", s.hash)
	}
	if s.thisUpdate.After(producedAt) {
		return nil, fmt.Errorf("ca: ocsp: thisUpdate %v after producedAt %v", s.thisUpdate, producedAt)
	}
	single := ocspSingleResponse{
		CertID: ocspCertID{
			HashAlgorithm:  pkix.AlgorithmIdentifier{Algorithm: hashOID, Parameters: asn1.NullRawValue},
			IssuerNameHash: s.nameHash,
			IssuerKeyHash:  s.keyHash,
			SerialNumber:   s.serial,
		},
		ThisUpdate: s.thisUpdate.UTC(),
		NextUpdate: s.nextUpdate.UTC(),
	}
	switch s.status {
	case ocsp.Good:
		single.Good = true
	case ocsp.Revoked:
		single.Revoked = ocspRevokedInfo{RevocationTime: s.revokedAt.UTC().Truncate(time.Second), Reason: asn1.Enumerated(s.reason)}
	default:
		single.Unknown = true
	}
	keyBits, err := spkiBits(responder.RawSubjectPublicKeyInfo)
	if err != nil {
		return nil, err
	}
	kh := sha1.Sum(keyBits)
	tbs, err := asn1.Marshal(ocspResponseData{
		ResponderKeyHash: kh[:],
		ProducedAt:       producedAt.UTC(),
		Responses:        []ocspSingleResponse{single},
	})
	if err != nil {
		return nil, fmt.Errorf("ca: ocsp: encoding: %w", err)
	}
	sigOID, h, err := ocspSignatureAlgorithm(key.Public())
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(tbs)
	sig, err := key.Sign(rand.Reader, d.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("ca: ocsp: sign response: %w", err)
	}
	alg := pkix.AlgorithmIdentifier{Algorithm: sigOID}
	if _, isRSA := key.Public().(*rsa.PublicKey); isRSA {
		alg.Parameters = asn1.NullRawValue
	}
	basic, err := asn1.Marshal(ocspBasicResponse{
		TBS:       asn1.RawValue{FullBytes: tbs},
		Algorithm: alg,
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
		Certs:     []asn1.RawValue{{FullBytes: responder.Raw}},
	})
	if err != nil {
		return nil, fmt.Errorf("ca: ocsp: encoding: %w", err)
	}
	out, err := asn1.Marshal(ocspResponse{Bytes: ocspResponseBytes{Type: oidOCSPBasic, Response: basic}})
	if err != nil {
		return nil, fmt.Errorf("ca: ocsp: encoding: %w", err)
	}
	return out, nil
}

// ocspSignatureAlgorithm picks the signature algorithm for the responder's
// key: ECDSA with the hash that matches the curve, RSA PKCS#1 v1.5 with
// SHA-256.
func ocspSignatureAlgorithm(pub crypto.PublicKey) (asn1.ObjectIdentifier, crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return oidECDSAWithSHA256, crypto.SHA256, nil
		case elliptic.P384():
			return oidECDSAWithSHA384, crypto.SHA384, nil
		case elliptic.P521():
			return oidECDSAWithSHA512, crypto.SHA512, nil
		}
	case *rsa.PublicKey:
		return oidRSAWithSHA256, crypto.SHA256, nil
	}
	return nil, 0, fmt.Errorf("ca: ocsp: responder key %T not supported", pub)
}
