package tsa

import (
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tstInfo holds what the server writes into a TSTInfo (RFC 3161 section 2.4.2).
type tstInfo struct {
	policy     asn1.ObjectIdentifier
	imprintDER []byte // the request's MessageImprint, echoed verbatim
	serial     *big.Int
	genTime    time.Time
	accuracy   time.Duration
	nonce      *big.Int // nil when the request had none
	tsaName    []byte   // DER Name of the TSA (certificate subject)
}

// genTimeGranularity is the resolution genTime is written with: no finer
// than the stated accuracy (down to a microsecond).
func genTimeGranularity(accuracy time.Duration) time.Duration {
	switch {
	case accuracy >= time.Second:
		return time.Second
	case accuracy >= time.Millisecond:
		return time.Millisecond
	}
	return time.Microsecond
}

func (t *tstInfo) marshal() ([]byte, error) {
	gt := t.genTime.UTC().Truncate(genTimeGranularity(t.accuracy))
	// DER GeneralizedTime: UTC, fraction without trailing zeros, no dot when zero.
	gts := gt.Format("20060102150405.999999Z")
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1ObjectIdentifier(t.policy)
		b.AddBytes(t.imprintDER)
		b.AddASN1BigInt(t.serial)
		b.AddASN1(casn1.GeneralizedTime, func(b *cryptobyte.Builder) { b.AddBytes([]byte(gts)) })
		if t.accuracy > 0 {
			secs := int64(t.accuracy / time.Second)
			millis := int64(t.accuracy % time.Second / time.Millisecond)
			micros := int64(t.accuracy % time.Millisecond / time.Microsecond)
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				if secs > 0 {
					b.AddASN1Int64(secs)
				}
				if millis > 0 {
					b.AddASN1Int64WithTag(millis, casn1.Tag(0).ContextSpecific())
				}
				if micros > 0 {
					b.AddASN1Int64WithTag(micros, casn1.Tag(1).ContextSpecific())
				}
			})
		}
		// ordering FALSE is the DEFAULT: omitted.
		if t.nonce != nil {
			b.AddASN1BigInt(t.nonce)
		}
		// tsa [0] GeneralName: explicit (a CHOICE), directoryName [4] Name, explicit.
		b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.Tag(4).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
				b.AddBytes(t.tsaName)
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tsa: encode TSTInfo: %w", err)
	}
	return out, nil
}

// attachContent turns the detached SignedData ContentInfo made by
// cades.Assemble into a token: eContent is set to content and, unless
// keepCerts, the certificates field is dropped. The signature does not cover
// either change (it covers the signed attributes, whose messageDigest is the
// hash of content), so the signer's output is used as is.
func attachContent(detached, content []byte, keepCerts bool) ([]byte, error) {
	bad := fmt.Errorf("tsa: unexpected signed data from cades")
	s := cryptobyte.String(detached)
	var ci, sdExplicit, sd, digestAlgs, encap, certs, crls, signerInfos cryptobyte.String
	var ctOID, eContentType asn1.ObjectIdentifier
	var version int64
	if !s.ReadASN1(&ci, casn1.SEQUENCE) || !s.Empty() ||
		!ci.ReadASN1ObjectIdentifier(&ctOID) ||
		!ci.ReadASN1(&sdExplicit, casn1.Tag(0).ContextSpecific().Constructed()) || !ci.Empty() ||
		!sdExplicit.ReadASN1(&sd, casn1.SEQUENCE) || !sdExplicit.Empty() ||
		!sd.ReadASN1Int64WithTag(&version, casn1.INTEGER) ||
		!sd.ReadASN1Element(&digestAlgs, casn1.SET) ||
		!sd.ReadASN1(&encap, casn1.SEQUENCE) ||
		!encap.ReadASN1ObjectIdentifier(&eContentType) || !encap.Empty() {
		return nil, bad
	}
	hasCerts, hasCRLs := false, false
	if sd.PeekASN1Tag(casn1.Tag(0).ContextSpecific().Constructed()) {
		hasCerts = sd.ReadASN1Element(&certs, casn1.Tag(0).ContextSpecific().Constructed())
	}
	if sd.PeekASN1Tag(casn1.Tag(1).ContextSpecific().Constructed()) {
		hasCRLs = sd.ReadASN1Element(&crls, casn1.Tag(1).ContextSpecific().Constructed())
	}
	if !sd.ReadASN1Element(&signerInfos, casn1.SET) || !sd.Empty() {
		return nil, bad
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(ctOID)
		b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(version)
				b.AddBytes(digestAlgs)
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(eContentType)
					b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
						b.AddASN1OctetString(content)
					})
				})
				if hasCerts && keepCerts {
					b.AddBytes(certs)
				}
				if hasCRLs {
					b.AddBytes(crls)
				}
				b.AddBytes(signerInfos)
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("tsa: encode token: %w", err)
	}
	return out, nil
}
