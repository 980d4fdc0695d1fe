package tsl

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/tsl/tsltest"
)

// qtsp is a CA and a qualified signer certificate it issued.
type qtsp struct {
	ca, signer *x509.Certificate
}

var oidQualifiedPolicy = []uint64{0, 4, 0, 194112, 1, 2}

func newQTSP(t testing.TB) qtsp {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	ct := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Qualified CA", Country: []string{"PL"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	cd, err := x509.CreateCertificate(rand.Reader, ct, ct, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(cd)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pol, _ := x509.OIDFromInts(oidQualifiedPolicy)
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Łucja Wąsik"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageContentCommitment, Policies: []x509.OID{pol}}
	ld, err := x509.CreateCertificate(rand.Reader, lt, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(ld)
	return qtsp{ca, leaf}
}

const qualsWithSSCD = `<ecc:QualificationElement><ecc:Qualifiers><ecc:Qualifier uri="http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/QCWithSSCD"/><ecc:Qualifier uri="http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/QCForESig"/><ecc:Qualifier uri="http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/QCStatement"/></ecc:Qualifiers><ecc:CriteriaList assert="atLeastOne"><ecc:PolicySet><ecc:PolicyIdentifier><ns3:Identifier xmlns:ns3="http://uri.etsi.org/01903/v1.3.2#" Qualifier="OIDAsURN">urn:oid:0.4.0.194112.1.2</ns3:Identifier></ecc:PolicyIdentifier></ecc:PolicySet></ecc:CriteriaList></ecc:QualificationElement>`

const qualsNoSSCD = `<ecc:QualificationElement><ecc:Qualifiers><ecc:Qualifier uri="http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/QCNoSSCD"/></ecc:Qualifiers><ecc:CriteriaList assert="all"><ecc:KeyUsage><ecc:KeyUsageBit name="nonRepudiation">true</ecc:KeyUsageBit></ecc:KeyUsage></ecc:CriteriaList></ecc:QualificationElement>`

func write(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAndQualify(t *testing.T) {
	q := newQTSP(t)
	op := tsltest.NewOperator(t, "PL list operator")
	granted := time.Now().Add(-365 * 24 * time.Hour)
	dir := t.TempDir()
	write(t, dir, "PL.xml", tsltest.SignList(t, tsltest.MakeList("PL", 42, []tsltest.Service{{Name: "Test QC CA", Cert: q.ca, Status: StatusGranted, Since: granted, Quals: qualsWithSSCD}}, ""), op))
	write(t, dir, "PL.pem", op.PEM())
	set, err := Load(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Lists) != 1 || set.Lists[0].Territory != "PL" || set.Lists[0].Sequence != 42 || set.Lists[0].Operator != "Supervisor of PL" {
		t.Fatalf("lists: %+v", set.Lists)
	}
	anchors := set.AnchorsAt(time.Now())
	if len(anchors) != 1 || !anchors[0].Equal(q.ca) {
		t.Fatalf("anchors: %v", anchors)
	}
	if a := set.AnchorsAt(granted.Add(-time.Hour)); len(a) != 0 {
		t.Errorf("anchors before the service was granted: %d", len(a))
	}
	f := set.Qualify(q.signer, []*x509.Certificate{q.signer, q.ca}, CertQC{}, time.Now())
	if f == nil {
		t.Fatal("no finding")
	}
	if !f.QualifiedESig() || f.Service != "Test QC CA" || f.Provider != "Test QTSP PL" || f.List != "PL.xml" {
		t.Errorf("finding: %+v", f)
	}
	if want := []string{"QCWithSSCD", "QCForESig", "QCStatement"}; strings.Join(f.Qualifiers, ",") != strings.Join(want, ",") {
		t.Errorf("qualifiers %v, want %v", f.Qualifiers, want)
	}
	// a certificate the criteria do not match gets nothing from the
	// qualifiers: the certificate's own statements decide
	other := *q.signer
	other.Policies = nil
	if f := set.Qualify(&other, []*x509.Certificate{&other, q.ca}, CertQC{}, time.Now()); f == nil || f.QualifiedESig() || len(f.Qualifiers) != 0 {
		t.Errorf("without the policy: %+v", f)
	}
	if f := set.Qualify(&other, []*x509.Certificate{&other, q.ca}, CertQC{Compliance: true, SSCD: true, ESig: true}, time.Now()); !f.QualifiedESig() {
		t.Errorf("the certificate's own qcStatements are not used: %+v", f)
	}
}

func TestQualifiersOverride(t *testing.T) {
	q := newQTSP(t)
	op := tsltest.NewOperator(t, "op")
	dir := t.TempDir()
	write(t, dir, "CZ.xml", tsltest.SignList(t, tsltest.MakeList("CZ", 1, []tsltest.Service{{Name: "CA", Cert: q.ca, Status: StatusGranted, Since: time.Now().Add(-time.Hour), Quals: qualsNoSSCD}}, ""), op))
	write(t, dir, "CZ.pem", op.PEM())
	set, err := Load(context.Background(), []string{filepath.Join(dir, "CZ.xml")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := set.Qualify(q.signer, []*x509.Certificate{q.signer, q.ca}, CertQC{Compliance: true, SSCD: true, ESig: true}, time.Now())
	if f == nil || f.QSCD || f.QualifiedESig() {
		t.Errorf("QCNoSSCD does not override the certificate: %+v", f)
	}
}

func TestStatusHistory(t *testing.T) {
	q := newQTSP(t)
	op := tsltest.NewOperator(t, "op")
	withdrawn := time.Now().Add(-24 * time.Hour)
	grantedAt := withdrawn.Add(-30 * 24 * time.Hour)
	dir := t.TempDir()
	write(t, dir, "BG.xml", tsltest.SignList(t, tsltest.MakeList("BG", 7, []tsltest.Service{{Name: "Old CA", Cert: q.ca, Status: StatusWithdrawn, Since: withdrawn,
		History: [][2]any{{StatusGranted, grantedAt}}}}, ""), op))
	write(t, dir, "BG.pem", op.PEM())
	set, err := Load(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.AnchorsAt(time.Now())) != 0 {
		t.Error("a withdrawn service anchors today")
	}
	if len(set.AnchorsAt(withdrawn.Add(-time.Hour))) != 1 {
		t.Error("the service does not anchor while it was granted")
	}
	if f := set.Qualify(q.signer, []*x509.Certificate{q.signer, q.ca}, CertQC{Compliance: true, SSCD: true}, time.Now()); f == nil || f.Granted {
		t.Errorf("withdrawn service: %+v", f)
	}
}

func TestLOTLPointer(t *testing.T) {
	q := newQTSP(t)
	eu, gr := tsltest.NewOperator(t, "EU LOTL operator"), tsltest.NewOperator(t, "GR operator")
	dir := t.TempDir()
	write(t, dir, "EU.xml", tsltest.SignList(t, tsltest.MakeList("EU", 300, nil, tsltest.PointerXML("GR", gr)), eu))
	write(t, dir, "EU.pem", eu.PEM())
	write(t, dir, "GR.xml", tsltest.SignList(t, tsltest.MakeList("GR", 9, []tsltest.Service{{Name: "Κ CA", Cert: q.ca, Status: StatusGranted, Since: time.Now().Add(-time.Hour)}}, ""), gr))
	set, err := Load(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Lists) != 2 {
		t.Fatalf("%d lists", len(set.Lists))
	}
	// a list signed by the GR operator but claiming another territory is
	// not accepted through the GR pointer
	dir2 := t.TempDir()
	write(t, dir2, "EU.xml", tsltest.SignList(t, tsltest.MakeList("EU", 300, nil, tsltest.PointerXML("GR", gr)), eu))
	write(t, dir2, "EU.pem", eu.PEM())
	write(t, dir2, "RO.xml", tsltest.SignList(t, tsltest.MakeList("RO", 9, nil, ""), gr))
	if _, err := Load(context.Background(), []string{dir2}, Options{}); !errors.Is(err, ErrList) {
		t.Errorf("a list under another operator's pointer: %v", err)
	}
}

func TestLoadRefuses(t *testing.T) {
	q := newQTSP(t)
	op, other := tsltest.NewOperator(t, "op"), tsltest.NewOperator(t, "other")
	good := tsltest.SignList(t, tsltest.MakeList("PL", 1, []tsltest.Service{{Name: "CA", Cert: q.ca, Status: StatusGranted, Since: time.Now().Add(-time.Hour)}}, ""), op)
	tampered := bytes.Replace(good, []byte("Test QTSP PL"), []byte("Evil QTSP PL"), 1)
	// a second service added outside the signed element
	wrapped := bytes.Replace(good, []byte("</tsl:TrustServiceStatusList>"), []byte("<tsl:TrustServiceProviderList/></tsl:TrustServiceStatusList>"), 1)
	tests := []struct {
		name string
		list []byte
		pem  []byte
	}{
		{"no operator certificate", good, nil},
		{"another operator's certificate", good, other.PEM()},
		{"content changed after signing", tampered, op.PEM()},
		{"content added after signing", wrapped, op.PEM()},
		{"not signed", []byte(tsltest.MakeList("PL", 1, nil, "")), op.PEM()},
		{"not XML", []byte("not a list"), op.PEM()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "PL.xml", tt.list)
			if tt.pem != nil {
				write(t, dir, "PL.pem", tt.pem)
			}
			if _, err := Load(context.Background(), []string{dir}, Options{}); !errors.Is(err, ErrList) {
				t.Errorf("loaded: %v", err)
			}
		})
	}
}

func TestCriteria(t *testing.T) {
	pol, _ := x509.OIDFromInts(oidQualifiedPolicy)
	cert := &x509.Certificate{Policies: []x509.OID{pol}, KeyUsage: x509.KeyUsageContentCommitment}
	tests := []struct {
		c    Criteria
		want bool
	}{
		{Criteria{Assert: "all", PolicySets: [][]string{{"0.4.0.194112.1.2"}}}, true},
		{Criteria{Assert: "all", PolicySets: [][]string{{"0.4.0.194112.1.2", "1.2.3"}}}, false},
		{Criteria{Assert: "atLeastOne", PolicySets: [][]string{{"1.2.3"}, {"0.4.0.194112.1.2"}}}, true},
		{Criteria{Assert: "none", PolicySets: [][]string{{"0.4.0.194112.1.2"}}}, false},
		{Criteria{Assert: "all", KeyUsages: []map[string]bool{{"nonRepudiation": true, "digitalSignature": false}}}, true},
		{Criteria{Assert: "all", KeyUsages: []map[string]bool{{"digitalSignature": true}}}, false},
		{Criteria{Assert: "all"}, false},
	}
	for i, tt := range tests {
		if got := tt.c.matches(cert); got != tt.want {
			t.Errorf("%d: %v, want %v", i, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(tsltest.MakeList("PL", 1, nil, "")))
	f.Add([]byte("<TrustServiceStatusList><SchemeInformation><SchemeTerritory>X</SchemeTerritory></SchemeInformation></TrustServiceStatusList>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parse("fuzz.xml", b)
		if err == nil && l.Territory == "" {
			t.Fatal("a list without territory")
		}
	})
}

// TestECDSASignedList loads lists signed with ECDSA, with the signature
// value as XMLDSig specifies it (r||s) and as DER.
func TestECDSASignedList(t *testing.T) {
	q := newQTSP(t)
	op := tsltest.NewECOperator(t, "EE operator")
	der := tsltest.SignList(t, tsltest.MakeList("EE", 5, []tsltest.Service{{Name: "CA", Cert: q.ca, Status: StatusGranted, Since: time.Now().Add(-time.Hour)}}, ""), op)
	for name, list := range map[string][]byte{"r||s": tsltest.RawECDSASignatureValue(t, der), "DER": der} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "EE.xml", list)
			write(t, dir, "EE.pem", op.PEM())
			set, err := Load(context.Background(), []string{dir}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(set.AnchorsAt(time.Now())) != 1 {
				t.Error("no anchor")
			}
		})
	}
}

func TestTimestampAnchors(t *testing.T) {
	q := newQTSP(t)
	op := tsltest.NewOperator(t, "op")
	dir := t.TempDir()
	since := time.Now().Add(-time.Hour)
	write(t, dir, "LV.xml", tsltest.SignList(t, tsltest.MakeList("LV", 2, []tsltest.Service{
		{Name: "CA", Cert: q.ca, Status: StatusGranted, Since: since},
		{Name: "TSU", Cert: q.signer, Status: StatusGranted, Since: since, Type: TypeQTST},
	}, ""), op))
	write(t, dir, "LV.pem", op.PEM())
	set, err := Load(context.Background(), []string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ts, ca := set.TimestampAnchorsAt(time.Now()), set.AnchorsAt(time.Now())
	if len(ts) != 1 || !ts[0].Equal(q.signer) || len(ca) != 1 || !ca[0].Equal(q.ca) {
		t.Errorf("timestamp anchors %d, CA anchors %d", len(ts), len(ca))
	}
	if len(set.TimestampAnchorsAt(since.Add(-time.Minute))) != 0 {
		t.Error("a time-stamping unit anchors before it was granted")
	}
}
