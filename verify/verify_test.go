package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paraphe/paraphe/cades"
)

func sigEntries(r *Report) []Signature {
	var out []Signature
	for _, s := range r.Signatures {
		if s.Kind == KindSignature {
			out = append(out, s)
		}
	}
	return out
}

func hasNotAllowed(s Signature, kind string) bool {
	for _, m := range s.ModificationsAfterSigning {
		if !m.Allowed && m.Kind == kind {
			return true
		}
	}
	return false
}

func TestValidatePDF(t *testing.T) {
	p := newTestPKI(t, true)
	good := signedPDF(t, p)
	anchors := []*x509.Certificate{p.root}

	flipped := bytes.Clone(good)
	i := bytes.Index(flipped, []byte("Contrat de travail"))
	flipped[i] = 'K'

	// Section 3 of the acceptance script: page content replaced by a later
	// incremental update.
	shadow := appendUpdate(good, 8, map[int]string{4: stream("BT /F1 18 Tf 72 200 Td (Contrat annule - montant 1 EUR) Tj ET")})
	// A font swapped after signing.
	font := appendUpdate(good, 8, map[int]string{5: "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>"})
	// A page added after signing (page tree changed).
	pageAdded := appendUpdate(good, 10, map[int]string{
		2: "<< /Type /Pages /Kids [3 0 R 8 0 R] /Count 2 >>",
		8: "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents 9 0 R >>",
		9: stream("BT /F1 18 Tf 72 200 Td (Annexe) Tj ET"),
	})
	// The signature dictionary's /Reason replaced after signing.
	i7 := bytes.Index(good, []byte("7 0 obj\n")) + len("7 0 obj\n")
	body7 := string(good[i7 : i7+bytes.Index(good[i7:], []byte("\nendobj"))])
	sigDict := appendUpdate(good, 8, map[int]string{7: strings.Replace(body7, "/M (", "/Reason (Approved) /M (", 1)})
	// A second signature: allowed for the first one.
	second := signPDF(t, good, lastXref(good), 8, "Signature2", "6 0 R ", "6 0 R ", p.key, p.signer)
	// A /DSS added to the catalog: allowed.
	info := appendUpdate(good, 9, map[int]string{
		1: "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [6 0 R] /SigFlags 3 >> /DSS 8 0 R >>",
		8: "<< /Certs [] >>",
	})
	// Signed with a key that does not match the certificate.
	base, xref := unsignedPDF()
	wrongKey := signPDFUnchecked(t, base, xref, p)
	unsigned, _ := unsignedPDF()

	tests := []struct {
		name      string
		pdf       []byte
		anchors   []*x509.Certificate
		want      Indication
		sub       SubIndication
		nSigs     int
		covers    bool
		notAllow  string // a not-allowed modification kind expected on the first signature
		level     Level
		qualified bool
	}{
		{name: "good", pdf: good, anchors: anchors, want: TotalPassed, nSigs: 1, covers: true, level: LevelB, qualified: true},
		{name: "flipped byte", pdf: flipped, anchors: anchors, want: TotalFailed, sub: HashFailure, nSigs: 1, covers: true, qualified: true},
		{name: "untrusted", pdf: good, want: Indeterminate, sub: NoCertificateChainFound, nSigs: 1, covers: true, qualified: true},
		{name: "shadow: page content replaced", pdf: shadow, anchors: anchors, want: TotalFailed, nSigs: 1, notAllow: "page-content", level: LevelB, qualified: true},
		{name: "font replaced", pdf: font, anchors: anchors, want: TotalFailed, nSigs: 1, notAllow: "font", level: LevelB, qualified: true},
		{name: "page added", pdf: pageAdded, anchors: anchors, want: TotalFailed, nSigs: 1, notAllow: "page-tree", level: LevelB, qualified: true},
		{name: "signature dictionary replaced", pdf: sigDict, anchors: anchors, want: TotalFailed, nSigs: 1, notAllow: "signature-dictionary", qualified: true},
		{name: "second signature", pdf: second, anchors: anchors, want: TotalPassed, nSigs: 2, level: LevelB, qualified: true},
		{name: "dss added", pdf: info, anchors: anchors, want: TotalPassed, nSigs: 1, level: LevelB, qualified: true},
		{name: "wrong key", pdf: wrongKey, anchors: anchors, want: TotalFailed, sub: SigCryptoFailure, nSigs: 1, covers: true, qualified: true},
		{name: "unsigned", pdf: unsigned, anchors: anchors, want: Indeterminate, sub: NoSignatureFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := New(Options{Anchors: tt.anchors}).ValidatePDF(context.Background(), tt.pdf)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Indication != tt.want || (tt.sub != "" && rep.SubIndication != tt.sub) {
				t.Fatalf("got %s/%s, want %s/%s: %+v", rep.Indication, rep.SubIndication, tt.want, tt.sub, rep)
			}
			sigs := sigEntries(rep)
			if len(sigs) != tt.nSigs {
				t.Fatalf("%d signatures, want %d", len(sigs), tt.nSigs)
			}
			wantExit := map[Indication]int{TotalPassed: 0, TotalFailed: 1, Indeterminate: 3}[tt.want]
			if rep.ExitCode() != wantExit {
				t.Errorf("exit code %d, want %d", rep.ExitCode(), wantExit)
			}
			if tt.nSigs == 0 {
				return
			}
			s := sigs[0]
			if tt.nSigs == 1 && s.CoversWholeDocument != tt.covers {
				t.Errorf("coversWholeDocument %v, want %v", s.CoversWholeDocument, tt.covers)
			}
			if !tt.covers && len(s.ModificationsAfterSigning) == 0 {
				t.Errorf("no modification reported")
			}
			if tt.notAllow != "" && !hasNotAllowed(s, tt.notAllow) {
				t.Errorf("no not-allowed %s modification: %+v", tt.notAllow, s.ModificationsAfterSigning)
			}
			if tt.want == TotalPassed {
				for _, m := range s.ModificationsAfterSigning {
					if !m.Allowed {
						t.Errorf("not-allowed modification on a passed signature: %+v", m)
					}
				}
			}
			if tt.level != "" && s.Level != tt.level {
				t.Errorf("level %s, want %s", s.Level, tt.level)
			}
			if s.Signer.Qualified != tt.qualified {
				t.Errorf("qualified %v, want %v", s.Signer.Qualified, tt.qualified)
			}
		})
	}
}

// signPDFUnchecked signs with a key other than the certificate's by
// building the CMS through the two-phase API around cades' own check.
func signPDFUnchecked(t *testing.T, base []byte, prev int, p *testPKI) []byte {
	t.Helper()
	good := signPDF(t, base, prev, 6, "Signature1", "", "", p.key, p.signer)
	// Corrupt the signature value inside the CMS: the last bytes of the
	// SignerInfo's signature are in the hex before the zero padding.
	i := bytes.Index(good, []byte("/Contents <")) + len("/Contents <")
	end := i + bytes.Index(good[i:], []byte("0000000000000000"))
	for end > i && good[end-1] == '0' {
		end--
	}
	// Flip one hex digit near the end of the DER (inside the ECDSA signature's s).
	k := end - 6
	if good[k] == 'a' {
		good[k] = 'b'
	} else {
		good[k] = 'a'
	}
	return good
}

func TestNotPDF(t *testing.T) {
	_, err := New(Options{}).ValidatePDF(context.Background(), []byte("hello, this is not a PDF\n"))
	if !errors.Is(err, ErrNotPDF) {
		t.Fatalf("got %v, want ErrNotPDF", err)
	}
}

func TestQualified(t *testing.T) {
	for _, q := range []bool{true, false} {
		p := newTestPKI(t, q)
		if got := isQualified(p.signer); got != q {
			t.Errorf("isQualified = %v, want %v", got, q)
		}
	}
}

func TestValidateCMS(t *testing.T) {
	p := newTestPKI(t, true)
	content := []byte("hello, world")
	sum := sha256.Sum256(content)
	cms, err := cades.Sign(context.Background(), cades.SignRequest{Digest: sum[:], Hash: crypto.SHA256, Signer: p.key, Certificate: p.signer})
	if err != nil {
		t.Fatal(err)
	}
	other := sha256.Sum256([]byte("other"))
	v := New(Options{Anchors: []*x509.Certificate{p.root}})
	tests := []struct {
		name string
		in   CMSInput
		want Indication
		sub  SubIndication
		err  error
	}{
		{"data", CMSInput{Signature: cms, Data: content}, TotalPassed, "", nil},
		{"digest", CMSInput{Signature: cms, Digest: sum[:], DigestAlgorithm: crypto.SHA256}, TotalPassed, "", nil},
		{"other data", CMSInput{Signature: cms, Data: []byte("hello, World")}, TotalFailed, HashFailure, nil},
		{"other digest", CMSInput{Signature: cms, Digest: other[:], DigestAlgorithm: crypto.SHA256}, TotalFailed, HashFailure, nil},
		{"data digests", CMSInput{Signature: cms, DataDigests: map[crypto.Hash][]byte{crypto.SHA256: sum[:]}}, TotalPassed, "", nil},
		{"data digests, other data", CMSInput{Signature: cms, DataDigests: map[crypto.Hash][]byte{crypto.SHA256: other[:]}}, TotalFailed, HashFailure, nil},
		{"data digests without the signer's", CMSInput{Signature: cms, DataDigests: map[crypto.Hash][]byte{crypto.SHA512: make([]byte, 64)}}, Indeterminate, CryptoConstraintsFailure, nil},
		{"garbage", CMSInput{Signature: []byte{0x30, 0x03, 1, 2, 3}, Data: content}, TotalFailed, FormatFailure, nil},
		{"short digest", CMSInput{Signature: cms, Digest: sum[:16], DigestAlgorithm: crypto.SHA256}, "", "", ErrInvalidInput},
		{"nothing signed", CMSInput{Signature: cms}, "", "", ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := v.ValidateCMS(context.Background(), tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Indication != tt.want || rep.SubIndication != tt.sub {
				t.Fatalf("got %s/%s, want %s/%s", rep.Indication, rep.SubIndication, tt.want, tt.sub)
			}
			if tt.want == TotalPassed && !rep.Signatures[0].Signer.Qualified {
				t.Error("signer not reported qualified")
			}
		})
	}
}

func TestHTMLReport(t *testing.T) {
	p := newTestPKI(t, true)
	shadow := appendUpdate(signedPDF(t, p), 8, map[int]string{4: stream("BT (x) Tj ET")})
	rep, err := New(Options{Anchors: []*x509.Certificate{p.root}}).ValidatePDF(context.Background(), shadow)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"<html", "Alice Martin", "TOTAL_FAILED", "Not permitted", "@media print"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	for _, bad := range []string{"src=", "href=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("HTML report refers to an external resource (%q)", bad)
		}
	}
	var txt bytes.Buffer
	if err := WriteText(&txt, rep); err != nil || !strings.Contains(txt.String(), "NOT PERMITTED") {
		t.Errorf("text report: %v %q", err, txt.String())
	}
}

// TestRobustness feeds hostile structures; each must be answered quickly.
func TestRobustness(t *testing.T) {
	p := newTestPKI(t, true)
	good := signedPDF(t, p)
	loop := bytes.Clone(good)
	// Make the last xref's /Prev point to itself.
	x := lastXref(loop)
	loop = bytes.Replace(loop, []byte("/Prev "), []byte("/Prev "+itoa(x)+" %"), 1)
	pageLoop := appendUpdate(good, 8, map[int]string{2: "<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 1 >>"})
	deep := append([]byte("%PDF-1.7\n1 0 obj\n"), bytes.Repeat([]byte("["), 100000)...)
	bomb := []byte("%PDF-1.7\n")
	tests := map[string][]byte{
		"xref loop":       loop,
		"page tree loop":  pageLoop,
		"deep nesting":    deep,
		"header only":     bomb,
		"truncated":       good[:len(good)/2],
		"truncated early": good[:200],
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			rep, err := New(Options{Anchors: []*x509.Certificate{p.root}}).ValidatePDF(context.Background(), data)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Indication == TotalPassed && name != "xref loop" {
				t.Errorf("hostile input passed: %+v", rep)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestTimeout checks that a validation stops at its deadline.
func TestTimeout(t *testing.T) {
	p := newTestPKI(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := New(Options{Anchors: []*x509.Certificate{p.root}}).ValidatePDF(ctx, signedPDF(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Indication == TotalPassed {
		t.Errorf("a cancelled validation passed")
	}
}

func TestNameString(t *testing.T) {
	n := pkix.Name{Names: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "BE"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 42}, Value: "Alice"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 4}, Value: "Martin, Jr"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Alice Martin"},
		{Type: asn1.ObjectIdentifier{1, 2, 3}, Value: "x"},
	}}
	want := `1.2.3=x, CN=Alice Martin, SN=Martin\, Jr, GN=Alice, C=BE`
	if got := nameString(n); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
