package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/internal/brainpool"
)

// maxOwnChain bounds the chains buildOwnChain walks: qualified chains are
// three or four certificates long (root, sometimes an intermediate, the
// issuing CA, the signer); eight leaves room without letting a crafted pool
// make the walk long.
const maxOwnChain = 8

// needsOwnChain reports whether a certificate of certs has a key on a
// brainpool curve, or an RSASSA-PSS signature crypto/x509 does not read
// (a salt other than the hash's length), which crypto/x509's chain
// verification cannot use.
func needsOwnChain(certs ...[]*x509.Certificate) bool {
	for _, list := range certs {
		for _, c := range list {
			if _, ok := c.PublicKey.(*brainpool.PublicKey); ok {
				return true
			}
			if _, ok := unreadPSS(c); ok {
				return true
			}
		}
	}
	return false
}

var oidRSASSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}

// unreadPSS returns the parameters of c's signature algorithm when it is
// RSASSA-PSS and crypto/x509 could not read them.
func unreadPSS(c *x509.Certificate) ([]byte, bool) {
	if c.SignatureAlgorithm != x509.UnknownSignatureAlgorithm {
		return nil, false
	}
	in := cryptobyte.String(c.Raw)
	var cert, alg, params cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&cert, casn1.SEQUENCE) || !cert.SkipASN1(casn1.SEQUENCE) ||
		!cert.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(oidRSASSAPSS) ||
		!alg.ReadASN1Element(&params, casn1.SEQUENCE) {
		return nil, false
	}
	return params, true
}

// checkIssued checks child's signature with parent's key, brainpool or
// not, RSASSA-PSS with any salt length included.
func checkIssued(child, parent *x509.Certificate) error {
	if k, ok := parent.PublicKey.(*brainpool.PublicKey); ok {
		return brainpool.CheckCertificateSignature(child, k)
	}
	if params, ok := unreadPSS(child); ok {
		return cades.CheckPSSSignature(parent.PublicKey, params, child.RawTBSCertificate, child.Signature)
	}
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
}

// buildOwnChain is the path validation used when a chain has brainpool
// keys or RSASSA-PSS signatures that crypto/x509 does not read: from cert,
// each next certificate is a CA (basic constraints) whose
// subject is the previous issuer and whose key verifies the previous
// signature, every certificate valid at at and without a critical
// extension this package does not handle, until a trust anchor is reached.
// It checks less than crypto/x509 does (no name constraints, no path length,
// no policy processing), which a report on these chains accepts; the first
// issuer found that verifies is taken (no backtracking).
func buildOwnChain(cert *x509.Certificate, anchors, pool []*x509.Certificate, at time.Time) chainResult {
	candidates := append(append([]*x509.Certificate(nil), anchors...), pool...)
	chain := []*x509.Certificate{cert}
	cur := cert
	for range maxOwnChain {
		if at.Before(cur.NotBefore) {
			return chainResult{ind: Indeterminate, sub: NotYetValid, detail: "a certificate of the chain is not yet valid at " + at.UTC().Format(time.RFC3339)}
		}
		if at.After(cur.NotAfter) {
			return chainResult{ind: Indeterminate, sub: OutOfBoundsNoPOE, detail: "a certificate of the chain is expired at " + at.UTC().Format(time.RFC3339) + " and no proof of existence before"}
		}
		if len(handled(cur).UnhandledCriticalExtensions) > 0 {
			return chainResult{ind: Indeterminate, sub: ChainConstraintsFailure, detail: "unhandled critical extension in " + cur.Subject.CommonName}
		}
		for _, a := range anchors {
			if a.Equal(cur) {
				return chainResult{chain: chain, ind: TotalPassed, detail: fmt.Sprintf("chains to %s at %s", cur.Subject.CommonName, at.UTC().Format(time.RFC3339))}
			}
		}
		var next *x509.Certificate
		for _, c := range candidates {
			if c.Equal(cur) || !bytes.Equal(c.RawSubject, cur.RawIssuer) || !c.BasicConstraintsValid || !c.IsCA {
				continue
			}
			if checkIssued(cur, c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			return chainResult{ind: Indeterminate, sub: NoCertificateChainFound, detail: "no chain to a trust anchor"}
		}
		chain = append(chain, next)
		cur = next
	}
	return chainResult{ind: Indeterminate, sub: CertificateChainGeneral, detail: fmt.Sprintf("no trust anchor within %d certificates", maxOwnChain)}
}

// checkCRLSignature checks a CRL's signature with its issuer's key,
// brainpool or not.
func checkCRLSignature(crl *x509.RevocationList, issuer *x509.Certificate) error {
	if k, ok := issuer.PublicKey.(*brainpool.PublicKey); ok {
		return brainpool.CheckSigned(crl.Raw, crl.RawTBSRevocationList, k)
	}
	return crl.CheckSignatureFrom(issuer)
}
