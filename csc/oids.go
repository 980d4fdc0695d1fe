package csc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
)

// Object identifiers of the algorithms the API names.
const (
	OIDSHA256 = "2.16.840.1.101.3.4.2.1"
	OIDSHA384 = "2.16.840.1.101.3.4.2.2"
	OIDSHA512 = "2.16.840.1.101.3.4.2.3"

	OIDECPublicKey = "1.2.840.10045.2.1"
	OIDECDSASHA256 = "1.2.840.10045.4.3.2"
	OIDECDSASHA384 = "1.2.840.10045.4.3.3"
	OIDECDSASHA512 = "1.2.840.10045.4.3.4"
	OIDRSA         = "1.2.840.113549.1.1.1"
	OIDRSASHA256   = "1.2.840.113549.1.1.11"
	OIDRSASHA384   = "1.2.840.113549.1.1.12"
	OIDRSASHA512   = "1.2.840.113549.1.1.13"

	OIDP256 = "1.2.840.10045.3.1.7"
	OIDP384 = "1.3.132.0.34"
	OIDP521 = "1.3.132.0.35"
)

var hashByOID = map[string]crypto.Hash{OIDSHA256: crypto.SHA256, OIDSHA384: crypto.SHA384, OIDSHA512: crypto.SHA512}

// signAlgos lists, per key family, the signAlgo values accepted and the hash each one
// implies (0: the hash comes from hashAlgorithmOID).
var signAlgos = map[string]map[string]crypto.Hash{
	"EC":  {OIDECDSASHA256: crypto.SHA256, OIDECDSASHA384: crypto.SHA384, OIDECDSASHA512: crypto.SHA512, OIDECPublicKey: 0},
	"RSA": {OIDRSASHA256: crypto.SHA256, OIDRSASHA384: crypto.SHA384, OIDRSASHA512: crypto.SHA512, OIDRSA: 0},
}

// AllSignAlgos is every signAlgo the service can serve, for info.
var AllSignAlgos = []string{OIDECDSASHA256, OIDECDSASHA384, OIDECDSASHA512, OIDRSA, OIDRSASHA256, OIDRSASHA384, OIDRSASHA512}

func keyFamily(pub crypto.PublicKey) string {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		return "EC"
	case *rsa.PublicKey:
		return "RSA"
	}
	return ""
}

// signHashFor checks that signAlgo suits the key and agrees with hashAlgorithmOID, and
// returns the hash of the digests to sign.
func signHashFor(cert *x509.Certificate, signAlgo, hashAlgorithmOID string) (crypto.Hash, *Error) {
	implied, ok := signAlgos[keyFamily(cert.PublicKey)][signAlgo]
	if !ok {
		return 0, invalidRequest("Invalid parameter signAlgo: %q is not an algorithm of this credential's key", signAlgo)
	}
	var given crypto.Hash
	if hashAlgorithmOID != "" {
		if given, ok = hashByOID[hashAlgorithmOID]; !ok {
			return 0, invalidParam("hashAlgorithmOID")
		}
	}
	switch {
	case implied == 0 && given == 0:
		return 0, invalidRequest("Missing parameter hashAlgorithmOID: signAlgo %s does not name a hash", signAlgo)
	case implied == 0:
		return given, nil
	case given != 0 && given != implied:
		return 0, invalidRequest("Invalid parameter hashAlgorithmOID: signAlgo %s signs another hash", signAlgo)
	}
	return implied, nil
}

// keyInfo describes a credential's key: its algorithms (OIDs), length in bits, curve.
func keyInfo(pub crypto.PublicKey) (algos []string, bits int, curve string) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		algos = []string{OIDECPublicKey, OIDECDSASHA256, OIDECDSASHA384, OIDECDSASHA512}
		bits = k.Curve.Params().BitSize
		switch k.Curve {
		case elliptic.P256():
			curve = OIDP256
		case elliptic.P384():
			curve = OIDP384
		case elliptic.P521():
			curve = OIDP521
		}
	case *rsa.PublicKey:
		algos = []string{OIDRSA, OIDRSASHA256, OIDRSASHA384, OIDRSASHA512}
		bits = k.N.BitLen()
	}
	return algos, bits, curve
}
