package notify

import (
	"net/http"
	"time"
)

// NewPolicyClient returns an HTTP client that reaches only what p allows, checked on
// every address it connects to, with no proxy and no redirects: what webhooks use,
// for other deliveries to URLs that outsiders chose (Web Push endpoints).
func NewPolicyClient(p CallbackPolicy, timeout time.Duration) *http.Client {
	return newWebhookClient(p, timeout)
}
