package tsl

import (
	"bytes"
	"crypto/x509"
	"slices"
	"time"
)

// AnchorsAt returns the certificates of the CA/QC services granted at t,
// the trust anchors for certificates used at t.
func (s *Set) AnchorsAt(t time.Time) []*x509.Certificate {
	return s.grantedAt(t, TypeCAQC)
}

// TimestampAnchorsAt returns the certificates of the qualified time-stamping
// services (TSA/QTST, each naming its unit's certificate) granted at t, the
// anchors for timestamps made at t.
func (s *Set) TimestampAnchorsAt(t time.Time) []*x509.Certificate {
	return s.grantedAt(t, TypeQTST)
}

func (s *Set) grantedAt(t time.Time, typ string) []*x509.Certificate {
	if s == nil {
		return nil
	}
	var out []*x509.Certificate
	for _, l := range s.Lists {
		for _, svc := range l.Services {
			st, ok := svc.stateAt(t)
			if ok && st.Type == typ && grantedStatus(st.Status) {
				out = append(out, svc.Certs...)
			}
		}
	}
	return out
}

// CertQC is what a certificate says of itself (its qcStatements).
type CertQC struct {
	// Compliance is QcCompliance: a qualified certificate.
	Compliance bool
	// SSCD is QcSSCD: the key is in a QSCD.
	SSCD bool
	// ESig, ESeal and Web are the QcType values present.
	ESig, ESeal, Web bool
}

// Finding is what the trusted lists say of a signer's certificate.
type Finding struct {
	// List is the file, Territory and Sequence identify the list.
	List      string
	Territory string
	Sequence  int
	// Provider and Service name the trust service that issued the
	// certificate; Status and Since its status at the time asked about.
	Provider, Service string
	Status            string
	Since             time.Time
	// Qualifiers are the qualifiers whose criteria the certificate meets.
	Qualifiers []string
	// Granted is true when the service was granted at that time.
	Granted bool
	// Qualified, ESig and QSCD are the outcome: a qualified certificate,
	// for electronic signatures, with the key in a QSCD.
	Qualified, ESig, QSCD bool
}

// QualifiedESig reports a qualified certificate for electronic signatures
// with its key in a QSCD, issued by a service granted at the time: what
// makes a qualified electronic signature.
func (f *Finding) QualifiedESig() bool {
	return f != nil && f.Granted && f.Qualified && f.ESig && f.QSCD
}

// Qualify finds the CA/QC service that issued cert (a certificate of chain,
// after cert itself, with the service's subject and key) and says what the
// lists and qualifiers make of cert at t. nil means no list covers it.
func (s *Set) Qualify(cert *x509.Certificate, chain []*x509.Certificate, qc CertQC, t time.Time) *Finding {
	if s == nil || cert == nil {
		return nil
	}
	for _, issuer := range chain {
		if issuer.Equal(cert) {
			continue
		}
		for _, l := range s.Lists {
			for _, svc := range l.Services {
				if !svc.identifies(issuer) {
					continue
				}
				st, ok := svc.stateAt(t)
				if !ok || st.Type != TypeCAQC {
					continue
				}
				return qualify(svc, st, cert, qc)
			}
		}
	}
	return nil
}

// identifies reports whether one of the service's identities is c (same
// subject and key: a re-issued CA certificate counts).
func (s *Service) identifies(c *x509.Certificate) bool {
	for _, id := range s.Certs {
		if bytes.Equal(id.RawSubject, c.RawSubject) && bytes.Equal(id.RawSubjectPublicKeyInfo, c.RawSubjectPublicKeyInfo) {
			return true
		}
	}
	return false
}

func qualify(svc *Service, st State, cert *x509.Certificate, qc CertQC) *Finding {
	f := &Finding{
		List: svc.List.Source, Territory: svc.List.Territory, Sequence: svc.List.Sequence,
		Provider: svc.Provider, Service: svc.Name, Status: st.Status, Since: st.Since,
		Granted: grantedStatus(st.Status),
	}
	for _, q := range st.Qualifications {
		if q.Criteria.matches(cert) {
			for _, name := range q.Qualifiers {
				if !slices.Contains(f.Qualifiers, name) {
					f.Qualifiers = append(f.Qualifiers, name)
				}
			}
		}
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if slices.Contains(f.Qualifiers, n) {
				return true
			}
		}
		return false
	}
	f.Qualified = (qc.Compliance || has("QCStatement")) && !has("NotQualified")
	switch {
	case has("QCForESig"):
		f.ESig = true
	case has("QCForESeal", "QCForWSA"):
		f.ESig = false
	default:
		// no QcType at all: a certificate of the Directive era, for signatures
		f.ESig = qc.ESig || (!qc.ESeal && !qc.Web)
	}
	switch {
	case has("QCNoSSCD", "QCNoQSCD"):
		f.QSCD = false
	case has("QCWithSSCD", "QCWithQSCD"):
		f.QSCD = true
	default: // QCSSCDStatusAsInCert, QCQSCDStatusAsInCert, or nothing said
		f.QSCD = qc.SSCD
	}
	return f
}

// keyUsageBits names the KeyUsageBit names of ETSI TS 119 612 §5.5.9.2.
var keyUsageBits = map[string]x509.KeyUsage{
	"digitalSignature": x509.KeyUsageDigitalSignature,
	"nonRepudiation":   x509.KeyUsageContentCommitment,
	"keyEncipherment":  x509.KeyUsageKeyEncipherment,
	"dataEncipherment": x509.KeyUsageDataEncipherment,
	"keyAgreement":     x509.KeyUsageKeyAgreement,
	"keyCertSign":      x509.KeyUsageCertSign,
	"crlSign":          x509.KeyUsageCRLSign,
	"encipherOnly":     x509.KeyUsageEncipherOnly,
	"decipherOnly":     x509.KeyUsageDecipherOnly,
}

// matches applies the criteria list to cert.
func (c Criteria) matches(cert *x509.Certificate) bool {
	var results []bool
	for _, ps := range c.PolicySets {
		all := len(ps) > 0
		for _, id := range ps {
			found := false
			for _, p := range cert.Policies {
				if p.String() == id {
					found = true
				}
			}
			all = all && found
		}
		results = append(results, all)
	}
	for _, ku := range c.KeyUsages {
		ok := len(ku) > 0
		for name, want := range ku {
			bit, known := keyUsageBits[name]
			ok = ok && known && (cert.KeyUsage&bit != 0) == want
		}
		results = append(results, ok)
	}
	switch c.Assert {
	case "atLeastOne":
		return slices.Contains(results, true)
	case "none":
		return !slices.Contains(results, true)
	default: // "all"
		return len(results) > 0 && !slices.Contains(results, false)
	}
}
