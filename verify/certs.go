package verify

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/tsl"
)

var (
	oidQCStatements = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 3}
	oidQcCompliance = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 1}
	oidQcSSCD       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 4}
	oidQcType       = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6}
	oidQcTypeESign  = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 1}
	oidQcTypeESeal  = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 2}
	oidQcTypeWeb    = asn1.ObjectIdentifier{0, 4, 0, 1862, 1, 6, 3}
	// Qualified certificate policies of ETSI EN 319 411-2: QCP-n, QCP-l,
	// QCP-n-qscd, QCP-l-qscd.
	qualifiedPolicies = []asn1.ObjectIdentifier{
		{0, 4, 0, 194112, 1, 0}, {0, 4, 0, 194112, 1, 1}, {0, 4, 0, 194112, 1, 2}, {0, 4, 0, 194112, 1, 3},
	}
	oidOCSPResponseRI = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 16, 2}
	oidAdbeRevInfo    = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 8}
)

// isQualified reads qcStatements and certificate policies: QcCompliance,
// QcSSCD, QcType esign and a qualified policy must all be present.
func isQualified(c *x509.Certificate) bool {
	qc := qcStatementsOf(c)
	policy := false
	for _, p := range c.Policies {
		for _, q := range qualifiedPolicies {
			if op, err := x509.OIDFromInts(toU64(q)); err == nil && p.Equal(op) {
				policy = true
			}
		}
	}
	return qc.Compliance && qc.SSCD && qc.ESig && policy
}

// qcStatementsOf reads the qcStatements extension (ETSI EN 319 412-5); a
// malformed one says nothing.
func qcStatementsOf(c *x509.Certificate) tsl.CertQC {
	var qc tsl.CertQC
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidQCStatements) {
			continue
		}
		s := cryptobyte.String(ext.Value)
		var seq cryptobyte.String
		if !s.ReadASN1(&seq, casn1.SEQUENCE) {
			return tsl.CertQC{}
		}
		for !seq.Empty() {
			var st cryptobyte.String
			var id asn1.ObjectIdentifier
			if !seq.ReadASN1(&st, casn1.SEQUENCE) || !st.ReadASN1ObjectIdentifier(&id) {
				return tsl.CertQC{}
			}
			switch {
			case id.Equal(oidQcCompliance):
				qc.Compliance = true
			case id.Equal(oidQcSSCD):
				qc.SSCD = true
			case id.Equal(oidQcType):
				var types cryptobyte.String
				if st.ReadASN1(&types, casn1.SEQUENCE) {
					for !types.Empty() {
						var t asn1.ObjectIdentifier
						if !types.ReadASN1ObjectIdentifier(&t) {
							break
						}
						switch {
						case t.Equal(oidQcTypeESign):
							qc.ESig = true
						case t.Equal(oidQcTypeESeal):
							qc.ESeal = true
						case t.Equal(oidQcTypeWeb):
							qc.Web = true
						}
					}
				}
			}
		}
	}
	return qc
}

func toU64(o asn1.ObjectIdentifier) []uint64 {
	out := make([]uint64, len(o))
	for i, v := range o {
		out[i] = uint64(v)
	}
	return out
}

func describe(c *x509.Certificate) Signer {
	if c == nil {
		return Signer{}
	}
	nb, na := c.NotBefore, c.NotAfter
	return Signer{
		Subject: nameString(c.Subject), CommonName: c.Subject.CommonName,
		SerialNumber: hex.EncodeToString(c.SerialNumber.Bytes()), Issuer: nameString(c.Issuer),
		Qualified: isQualified(c), NotBefore: &nb, NotAfter: &na,
	}
}

// attrNames are the short names of the attributes certificates of the qualified
// profiles use (RFC 4514 and X.520): Go's pkix.Name.String writes givenName and surname
// as dotted OIDs with hex values, which a compliance report must not.
var attrNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "SERIALNUMBER", "2.5.4.6": "C", "2.5.4.7": "L",
	"2.5.4.8": "ST", "2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
	"2.5.4.17": "postalCode", "2.5.4.42": "GN", "2.5.4.65": "pseudonym", "2.5.4.97": "organizationIdentifier",
	"1.2.840.113549.1.9.1": "emailAddress",
}

// nameString renders a distinguished name for people to read, most specific first as
// RFC 4514 does, escaping its special characters.
func nameString(n pkix.Name) string {
	parts := make([]string, 0, len(n.Names))
	for i := len(n.Names) - 1; i >= 0; i-- {
		a := n.Names[i]
		key, ok := attrNames[a.Type.String()]
		if !ok {
			key = a.Type.String()
		}
		parts = append(parts, key+"="+escapeDN(fmt.Sprint(a.Value)))
	}
	return strings.Join(parts, ", ")
}

func escapeDN(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case strings.ContainsRune(`,+"\<>;=`, r), (i == 0 && (r == '#' || r == ' ')), (i == len(v)-1 && r == ' '):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// findCert returns the certificate of pool that si names.
func findCert(si *cades.SignerInfo, pool []*x509.Certificate) *x509.Certificate {
	for _, c := range pool {
		if si.SubjectKeyID != nil {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.SubjectKeyID) {
				return c
			}
			continue
		}
		if si.SerialNumber != nil && bytes.Equal(c.RawIssuer, si.Issuer) && c.SerialNumber.Cmp(si.SerialNumber) == 0 {
			return c
		}
	}
	return nil
}

// chainResult is the outcome of building a chain to the trust anchors.
type chainResult struct {
	chain  []*x509.Certificate
	ind    Indication
	sub    SubIndication
	detail string
}

// buildChain verifies cert to the anchors at time at, with pool as intermediates.
func buildChain(cert *x509.Certificate, anchors, pool []*x509.Certificate, at time.Time) chainResult {
	if len(anchors) == 0 {
		return chainResult{ind: Indeterminate, sub: NoCertificateChainFound, detail: "no trust anchor configured"}
	}
	roots := x509.NewCertPool()
	for _, a := range anchors {
		roots.AddCert(a)
	}
	inter := x509.NewCertPool()
	for _, c := range pool {
		if !c.Equal(cert) {
			inter.AddCert(handled(c))
		}
	}
	if needsOwnChain([]*x509.Certificate{cert}, anchors, pool) {
		return buildOwnChain(cert, anchors, pool, at)
	}
	cert = handled(cert)
	chains, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err == nil {
		return chainResult{chain: chains[0], ind: TotalPassed, detail: fmt.Sprintf("chains to %s at %s", chains[0][len(chains[0])-1].Subject.CommonName, at.UTC().Format(time.RFC3339))}
	}
	var ua x509.UnknownAuthorityError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return chainResult{ind: Indeterminate, sub: NoCertificateChainFound, detail: "no chain to a trust anchor"}
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		// Either expired or not yet valid at the validation time.
		if at.Before(cert.NotBefore) {
			return chainResult{ind: Indeterminate, sub: NotYetValid, detail: "a certificate of the chain is not yet valid at " + at.UTC().Format(time.RFC3339)}
		}
		return chainResult{ind: Indeterminate, sub: OutOfBoundsNoPOE, detail: "a certificate of the chain is expired at " + at.UTC().Format(time.RFC3339) + " and no proof of existence before"}
	case errors.As(err, &ci):
		return chainResult{ind: Indeterminate, sub: ChainConstraintsFailure, detail: err.Error()}
	}
	var ia x509.InsecureAlgorithmError
	if errors.As(err, &ia) {
		return chainResult{ind: Indeterminate, sub: CryptoConstraintsFailureNoPOE, detail: err.Error()}
	}
	return chainResult{ind: Indeterminate, sub: CertificateChainGeneral, detail: err.Error()}
}

// handledExtensions are critical extensions this package reads itself.
var handledExtensions = []asn1.ObjectIdentifier{oidQCStatements}

// handled returns cert, or a shallow copy without the critical extensions
// this package handles, so that crypto/x509 does not reject the chain.
func handled(cert *x509.Certificate) *x509.Certificate {
	var keep []asn1.ObjectIdentifier
	for _, id := range cert.UnhandledCriticalExtensions {
		known := false
		for _, h := range handledExtensions {
			if id.Equal(h) {
				known = true
			}
		}
		if !known {
			keep = append(keep, id)
		}
	}
	if len(keep) == len(cert.UnhandledCriticalExtensions) {
		return cert
	}
	c := *cert
	c.UnhandledCriticalExtensions = keep
	return &c
}

// revocationData is the revocation information embedded in a document.
type revocationData struct {
	// ctx ends the search through the data (nil: never).
	ctx  context.Context
	ocsp [][]byte // DER OCSPResponse
	crls [][]byte // DER CertificateList
	// fromDSS marks the entries that came from the document's /DSS.
	dssOCSP, dssCRL int
	// online fetches what is missing when live checking is allowed (nil: offline).
	online *fetcher
	// parsed keeps the CRLs parsed so far (by index in crls; nil: unparsable),
	// each read once however many certificates are checked against it.
	parsed map[int]*x509.RevocationList
}

// crl returns the parsed CRL at index i, or nil.
func (r *revocationData) crl(i int) *x509.RevocationList {
	if c, ok := r.parsed[i]; ok {
		return c
	}
	c, err := x509.ParseRevocationList(r.crls[i])
	if err != nil {
		c = nil
	}
	if r.parsed == nil {
		r.parsed = map[int]*x509.RevocationList{}
	}
	r.parsed[i] = c
	return c
}

// addCMS adds the revocation data of a SignedData's crls field and of the
// adbe-revocationInfoArchival signed attribute.
func (r *revocationData) addCMS(sd *cades.SignedData) {
	for _, ri := range sd.RevocationInfo {
		s := cryptobyte.String(ri)
		var tag casn1.Tag
		var body cryptobyte.String
		if !s.ReadAnyASN1(&body, &tag) {
			continue
		}
		switch tag {
		case casn1.SEQUENCE:
			r.crls = append(r.crls, ri)
		case casn1.Tag(1).ContextSpecific().Constructed():
			var format asn1.ObjectIdentifier
			var resp cryptobyte.String
			if body.ReadASN1ObjectIdentifier(&format) && format.Equal(oidOCSPResponseRI) && body.ReadASN1Element(&resp, casn1.SEQUENCE) {
				r.ocsp = append(r.ocsp, resp)
			}
		}
	}
	for _, si := range sd.Signers {
		for _, a := range si.SignedAttrs {
			if !a.Type.Equal(oidAdbeRevInfo) || len(a.Values) != 1 {
				continue
			}
			s := cryptobyte.String(a.Values[0])
			var seq cryptobyte.String
			if !s.ReadASN1(&seq, casn1.SEQUENCE) {
				continue
			}
			for !seq.Empty() {
				var tag casn1.Tag
				var inner, list cryptobyte.String
				if !seq.ReadAnyASN1(&inner, &tag) || !inner.ReadASN1(&list, casn1.SEQUENCE) {
					break
				}
				for !list.Empty() {
					var elem cryptobyte.String
					if !list.ReadASN1Element(&elem, casn1.SEQUENCE) {
						break
					}
					switch tag {
					case casn1.Tag(0).ContextSpecific().Constructed():
						r.crls = append(r.crls, elem)
					case casn1.Tag(1).ContextSpecific().Constructed():
						r.ocsp = append(r.ocsp, elem)
					}
				}
			}
		}
	}
}

// done reports that the validation's context ended: the search stops (the
// validation is answered INDETERMINATE anyway).
func (r *revocationData) done() bool {
	return r.ctx != nil && r.ctx.Err() != nil
}

// revStatus is the revocation status found for one certificate.
type revStatus struct {
	found     bool
	fromDSS   bool
	revoked   bool
	revokedAt time.Time
	source    string
}

// status looks for an OCSP response or CRL about cert issued by issuer; when nothing is
// embedded and live checking is allowed, it asks the issuer's responder, then its CRL.
func (r *revocationData) status(cert, issuer *x509.Certificate) revStatus {
	st := r.embeddedStatus(cert, issuer)
	if st.found || r.online == nil {
		return st
	}
	if der := r.online.ocsp(cert, issuer); der != nil {
		r.ocsp = append(r.ocsp, der)
	} else if der := r.online.crl(cert); der != nil {
		r.crls = append(r.crls, der)
	} else {
		return st
	}
	st = r.embeddedStatus(cert, issuer)
	if st.found {
		st.source += " (fetched online)"
	}
	return st
}

func (r *revocationData) embeddedStatus(cert, issuer *x509.Certificate) revStatus {
	var st revStatus
	for i, der := range r.ocsp {
		if r.done() {
			return st
		}
		resp, err := parseOCSP(der, cert, issuer)
		if err != nil || resp.SerialNumber == nil || resp.SerialNumber.Cmp(cert.SerialNumber) != 0 {
			continue
		}
		switch resp.Status {
		case ocsp.Good:
			st.found, st.source = true, "OCSP"
			st.fromDSS = st.fromDSS || i < r.dssOCSP
		case ocsp.Revoked:
			return revStatus{found: true, revoked: true, revokedAt: resp.RevokedAt, source: "OCSP", fromDSS: i < r.dssOCSP}
		}
	}
	for i := range r.crls {
		if r.done() {
			return st
		}
		crl := r.crl(i)
		if crl == nil || !bytes.Equal(crl.RawIssuer, issuer.RawSubject) || checkCRLSignature(crl, issuer) != nil {
			continue
		}
		st.found = true
		st.fromDSS = st.fromDSS || i < r.dssCRL
		if st.source == "" {
			st.source = "CRL"
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return revStatus{found: true, revoked: true, revokedAt: e.RevocationTime, source: "CRL", fromDSS: i < r.dssCRL}
			}
		}
	}
	return st
}

// checkRevocation checks every certificate of chain but the anchor. It
// returns the signer's status and a failure when a certificate was revoked
// at or before at.
func checkRevocation(res result, what string, chain []*x509.Certificate, rd *revocationData, at time.Time) (signer revStatus) {
	for i := 0; i+1 < len(chain); i++ {
		st := rd.status(chain[i], chain[i+1])
		if i == 0 {
			signer = st
		}
		name := chain[i].Subject.CommonName
		switch {
		case st.revoked && !st.revokedAt.After(at):
			res.fail(what+"-revocation", TotalFailed, Revoked, fmt.Sprintf("%s was revoked on %s (%s)", name, st.revokedAt.UTC().Format(time.RFC3339), st.source))
			return signer
		case st.revoked:
			res.check(what+"-revocation", true, fmt.Sprintf("%s was revoked on %s, after the proven time %s", name, st.revokedAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)))
		case st.found:
			res.check(what+"-revocation", true, fmt.Sprintf("%s not revoked (%s)", name, st.source))
		case hasNoCheck(chain[i]):
			res.check(what+"-revocation", true, name+" carries id-pkix-ocsp-nocheck")
		default:
			msg := "no revocation data embedded for " + name + " (validation is offline)"
			if rd.online != nil {
				msg = "no revocation data for " + name + ", embedded or from its issuer"
			}
			res.check(what+"-revocation", true, msg)
		}
	}
	return signer
}

var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

func hasNoCheck(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oidOCSPNoCheck) {
			return true
		}
	}
	return false
}
