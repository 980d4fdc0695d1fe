package csc

import (
	"encoding/base64"
	"strings"
)

// decodeB64 decodes base64 in either alphabet (standard or URL-safe), with or without
// padding: clients send base64url in URL parameters and base64 in JSON bodies, and both
// appear in the wild. Mixed alphabets in one value are refused.
func decodeB64(s string) ([]byte, bool) {
	s = strings.TrimRight(s, "=")
	// The standard decoder skips line breaks; a digest has none.
	if s == "" || len(s) > 4096 || strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		if strings.ContainsAny(s, "+/") {
			return nil, false
		}
		enc = base64.RawURLEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// decodeHashes decodes a list of digests of one hash size; name is the parameter's
// name for the error.
func decodeHashes(in []string, size int, name string) ([][]byte, *Error) {
	if len(in) == 0 {
		return nil, missingParam(name)
	}
	out := make([][]byte, len(in))
	for i, h := range in {
		b, ok := decodeB64(strings.TrimSpace(h))
		if !ok || len(b) != size {
			return nil, invalidRequest("Invalid parameter %s: item %d is not a base64 digest of %d bytes", name, i, size)
		}
		out[i] = b
	}
	return out, nil
}
