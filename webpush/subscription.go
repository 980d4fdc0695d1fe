package webpush

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/paraphe/paraphe/errkind"
	"github.com/paraphe/paraphe/notify"
)

// ErrInvalid is wrapped by every refusal of a subscription.
var ErrInvalid = errkind.New(errkind.Invalid, "webpush: invalid subscription")

// MaxEndpointLength bounds an endpoint URL: push services' are a few hundred bytes.
const MaxEndpointLength = 1024

// Subscription is one browser's push subscription, registered by a signer's device.
type Subscription struct {
	UserID    string
	DeviceID  string
	Endpoint  string
	P256DH    []byte // the browser's ECDH key, an uncompressed P-256 point
	Auth      []byte // the 16-octet authentication secret
	CreatedAt time.Time
}

// subscriptionJSON is what PushSubscription.toJSON() gives in a browser.
type subscriptionJSON struct {
	Endpoint       string   `json:"endpoint"`
	ExpirationTime *float64 `json:"expirationTime"`
	Keys           struct {
		P256DH string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// ParseSubscription reads a browser's PushSubscription.toJSON() and checks it: the
// endpoint against the policy, p256dh a P-256 point, auth 16 octets (base64url, with or
// without padding). Unknown fields are refused.
func ParseSubscription(body []byte, p notify.CallbackPolicy) (Subscription, error) {
	var in subscriptionJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Subscription{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return Subscription{}, fmt.Errorf("%w: data after the object", ErrInvalid)
	}
	if err := CheckEndpoint(in.Endpoint, p); err != nil {
		return Subscription{}, err
	}
	pub, err := unb64(in.Keys.P256DH)
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		return Subscription{}, fmt.Errorf("%w: keys.p256dh must be an uncompressed P-256 point in base64url", ErrInvalid)
	}
	if _, err := parsePoint(pub); err != nil {
		return Subscription{}, fmt.Errorf("%w: keys.p256dh is not on P-256", ErrInvalid)
	}
	auth, err := unb64(in.Keys.Auth)
	if err != nil || len(auth) != 16 {
		return Subscription{}, fmt.Errorf("%w: keys.auth must be 16 octets in base64url", ErrInvalid)
	}
	return Subscription{Endpoint: in.Endpoint, P256DH: pub, Auth: auth}, nil
}

func unb64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// CheckEndpoint checks a push endpoint: an https URL that the policy allows, or an
// http one on a loopback host when the policy allows loopback.
func CheckEndpoint(endpoint string, p notify.CallbackPolicy) error {
	if len(endpoint) > MaxEndpointLength {
		return fmt.Errorf("%w: endpoint longer than %d bytes", ErrInvalid, MaxEndpointLength)
	}
	if err := notify.ValidateCallbackURL(endpoint, p); err != nil {
		return fmt.Errorf("%w: endpoint: %w", ErrInvalid, err)
	}
	u, _ := url.Parse(endpoint)
	if u.Scheme == "https" {
		return nil
	}
	if p.AllowLoopback && isLoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%w: endpoint must be https", ErrInvalid)
}

func isLoopbackHost(h string) bool {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || h == "::1" || strings.HasPrefix(h, "127.")
}
