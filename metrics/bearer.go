package metrics

import (
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"net/http"
)

// RequireBearer lets through to h the requests that carry "Authorization: Bearer token",
// compared in constant time; the others get 401 problem+json. It guards GET /metrics
// when metrics.tokenFile is set.
func RequireBearer(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="paraphe-metrics"`)
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"type":"https://paraphe.dev/problems/unauthenticated","title":"Metrics need the bearer token",`+
				`"status":401,"code":"unauthenticated"}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}
