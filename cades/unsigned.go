package cades

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// AddUnsignedAttribute returns a copy of der, a SignedData ContentInfo, with
// attr added to the unsigned attributes of the SignerInfo at signer (its index
// in Parse's Signers). Everything the signatures cover is kept byte for byte;
// the unsigned attributes and the SignerInfos are written as DER SET OF, so
// their order may change. It is how a signature timestamp is added after the
// fact (B-B to B-T): parse, TimestampSignature over Signers[i].Signature,
// then AddUnsignedAttribute.
func AddUnsignedAttribute(der []byte, signer int, attr Attribute) ([]byte, error) {
	sd, err := Parse(der)
	if err != nil {
		return nil, err
	}
	if signer < 0 || signer >= len(sd.Signers) {
		return nil, fmt.Errorf("%w: no signer %d", ErrInvalidRequest, signer)
	}
	newAttr, err := attr.marshal()
	if err != nil {
		return nil, err
	}
	signerInfos := make([][]byte, len(sd.Signers))
	for i := range sd.Signers {
		si := &sd.Signers[i]
		if i != signer {
			signerInfos[i] = si.Raw
			continue
		}
		unsigned := append(append([][]byte(nil), si.rawUnsigned...), newAttr)
		sortDER(unsigned)
		var b cryptobyte.Builder
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(si.rawPrefix)
			b.AddASN1(casn1.Tag(1).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				for _, u := range unsigned {
					b.AddBytes(u)
				}
			})
		})
		if signerInfos[i], err = b.Bytes(); err != nil {
			return nil, fmt.Errorf("cades: encode signer info: %w", err)
		}
	}
	return encodeSignedData(int64(sd.Version), sd.rawDigestAlgs, sd.ContentType, sd.Content,
		sd.rawCerts, sd.RevocationInfo, signerInfos)
}
