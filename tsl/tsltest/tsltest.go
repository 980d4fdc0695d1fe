// Package tsltest makes and signs EU trusted lists (ETSI TS 119 612) for
// tests: the lists are small but have the real shape (namespaces, service
// history, qualifications extension, LOTL pointers) and are signed the way
// operators sign them (enveloped XMLDSig, exclusive canonicalisation). Only
// tests import it.
package tsltest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

const typeCAQC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"

// Statuses of services.
const (
	Granted   = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
	Withdrawn = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
)

// Operator is a list operator's signing key and certificate.
type Operator struct {
	Key  crypto.Signer
	Cert *x509.Certificate
}

func NewOperator(t testing.TB, name string) Operator {
	t.Helper()
	op, err := MakeOperator(name)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// MakeOperator is NewOperator for callers without a testing.TB (TestMain).
func MakeOperator(name string) (Operator, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Operator{}, err
	}
	return makeOperator(name, key)
}

// NewECOperator is an operator with an ECDSA P-256 key.
func NewECOperator(t testing.TB, name string) Operator {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return newOperator(t, name, key)
}

func newOperator(t testing.TB, name string, key crypto.Signer) Operator {
	t.Helper()
	op, err := makeOperator(name, key)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func makeOperator(name string, key crypto.Signer) (Operator, error) {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return Operator{}, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return Operator{}, err
	}
	return Operator{Key: key, Cert: c}, nil
}

func (o Operator) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: o.Cert.Raw})
}

// Service is one CA/QC service of a test list.
type Service struct {
	Name    string
	Cert    *x509.Certificate
	Status  string
	Since   time.Time
	History [][2]any // {status string, since time.Time}, newest first
	Quals   string   // Qualifications XML, or ""
	Type    string   // the service type URI; CA/QC when empty
}

func b64(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

func (s Service) typ() string {
	if s.Type == "" {
		return typeCAQC
	}
	return s.Type
}

// MakeList writes a trusted list in the shape of ETSI TS 119 612 v2.
func MakeList(territory string, seq int, services []Service, pointers string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<tsl:TrustServiceStatusList xmlns:tsl="http://uri.etsi.org/02231/v2#" xmlns:ecc="http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#" Id="TSL" TSLTag="http://uri.etsi.org/19612/TSLTag">
<tsl:SchemeInformation>
<tsl:TSLVersionIdentifier>5</tsl:TSLVersionIdentifier>
<tsl:TSLSequenceNumber>%d</tsl:TSLSequenceNumber>
<tsl:SchemeOperatorName><tsl:Name xml:lang="pl">Operator %s</tsl:Name><tsl:Name xml:lang="en">Supervisor of %s</tsl:Name></tsl:SchemeOperatorName>
<tsl:SchemeTerritory>%s</tsl:SchemeTerritory>
<tsl:ListIssueDateTime>2026-11-01T00:00:00Z</tsl:ListIssueDateTime>
<tsl:NextUpdate><tsl:dateTime>2027-05-01T00:00:00Z</tsl:dateTime></tsl:NextUpdate>
%s
</tsl:SchemeInformation>
<tsl:TrustServiceProviderList><tsl:TrustServiceProvider>
<tsl:TSPInformation><tsl:TSPName><tsl:Name xml:lang="en">Test QTSP %s</tsl:Name></tsl:TSPName></tsl:TSPInformation>
<tsl:TSPServices>`, seq, territory, territory, territory, pointers, territory)
	for _, s := range services {
		fmt.Fprintf(&b, `<tsl:TSPService><tsl:ServiceInformation>
<tsl:ServiceTypeIdentifier>%s</tsl:ServiceTypeIdentifier>
<tsl:ServiceName><tsl:Name xml:lang="en">%s</tsl:Name></tsl:ServiceName>
<tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>%s</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity>
<tsl:ServiceStatus>%s</tsl:ServiceStatus>
<tsl:StatusStartingTime>%s</tsl:StatusStartingTime>`, s.typ(), s.Name, b64(s.Cert), s.Status, s.Since.UTC().Format(time.RFC3339))
		if s.Quals != "" {
			fmt.Fprintf(&b, `<tsl:ServiceInformationExtensions><tsl:Extension Critical="true"><ecc:Qualifications>%s</ecc:Qualifications></tsl:Extension></tsl:ServiceInformationExtensions>`, s.Quals)
		}
		b.WriteString("</tsl:ServiceInformation>")
		if len(s.History) > 0 {
			b.WriteString("<tsl:ServiceHistory>")
			for _, h := range s.History {
				fmt.Fprintf(&b, `<tsl:ServiceHistoryInstance><tsl:ServiceTypeIdentifier>%s</tsl:ServiceTypeIdentifier><tsl:ServiceName><tsl:Name xml:lang="en">%s</tsl:Name></tsl:ServiceName><tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>%s</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity><tsl:ServiceStatus>%s</tsl:ServiceStatus><tsl:StatusStartingTime>%s</tsl:StatusStartingTime></tsl:ServiceHistoryInstance>`,
					s.typ(), s.Name, b64(s.Cert), h[0], h[1].(time.Time).UTC().Format(time.RFC3339))
			}
			b.WriteString("</tsl:ServiceHistory>")
		}
		b.WriteString("</tsl:TSPService>")
	}
	b.WriteString("</tsl:TSPServices></tsl:TrustServiceProvider></tsl:TrustServiceProviderList>\n</tsl:TrustServiceStatusList>\n")
	return b.String()
}

// PointerXML is a LOTL pointer to territory's list signed by op.
func PointerXML(territory string, op Operator) string {
	return PointerXMLAt(territory, "https://example.test/"+territory+".xml", op)
}

// PointerXMLAt is PointerXML with the list's location.
func PointerXMLAt(territory, location string, op Operator) string {
	return fmt.Sprintf(`<tsl:PointersToOtherTSL><tsl:OtherTSLPointer><tsl:ServiceDigitalIdentities><tsl:ServiceDigitalIdentity><tsl:DigitalId><tsl:X509Certificate>%s</tsl:X509Certificate></tsl:DigitalId></tsl:ServiceDigitalIdentity></tsl:ServiceDigitalIdentities><tsl:TSLLocation>%s</tsl:TSLLocation><tsl:AdditionalInformation><tsl:OtherInformation><tsl:SchemeTerritory>%s</tsl:SchemeTerritory></tsl:OtherInformation></tsl:AdditionalInformation></tsl:OtherTSLPointer></tsl:PointersToOtherTSL>`,
		b64(op.Cert), location, territory)
}

// SignList signs a list the way operators do: an enveloped XMLDSig over
// the root (Id="TSL"), exclusive canonicalisation, RSA-SHA256.
func SignList(t testing.TB, xml string, op Operator) []byte {
	t.Helper()
	b, err := Sign(xml, op)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Sign is SignList for callers without a testing.TB (TestMain).
func Sign(xml string, op Operator) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		return nil, err
	}
	ctx, err := dsig.NewSigningContext(op.Key, [][]byte{op.Cert.Raw})
	if err != nil {
		return nil, err
	}
	ctx.IdAttribute = "Id"
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(doc.Root())
	if err != nil {
		return nil, err
	}
	out := etree.NewDocument()
	out.SetRoot(signed)
	return out.WriteToBytes()
}

// RawECDSASignatureValue rewrites the DER ECDSA signature value that
// goxmldsig writes into r||s of 32 bytes each, the encoding XMLDSig
// specifies (RFC 4050) and other signers write.
func RawECDSASignatureValue(t testing.TB, signed []byte) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	v := doc.Root().FindElement("./Signature/SignatureValue")
	if v == nil {
		t.Fatal("no SignatureValue")
	}
	der, err := base64.StdEncoding.DecodeString(v.Text())
	if err != nil {
		t.Fatal(err)
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 64)
	rs.R.FillBytes(raw[:32])
	rs.S.FillBytes(raw[32:])
	v.SetText(base64.StdEncoding.EncodeToString(raw))
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ServeFiles serves files (URL path → content) on loopback, 404 for any other path,
// until the end of the test; fill files before the first request.
func ServeFiles(t testing.TB) (*httptest.Server, map[string][]byte) {
	files := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, files
}
