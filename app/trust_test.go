package app_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/pdf"
	"github.com/paraphe/paraphe/tsl/tsltest"
)

// foreignPKI is a root CA outside Paraphe's PKI, whose certificate TestMain
// puts in the service's trustDir, and a leaf it issued.
type foreignPKI struct {
	root, leaf *x509.Certificate
	leafKey    *ecdsa.PrivateKey
}

// foreign's root is in the test service's trustDir; listed's is a CA/QC
// service of a trusted list in its trustedLists.
var foreign, listed *foreignPKI

// listedService names the trusted list's service for listed's root.
const listedService = "Listed Qualified CA"

// newListedPKI makes a root and leaf as newForeignPKI does (the root's PEM in
// pkiDir, which the service does not read) and writes into tlDir a trusted
// list, LU.xml, granting the root as a CA/QC service, signed by its
// operator, whose certificate is LU.pem beside it.
func newListedPKI(tlDir, pkiDir string) (*foreignPKI, error) {
	pki, err := newForeignPKI(pkiDir)
	if err != nil {
		return nil, err
	}
	op, err := tsltest.MakeOperator("LU list operator")
	if err != nil {
		return nil, err
	}
	list, err := tsltest.Sign(tsltest.MakeList("LU", 5, []tsltest.Service{{Name: listedService, Cert: pki.root, Status: tsltest.Granted,
		Since: time.Now().Add(-time.Hour)}}, ""), op)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(tlDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tlDir, "LU.xml"), list, 0o600); err != nil {
		return nil, err
	}
	return pki, os.WriteFile(filepath.Join(tlDir, "LU.pem"), op.PEM(), 0o600)
}

// newForeignPKI makes the foreign root and leaf and writes the root's PEM
// into dir (the trustDir of the test service).
func newForeignPKI(dir string) (*foreignPKI, error) {
	now := time.Now()
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"Foreign Trust (test)"}, CommonName: "Foreign Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	root, _ := x509.ParseCertificate(rootDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{Organization: []string{"Foreign Trust (test)"}, CommonName: "Foreign Signer"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, root, &leafKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	pemRoot := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	if err := os.WriteFile(filepath.Join(dir, "foreign-root.pem"), pemRoot, 0o600); err != nil {
		return nil, err
	}
	return &foreignPKI{root: root, leaf: leaf, leafKey: leafKey}, nil
}

// writeAt lets pdf.Embed fill the placeholder of a prepared file in memory.
type writeAt []byte

func (w writeAt) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(w)) {
		return 0, fmt.Errorf("write out of range")
	}
	return copy(w[off:], p), nil
}

// signForeign returns a one-page PDF signed (PAdES B-B) by the foreign leaf.
func signForeign(t *testing.T) []byte {
	t.Helper()
	return signBy(t, foreign)
}

// signBy returns a one-page PDF signed (PAdES B-B) by pki's leaf.
func signBy(t *testing.T, pki *foreignPKI) []byte {
	t.Helper()
	var in bytes.Buffer
	in.WriteString("%PDF-1.7\n")
	offs := []int{}
	for i, body := range []string{"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"} {
		offs = append(offs, in.Len())
		fmt.Fprintf(&in, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := in.Len()
	in.WriteString("xref\n0 4\n0000000000 65535 f \n")
	for _, o := range offs {
		fmt.Fprintf(&in, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&in, "trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", xref)
	var out bytes.Buffer
	prep, err := pdf.Prepare(context.Background(), bytes.NewReader(in.Bytes()), int64(in.Len()), &out, sha256.New(), pdf.PrepareRequest{ContentsSize: 8192})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := cades.Sign(context.Background(), cades.SignRequest{Digest: prep.Digest, Hash: crypto.SHA256, Signer: pki.leafKey, Certificate: pki.leaf})
	if err != nil {
		t.Fatal(err)
	}
	b := out.Bytes()
	if err := pdf.Embed(writeAt(b), prep, cms); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestValidationTrustsTrustDir checks that POST /v1/validations uses the
// trust anchors of the configured trustDir, as paraphe verify does (it used
// only the development root: NO_CERTIFICATE_CHAIN_FOUND).
func TestValidationTrustsTrustDir(t *testing.T) {
	key := newIntegrator(t, "trust-dir")
	r := call(t, key, http.MethodPost, "/v1/validations", "application/pdf", signForeign(t))
	if r.Status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", r.Status, r.Body)
	}
	rep := r.json(t)
	sigs, _ := rep["signatures"].([]any)
	if len(sigs) != 1 {
		t.Fatalf("%d signatures in the report, want 1: %s", len(sigs), r.Body)
	}
	sig := sigs[0].(map[string]any)
	if sig["subIndication"] == "NO_CERTIFICATE_CHAIN_FOUND" || rep["indication"] != "TOTAL_PASSED" {
		t.Fatalf("report %v/%v (signature %v/%v), want TOTAL_PASSED with the chain to the trustDir root", rep["indication"], rep["subIndication"], sig["indication"], sig["subIndication"])
	}
}

// TestValidationTrustsTrustedLists checks that POST /v1/validations takes as
// anchors the CA/QC services of the configured trustedLists, and that the
// report names the list and the service.
func TestValidationTrustsTrustedLists(t *testing.T) {
	key := newIntegrator(t, "trusted-lists")
	r := call(t, key, http.MethodPost, "/v1/validations", "application/pdf", signBy(t, listed))
	if r.Status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", r.Status, r.Body)
	}
	var rep struct {
		Indication string
		Signatures []struct {
			Signer struct {
				TrustedList *struct {
					List, Territory, Service string
				}
			}
		}
	}
	if err := json.Unmarshal(r.Body, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Indication != "TOTAL_PASSED" || len(rep.Signatures) != 1 {
		t.Fatalf("report: %s", r.Body)
	}
	if tl := rep.Signatures[0].Signer.TrustedList; tl == nil || tl.List != "LU.xml" || tl.Territory != "LU" || tl.Service != listedService {
		t.Errorf("the report does not name the list and service: %s", r.Body)
	}
}
