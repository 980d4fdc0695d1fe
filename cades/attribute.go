package cades

import (
	"bytes"
	"encoding/asn1"
	"fmt"
	"slices"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Attribute is a CMS attribute (RFC 5652 section 5.3): a type and one or more
// values, each value being one complete DER element.
type Attribute struct {
	// Type is the attribute type.
	Type asn1.ObjectIdentifier
	// Values holds the DER encoding of each AttributeValue.
	Values [][]byte
}

// SignatureTimestampAttribute returns the unsigned attribute
// id-aa-signatureTimeStampToken holding token, the DER ContentInfo of an
// RFC 3161 timestamp token. The caller is responsible for the token having
// been made over the hash of the signature value (TimestampSignature does it).
func SignatureTimestampAttribute(token []byte) Attribute {
	return Attribute{Type: OIDAttrSignatureTimeStampToken, Values: [][]byte{token}}
}

// marshal returns the DER encoding of a as an Attribute SEQUENCE.
func (a Attribute) marshal() ([]byte, error) {
	if len(a.Values) == 0 {
		return nil, fmt.Errorf("cades: attribute %v has no value", a.Type)
	}
	values := make([][]byte, len(a.Values))
	for i, v := range a.Values {
		if !isSingleElement(v) {
			return nil, fmt.Errorf("cades: attribute %v: value %d is not one DER element", a.Type, i)
		}
		values[i] = v
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(a.Type)
		addSetOf(b, values)
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cades: encode attribute %v: %w", a.Type, err)
	}
	return out, nil
}

// isSingleElement reports whether der is exactly one well-formed DER TLV.
func isSingleElement(der []byte) bool {
	s := cryptobyte.String(der)
	var elem cryptobyte.String
	var tag casn1.Tag
	return s.ReadAnyASN1Element(&elem, &tag) && s.Empty()
}

// addSetOf writes a DER SET OF the given element encodings, sorted as
// X.690 section 11.6 requires. elems is sorted in place.
func addSetOf(b *cryptobyte.Builder, elems [][]byte) {
	sortDER(elems)
	b.AddASN1(casn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range elems {
			b.AddBytes(e)
		}
	})
}

// sortDER sorts DER encodings in SET OF order: as octet strings, the shorter
// one padded with zero octets. bytes.Compare gives that order, except that a
// prefix and its zero-padded extension compare equal under X.690, where
// either order is valid.
func sortDER(elems [][]byte) {
	slices.SortStableFunc(elems, bytes.Compare)
}

// encodeAttributes returns the DER SET OF the given attributes (tag SET, as
// the signature input of signed attributes requires).
func encodeAttributes(attrs []Attribute) ([]byte, error) {
	elems := make([][]byte, 0, len(attrs))
	for _, a := range attrs {
		der, err := a.marshal()
		if err != nil {
			return nil, err
		}
		elems = append(elems, der)
	}
	var b cryptobyte.Builder
	addSetOf(&b, elems)
	return b.Bytes()
}
