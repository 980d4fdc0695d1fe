package brainpool

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
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

// explicitParams is what an ECParameters SEQUENCE holds, to be changed one
// field at a time.
type explicitParams struct {
	version   int64
	fieldType asn1.ObjectIdentifier
	p, a, b   *big.Int
	base      []byte
	n         *big.Int
	cofactor  int64 // 0: absent
}

func explicitOf(c *Curve) explicitParams {
	size := (c.P.BitLen() + 7) / 8
	base := append([]byte{4}, c.Gx.FillBytes(make([]byte, size))...)
	base = append(base, c.Gy.FillBytes(make([]byte, size))...)
	return explicitParams{version: 1, fieldType: oidPrimeField, p: c.P, a: c.A, b: c.B, base: base, n: c.N, cofactor: 1}
}

// spki is a SubjectPublicKeyInfo with the explicit parameters e and the
// curve's base point as the key.
func (e explicitParams) spki(c *Curve) []byte {
	size := (c.P.BitLen() + 7) / 8
	var b cryptobyte.Builder
	b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidECPublicKey)
			b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(e.version)
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(e.fieldType)
					b.AddASN1BigInt(e.p)
				})
				b.AddASN1(casn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1OctetString(e.a.FillBytes(make([]byte, size)))
					b.AddASN1OctetString(e.b.FillBytes(make([]byte, size)))
				})
				b.AddASN1OctetString(e.base)
				b.AddASN1BigInt(e.n)
				if e.cofactor != 0 {
					b.AddASN1Int64(e.cofactor)
				}
			})
		})
		b.AddASN1BitString(append([]byte{4}, append(c.Gx.FillBytes(make([]byte, size)), c.Gy.FillBytes(make([]byte, size))...)...))
	})
	return b.BytesOrPanic()
}

// TestExplicitParameters reads keys whose curve is given by its explicit
// parameters: a brainpool curve's, whole, names that curve (base point
// uncompressed or compressed, cofactor present or not); any other
// parameters are an unknown curve; parameters that do not parse, an
// invalid key.
func TestExplicitParameters(t *testing.T) {
	for _, c := range curves {
		t.Run(c.Name, func(t *testing.T) {
			size := (c.P.BitLen() + 7) / 8
			plus1 := func(v *big.Int) *big.Int { return new(big.Int).Add(v, big.NewInt(1)) }
			tests := []struct {
				name   string
				change func(e *explicitParams)
				want   error
			}{
				{"as openssl writes them", func(e *explicitParams) {}, nil},
				{"without cofactor", func(e *explicitParams) { e.cofactor = 0 }, nil},
				{"compressed base point", func(e *explicitParams) {
					e.base = append([]byte{byte(2 + c.Gy.Bit(0))}, c.Gx.FillBytes(make([]byte, size))...)
				}, nil},
				{"other b", func(e *explicitParams) { e.b = plus1(c.B) }, ErrUnknownCurve},
				{"other a", func(e *explicitParams) { e.a = plus1(c.A) }, ErrUnknownCurve},
				{"other order", func(e *explicitParams) { e.n = plus1(c.N) }, ErrUnknownCurve},
				{"other base point", func(e *explicitParams) { e.base = e.base[:len(e.base)-1]; e.base = append(e.base, 0) }, ErrUnknownCurve},
				{"compressed base point, other parity", func(e *explicitParams) {
					e.base = append([]byte{byte(3 - c.Gy.Bit(0))}, c.Gx.FillBytes(make([]byte, size))...)
				}, ErrUnknownCurve},
				{"cofactor 2", func(e *explicitParams) { e.cofactor = 2 }, ErrUnknownCurve},
				{"characteristic-two field", func(e *explicitParams) { e.fieldType = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 2} }, ErrUnknownCurve},
				{"version 2", func(e *explicitParams) { e.version = 2 }, ErrInvalidKey},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					e := explicitOf(c)
					tt.change(&e)
					pub, err := ParsePublicKey(e.spki(c))
					switch {
					case tt.want == nil && err != nil:
						t.Fatalf("refused: %v", err)
					case tt.want == nil && (pub.Curve != c || pub.X.Cmp(c.Gx) != 0):
						t.Fatalf("read as %s", pub.Curve.Name)
					case tt.want != nil && !errors.Is(err, tt.want):
						t.Fatalf("err %v, want %v", err, tt.want)
					}
				})
			}
		})
	}
}

// TestOpenSSLExplicitParameters has openssl write certificates whose keys
// carry explicit parameters, on each brainpool curve and on brainpoolP256t1
// (not read here), and checks what ParseCertificate makes of them.
func TestOpenSSLExplicitParameters(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	for _, name := range []string{"brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1", "brainpoolP256t1"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			key, crt := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem")
			run(t, openssl, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:"+name, "-pkeyopt", "ec_param_enc:explicit", "-out", key)
			run(t, openssl, "req", "-new", "-x509", "-key", key, "-subj", "/CN=Explicit", "-days", "2", "-sha256", "-out", crt)
			pemBytes, _ := os.ReadFile(crt)
			blk, _ := pem.Decode(pemBytes)
			cert, err := ParseCertificate(blk.Bytes)
			if name == "brainpoolP256t1" {
				if !errors.Is(err, ErrUnknownCurve) {
					t.Fatalf("err %v, want ErrUnknownCurve", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pub, ok := cert.PublicKey.(*PublicKey)
			if !ok || pub.Curve.Name != name {
				t.Fatalf("parsed %T", cert.PublicKey)
			}
			if err := CheckCertificateSignature(cert, pub); err != nil {
				t.Errorf("self-signature: %v", err)
			}
		})
	}
}
