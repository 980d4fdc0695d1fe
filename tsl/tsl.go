package tsl

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Service types and statuses of ETSI TS 119 612 used here.
const (
	TypeCAQC        = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
	TypeQTST        = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
	StatusGranted   = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
	StatusWithdrawn = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
	// pre-eIDAS statuses (Directive 1999/93/EC) that count as granted
	statusAccredited             = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/accredited"
	statusUnderSupervision       = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/undersupervision"
	statusSupervisionIncessation = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/supervisionincessation"

	qualifierPrefix = "http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/"
)

// ErrList is a list that cannot be used: not a trusted list, not parseable,
// or its signature does not verify with an operator certificate.
var ErrList = errors.New("tsl: trusted list not usable")

// List is a verified trusted list.
type List struct {
	// Source names where the list came from (its file name).
	Source string
	// Territory is the SchemeTerritory (a country code, or EU for the LOTL).
	Territory string
	// Sequence is the TSLSequenceNumber.
	Sequence int
	// Operator is the scheme operator's name (English when given).
	Operator string
	// Issued and NextUpdate are the list's issue time and next update.
	Issued, NextUpdate time.Time
	// Signer is the operator certificate the signature verified with.
	Signer *x509.Certificate
	// Services are the trust services the list describes.
	Services []*Service
	// Pointers are the lists this one points to (in the LOTL).
	Pointers []Pointer
}

// Pointer is an OtherTSLPointer: where another list is and who signs it.
type Pointer struct {
	Territory string
	Location  string
	Signers   []*x509.Certificate
}

// Service is one trust service of a provider.
type Service struct {
	// List is the list describing the service.
	List *List
	// Provider is the trust service provider's name.
	Provider string
	// Name is the service's name.
	Name string
	// Certs are the service's digital identities.
	Certs []*x509.Certificate
	// States are the current status then the history, newest first.
	States []State
}

// State is a service's type and status from a given time on.
type State struct {
	Type           string
	Status         string
	Since          time.Time
	Qualifications []Qualification
}

// Qualification is a set of qualifiers that apply to the certificates a
// criteria list matches.
type Qualification struct {
	Qualifiers []string // short names: QCWithSSCD, QCForESig, ...
	Criteria   Criteria
}

// Criteria is a CriteriaList: Assert "all", "atLeastOne" or "none" over
// policy sets (each a list of policy OIDs that must all be present) and
// key usage sets (each bits that must have the given values).
type Criteria struct {
	Assert     string
	PolicySets [][]string
	KeyUsages  []map[string]bool
}

type xmlName struct {
	Lang  string `xml:"lang,attr"`
	Value string `xml:",chardata"`
}

type xmlTSL struct {
	XMLName xml.Name `xml:"TrustServiceStatusList"`
	Scheme  struct {
		Sequence   int       `xml:"TSLSequenceNumber"`
		Operator   []xmlName `xml:"SchemeOperatorName>Name"`
		Territory  string    `xml:"SchemeTerritory"`
		Issued     string    `xml:"ListIssueDateTime"`
		NextUpdate string    `xml:"NextUpdate>dateTime"`
		Pointers   []struct {
			Location  string   `xml:"TSLLocation"`
			Certs     []string `xml:"ServiceDigitalIdentities>ServiceDigitalIdentity>DigitalId>X509Certificate"`
			Territory []string `xml:"AdditionalInformation>OtherInformation>SchemeTerritory"`
		} `xml:"PointersToOtherTSL>OtherTSLPointer"`
	} `xml:"SchemeInformation"`
	Providers []struct {
		Names    []xmlName `xml:"TSPInformation>TSPName>Name"`
		Services []struct {
			Info    xmlServiceInfo   `xml:"ServiceInformation"`
			History []xmlServiceInfo `xml:"ServiceHistory>ServiceHistoryInstance"`
		} `xml:"TSPServices>TSPService"`
	} `xml:"TrustServiceProviderList>TrustServiceProvider"`
}

type xmlServiceInfo struct {
	Type       string    `xml:"ServiceTypeIdentifier"`
	Names      []xmlName `xml:"ServiceName>Name"`
	Certs      []string  `xml:"ServiceDigitalIdentity>DigitalId>X509Certificate"`
	Status     string    `xml:"ServiceStatus"`
	Since      string    `xml:"StatusStartingTime"`
	Extensions []struct {
		Qualifications []struct {
			Qualifiers []struct {
				URI string `xml:"uri,attr"`
			} `xml:"Qualifiers>Qualifier"`
			Criteria struct {
				Assert   string `xml:"assert,attr"`
				KeyUsage []struct {
					Bits []struct {
						Name  string `xml:"name,attr"`
						Value string `xml:",chardata"`
					} `xml:"KeyUsageBit"`
				} `xml:"KeyUsage"`
				PolicySets []struct {
					IDs []string `xml:"PolicyIdentifier>Identifier"`
				} `xml:"PolicySet"`
			} `xml:"CriteriaList"`
		} `xml:"Qualifications>QualificationElement"`
	} `xml:"ServiceInformationExtensions>Extension"`
}

// english picks the English name, else the first.
func english(names []xmlName) string {
	for _, n := range names {
		if strings.EqualFold(n.Lang, "en") {
			return strings.TrimSpace(n.Value)
		}
	}
	if len(names) > 0 {
		return strings.TrimSpace(names[0].Value)
	}
	return ""
}

func parseCerts(b64 []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, s := range b64 {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, fmt.Errorf("%w: a certificate is not base64", ErrList)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			// a certificate crypto/x509 cannot read (brainpool keys) cannot
			// anchor a chain it verifies either; skip it
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}
	}
	return t
}

// shortQualifier turns a qualifier URI into its name (QCWithSSCD, ...).
func shortQualifier(uri string) string {
	return strings.TrimPrefix(strings.TrimSpace(uri), qualifierPrefix)
}

// parse reads a verified list's XML (the signed element).
func parse(source string, signed []byte) (*List, error) {
	var x xmlTSL
	dec := xml.NewDecoder(bytes.NewReader(signed))
	if err := dec.Decode(&x); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrList, source, err)
	}
	l := &List{
		Source:     source,
		Territory:  strings.TrimSpace(x.Scheme.Territory),
		Sequence:   x.Scheme.Sequence,
		Operator:   english(x.Scheme.Operator),
		Issued:     parseTime(x.Scheme.Issued),
		NextUpdate: parseTime(x.Scheme.NextUpdate),
	}
	if l.Territory == "" {
		return nil, fmt.Errorf("%w: %s: no SchemeTerritory", ErrList, source)
	}
	for _, p := range x.Scheme.Pointers {
		certs, err := parseCerts(p.Certs)
		if err != nil {
			return nil, err
		}
		ptr := Pointer{Location: strings.TrimSpace(p.Location), Signers: certs}
		if len(p.Territory) > 0 {
			ptr.Territory = strings.TrimSpace(p.Territory[0])
		}
		l.Pointers = append(l.Pointers, ptr)
	}
	for _, p := range x.Providers {
		for _, s := range p.Services {
			certs, err := parseCerts(s.Info.Certs)
			if err != nil {
				return nil, err
			}
			svc := &Service{List: l, Provider: english(p.Names), Name: english(s.Info.Names), Certs: certs}
			for _, info := range append([]xmlServiceInfo{s.Info}, s.History...) {
				st := State{Type: strings.TrimSpace(info.Type), Status: strings.TrimSpace(info.Status), Since: parseTime(info.Since)}
				for _, ext := range info.Extensions {
					for _, q := range ext.Qualifications {
						var qual Qualification
						for _, u := range q.Qualifiers {
							qual.Qualifiers = append(qual.Qualifiers, shortQualifier(u.URI))
						}
						qual.Criteria.Assert = q.Criteria.Assert
						for _, ps := range q.Criteria.PolicySets {
							qual.Criteria.PolicySets = append(qual.Criteria.PolicySets, trimAll(ps.IDs))
						}
						for _, ku := range q.Criteria.KeyUsage {
							m := map[string]bool{}
							for _, b := range ku.Bits {
								m[b.Name] = strings.TrimSpace(b.Value) == "true"
							}
							qual.Criteria.KeyUsages = append(qual.Criteria.KeyUsages, m)
						}
						st.Qualifications = append(st.Qualifications, qual)
					}
				}
				svc.States = append(svc.States, st)
			}
			l.Services = append(l.Services, svc)
		}
	}
	return l, nil
}

func trimAll(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		v = strings.TrimSpace(v)
		v = strings.TrimPrefix(v, "urn:oid:")
		out = append(out, v)
	}
	return out
}

// stateAt returns the service's state at t: the newest state that started
// at or before t.
func (s *Service) stateAt(t time.Time) (State, bool) {
	var best State
	found := false
	for _, st := range s.States {
		if st.Since.After(t) {
			continue
		}
		if !found || st.Since.After(best.Since) {
			best, found = st, true
		}
	}
	return best, found
}

// grantedStatus reports whether a status counts as granted.
func grantedStatus(s string) bool {
	switch s {
	case StatusGranted, statusAccredited, statusUnderSupervision, statusSupervisionIncessation:
		return true
	}
	return false
}
