// Package metrics owns Paraphe's Prometheus metrics: one registry of its own (never the
// global default registry, so tests and several servers in one process do not collide),
// the Go runtime and process collectors, and the paraphe_* metrics of the service.
//
// Rules: every Paraphe metric name starts with "paraphe_". Label values come from small,
// fixed sets (route patterns such as "/v1/signature-requests/:id", never raw paths;
// status codes; request states; signature formats and levels; reason constants), so that
// the number of series stays bounded whatever clients send. Metrics never carry ids,
// names, PINs, keys or document content. The package does not import Gin: the api
// package calls ObserveHTTP from its own middleware.
//
// A *Metrics is safe for concurrent use by any number of goroutines.
package metrics
