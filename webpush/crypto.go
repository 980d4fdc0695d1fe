package webpush

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// RecordSize is the aes128gcm record size of every message: one record carries it all.
const RecordSize = 4096

// overhead is what a record adds to the plaintext: the padding delimiter and the tag.
const overhead = 1 + 16

// headerLen is the aes128gcm header with a 65-octet key id: salt, rs, idlen, keyid.
const headerLen = 16 + 4 + 1 + 65

// MaxPlaintext is the longest plaintext that fits in one record.
const MaxPlaintext = RecordSize - headerLen - overhead

// ErrTooLong is returned for a plaintext that does not fit in one record.
var ErrTooLong = errors.New("webpush: message too long for one record")

// Encrypt encrypts plaintext for a browser's subscription keys (uaPublic: the p256dh
// key as an uncompressed P-256 point, auth: the 16-octet authentication secret) with a
// fresh ephemeral key pair and salt, as RFC 8291 asks. The result is the whole
// aes128gcm body.
func Encrypt(plaintext, uaPublic, auth []byte) ([]byte, error) {
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("webpush: ephemeral key: %w", err)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("webpush: salt: %w", err)
	}
	return encrypt(plaintext, uaPublic, auth, as, salt)
}

// encrypt is Encrypt with the application server's key pair and the salt given, so
// that tests can reproduce RFC 8291's example.
func encrypt(plaintext, uaPublic, auth []byte, as *ecdh.PrivateKey, salt []byte) ([]byte, error) {
	if len(plaintext) > MaxPlaintext {
		return nil, ErrTooLong
	}
	if len(auth) != 16 {
		return nil, fmt.Errorf("webpush: auth secret must be 16 octets, got %d", len(auth))
	}
	if len(salt) != 16 {
		return nil, fmt.Errorf("webpush: salt must be 16 octets")
	}
	ua, err := ecdh.P256().NewPublicKey(uaPublic)
	if err != nil {
		return nil, fmt.Errorf("webpush: p256dh is not a P-256 point: %w", err)
	}
	cek, nonce, err := deriveKeys(as, ua, auth, salt)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	asPub := as.PublicKey().Bytes()
	out := make([]byte, 0, headerLen+len(plaintext)+overhead)
	out = append(out, salt...)
	out = binary.BigEndian.AppendUint32(out, RecordSize)
	out = append(out, byte(len(asPub)))
	out = append(out, asPub...)
	record := append(append(make([]byte, 0, len(plaintext)+1), plaintext...), 0x02) // last record: delimiter 2, no padding
	return gcm.Seal(out, nonce, record, nil), nil
}

// deriveKeys computes the content encryption key and nonce (RFC 8291 section 3.4).
func deriveKeys(as *ecdh.PrivateKey, ua *ecdh.PublicKey, auth, salt []byte) (cek, nonce []byte, err error) {
	secret, err := as.ECDH(ua)
	if err != nil {
		return nil, nil, fmt.Errorf("webpush: ecdh: %w", err)
	}
	keyInfo := append(append([]byte("WebPush: info\x00"), ua.Bytes()...), as.PublicKey().Bytes()...)
	ikm, err := hkdf.Key(sha256.New, secret, auth, string(keyInfo), 32)
	if err != nil {
		return nil, nil, err
	}
	prk := hmacSHA256(salt, ikm)
	if cek, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16); err != nil {
		return nil, nil, err
	}
	if nonce, err = hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12); err != nil {
		return nil, nil, err
	}
	return cek, nonce, nil
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}

// Decrypt opens a one-record aes128gcm message as the browser does, with its private
// key and auth secret. The service never needs it; it proves Encrypt's output in tests
// and lets an operator check a push service's copy.
func Decrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("webpush: body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen {
		return nil, errors.New("webpush: truncated key id")
	}
	keyID, ct := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || uint32(len(ct)) > rs || len(ct) < overhead {
		return nil, errors.New("webpush: not one aes128gcm record")
	}
	as, err := ecdh.P256().NewPublicKey(keyID)
	if err != nil {
		return nil, fmt.Errorf("webpush: key id is not a P-256 point: %w", err)
	}
	secret, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	keyInfo := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), keyID...)
	ikm, err := hkdf.Key(sha256.New, secret, auth, string(keyInfo), 32)
	if err != nil {
		return nil, err
	}
	prk := hmacSHA256(salt, ikm)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	pt, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, errors.New("webpush: authentication tag does not verify")
	}
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 || pt[i] != 0x02 {
		return nil, errors.New("webpush: last record lacks its delimiter")
	}
	return pt[:i], nil
}
