package app

import (
	"context"
	"net/http"
	"time"

	"github.com/paraphe/paraphe/metrics"
	"github.com/paraphe/paraphe/store"
)

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
		h = metrics.RequireBearer(tok, h)
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
