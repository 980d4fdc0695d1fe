package cades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"testing"
	"time"
)

// FuzzParse checks Parse never panics on outside input and that what it
// accepts survives Verify, ParseTimestampToken and AddUnsignedAttribute.
func FuzzParse(f *testing.F) {
	p := getPKI(f)
	ec := mustKey(f, "P-256")
	rsaKey := mustKey(f, "RSA-2048")
	seeds := []SignRequest{
		{Digest: make([]byte, 32), Hash: crypto.SHA256, Signer: ec, Certificate: p.signerCert(ec.Public()),
			Chain: []*x509.Certificate{p.caCert}, SigningTime: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		{Digest: make([]byte, 64), Hash: crypto.SHA512, Signer: rsaKey, Certificate: p.signerCert(rsaKey.Public()),
			RSAPSS: true, Timestamper: &tsaStub{p: p}, ContentType: asn1.ObjectIdentifier{1, 2, 3, 4}},
	}
	for _, req := range seeds {
		der, err := Sign(context.Background(), req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
		sd, err := Parse(der)
		if err != nil {
			f.Fatal(err)
		}
		for _, tok := range sd.Signers[0].SignatureTimestamps {
			f.Add(tok) // an attached SignedData made by another library
		}
		f.Add(der[:len(der)/2])
	}
	f.Add([]byte{0x30, 0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseTimestampToken(data)
		sd, err := Parse(data)
		if err != nil {
			return
		}
		for i := range sd.Signers {
			si := &sd.Signers[i]
			if si.SignedAttrsRaw != nil {
				if _, _, err := parseAttributes(si.SignedAttrsRaw); err != nil {
					t.Fatalf("signed attributes accepted by Parse do not reparse: %v", err)
				}
			}
			if c, err := sd.SignerCertificate(si); err == nil && si.Hash != 0 {
				_ = sd.VerifySigner(si, c, make([]byte, si.Hash.Size()))
			}
		}
		out, err := AddUnsignedAttribute(data, 0, Attribute{Type: asn1.ObjectIdentifier{1, 2, 3}, Values: [][]byte{{0x05, 0x00}}})
		if err != nil {
			return
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("AddUnsignedAttribute output does not parse: %v", err)
		}
		if len(again.Signers) != len(sd.Signers) || len(again.Certificates) != len(sd.Certificates) {
			t.Fatal("AddUnsignedAttribute changed signers or certificates")
		}
		found := false
		for i := range again.Signers {
			for j := range sd.Signers {
				if bytes.Equal(again.Signers[i].Signature, sd.Signers[j].Signature) &&
					bytes.Equal(again.Signers[i].SignedAttrsRaw, sd.Signers[j].SignedAttrsRaw) {
					found = true
				}
			}
		}
		if !found {
			t.Fatal("AddUnsignedAttribute changed a signature or its signed attributes")
		}
	})
}
