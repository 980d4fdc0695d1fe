package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"net/http"
	"time"

	"github.com/paraphe/paraphe/metrics"
	"github.com/paraphe/paraphe/notify"
	"github.com/paraphe/paraphe/store"
)

// countedStore counts PIN failures and webhook outcomes on their way to the store.
type countedStore struct {
	*store.Store
	m *metrics.Metrics
}

func (s countedStore) PINAttemptWrong(ctx context.Context, userID string, n, max int) (bool, error) {
	s.m.PINFailure()
	return s.Store.PINAttemptWrong(ctx, userID, n, max)
}

func (s countedStore) RecordWebhookAttempt(ctx context.Context, id int64, a notify.Attempt) error {
	switch {
	case a.Delivered:
		s.m.Webhook("delivered")
	case a.NextAttemptAt == nil:
		s.m.Webhook("given_up")
	default:
		s.m.Webhook("retry")
	}
	return s.Store.RecordWebhookAttempt(ctx, id, a)
}

// pendingGauge counts pending requests for each scrape, bounded so a slow database
// cannot hold a scrape.
func pendingGauge(st *store.Store) func() float64 {
	return func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := st.CountPending(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}
}

// metricsHandlers places GET /metrics as the configuration says (config.Metrics): the
// handler for metrics.listen, and the one for the main address (nil: not served there).
func (e *Env) metricsHandlers(h http.Handler) (separate, main http.Handler, err error) {
	tok, err := e.Cfg.MetricsToken()
	if err != nil {
		return nil, nil, err
	}
	if tok != "" {
		h = bearerOnly(tok, h)
	}
	switch {
	case e.Cfg.Metrics.Listen != "":
		return h, nil, nil
	case tok != "" || e.Cfg.PublicMetrics():
		return h, h, nil
	}
	e.Log.Warn("GET /metrics is not served: set metrics.listen or metrics.tokenFile (production mode)")
	return h, nil, nil
}

// bearerOnly lets through the requests that carry "Authorization: Bearer token",
// compared in constant time; the others get 401 problem+json.
func bearerOnly(token string, h http.Handler) http.Handler {
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
