package webpush

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paraphe/paraphe/notify"
)

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 8291 section 5 and appendix A.
const (
	rfcPlaintext = "When I grow up, I want to be a watermelon"
	rfcASPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
	rfcUAPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
	rfcUAPublic  = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
	rfcSalt      = "DGv6ra1nlYgDCS1FRnbzlw"
	rfcAuth      = "BTBZMqHH6r4Tts7J_aSIgg"
	rfcCEK       = "oIhVW04MRdy2XN9CiKLxTg"
	rfcNonce     = "4h_95klXJ5E_qnoN"
	rfcBody      = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)

func TestRFC8291Example(t *testing.T) {
	as, err := ecdh.P256().NewPrivateKey(b64(t, rfcASPrivate))
	if err != nil {
		t.Fatal(err)
	}
	ua, err := ecdh.P256().NewPrivateKey(b64(t, rfcUAPrivate))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ua.PublicKey().Bytes(), b64(t, rfcUAPublic)) {
		t.Fatal("the RFC's user agent key pair does not match")
	}
	cek, nonce, err := deriveKeys(as, ua.PublicKey(), b64(t, rfcAuth), b64(t, rfcSalt))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cek, b64(t, rfcCEK)) || !bytes.Equal(nonce, b64(t, rfcNonce)) {
		t.Fatalf("CEK %x NONCE %x differ from the RFC's", cek, nonce)
	}
	body, err := encrypt([]byte(rfcPlaintext), b64(t, rfcUAPublic), b64(t, rfcAuth), as, b64(t, rfcSalt))
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(body); got != rfcBody {
		t.Fatalf("body\n got %s\nwant %s", got, rfcBody)
	}
	pt, err := Decrypt(b64(t, rfcBody), ua, b64(t, rfcAuth))
	if err != nil || string(pt) != rfcPlaintext {
		t.Fatalf("Decrypt of the RFC's body: %q, %v", pt, err)
	}
}

func TestEncryptRoundTripAndLimits(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	for _, n := range []int{0, 1, 100, MaxPlaintext} {
		msg := bytes.Repeat([]byte{'x'}, n)
		body, err := Encrypt(msg, ua.PublicKey().Bytes(), auth)
		if err != nil {
			t.Fatalf("%d octets: %v", n, err)
		}
		if len(body) > headerLen+RecordSize {
			t.Fatalf("%d octets: body of %d is more than one record", n, len(body))
		}
		pt, err := Decrypt(body, ua, auth)
		if err != nil || !bytes.Equal(pt, msg) {
			t.Fatalf("%d octets: round trip: %v", n, err)
		}
	}
	if _, err := Encrypt(make([]byte, MaxPlaintext+1), ua.PublicKey().Bytes(), auth); err != ErrTooLong {
		t.Fatalf("over one record: %v, want ErrTooLong", err)
	}
	body, _ := Encrypt([]byte("x"), ua.PublicKey().Bytes(), auth)
	body[len(body)-1] ^= 1
	if _, err := Decrypt(body, ua, auth); err == nil {
		t.Fatal("a flipped bit decrypts")
	}
	tests := []struct {
		name    string
		pub     []byte
		authLen int
	}{
		{"short auth", ua.PublicKey().Bytes(), 8},
		{"not a point", bytes.Repeat([]byte{4}, 65), 16},
		{"compressed", ua.PublicKey().Bytes()[:33], 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Encrypt([]byte("x"), tc.pub, make([]byte, tc.authLen)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// verifyVAPID checks a header as a push service does and returns its claims.
func verifyVAPID(t *testing.T, header string, now time.Time) (map[string]any, []byte) {
	t.Helper()
	rest, ok := strings.CutPrefix(header, "vapid t=")
	if !ok {
		t.Fatalf("not the vapid scheme: %q", header)
	}
	tok, k, ok := strings.Cut(rest, ", k=")
	if !ok {
		t.Fatalf("no k: %q", header)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	var hdr map[string]string
	json.Unmarshal(b64(t, parts[0]), &hdr)
	if hdr["alg"] != "ES256" || hdr["typ"] != "JWT" {
		t.Fatalf("JWT header %v", hdr)
	}
	pub, err := ecdh.P256().NewPublicKey(b64(t, k))
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sig := b64(t, parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(ek, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("VAPID signature does not verify with k")
	}
	var claims map[string]any
	json.Unmarshal(b64(t, parts[1]), &claims)
	exp := int64(claims["exp"].(float64))
	if exp <= now.Unix() || exp > now.Add(24*time.Hour).Unix() {
		t.Fatalf("exp %d not within 24 h of %d", exp, now.Unix())
	}
	return claims, pub.Bytes()
}

func TestAuthorization(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	h, err := Authorization(key, "https://push.example.net/send/abc?x=1", "mailto:ops@example.test", now)
	if err != nil {
		t.Fatal(err)
	}
	claims, k := verifyVAPID(t, h, now)
	if claims["aud"] != "https://push.example.net" || claims["sub"] != "mailto:ops@example.test" {
		t.Fatalf("claims %v", claims)
	}
	want, _ := PublicKeyBytes(key.Public())
	if !bytes.Equal(k, want) {
		t.Fatal("k is not the VAPID public key")
	}
}

type memStore struct {
	mu   sync.Mutex
	subs []Subscription
}

func (m *memStore) SavePushSubscription(_ context.Context, s Subscription) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.subs = append(m.subs, s)
	return nil
}

func (m *memStore) PushSubscriptions(_ context.Context, userID string) ([]Subscription, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Subscription
	for _, s := range m.subs {
		if s.UserID == userID {
			out = append(out, s)
		}
	}
	return out, nil
}

func (m *memStore) DeletePushSubscription(_ context.Context, endpoint string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, s := range m.subs {
		if s.Endpoint == endpoint {
			m.subs = append(m.subs[:i], m.subs[i+1:]...)
			return nil
		}
	}
	return nil
}

// TestSenderLoopback delivers to a loopback push service that checks every message as
// a browser's push service and the browser would, and answers 410 for one endpoint.
func TestSenderLoopback(t *testing.T) {
	type got struct {
		path, body string
		header     http.Header
	}
	msgs := make(chan got, 10)
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/gone" {
			w.WriteHeader(http.StatusGone)
			return
		}
		pt, err := Decrypt(b, ua, auth)
		if err != nil {
			t.Errorf("push service copy does not decrypt: %v", err)
		}
		msgs <- got{r.URL.Path, string(pt), r.Header.Clone()}
		w.Header().Set("Location", "/m/1")
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	st := &memStore{}
	for _, s := range []Subscription{
		{UserID: "u1", DeviceID: "d1", Endpoint: srv.URL + "/push/1", P256DH: ua.PublicKey().Bytes(), Auth: auth},
		{UserID: "u1", DeviceID: "d1", Endpoint: srv.URL + "/gone", P256DH: ua.PublicKey().Bytes(), Auth: auth},
		{UserID: "u2", DeviceID: "d2", Endpoint: srv.URL + "/push/2", P256DH: ua.PublicKey().Bytes(), Auth: auth},
	} {
		st.SavePushSubscription(context.Background(), s)
	}
	s, err := NewSender(Deps{Store: st, Key: key}, Config{Subject: "mailto:ops@example.test", Policy: notify.CallbackPolicy{AllowLoopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	s.Push(notify.Event{UserID: "u1", RequestID: "r-approved", Status: "signed"}) // not a new request: not pushed
	s.Push(notify.Event{UserID: "u1", RequestID: "r1", Status: "pending"})
	var m got
	select {
	case m = <-msgs:
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10 s")
	}
	if m.path != "/push/1" {
		t.Fatalf("message went to %s", m.path)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(m.body), &body); err != nil || body["id"] != "r1" {
		t.Fatalf("plaintext %q", m.body)
	}
	if m.header.Get("Content-Encoding") != "aes128gcm" || m.header.Get("TTL") != "300" || m.header.Get("Urgency") != "high" {
		t.Fatalf("headers %v", m.header)
	}
	claims, _ := verifyVAPID(t, m.header.Get("Authorization"), time.Now())
	if claims["aud"] != srv.URL {
		t.Fatalf("aud %v, want %s", claims["aud"], srv.URL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		subs, _ := st.PushSubscriptions(ctx, "u1")
		if len(subs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 410 subscription was not dropped: %d left", len(subs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case m := <-msgs:
		t.Fatalf("unexpected message to %s: %s", m.path, m.body)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestSendAnswers: what each push service answer means. 404 and 410 say the
// subscription is gone (the sender drops it); other failures are errors that keep it.
func TestSendAnswers(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		status  int
		gone    bool
		wantErr bool
	}{
		{http.StatusCreated, false, false},
		{http.StatusOK, false, false},
		{http.StatusNotFound, true, false},
		{http.StatusGone, true, false},
		{http.StatusTooManyRequests, false, true},
		{http.StatusRequestEntityTooLarge, false, true},
		{http.StatusInternalServerError, false, true},
	}
	for _, tc := range tests {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			st := &memStore{}
			sub := Subscription{UserID: "u1", DeviceID: "d1", Endpoint: srv.URL + "/push/1", P256DH: ua.PublicKey().Bytes(), Auth: auth}
			st.SavePushSubscription(context.Background(), sub)
			s, err := NewSender(Deps{Store: st, Key: key}, Config{Policy: notify.CallbackPolicy{AllowLoopback: true}})
			if err != nil {
				t.Fatal(err)
			}
			gone, err := s.Send(context.Background(), sub, []byte(`{"id":"r1"}`))
			if gone != tc.gone || (err != nil) != tc.wantErr {
				t.Fatalf("Send: gone=%v err=%v, want gone=%v error=%v", gone, err, tc.gone, tc.wantErr)
			}
			s.deliver(context.Background(), notify.Event{UserID: "u1", RequestID: "r1", Status: "pending"})
			subs, _ := st.PushSubscriptions(context.Background(), "u1")
			if kept := len(subs) == 1; kept == tc.gone {
				t.Fatalf("after delivery %d subscription(s) left; gone=%v", len(subs), tc.gone)
			}
		})
	}
}

func TestParseSubscription(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	p256 := base64.RawURLEncoding.EncodeToString(ua.PublicKey().Bytes())
	auth := base64.RawURLEncoding.EncodeToString(make([]byte, 16))
	dev := notify.CallbackPolicy{AllowLoopback: true}
	tests := []struct {
		name   string
		body   string
		policy notify.CallbackPolicy
		ok     bool
	}{
		{"browser", `{"endpoint":"https://push.example.net/x","expirationTime":null,"keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, notify.CallbackPolicy{}, true},
		{"padded auth", `{"endpoint":"https://push.example.net/x","keys":{"p256dh":"` + p256 + `","auth":"` + auth + `=="}}`, notify.CallbackPolicy{}, true},
		{"loopback http in development", `{"endpoint":"http://127.0.0.1:9/p","keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, dev, true},
		{"loopback refused in production", `{"endpoint":"http://127.0.0.1:9/p","keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, notify.CallbackPolicy{}, false},
		{"plain http elsewhere", `{"endpoint":"http://push.example.net/x","keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, dev, false},
		{"private address", `{"endpoint":"https://10.0.0.1/x","keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, dev, false},
		{"short auth", `{"endpoint":"https://push.example.net/x","keys":{"p256dh":"` + p256 + `","auth":"AAAA"}}`, dev, false},
		{"bad point", `{"endpoint":"https://push.example.net/x","keys":{"p256dh":"BAAA","auth":"` + auth + `"}}`, dev, false},
		{"unknown field", `{"endpoint":"https://push.example.net/x","extra":1,"keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, dev, false},
		{"no endpoint", `{"keys":{"p256dh":"` + p256 + `","auth":"` + auth + `"}}`, dev, false},
		{"not json", `endpoint=x`, dev, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSubscription([]byte(tc.body), tc.policy)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func FuzzParseSubscription(f *testing.F) {
	f.Add([]byte(`{"endpoint":"https://push.example.net/x","expirationTime":null,"keys":{"p256dh":"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4","auth":"BTBZMqHH6r4Tts7J_aSIgg"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSubscription(b, notify.CallbackPolicy{AllowLoopback: true})
		if err == nil && (len(s.P256DH) != 65 || len(s.Auth) != 16 || s.Endpoint == "") {
			t.Fatalf("accepted an incomplete subscription: %+v", s)
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	body, _ := Encrypt([]byte(`{"id":"x"}`), ua.PublicKey().Bytes(), auth)
	f.Add(body)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		Decrypt(b, ua, auth) // must not panic
	})
}
