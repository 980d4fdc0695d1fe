package verify

import (
	"bytes"
	"fmt"
	"time"

	"crypto/x509"

	"github.com/paraphe/paraphe/internal/brainpool"
)

// maxOwnChain bounds the chains buildOwnChain walks: qualified chains are
// three or four certificates long (root, sometimes an intermediate, the
// issuing CA, the signer); eight leaves room without letting a crafted pool
// make the walk long.
const maxOwnChain = 8

// hasBrainpool reports whether a certificate of certs has a key on a
// brainpool curve, which crypto/x509's chain verification cannot use.
func hasBrainpool(certs ...[]*x509.Certificate) bool {
	for _, list := range certs {
		for _, c := range list {
			if _, ok := c.PublicKey.(*brainpool.PublicKey); ok {
				return true
			}
		}
	}
	return false
}

// checkIssued checks child's signature with parent's key, brainpool or not.
func checkIssued(child, parent *x509.Certificate) error {
	if k, ok := parent.PublicKey.(*brainpool.PublicKey); ok {
		return brainpool.CheckCertificateSignature(child, k)
	}
	return parent.CheckSignature(child.SignatureAlgorithm, child.RawTBSCertificate, child.Signature)
}

// buildOwnChain is the path validation used when a chain has brainpool
// keys: from cert, each next certificate is a CA (basic constraints) whose
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
