package brainpool

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/paraphe/paraphe/internal/testenv"
)

func TestCurveParameters(t *testing.T) {
	for _, c := range curves {
		if !c.onCurve(c.Gx, c.Gy) {
			t.Errorf("%s: G is not on the curve", c.Name)
		}
		if !c.N.ProbablyPrime(20) || !c.P.ProbablyPrime(20) {
			t.Errorf("%s: p or n not prime", c.Name)
		}
		if p := c.mul(point{x: c.Gx, y: c.Gy}, c.N); !p.inf {
			t.Errorf("%s: n·G is not the point at infinity", c.Name)
		}
	}
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// derToPlain turns an ECDSA-Sig-Value into r||s of size bytes each.
func derToPlain(t *testing.T, der []byte, size int) []byte {
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

// TestOpenSSLSignatures has openssl make keys, self-signed certificates and
// signatures on each curve, and checks them here, in both encodings.
func TestOpenSSLSignatures(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	for _, c := range curves {
		t.Run(c.Name, func(t *testing.T) {
			dir := t.TempDir()
			key, crt, msg, sig := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "m"), filepath.Join(dir, "s")
			run(t, openssl, "ecparam", "-name", c.Name, "-genkey", "-noout", "-out", key)
			run(t, openssl, "req", "-new", "-x509", "-key", key, "-subj", "/CN=Brainpool Test/O=Paraphe", "-days", "2", "-sha256", "-out", crt)
			if err := os.WriteFile(msg, []byte("Umowa podpisana"), 0o600); err != nil {
				t.Fatal(err)
			}
			run(t, openssl, "dgst", "-sha256", "-sign", key, "-out", sig, msg)
			pemBytes, _ := os.ReadFile(crt)
			blk, _ := pem.Decode(pemBytes)
			cert, err := ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatalf("ParseCertificate: %v", err)
			}
			pub, ok := cert.PublicKey.(*PublicKey)
			if !ok || pub.Curve != c || cert.Subject.CommonName != "Brainpool Test" {
				t.Fatalf("parsed %T %v", cert.PublicKey, cert.Subject)
			}
			if string(cert.Raw) != string(blk.Bytes) {
				t.Fatal("Raw is not the original certificate")
			}
			if err := CheckCertificateSignature(cert, pub); err != nil {
				t.Errorf("self-signature: %v", err)
			}
			der, _ := os.ReadFile(sig)
			digest := sha256.Sum256([]byte("Umowa podpisana"))
			if err := VerifyDER(pub, digest[:], der); err != nil {
				t.Errorf("DER signature: %v", err)
			}
			plain := derToPlain(t, der, c.byteLen())
			if err := VerifyPlain(pub, digest[:], plain); err != nil {
				t.Errorf("plain signature: %v", err)
			}
			other := sha256.Sum256([]byte("Umowa zmieniona"))
			if VerifyDER(pub, other[:], der) == nil || VerifyPlain(pub, other[:], plain) == nil {
				t.Error("a signature over other data verifies")
			}
			plain[len(plain)-1] ^= 1
			if VerifyPlain(pub, digest[:], plain) == nil {
				t.Error("a changed signature verifies")
			}
			if VerifyPlain(pub, digest[:], plain[1:]) == nil {
				t.Error("a short plain signature verifies")
			}
		})
	}
}

func TestParsePublicKeyRefusesOthers(t *testing.T) {
	if _, err := ParsePublicKey([]byte{0x30, 0x00}); err == nil {
		t.Error("empty SPKI accepted")
	}
	if _, err := ParseCertificate([]byte("not a certificate")); err == nil {
		t.Error("garbage accepted")
	}
}

func FuzzParseCertificate(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		if c, err := ParseCertificate(der); err == nil {
			if _, ok := c.PublicKey.(*PublicKey); !ok {
				t.Fatal("a certificate without a brainpool key")
			}
		}
	})
}

// TestOpenSSLCRL has openssl issue a CRL with a brainpool CA key and checks
// its signature here.
func TestOpenSSLCRL(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	run(t, openssl, "ecparam", "-name", "brainpoolP384r1", "-genkey", "-noout", "-out", p("ca.key"))
	run(t, openssl, "req", "-new", "-x509", "-key", p("ca.key"), "-subj", "/CN=Brainpool CRL CA", "-days", "2", "-sha384", "-out", p("ca.pem"))
	cnf := "[ca]\ndefault_ca = d\n[d]\ndatabase = " + p("index.txt") + "\ncrlnumber = " + p("crlnumber") + "\ndefault_md = sha384\ndefault_crl_days = 1\n"
	for name, content := range map[string]string{"ca.cnf": cnf, "index.txt": "", "crlnumber": "01\n"} {
		if err := os.WriteFile(p(name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run(t, openssl, "ca", "-config", p("ca.cnf"), "-gencrl", "-keyfile", p("ca.key"), "-cert", p("ca.pem"), "-out", p("crl.pem"))
	caPEM, _ := os.ReadFile(p("ca.pem"))
	blk, _ := pem.Decode(caPEM)
	ca, err := ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	crlPEM, _ := os.ReadFile(p("crl.pem"))
	blk, _ = pem.Decode(crlPEM)
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	pub := ca.PublicKey.(*PublicKey)
	if err := CheckSigned(crl.Raw, crl.RawTBSRevocationList, pub); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	bad := bytes.Clone(crl.RawTBSRevocationList)
	bad[len(bad)-1] ^= 1
	if CheckSigned(crl.Raw, bad, pub) == nil {
		t.Error("a changed CRL verifies")
	}
}
