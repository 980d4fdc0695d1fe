package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/paraphe/paraphe/cades"
	"github.com/paraphe/paraphe/internal/testenv"
)

// foreignCMS builds a detached SignedData the way other providers' tools
// do, for algorithms cades.Sign does not produce: signed attributes
// (content-type, message-digest, signing-certificate-v2) over digest,
// signed by sign (which gets the DER signed attributes), with the given
// digest and signature algorithm identifiers.
func foreignCMS(t *testing.T, h crypto.Hash, digest []byte, cert *x509.Certificate, chain []*x509.Certificate,
	sigAlg asn1.ObjectIdentifier, sign func(attrs []byte) []byte) []byte {
	t.Helper()
	hashOID, ok := cades.HashOID(h)
	if !ok {
		t.Fatalf("hash %v", h)
	}
	attr := func(id asn1.ObjectIdentifier, value func(b *cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(id)
			b.AddASN1(casn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	certHash := sha256.Sum256(cert.Raw)
	attrs := [][]byte{
		attr(cades.OIDAttrContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(cades.OIDData) }),
		attr(cades.OIDAttrMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }),
		attr(cades.OIDAttrSigningCertificateV2, func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1OctetString(certHash[:]) })
				})
			})
		}),
	}
	slices.SortFunc(attrs, bytes.Compare) // DER SET OF
	var sb cryptobyte.Builder
	sb.AddASN1(casn1.SET, func(b *cryptobyte.Builder) {
		for _, a := range attrs {
			b.AddBytes(a)
		}
	})
	signedAttrs := sb.BytesOrPanic()
	sig := sign(signedAttrs)
	var attrsContent cryptobyte.String
	if in := cryptobyte.String(signedAttrs); !in.ReadASN1(&attrsContent, casn1.SET) {
		t.Fatal("signed attributes")
	}
	algID := func(b *cryptobyte.Builder, id asn1.ObjectIdentifier) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(id) })
	}
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(cades.OIDSignedData)
		b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(1)
				b.AddASN1(casn1.SET, func(b *cryptobyte.Builder) { algID(b, hashOID) })
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(cades.OIDData) })
				b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
					for _, c := range append([]*x509.Certificate{cert}, chain...) {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(casn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(1)
						b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						algID(b, hashOID)
						b.AddASN1(casn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddBytes(attrsContent) // [0] IMPLICIT SET OF
						})
						algID(b, sigAlg)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.BytesOrPanic()
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func readPEMCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := cades.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return c
}

// brainpoolPKI has openssl make a brainpoolP256r1 root and a signer on
// signerCurve; it returns the root, the signer certificate and a function
// signing a digest with the signer's key (DER ECDSA-Sig-Value).
func brainpoolPKI(t *testing.T, signerCurve string) (root, signer *x509.Certificate, signDigest func([]byte) []byte, dir string) {
	openssl := testenv.Tool(t, "openssl")
	dir = t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	runTool(t, openssl, "ecparam", "-name", "brainpoolP256r1", "-genkey", "-noout", "-out", p("ca.key"))
	runTool(t, openssl, "req", "-new", "-x509", "-key", p("ca.key"), "-subj", "/C=DE/O=Test Trust Center/CN=Test Brainpool Root", "-days", "3", "-sha256", "-out", p("ca.pem"))
	runTool(t, openssl, "ecparam", "-name", signerCurve, "-genkey", "-noout", "-out", p("s.key"))
	runTool(t, openssl, "req", "-new", "-key", p("s.key"), "-subj", "/C=DE/CN=Jürgen Weiß", "-out", p("s.csr"))
	if err := os.WriteFile(p("ext"), []byte("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runTool(t, openssl, "x509", "-req", "-in", p("s.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-set_serial", "4711", "-days", "2", "-sha256", "-extfile", p("ext"), "-out", p("s.pem"))
	root = readPEMCert(t, p("ca.pem"))
	if curves := "brainpoolP256r1 brainpoolP384r1 brainpoolP512r1"; bytes.Contains([]byte(curves), []byte(signerCurve)) {
		signer = readPEMCert(t, p("s.pem"))
	} else {
		// a curve nobody here reads: the raw certificate and what a CMS
		// needs to name it
		b, _ := os.ReadFile(p("s.pem"))
		blk, _ := pem.Decode(b)
		signer = &x509.Certificate{Raw: blk.Bytes, RawIssuer: root.RawSubject, SerialNumber: big.NewInt(4711)}
	}
	signDigest = func(d []byte) []byte {
		in, out := p("d.bin"), p("sig.der")
		if err := os.WriteFile(in, d, 0o600); err != nil {
			t.Fatal(err)
		}
		runTool(t, openssl, "pkeyutl", "-sign", "-inkey", p("s.key"), "-in", in, "-out", out)
		sig, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	return root, signer, signDigest, dir
}

// derToPlain turns an ECDSA-Sig-Value into r||s, each of size bytes.
func derToPlain(t *testing.T, der []byte, size int) []byte {
	t.Helper()
	var r, s big.Int
	in := cryptobyte.String(der)
	var inner cryptobyte.String
	if !in.ReadASN1(&inner, casn1.SEQUENCE) || !inner.ReadASN1Integer(&r) || !inner.ReadASN1Integer(&s) {
		t.Fatal("bad DER signature")
	}
	out := make([]byte, 2*size)
	r.FillBytes(out[:size])
	s.FillBytes(out[size:])
	return out
}

var (
	oidECDSAWithSHA256  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAPlainSHA256 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 3}
	oidEd25519          = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidUnknownSigAlg    = asn1.ObjectIdentifier{1, 2, 3, 4, 5}
)

// TestOtherProvidersAlgorithms validates PDFs signed with brainpool keys
// (DER and plain ECDSA values), RSASSA-PSS and Ed25519, and one with an
// algorithm nobody here knows, which must be INDETERMINATE, never
// TOTAL_FAILED.
func TestOtherProvidersAlgorithms(t *testing.T) {
	type signed struct {
		pdf    []byte
		anchor *x509.Certificate
	}
	base, xref := unsignedPDF()
	sha256CMS := func(cert *x509.Certificate, sigAlg asn1.ObjectIdentifier, sign func(attrs []byte) []byte) func([]byte) []byte {
		return func(content []byte) []byte {
			d := sha256.Sum256(content)
			return foreignCMS(t, crypto.SHA256, d[:], cert, nil, sigAlg, sign)
		}
	}
	brainpoolCase := func(curve string, plain bool, tamper bool) func(t *testing.T) signed {
		return func(t *testing.T) signed {
			root, cert, signDigest, _ := brainpoolPKI(t, curve)
			alg := oidECDSAWithSHA256
			if plain {
				alg = oidECDSAPlainSHA256
			}
			size := map[string]int{"brainpoolP256r1": 32, "brainpoolP384r1": 48, "brainpoolP512r1": 64}[curve]
			return signed{signPDFWith(t, base, xref, 6, "Signature1", "", "", sha256CMS(cert, alg, func(attrs []byte) []byte {
				d := sha256.Sum256(attrs)
				sig := signDigest(d[:])
				if plain {
					sig = derToPlain(t, sig, size)
				}
				if tamper {
					sig[len(sig)-1] ^= 0x55
				}
				return sig
			})), root}
		}
	}
	goCA := func(t *testing.T, pub crypto.PublicKey, alg x509.SignatureAlgorithm) (*x509.Certificate, *x509.Certificate) {
		rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		rt := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Other Root"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, SignatureAlgorithm: x509.SHA256WithRSAPSS}
		rd, err := x509.CreateCertificate(rand.Reader, rt, rt, &rootKey.PublicKey, rootKey)
		if err != nil {
			t.Fatal(err)
		}
		root, _ := x509.ParseCertificate(rd)
		lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Δημήτρης Παπαδόπουλος"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment, SignatureAlgorithm: alg}
		ld, err := x509.CreateCertificate(rand.Reader, lt, root, pub, rootKey)
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(ld)
		return root, leaf
	}
	tests := []struct {
		name string
		make func(t *testing.T) signed
		want Indication
		sub  SubIndication
	}{
		{"brainpoolP256r1 DER", brainpoolCase("brainpoolP256r1", false, false), TotalPassed, ""},
		{"brainpoolP384r1 plain (TR-03111)", brainpoolCase("brainpoolP384r1", true, false), TotalPassed, ""},
		{"brainpoolP512r1 plain (TR-03111)", brainpoolCase("brainpoolP512r1", true, false), TotalPassed, ""},
		{"brainpoolP256r1 wrong signature", brainpoolCase("brainpoolP256r1", true, true), TotalFailed, SigCryptoFailure},
		{"brainpoolP256t1 (unsupported curve)", brainpoolCase("brainpoolP256t1", false, false), Indeterminate, CryptoConstraintsFailure},
		{"RSASSA-PSS", func(t *testing.T) signed {
			key, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			root, cert := goCA(t, &key.PublicKey, x509.SHA256WithRSAPSS)
			return signed{signPDFWith(t, base, xref, 6, "Signature1", "", "", func(content []byte) []byte {
				d := sha256.Sum256(content)
				cms, err := cades.Sign(context.Background(), cades.SignRequest{Digest: d[:], Hash: crypto.SHA256, Signer: key, Certificate: cert, RSAPSS: true})
				if err != nil {
					t.Fatal(err)
				}
				return cms
			}), root}
		}, TotalPassed, ""},
		{"Ed25519", func(t *testing.T) signed {
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			root, cert := goCA(t, pub, x509.SHA256WithRSAPSS)
			return signed{signPDFWith(t, base, xref, 6, "Signature1", "", "", func(content []byte) []byte {
				d := crypto.SHA512.New()
				d.Write(content)
				return foreignCMS(t, crypto.SHA512, d.Sum(nil), cert, nil, oidEd25519, func(attrs []byte) []byte { return ed25519.Sign(priv, attrs) })
			}), root}
		}, TotalPassed, ""},
		{"unknown signature algorithm", func(t *testing.T) signed {
			pub, priv, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			root, cert := goCA(t, pub, x509.SHA256WithRSAPSS)
			return signed{signPDFWith(t, base, xref, 6, "Signature1", "", "", sha256CMS(cert, oidUnknownSigAlg, func(attrs []byte) []byte { return ed25519.Sign(priv, attrs) })), root}
		}, Indeterminate, CryptoConstraintsFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.make(t)
			rep, err := New(Options{Anchors: []*x509.Certificate{s.anchor}}).ValidatePDF(context.Background(), s.pdf)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Indication != tt.want || (tt.sub != "" && rep.SubIndication != tt.sub) {
				t.Fatalf("got %s/%s, want %s/%s: %+v", rep.Indication, rep.SubIndication, tt.want, tt.sub, rep.Signatures)
			}
		})
	}
}

// TestBrainpoolOCSP has openssl answer OCSP requests with a brainpool CA
// key (good, then revoked) and checks the validator reads both.
func TestBrainpoolOCSP(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	root, signer, _, dir := brainpoolPKI(t, "brainpoolP384r1")
	p := func(n string) string { return filepath.Join(dir, n) }
	exp := time.Now().Add(48 * time.Hour).UTC().Format("060102150405Z")
	revokedAt := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	runTool(t, openssl, "ocsp", "-issuer", p("ca.pem"), "-cert", p("s.pem"), "-no_nonce", "-reqout", p("req.der"))
	for _, tt := range []struct {
		name    string
		index   string
		revoked bool
	}{
		{"good", "V\t" + exp + "\t\t1267\tunknown\t/C=DE/CN=J\n", false},
		{"revoked", "R\t" + exp + "\t" + revokedAt.Format("060102150405Z") + "\t1267\tunknown\t/C=DE/CN=J\n", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(p("index.txt"), []byte(tt.index), 0o600); err != nil {
				t.Fatal(err)
			}
			runTool(t, openssl, "ocsp", "-index", p("index.txt"), "-rsigner", p("ca.pem"), "-rkey", p("ca.key"), "-CA", p("ca.pem"),
				"-reqin", p("req.der"), "-respout", p("resp.der"), "-ndays", "1")
			der, err := os.ReadFile(p("resp.der"))
			if err != nil {
				t.Fatal(err)
			}
			rd := &revocationData{ocsp: [][]byte{der}}
			st := rd.embeddedStatus(signer, root)
			if !st.found || st.revoked != tt.revoked || (tt.revoked && !st.revokedAt.Equal(revokedAt)) {
				t.Fatalf("status %+v", st)
			}
			// the same response, its signature broken, says nothing
			var outer ocspOuter
			var basic ocspBasic
			if _, err := asn1.Unmarshal(der, &outer); err != nil {
				t.Fatal(err)
			}
			if _, err := asn1.Unmarshal(outer.Bytes.Response, &basic); err != nil {
				t.Fatal(err)
			}
			at := bytes.Index(der, basic.Signature.Bytes)
			if at < 0 {
				t.Fatal("signature not found")
			}
			bad := bytes.Clone(der)
			bad[at+len(basic.Signature.Bytes)-1] ^= 0x40
			if st := (&revocationData{ocsp: [][]byte{bad}}).embeddedStatus(signer, root); st.found {
				t.Fatalf("a broken response was read: %+v", st)
			}
		})
	}
}

// TestOpenSSLSignedCMS validates PDFs whose keys, certificates and CMS
// signatures openssl made (openssl cms -sign -cades over the byte ranges),
// as another provider's tool would: brainpool ECDSA keys and certificates,
// RSASSA-PSS signatures and certificates, Ed25519 (RFC 8419). OpenSSL 3.0's
// cms cannot sign with Ed25519 (fixed in 3.2): there openssl makes the keys,
// the Ed25519 certificates and the signature value over the signed
// attributes (pkeyutl -rawin), and foreignCMS puts them in a SignedData.
// Keys with explicit curve parameters (as some German signature cards have)
// are read when they are a brainpool curve's, INDETERMINATE otherwise;
// RSASSA-PSS certificates with openssl's default (longest) salt, which
// crypto/x509 does not read, chain too, but not to a root of another key
// with the same name. A CMS over other bytes must fail with HASH_FAILURE.
func TestOpenSSLSignedCMS(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	base, xref := unsignedPDF()
	tests := []struct {
		name    string
		keygen  []string // openssl genpkey arguments
		caGen   []string // for the root, when not keygen
		sigopt  []string // extra options for signing certificates and the CMS
		md      string
		other   bool // sign other bytes than the byte ranges
		want    Indication
		wantSub SubIndication
	}{
		{"brainpoolP256r1", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"}, nil, nil, "sha256", false, TotalPassed, ""},
		{"brainpoolP384r1", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP384r1"}, nil, nil, "sha384", false, TotalPassed, ""},
		{"brainpoolP512r1", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP512r1"}, nil, nil, "sha512", false, TotalPassed, ""},
		{"RSASSA-PSS", []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}, nil, []string{"rsa_padding_mode:pss", "rsa_pss_saltlen:32"}, "sha256", false, TotalPassed, ""},
		{"RSASSA-PSS, SHA-384, openssl's default salt", []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}, nil, []string{"rsa_padding_mode:pss"}, "sha384", false, TotalPassed, ""},
		{"RSASSA-PSS, openssl's default salt, anchor of another key", []string{"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"}, nil, []string{"rsa_padding_mode:pss"}, "sha384", false, Indeterminate, NoCertificateChainFound},
		{"Ed25519", []string{"-algorithm", "ED25519"}, nil, nil, "sha512", false, TotalPassed, ""},
		{"brainpoolP256r1, explicit parameters", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1", "-pkeyopt", "ec_param_enc:explicit"}, nil, nil, "sha256", false, TotalPassed, ""},
		{"brainpoolP384r1, explicit parameters", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP384r1", "-pkeyopt", "ec_param_enc:explicit"}, nil, nil, "sha384", false, TotalPassed, ""},
		{"brainpoolP256t1, explicit parameters (unsupported curve)", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256t1", "-pkeyopt", "ec_param_enc:explicit"}, []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"}, nil, "sha256", false, Indeterminate, CryptoConstraintsFailure},
		{"Ed25519 over other bytes", []string{"-algorithm", "ED25519"}, nil, nil, "sha512", true, TotalFailed, HashFailure},
		{"brainpoolP256r1 over other bytes", []string{"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:brainpoolP256r1"}, nil, nil, "sha256", true, TotalFailed, HashFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := func(n string) string { return filepath.Join(dir, n) }
			var certSig, cmsSig []string
			for _, o := range tt.sigopt {
				certSig = append(certSig, "-sigopt", o)
				cmsSig = append(cmsSig, "-keyopt", o)
			}
			mdFlag := []string{"-" + tt.md}
			if strings.HasPrefix(tt.name, "Ed25519") {
				mdFlag = nil // pure EdDSA: no digest for certificates
			}
			caGen := tt.caGen
			if caGen == nil {
				caGen = tt.keygen
			}
			runTool(t, openssl, append([]string{"genpkey", "-out", p("ca.key")}, caGen...)...)
			runTool(t, openssl, slices.Concat([]string{"req", "-new", "-x509", "-key", p("ca.key"), "-subj", "/C=DE/O=Test Provider/CN=Test Root",
				"-days", "3", "-out", p("ca.pem")}, mdFlag, certSig)...)
			runTool(t, openssl, append([]string{"genpkey", "-out", p("s.key")}, tt.keygen...)...)
			runTool(t, openssl, "req", "-new", "-key", p("s.key"), "-subj", "/C=PL/CN=Łucja Wąsik", "-out", p("s.csr"))
			if err := os.WriteFile(p("ext"), []byte("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			runTool(t, openssl, slices.Concat([]string{"x509", "-req", "-in", p("s.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"), "-set_serial", "4711",
				"-days", "2", "-extfile", p("ext"), "-out", p("s.pem")}, mdFlag, certSig)...)
			root := readPEMCert(t, p("ca.pem"))
			if strings.HasSuffix(tt.name, "anchor of another key") {
				// the same name on another key: the signer's certificate does not verify with it
				runTool(t, openssl, append([]string{"genpkey", "-out", p("ca2.key")}, caGen...)...)
				runTool(t, openssl, slices.Concat([]string{"req", "-new", "-x509", "-key", p("ca2.key"), "-subj", "/C=DE/O=Test Provider/CN=Test Root",
					"-days", "3", "-out", p("ca2.pem")}, mdFlag, certSig)...)
				root = readPEMCert(t, p("ca2.pem"))
			}
			signed := signPDFWith(t, base, xref, 6, "Signature1", "", "", func(content []byte) []byte {
				if tt.other {
					content = append([]byte("other "), content...)
				}
				if strings.HasPrefix(tt.name, "Ed25519") {
					d := sha512.Sum512(content)
					return foreignCMS(t, crypto.SHA512, d[:], readPEMCert(t, p("s.pem")), nil, oidEd25519, func(attrs []byte) []byte {
						if err := os.WriteFile(p("attrs"), attrs, 0o600); err != nil {
							t.Fatal(err)
						}
						runTool(t, openssl, "pkeyutl", "-sign", "-rawin", "-inkey", p("s.key"), "-in", p("attrs"), "-out", p("sig.bin"))
						sig, err := os.ReadFile(p("sig.bin"))
						if err != nil {
							t.Fatal(err)
						}
						return sig
					})
				}
				if err := os.WriteFile(p("content"), content, 0o600); err != nil {
					t.Fatal(err)
				}
				runTool(t, openssl, append([]string{"cms", "-sign", "-binary", "-cades", "-in", p("content"), "-signer", p("s.pem"), "-inkey", p("s.key"),
					"-md", tt.md, "-outform", "DER", "-out", p("sig.der")}, cmsSig...)...)
				der, err := os.ReadFile(p("sig.der"))
				if err != nil {
					t.Fatal(err)
				}
				return der
			})
			rep, err := New(Options{Anchors: []*x509.Certificate{root}}).ValidatePDF(context.Background(), signed)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Indication != tt.want || rep.SubIndication != tt.wantSub {
				t.Fatalf("got %s/%s, want %s/%s: %+v", rep.Indication, rep.SubIndication, tt.want, tt.wantSub, rep.Signatures)
			}
		})
	}
}
