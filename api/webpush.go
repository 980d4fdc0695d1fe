package api

import (
	"context"
	"encoding/base64"
	"net/http"

	"github.com/gin-gonic/gin"
)

// WebPush registers browsers' push subscriptions and names the service's VAPID key.
type WebPush interface {
	// PublicKey is the VAPID key as an uncompressed P-256 point.
	PublicKey() []byte
	// Subscribe registers a PushSubscription.toJSON() body for the device.
	Subscribe(ctx context.Context, userID, deviceID string, body []byte) error
}

// webPushKey is GET /v1/webpush/key: the applicationServerKey browsers subscribe with.
func (s *server) webPushKey(c *gin.Context) {
	if s.Push == nil {
		writeProblem(c, Problem{Status: http.StatusNotFound, Code: CodeNotFound, Title: "Web Push is not enabled"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"publicKey": base64.RawURLEncoding.EncodeToString(s.Push.PublicKey())})
}

// pushSubscribe is POST /v1/device/push-subscriptions, a signed device call whose body
// is the browser's PushSubscription.toJSON().
func (s *server) pushSubscribe(c *gin.Context) {
	if s.Push == nil {
		writeProblem(c, Problem{Status: http.StatusNotFound, Code: CodeNotFound, Title: "Web Push is not enabled"})
		return
	}
	if !isJSON(c) {
		writeProblem(c, Problem{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedType,
			Title: "Unsupported media type", Detail: "send application/json"})
		return
	}
	dev := deviceOf(c)
	if err := s.Push.Subscribe(c.Request.Context(), dev.UserID, dev.ID, c.MustGet("paraphe.body").([]byte)); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"status": "subscribed"})
}
