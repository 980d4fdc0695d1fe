package cades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
)

type keyCase struct {
	name string
	key  string
	pss  bool
	alg  string // expected signature algorithm in openssl's print
}

var keyCases = []keyCase{
	{"P-256", "P-256", false, "ecdsa-with-SHA"},
	{"P-384", "P-384", false, "ecdsa-with-SHA"},
	{"RSA-2048", "RSA-2048", false, "WithRSAEncryption"},
	{"RSA-3072", "RSA-3072", false, "WithRSAEncryption"},
	{"RSA-2048-PSS", "RSA-2048", true, "rsassaPss"},
	{"RSA-3072-PSS", "RSA-3072", true, "rsassaPss"},
}

var hashCases = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

func digestOf(h crypto.Hash, data []byte) []byte {
	w := h.New()
	w.Write(data)
	return w.Sum(nil)
}

// TestSignVerifiedByOpenSSL signs a file's digest with every key and hash,
// and has openssl verify the detached CMS against the file and the CA.
func TestSignVerifiedByOpenSSL(t *testing.T) {
	openssl := needOpenSSL(t)
	p := getPKI(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, caFile, p.caCert)
	for _, kc := range keyCases {
		key := mustKey(t, kc.key)
		cert := p.signerCert(key.Public())
		for _, h := range hashCases {
			t.Run(fmt.Sprintf("%s/%v", kc.name, h), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				content := []byte("contract #42 between Alice and Bob\n" + kc.name + h.String())
				contentFile := filepath.Join(dir, "content.bin")
				if err := os.WriteFile(contentFile, content, 0o600); err != nil {
					t.Fatal(err)
				}
				digest := digestOf(h, content)
				signingTime := time.Date(2031, 5, 17, 10, 11, 12, 0, time.UTC)
				sig, err := Sign(context.Background(), SignRequest{
					Digest: digest, Hash: h, Signer: key, Certificate: cert,
					Chain: []*x509.Certificate{p.caCert}, SigningTime: signingTime, RSAPSS: kc.pss,
				})
				if err != nil {
					t.Fatalf("Sign: %v", err)
				}
				if out, err := opensslVerify(t, openssl, dir, sig, contentFile, caFile); err != nil {
					t.Fatalf("openssl cms -verify failed: %v\n%s", err, out)
				}

				printed := opensslPrint(t, openssl, dir, sig)
				for _, want := range []string{"signingCertificateV2", "messageDigest", "signingTime", kc.alg} {
					if !strings.Contains(printed, want) {
						t.Errorf("openssl print lacks %q:\n%s", want, printed)
					}
				}

				wrongFile := filepath.Join(dir, "wrong.bin")
				if err := os.WriteFile(wrongFile, append(content, '!'), 0o600); err != nil {
					t.Fatal(err)
				}
				if out, err := opensslVerify(t, openssl, dir, sig, wrongFile, caFile); err == nil {
					t.Fatalf("openssl verified the signature against other content:\n%s", out)
				}

				sd, err := Parse(sig)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				checkRoundTrip(t, sd, cert, p.caCert, h, digest, signingTime)
				if _, err := sd.Verify(digest); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if _, err := sd.Verify(digestOf(h, append(content, '!'))); !errors.Is(err, ErrDigestMismatch) {
					t.Fatalf("Verify with another digest: got %v, want ErrDigestMismatch", err)
				}
			})
		}
	}
}

func checkRoundTrip(t *testing.T, sd *SignedData, cert, ca *x509.Certificate, h crypto.Hash, digest []byte, signingTime time.Time) {
	t.Helper()
	if sd.Version != 1 || !sd.ContentType.Equal(OIDData) || sd.Content != nil {
		t.Errorf("version %d, content type %v, content %x: want 1, id-data, detached", sd.Version, sd.ContentType, sd.Content)
	}
	if len(sd.DigestAlgorithms) != 1 || HashFromOID(sd.DigestAlgorithms[0].Algorithm) != h || sd.DigestAlgorithms[0].Parameters != nil {
		t.Errorf("digest algorithms %+v, want only %v with absent parameters", sd.DigestAlgorithms, h)
	}
	if len(sd.Certificates) != 2 || !sd.Certificates[0].Equal(cert) || !sd.Certificates[1].Equal(ca) {
		t.Errorf("certificates: got %d, want [signer, CA]", len(sd.Certificates))
	}
	if len(sd.Signers) != 1 {
		t.Fatalf("%d signers", len(sd.Signers))
	}
	si := sd.Signers[0]
	if si.Version != 1 || !bytes.Equal(si.Issuer, cert.RawIssuer) || si.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("sid: version %d issuer/serial mismatch", si.Version)
	}
	if si.Hash != h || !bytes.Equal(si.MessageDigest, digest) || !si.ContentType.Equal(OIDData) {
		t.Errorf("hash %v digest %x content type %v", si.Hash, si.MessageDigest, si.ContentType)
	}
	if !si.SigningTime.Equal(signingTime) {
		t.Errorf("signing time %v, want %v", si.SigningTime, signingTime)
	}
	certHash := sha256.Sum256(cert.Raw)
	if len(si.SigningCertificateV2) != 1 {
		t.Fatalf("signing certificate v2: %d ids", len(si.SigningCertificateV2))
	}
	id := si.SigningCertificateV2[0]
	if id.Hash != crypto.SHA256 || !bytes.Equal(id.CertHash, certHash[:]) || !bytes.Equal(id.Issuer, cert.RawIssuer) || id.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("signing certificate v2 %+v does not name the certificate", id)
	}
	wantOrder := []asn1.ObjectIdentifier{OIDAttrContentType, OIDAttrSigningTime, OIDAttrMessageDigest, OIDAttrSigningCertificateV2}
	if len(si.SignedAttrs) != len(wantOrder) {
		t.Fatalf("%d signed attributes, want %d", len(si.SignedAttrs), len(wantOrder))
	}
	for i, a := range si.SignedAttrs {
		if !a.Type.Equal(wantOrder[i]) {
			t.Errorf("signed attribute %d is %v, want %v", i, a.Type, wantOrder[i])
		}
	}
	if len(si.UnsignedAttrs) != 0 || si.UnsignedAttrsRaw != nil {
		t.Errorf("unexpected unsigned attributes")
	}
}

// TestSignRequestErrors checks what Sign refuses, and that it says why.
func TestSignRequestErrors(t *testing.T) {
	p := getPKI(t)
	ec := mustKey(t, "P-256")
	ecCert := p.signerCert(ec.Public())
	other := mustKey(t, "P-384")
	small := mustKey(t, "RSA-1024")
	smallCert := p.signerCert(small.Public())
	p224 := mustKey(t, "P-224")
	p224Cert := p.signerCert(p224.Public())
	d256 := digestOf(crypto.SHA256, []byte("x"))
	ok := SignRequest{Digest: d256, Hash: crypto.SHA256, Signer: ec, Certificate: ecCert}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		modify func(r *SignRequest)
		want   error
	}{
		{"digest shorter than hash", nil, func(r *SignRequest) { r.Digest = d256[:31] }, ErrDigestLength},
		{"SHA-256 digest declared SHA-384", nil, func(r *SignRequest) { r.Hash = crypto.SHA384 }, ErrDigestLength},
		{"SHA-512 hash with SHA-256 digest", nil, func(r *SignRequest) { r.Hash = crypto.SHA512 }, ErrDigestLength},
		{"SHA-1", nil, func(r *SignRequest) { r.Hash, r.Digest = crypto.SHA1, make([]byte, 20) }, ErrUnsupportedHash},
		{"no hash", nil, func(r *SignRequest) { r.Hash = 0 }, ErrUnsupportedHash},
		{"certificate of another key", nil, func(r *SignRequest) { r.Signer = other }, ErrKeyMismatch},
		{"no certificate", nil, func(r *SignRequest) { r.Certificate = nil }, ErrInvalidRequest},
		{"no signer", nil, func(r *SignRequest) { r.Signer = nil }, ErrInvalidRequest},
		{"nil chain entry", nil, func(r *SignRequest) { r.Chain = []*x509.Certificate{nil} }, ErrInvalidRequest},
		{"PSS with ECDSA key", nil, func(r *SignRequest) { r.RSAPSS = true }, ErrUnsupportedKey},
		{"RSA-1024", nil, func(r *SignRequest) { r.Signer, r.Certificate = small, smallCert }, ErrUnsupportedKey},
		{"P-224", nil, func(r *SignRequest) { r.Signer, r.Certificate = p224, p224Cert }, ErrUnsupportedKey},
		{"extra attribute repeats messageDigest", nil, func(r *SignRequest) {
			r.ExtraSignedAttributes = []Attribute{{Type: OIDAttrMessageDigest, Values: [][]byte{{0x04, 0x00}}}}
		}, ErrInvalidRequest},
		{"faulty signer", nil, func(r *SignRequest) { r.Signer = badSigner{ec} }, ErrBadSignature},
		{"cancelled context", ctx, func(*SignRequest) {}, context.Canceled},
		{"timestamper fails", nil, func(r *SignRequest) { r.Timestamper = &tsaStub{p: p, err: io.ErrUnexpectedEOF} }, ErrTimestamp},
		{"timestamp over another imprint", nil, func(r *SignRequest) { r.Timestamper = &tsaStub{p: p, tamper: true} }, ErrTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := ok
			tc.modify(&req)
			c := tc.ctx
			if c == nil {
				c = context.Background()
			}
			out, err := Sign(c, req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Sign: got %v, want %v", err, tc.want)
			}
			if out != nil {
				t.Fatalf("Sign returned output with an error")
			}
			if err != nil && !strings.HasPrefix(err.Error(), "cades: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	t.Run("timestamper error is wrapped", func(t *testing.T) {
		req := ok
		req.Timestamper = &tsaStub{p: p, err: io.ErrUnexpectedEOF}
		if _, err := Sign(context.Background(), req); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("got %v, want the timestamper's error wrapped", err)
		}
	})
}

// badSigner signs with the right key but returns a corrupted signature, as a
// faulty HSM could.
type badSigner struct{ crypto.Signer }

func (b badSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	sig, err := b.Signer.Sign(r, d, o)
	if err != nil {
		return nil, err
	}
	sig[len(sig)-1] ^= 1
	return sig, nil
}

// ctxSigner records that SignContext, not Sign, was used.
type ctxSigner struct {
	crypto.Signer
	ctxUsed *bool
}

type ctxKey struct{}

func (c ctxSigner) SignContext(ctx context.Context, d []byte, o crypto.SignerOpts) ([]byte, error) {
	if ctx.Value(ctxKey{}) != "marker" {
		return nil, errors.New("context not passed")
	}
	*c.ctxUsed = true
	return c.Signer.Sign(rand.Reader, d, o)
}

func TestSignUsesSignContext(t *testing.T) {
	p := getPKI(t)
	key := mustKey(t, "P-256")
	used := false
	ctx := context.WithValue(context.Background(), ctxKey{}, "marker")
	_, err := Sign(ctx, SignRequest{
		Digest: digestOf(crypto.SHA256, nil), Hash: crypto.SHA256,
		Signer: ctxSigner{key, &used}, Certificate: p.signerCert(key.Public()),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !used {
		t.Fatal("SignContext was not used")
	}
}

// TestSigningTimeEncoding checks UTCTime before 2050, GeneralizedTime from
// 2050, and no attribute for the zero time (PAdES).
func TestSigningTimeEncoding(t *testing.T) {
	p := getPKI(t)
	key := mustKey(t, "P-256")
	cert := p.signerCert(key.Public())
	tests := []struct {
		name string
		at   time.Time
		tag  byte // 0: no attribute
	}{
		{"zero time: no attribute", time.Time{}, 0},
		{"last UTCTime second", time.Date(2049, 12, 31, 23, 59, 59, 0, time.UTC), 0x17},
		{"first GeneralizedTime second", time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC), 0x18},
		{"non-UTC zone and fraction", time.Date(2030, 1, 1, 1, 0, 0, 999, time.FixedZone("CET", 3600)), 0x17},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			attrs, err := SignedAttributes(SignRequest{Digest: make([]byte, 32), Hash: crypto.SHA256, Certificate: cert, SigningTime: tc.at})
			if err != nil {
				t.Fatal(err)
			}
			parsed, _, err := parseAttributes(attrs)
			if err != nil {
				t.Fatal(err)
			}
			var found *Attribute
			for i := range parsed {
				if parsed[i].Type.Equal(OIDAttrSigningTime) {
					found = &parsed[i]
				}
			}
			if tc.tag == 0 {
				if found != nil || len(parsed) != 3 {
					t.Fatalf("got %d attributes, signing time present: %v", len(parsed), found != nil)
				}
				return
			}
			if found == nil {
				t.Fatal("no signing time attribute")
			}
			if got := found.Values[0][0]; got != tc.tag {
				t.Fatalf("tag %#x, want %#x", got, tc.tag)
			}
			si := SignerInfo{SignedAttrs: parsed}
			if err := si.readSignedAttributes(); err != nil {
				t.Fatal(err)
			}
			if want := tc.at.UTC().Truncate(time.Second); !si.SigningTime.Equal(want) {
				t.Fatalf("signing time %v, want %v", si.SigningTime, want)
			}
		})
	}
}

// TestSigningCertificateV2Encoding decodes the attribute with encoding/asn1,
// independently of Parse.
func TestSigningCertificateV2Encoding(t *testing.T) {
	p := getPKI(t)
	key := mustKey(t, "P-256")
	cert := p.signerCert(key.Public())
	val, err := signingCertificateV2(cert)
	if err != nil {
		t.Fatal(err)
	}
	type issuerSerial struct {
		Issuer []asn1.RawValue
		Serial *big.Int
	}
	type essCertIDv2 struct { // hashAlgorithm absent: the first field must be the OCTET STRING
		CertHash     []byte
		IssuerSerial issuerSerial
	}
	var v struct{ Certs []essCertIDv2 }
	if rest, err := asn1.Unmarshal(val, &v); err != nil || len(rest) > 0 {
		t.Fatalf("unmarshal: %v (rest %d)", err, len(rest))
	}
	sum := sha256.Sum256(cert.Raw)
	if len(v.Certs) != 1 || !bytes.Equal(v.Certs[0].CertHash, sum[:]) {
		t.Fatalf("cert hash mismatch: %+v", v)
	}
	is := v.Certs[0].IssuerSerial
	if len(is.Issuer) != 1 || is.Issuer[0].Class != asn1.ClassContextSpecific || is.Issuer[0].Tag != 4 ||
		!is.Issuer[0].IsCompound || !bytes.Equal(is.Issuer[0].Bytes, cert.RawIssuer) {
		t.Fatalf("issuer is not directoryName(issuer): %+v", is.Issuer)
	}
	if is.Serial.Cmp(cert.SerialNumber) != 0 {
		t.Fatalf("serial %v, want %v", is.Serial, cert.SerialNumber)
	}
}

// TestTwoPhase builds a signature from the exported pieces, as PAdES does,
// and checks parts from different requests cannot be mixed.
func TestTwoPhase(t *testing.T) {
	p := getPKI(t)
	for _, kc := range []keyCase{keyCases[0], keyCases[4]} {
		t.Run(kc.name, func(t *testing.T) {
			key := mustKey(t, kc.key)
			cert := p.signerCert(key.Public())
			digest := digestOf(crypto.SHA384, []byte("pdf byte range"))
			prepare := SignRequest{Digest: digest, Hash: crypto.SHA384, Certificate: cert, RSAPSS: kc.pss} // no Signer yet
			attrs, err := SignedAttributes(prepare)
			if err != nil {
				t.Fatal(err)
			}
			sign := prepare
			sign.Signer = key
			sig, err := SignAttributes(context.Background(), sign, attrs)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := TimestampSignature(context.Background(), &tsaStub{p: p}, crypto.SHA384, sig)
			if err != nil {
				t.Fatal(err)
			}
			cms, err := Assemble(prepare, attrs, sig, []Attribute{ts})
			if err != nil {
				t.Fatal(err)
			}
			sd, err := Parse(cms)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sd.Signers[0].SignedAttrsRaw, attrs) || !bytes.Equal(sd.Signers[0].Signature, sig) {
				t.Fatal("signed attributes or signature changed on assembly")
			}
			if !sd.Signers[0].SigningTime.IsZero() {
				t.Fatal("signing time present without being asked")
			}
			if _, err := sd.Verify(digest); err != nil {
				t.Fatal(err)
			}

			other := prepare
			other.Digest = digestOf(crypto.SHA384, []byte("another document"))
			otherAttrs, err := SignedAttributes(other)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Assemble(other, otherAttrs, sig, nil); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Assemble with a signature over other attributes: got %v, want ErrBadSignature", err)
			}
			if _, err := Assemble(prepare, attrs[1:], sig, nil); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("Assemble with broken attributes: got %v, want ErrInvalidRequest", err)
			}
		})
	}
}

// TestSignatureTimestamp signs at level B-T with a real RFC 3161 token and
// checks the token's imprint is the hash of the signature value.
func TestSignatureTimestamp(t *testing.T) {
	p := getPKI(t)
	openssl := ""
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writePEM(t, caFile, p.caCert)
	for _, kc := range []keyCase{keyCases[0], keyCases[1], keyCases[2], keyCases[4]} {
		for _, h := range hashCases {
			t.Run(fmt.Sprintf("%s/%v", kc.name, h), func(t *testing.T) {
				key := mustKey(t, kc.key)
				cert := p.signerCert(key.Public())
				content := []byte("timestamped " + kc.name)
				digest := digestOf(h, content)
				stub := &tsaStub{p: p}
				cms, err := Sign(context.Background(), SignRequest{
					Digest: digest, Hash: h, Signer: key, Certificate: cert, RSAPSS: kc.pss, Timestamper: stub,
				})
				if err != nil {
					t.Fatal(err)
				}
				if stub.calls != 1 || stub.lastHash != h {
					t.Fatalf("timestamper called %d times with %v", stub.calls, stub.lastHash)
				}
				sd, err := Parse(cms)
				if err != nil {
					t.Fatal(err)
				}
				si := sd.Signers[0]
				if len(si.SignatureTimestamps) != 1 || len(si.UnsignedAttrs) != 1 {
					t.Fatalf("%d timestamps, %d unsigned attributes", len(si.SignatureTimestamps), len(si.UnsignedAttrs))
				}
				wantImprint := digestOf(h, si.Signature)
				// The token as another library reads it (and verifies its signature).
				tok, err := timestamp.Parse(si.SignatureTimestamps[0])
				if err != nil {
					t.Fatalf("token does not parse as a timestamp: %v", err)
				}
				if tok.HashAlgorithm != h || !bytes.Equal(tok.HashedMessage, wantImprint) {
					t.Fatalf("token imprint %v %x, want %v %x", tok.HashAlgorithm, tok.HashedMessage, h, wantImprint)
				}
				// And as this package reads it.
				own, err := ParseTimestampToken(si.SignatureTimestamps[0])
				if err != nil {
					t.Fatal(err)
				}
				if own.Hash != h || !bytes.Equal(own.HashedMessage, wantImprint) || !own.GenTime.Equal(tok.Time) ||
					own.SerialNumber.Cmp(tok.SerialNumber) != 0 || !own.Policy.Equal(testPolicy) {
					t.Fatalf("ParseTimestampToken disagrees with digitorus/timestamp: %+v vs %+v", own, tok)
				}
				if _, err := sd.Verify(digest); err != nil {
					t.Fatal(err)
				}
				if kc.name == "P-256" {
					if openssl = needOpenSSLOptional(); openssl != "" {
						dir := t.TempDir()
						contentFile := filepath.Join(dir, "c.bin")
						if err := os.WriteFile(contentFile, content, 0o600); err != nil {
							t.Fatal(err)
						}
						if out, err := opensslVerify(t, openssl, dir, cms, contentFile, caFile); err != nil {
							t.Fatalf("openssl rejects the B-T signature: %v\n%s", err, out)
						}
						if pr := opensslPrint(t, openssl, dir, cms); !strings.Contains(pr, "id-smime-aa-timeStampToken") {
							t.Errorf("openssl print shows no timestamp token attribute:\n%s", pr)
						}
					}
				}
			})
		}
	}
}

func needOpenSSLOptional() string {
	if _, err := os.Stat("/usr/bin/openssl"); err == nil {
		return "/usr/bin/openssl"
	}
	return ""
}

// TestAddUnsignedAttribute upgrades a B-B signature to B-T after the fact.
func TestAddUnsignedAttribute(t *testing.T) {
	p := getPKI(t)
	key := mustKey(t, "RSA-2048")
	cert := p.signerCert(key.Public())
	digest := digestOf(crypto.SHA256, []byte("later"))
	bb, err := Sign(context.Background(), SignRequest{Digest: digest, Hash: crypto.SHA256, Signer: key, Certificate: cert,
		Chain: []*x509.Certificate{p.caCert}, SigningTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	before, err := Parse(bb)
	if err != nil {
		t.Fatal(err)
	}
	attr, err := TimestampSignature(context.Background(), &tsaStub{p: p}, crypto.SHA256, before.Signers[0].Signature)
	if err != nil {
		t.Fatal(err)
	}
	bt, err := AddUnsignedAttribute(bb, 0, attr)
	if err != nil {
		t.Fatal(err)
	}
	after, err := Parse(bt)
	if err != nil {
		t.Fatal(err)
	}
	b, a := before.Signers[0], after.Signers[0]
	if !bytes.Equal(a.SignedAttrsRaw, b.SignedAttrsRaw) || !bytes.Equal(a.Signature, b.Signature) ||
		len(after.Certificates) != 2 || !after.Certificates[0].Equal(cert) {
		t.Fatal("signed parts changed")
	}
	if len(a.SignatureTimestamps) != 1 || !bytes.Equal(a.SignatureTimestamps[0], attr.Values[0]) {
		t.Fatal("timestamp not added")
	}
	if _, err := after.Verify(digest); err != nil {
		t.Fatal(err)
	}
	// A second attribute keeps the first one.
	again, err := AddUnsignedAttribute(bt, 0, Attribute{Type: asn1.ObjectIdentifier{1, 2, 3}, Values: [][]byte{{0x05, 0x00}}})
	if err != nil {
		t.Fatal(err)
	}
	if sd, err := Parse(again); err != nil || len(sd.Signers[0].UnsignedAttrs) != 2 || len(sd.Signers[0].SignatureTimestamps) != 1 {
		t.Fatalf("second attribute: %v", err)
	}
	if _, err := AddUnsignedAttribute(bb, 1, attr); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("signer out of range: got %v", err)
	}
	if _, err := AddUnsignedAttribute(bb, 0, Attribute{Type: asn1.ObjectIdentifier{1, 2, 3}, Values: [][]byte{{0x05}}}); err == nil {
		t.Fatal("accepted a value that is not a DER element")
	}
}

// TestVerifyRejects tampers with parsed signatures and checks Verify notices.
func TestVerifyRejects(t *testing.T) {
	p := getPKI(t)
	key := mustKey(t, "P-256")
	cert := p.signerCert(key.Public())
	otherKey := mustKey(t, "P-384")
	otherCert := p.signerCert(otherKey.Public())
	digest := digestOf(crypto.SHA256, []byte("v"))
	cms, err := Sign(context.Background(), SignRequest{Digest: digest, Hash: crypto.SHA256, Signer: key, Certificate: cert})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(sd *SignedData) *x509.Certificate
		want   error
	}{
		{"intact", func(*SignedData) *x509.Certificate { return cert }, nil},
		{"other certificate", func(*SignedData) *x509.Certificate { return otherCert }, ErrSignerCertificateNotFound},
		{"flipped signature", func(sd *SignedData) *x509.Certificate {
			sd.Signers[0].Signature = append([]byte(nil), sd.Signers[0].Signature...)
			sd.Signers[0].Signature[10] ^= 1
			return cert
		}, ErrBadSignature},
		{"flipped signed attribute byte", func(sd *SignedData) *x509.Certificate {
			raw := append([]byte(nil), sd.Signers[0].SignedAttrsRaw...)
			raw[len(raw)-1] ^= 1
			sd.Signers[0].SignedAttrsRaw = raw
			return cert
		}, ErrBadSignature},
		{"RSA algorithm claimed", func(sd *SignedData) *x509.Certificate {
			sd.Signers[0].SignatureAlgorithm = AlgorithmIdentifier{Algorithm: oidSHA256WithRSA}
			return cert
		}, ErrBadSignature},
		{"unknown algorithm", func(sd *SignedData) *x509.Certificate {
			sd.Signers[0].SignatureAlgorithm = AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 3}}
			return cert
		}, ErrUnsupportedAlgorithm},
		{"other eContentType", func(sd *SignedData) *x509.Certificate {
			sd.ContentType = OIDTSTInfo
			return cert
		}, ErrMalformed},
		{"signing certificate names another certificate", func(sd *SignedData) *x509.Certificate {
			sd.Signers[0].SigningCertificateV2 = []ESSCertIDv2{{Hash: crypto.SHA256, CertHash: make([]byte, 32)}}
			return cert
		}, ErrSigningCertificateMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sd, err := Parse(cms)
			if err != nil {
				t.Fatal(err)
			}
			c := tc.modify(sd)
			err = sd.VerifySigner(&sd.Signers[0], c, digest)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if sd, _ := Parse(cms); sd != nil {
		if err := sd.VerifySigner(&sd.Signers[0], cert, digest[:20]); !errors.Is(err, ErrDigestLength) {
			t.Fatalf("short digest: got %v", err)
		}
	}
}

// TestParseRejects feeds malformed encodings to Parse.
func TestParseRejects(t *testing.T) {
	p := getPKI(t)
	key := mustKey(t, "P-256")
	cms, err := Sign(context.Background(), SignRequest{Digest: make([]byte, 32), Hash: crypto.SHA256, Signer: key, Certificate: p.signerCert(key.Public())})
	if err != nil {
		t.Fatal(err)
	}
	// BER long-form length where the short form fits: not DER.
	if cms[1] != 0x82 {
		t.Fatalf("test assumes a two-byte length, got %#x", cms[1])
	}
	nonMinimal := append([]byte{0x30, 0x83, 0x00}, cms[2:]...)
	tests := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"trailing byte", append(append([]byte(nil), cms...), 0)},
		{"truncated", cms[:len(cms)-1]},
		{"non-minimal length", nonMinimal},
		{"indefinite length", append([]byte{0x30, 0x80}, append(append([]byte(nil), cms[4:]...), 0, 0)...)},
		{"not signed data", []byte{0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.der); !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("repeated message digest", func(t *testing.T) {
		md := Attribute{Type: OIDAttrMessageDigest, Values: [][]byte{{0x04, 0x01, 0x00}}}
		set, err := encodeAttributes([]Attribute{md, md})
		if err != nil {
			t.Fatal(err)
		}
		attrs, _, err := parseAttributes(set)
		if err != nil {
			t.Fatal(err)
		}
		si := SignerInfo{SignedAttrs: attrs}
		if err := si.readSignedAttributes(); !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v, want ErrMalformed", err)
		}
	})
}
