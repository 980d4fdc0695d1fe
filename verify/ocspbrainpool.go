package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/internal/brainpool"
)

// x/crypto/ocsp cannot read a response whose responder has a brainpool key
// (it parses the embedded certificate with crypto/x509 and checks the
// signature with it). parseOCSP reads those itself: the response's
// structure (RFC 6960 §4.2.1), its signature with the responder's brainpool
// key, the responder being the issuer or a certificate the issuer signed
// for OCSP signing, and the single response about cert.

var oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}

type ocspOuter struct {
	Status asn1.Enumerated
	Bytes  struct {
		Type     asn1.ObjectIdentifier
		Response []byte
	} `asn1:"explicit,tag:0"`
}

type ocspBasic struct {
	TBS       asn1.RawValue
	Algorithm struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	Signature asn1.BitString
	Certs     []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspData struct {
	Version     int `asn1:"optional,explicit,default:0,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []ocspSingle
	Extensions  asn1.RawValue `asn1:"optional,explicit,tag:1"`
}

type ocspSingle struct {
	CertID struct {
		HashAlgorithm struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue `asn1:"optional"`
		}
		NameHash []byte
		KeyHash  []byte
		Serial   *big.Int
	}
	Status     asn1.RawValue
	ThisUpdate time.Time     `asn1:"generalized"`
	NextUpdate time.Time     `asn1:"generalized,explicit,tag:0,optional"`
	Extensions asn1.RawValue `asn1:"explicit,tag:1,optional"`
}

var errOCSPNotBrainpool = errors.New("verify: not a brainpool OCSP response")

// parseOCSP reads an OCSP response about cert issued by issuer, with
// x/crypto/ocsp, or with the brainpool path when the responder's key is on
// a brainpool curve.
func parseOCSP(der []byte, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err == nil {
		return resp, nil
	}
	if bresp, berr := parseBrainpoolOCSP(der, cert, issuer); berr == nil {
		return bresp, nil
	}
	return nil, err
}

func parseBrainpoolOCSP(der []byte, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
	var outer ocspOuter
	if rest, err := asn1.Unmarshal(der, &outer); err != nil || len(rest) > 0 || outer.Status != 0 || !outer.Bytes.Type.Equal(oidOCSPBasic) {
		return nil, errOCSPNotBrainpool
	}
	var basic ocspBasic
	if rest, err := asn1.Unmarshal(outer.Bytes.Response, &basic); err != nil || len(rest) > 0 || basic.Signature.BitLength%8 != 0 {
		return nil, errOCSPNotBrainpool
	}
	responder := issuer
	if len(basic.Certs) > 0 {
		c, err := cades.ParseCertificate(basic.Certs[0].FullBytes)
		if err != nil {
			return nil, errOCSPNotBrainpool
		}
		if !c.Equal(issuer) {
			// a delegated responder: issued by the issuer, for OCSP signing
			if checkIssued(c, issuer) != nil || !hasEKU(c, x509.ExtKeyUsageOCSPSigning) {
				return nil, errOCSPNotBrainpool
			}
		}
		responder = c
	}
	pub, ok := responder.PublicKey.(*brainpool.PublicKey)
	if !ok {
		return nil, errOCSPNotBrainpool
	}
	if err := brainpool.CheckSignature(pub, basic.Algorithm.Algorithm, basic.TBS.FullBytes, basic.Signature.Bytes); err != nil {
		return nil, err
	}
	var data ocspData
	if rest, err := asn1.Unmarshal(basic.TBS.FullBytes, &data); err != nil || len(rest) > 0 {
		return nil, errOCSPNotBrainpool
	}
	for _, s := range data.Responses {
		if s.CertID.Serial == nil || s.CertID.Serial.Cmp(cert.SerialNumber) != 0 {
			continue
		}
		h := cades.HashFromOID(s.CertID.HashAlgorithm.Algorithm)
		if h == 0 || !h.Available() {
			continue
		}
		nh := h.New()
		nh.Write(issuer.RawSubject)
		if !bytes.Equal(nh.Sum(nil), s.CertID.NameHash) {
			continue
		}
		r := &ocsp.Response{SerialNumber: s.CertID.Serial, ProducedAt: data.ProducedAt, ThisUpdate: s.ThisUpdate, NextUpdate: s.NextUpdate, Certificate: responder}
		if s.Status.Class != asn1.ClassContextSpecific {
			return nil, errOCSPNotBrainpool
		}
		switch s.Status.Tag {
		case 0:
			r.Status = ocsp.Good
		case 1:
			r.Status = ocsp.Revoked
			var ri struct {
				Time   time.Time       `asn1:"generalized"`
				Reason asn1.Enumerated `asn1:"optional,explicit,tag:0"`
			}
			// RevokedInfo is [1] IMPLICIT SEQUENCE: read its content as one
			rv := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: s.Status.Bytes}
			b, err := asn1.Marshal(rv)
			if err == nil {
				_, err = asn1.Unmarshal(b, &ri)
			}
			if err != nil {
				return nil, errOCSPNotBrainpool
			}
			r.RevokedAt = ri.Time
		default:
			r.Status = ocsp.Unknown
		}
		return r, nil
	}
	return nil, errOCSPNotBrainpool
}

func hasEKU(c *x509.Certificate, eku x509.ExtKeyUsage) bool {
	for _, e := range c.ExtKeyUsage {
		if e == eku {
			return true
		}
	}
	return false
}
