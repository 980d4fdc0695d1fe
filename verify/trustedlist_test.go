package verify

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paraphe/paraphe/tsl"
	"github.com/paraphe/paraphe/tsl/tsltest"
)

const qualsNoSSCD = `<ecc:QualificationElement><ecc:Qualifiers><ecc:Qualifier uri="http://uri.etsi.org/TrstSvc/TrustedList/SvcInfoExt/QCNoSSCD"/></ecc:Qualifiers><ecc:CriteriaList assert="all"><ecc:KeyUsage><ecc:KeyUsageBit name="nonRepudiation">true</ecc:KeyUsageBit></ecc:KeyUsage></ecc:CriteriaList></ecc:QualificationElement>`

// TestTrustedListAnchorsAndQualifies validates a signature whose issuer
// only a signed trusted list vouches for: the list's CA/QC service is the
// anchor, the list decides signer.qualified, and the report names it.
func TestTrustedListAnchorsAndQualifies(t *testing.T) {
	p := newTestPKI(t, true)
	pdf := signedPDF(t, p)
	op := tsltest.NewOperator(t, "BE supervisory body")
	load := func(t *testing.T, svc tsltest.Service) *tsl.Set {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "BE.xml"), tsltest.SignList(t, tsltest.MakeList("BE", 61, []tsltest.Service{svc}, ""), op), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "BE.pem"), op.PEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		set, err := tsl.Load(context.Background(), []string{dir}, tsl.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	long := time.Now().Add(-365 * 24 * time.Hour)
	tests := []struct {
		name      string
		svc       tsltest.Service
		want      Indication
		sub       SubIndication
		qualified bool
	}{
		{"granted", tsltest.Service{Name: "Test QC CA", Cert: p.root, Status: tsltest.Granted, Since: long}, TotalPassed, "", true},
		{"granted, QCNoSSCD", tsltest.Service{Name: "Test QC CA", Cert: p.root, Status: tsltest.Granted, Since: long, Quals: qualsNoSSCD}, TotalPassed, "", false},
		{"withdrawn", tsltest.Service{Name: "Test QC CA", Cert: p.root, Status: tsltest.Withdrawn, Since: time.Now().Add(-time.Minute),
			History: [][2]any{{tsltest.Granted, long}}}, Indeterminate, NoCertificateChainFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := New(Options{TrustedLists: load(t, tt.svc)}).ValidatePDF(context.Background(), pdf)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Indication != tt.want || (tt.sub != "" && rep.SubIndication != tt.sub) {
				t.Fatalf("got %s/%s, want %s/%s", rep.Indication, rep.SubIndication, tt.want, tt.sub)
			}
			if tt.want != TotalPassed {
				return
			}
			s := sigEntries(rep)[0]
			if s.Signer.Qualified != tt.qualified {
				t.Errorf("qualified %v, want %v", s.Signer.Qualified, tt.qualified)
			}
			tl := s.Signer.TrustedList
			if tl == nil || tl.List != "BE.xml" || tl.Territory != "BE" || tl.SequenceNumber != 61 || tl.Service != "Test QC CA" || tl.Status != tsltest.Granted {
				t.Errorf("trustedList: %+v", tl)
			}
		})
	}
}
