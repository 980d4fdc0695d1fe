package device

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AuthScheme is the HTTP authorization scheme of device calls.
const AuthScheme = "Paraphe-Device"

// AuthWindow is how far a device call's timestamp may be from the server's clock. It is
// short so that a captured call is useless soon after; nonces stop replays inside it.
const AuthWindow = 60 * time.Second

// ChallengeDoc is one document as bound by an approval challenge.
type ChallengeDoc struct {
	Hash   crypto.Hash
	Digest []byte
}

// Challenge returns the canonical bytes a device signs to approve a request: the request
// id, every document digest in order, the chosen icon and the server's one-time nonce.
func Challenge(requestID string, docs []ChallengeDoc, icon, nonce string) []byte {
	var b strings.Builder
	b.WriteString("PARAPHE-APPROVAL-V1\n")
	b.WriteString("request:" + requestID + "\n")
	for i, d := range docs {
		fmt.Fprintf(&b, "doc:%d:%s:%s\n", i, HashName(d.Hash), hex.EncodeToString(d.Digest))
	}
	b.WriteString("icon:" + icon + "\n")
	b.WriteString("nonce:" + nonce + "\n")
	return []byte(b.String())
}

// HashName is the name of a digest algorithm in challenges and in the API ("SHA-256").
func HashName(h crypto.Hash) string {
	switch h {
	case crypto.SHA256:
		return "SHA-256"
	case crypto.SHA384:
		return "SHA-384"
	case crypto.SHA512:
		return "SHA-512"
	}
	return h.String()
}

// callString is what a device signs for one HTTP call.
func callString(method, path string, ts int64, nonce string, body []byte) []byte {
	sum := sha256.Sum256(body)
	return []byte(fmt.Sprintf("PARAPHE-DEVICE-V1\n%s\n%s\n%d\n%s\n%s\n",
		strings.ToUpper(method), path, ts, nonce, hex.EncodeToString(sum[:])))
}

// SignCall returns the Authorization header value for a device call. path is the request
// URI (path and query) as sent.
func SignCall(key *ecdsa.PrivateKey, deviceID, method, path string, body []byte, now time.Time) (string, error) {
	nb := make([]byte, 16)
	if _, err := rand.Read(nb); err != nil {
		return "", fmt.Errorf("device: nonce: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(nb)
	ts := now.Unix()
	sig, err := SignBytes(key, callString(method, path, ts, nonce, body))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s id=%s,ts=%d,nonce=%s,sig=%s", AuthScheme, deviceID, ts, nonce,
		base64.RawURLEncoding.EncodeToString(sig)), nil
}

// SignBytes signs SHA-256(msg) with the device key (ASN.1 DER ECDSA).
func SignBytes(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	sum := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		return nil, fmt.Errorf("device: sign: %w", err)
	}
	return sig, nil
}

// VerifyBytes checks a device signature made by SignBytes against a DER SubjectPublicKeyInfo.
func VerifyBytes(spki, msg, sig []byte) error {
	pub, err := ParsePublicKey(spki)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		return ErrBadSignature
	}
	return nil
}

// ParsePublicKey parses a device public key: a DER SubjectPublicKeyInfo of a P-256 key.
func ParsePublicKey(spki []byte) (*ecdsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("%w: device key: %v", ErrInvalid, err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve.Params().Name != "P-256" {
		return nil, fmt.Errorf("%w: device key must be EC P-256", ErrInvalid)
	}
	return pub, nil
}

// CallAuth is a parsed device Authorization header.
type CallAuth struct {
	DeviceID  string
	Timestamp int64
	Nonce     string
	Signature []byte
}

// ParseCallAuth parses the Authorization header of a device call.
func ParseCallAuth(header string) (CallAuth, error) {
	var a CallAuth
	rest, ok := strings.CutPrefix(header, AuthScheme+" ")
	if !ok {
		return a, ErrUnauthenticated
	}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || v == "" || seen[k] {
			return a, ErrUnauthenticated
		}
		seen[k] = true
		switch k {
		case "id":
			a.DeviceID = v
		case "ts":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return a, ErrUnauthenticated
			}
			a.Timestamp = n
		case "nonce":
			if len(v) < 16 || len(v) > 64 {
				return a, ErrUnauthenticated
			}
			a.Nonce = v
		case "sig":
			s, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil {
				return a, ErrUnauthenticated
			}
			a.Signature = s
		default:
			return a, ErrUnauthenticated
		}
	}
	if a.DeviceID == "" || a.Nonce == "" || len(a.Signature) == 0 || !seen["ts"] {
		return a, ErrUnauthenticated
	}
	return a, nil
}

// verifyCall checks the call signature and the time window (not the nonce's freshness).
func verifyCall(a CallAuth, spki []byte, method, path string, body []byte, now time.Time) error {
	d := now.Sub(time.Unix(a.Timestamp, 0))
	if d > AuthWindow || d < -AuthWindow {
		return fmt.Errorf("%w: timestamp outside the accepted window", ErrUnauthenticated)
	}
	if err := VerifyBytes(spki, callString(method, path, a.Timestamp, a.Nonce, body), a.Signature); err != nil {
		if errors.Is(err, ErrBadSignature) {
			return fmt.Errorf("%w: bad signature", ErrUnauthenticated)
		}
		return err
	}
	return nil
}
