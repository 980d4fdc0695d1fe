package webpush

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// TokenLife is how long a VAPID token is valid (RFC 8292 allows up to 24 hours).
const TokenLife = 12 * time.Hour

// PublicKeyBytes returns a P-256 public key as the uncompressed point that browsers
// take as applicationServerKey and VAPID's k parameter carries.
func PublicKeyBytes(pub crypto.PublicKey) ([]byte, error) {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve.Params().Name != "P-256" {
		return nil, errors.New("webpush: the VAPID key must be EC P-256")
	}
	ek, err := k.ECDH()
	if err != nil {
		return nil, fmt.Errorf("webpush: VAPID key: %w", err)
	}
	return ek.Bytes(), nil
}

// Audience is the VAPID audience of an endpoint: its origin (RFC 8292 section 2).
func Audience(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("webpush: endpoint %q has no origin", endpoint)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Authorization returns the Authorization header value for a message to endpoint:
// "vapid t=JWT, k=KEY" (RFC 8292 section 3), the JWT signed ES256 by key.
func Authorization(key crypto.Signer, endpoint, subject string, now time.Time) (string, error) {
	aud, err := Audience(endpoint)
	if err != nil {
		return "", err
	}
	pub, err := PublicKeyBytes(key.Public())
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "ES256"})
	claims := map[string]any{"aud": aud, "exp": now.Add(TokenLife).Unix()}
	if subject != "" {
		claims["sub"] = subject
	}
	cl, _ := json.Marshal(claims)
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(cl)
	sum := sha256.Sum256([]byte(input))
	der, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("webpush: VAPID signature: %w", err)
	}
	raw, err := rawSignature(der)
	if err != nil {
		return "", err
	}
	return "vapid t=" + input + "." + enc.EncodeToString(raw) + ", k=" + enc.EncodeToString(pub), nil
}

// rawSignature turns an ASN.1 DER ECDSA signature into JWS's r||s of 64 octets.
func rawSignature(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 || sig.R == nil || sig.S == nil || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 ||
		sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return nil, errors.New("webpush: the key did not return a P-256 ECDSA signature")
	}
	out := make([]byte, 64)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}
