package cades

import (
	"crypto"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// TimestampToken is the part of an RFC 3161 timestamp token this package
// reads: the message imprint and the time. Its signature is not checked here.
type TimestampToken struct {
	// SignedData is the token's SignedData, with the TSTInfo as Content.
	SignedData *SignedData
	// Policy is the TSA policy OID.
	Policy asn1.ObjectIdentifier
	// Hash is the message imprint's hash algorithm, or 0 if unknown.
	Hash crypto.Hash
	// HashedMessage is the message imprint's hash value.
	HashedMessage []byte
	// SerialNumber is the token's serial number.
	SerialNumber *big.Int
	// GenTime is the time the TSA asserts.
	GenTime time.Time
}

// ParseTimestampToken parses token, the DER ContentInfo of an RFC 3161
// timestamp token, and the leading fields of its TSTInfo (RFC 3161 section
// 2.4.2). It checks no signature.
func ParseTimestampToken(token []byte) (*TimestampToken, error) {
	sd, err := Parse(token)
	if err != nil {
		return nil, err
	}
	if !sd.ContentType.Equal(OIDTSTInfo) || sd.Content == nil {
		return nil, malformed("timestamp token does not hold a TSTInfo")
	}
	s := cryptobyte.String(sd.Content)
	var info, imprint, genTime cryptobyte.String
	var version int64
	t := &TimestampToken{SignedData: sd, SerialNumber: new(big.Int)}
	var hashedMessage []byte
	if !s.ReadASN1(&info, casn1.SEQUENCE) || !s.Empty() ||
		!info.ReadASN1Int64WithTag(&version, casn1.INTEGER) || version != 1 ||
		!info.ReadASN1ObjectIdentifier(&t.Policy) ||
		!info.ReadASN1(&imprint, casn1.SEQUENCE) ||
		!info.ReadASN1Integer(t.SerialNumber) ||
		!info.ReadASN1(&genTime, casn1.GeneralizedTime) {
		return nil, malformed("TSTInfo")
	}
	alg, err := readAlgorithm(&imprint)
	if err != nil {
		return nil, err
	}
	if !imprint.ReadASN1Bytes(&hashedMessage, casn1.OCTET_STRING) || !imprint.Empty() {
		return nil, malformed("TSTInfo message imprint")
	}
	t.Hash, t.HashedMessage = HashFromOID(alg.Algorithm), hashedMessage
	// DER GeneralizedTime: UTC ("Z"), optional fraction without trailing zeros.
	// time.Parse accepts a fraction after the seconds even if the layout has none.
	g := string(genTime)
	if len(g) < 15 || g[len(g)-1] != 'Z' || g[14] != 'Z' && g[14] != '.' {
		return nil, malformed("TSTInfo genTime")
	}
	if t.GenTime, err = time.Parse("20060102150405Z0700", g); err != nil {
		return nil, fmt.Errorf("%w: TSTInfo genTime: %w", ErrMalformed, err)
	}
	return t, nil
}
