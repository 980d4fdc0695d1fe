package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/device"
	"github.com/paraphe/paraphe/notify"
	"github.com/paraphe/paraphe/signer"
)

type enrollIn struct {
	Code      string `json:"code"`
	PublicKey string `json:"publicKey"` // base64 DER SubjectPublicKeyInfo
	PIN       string `json:"pin"`
}

func (s *server) enroll(c *gin.Context) {
	body, ok := readBody(c, s.Limits.DeviceBody)
	if !ok {
		return
	}
	var in enrollIn
	if !decodeJSON(c, body, &in) {
		return
	}
	pub, err := base64.StdEncoding.DecodeString(in.PublicKey)
	if err != nil || len(pub) == 0 {
		badRequest(c, "publicKey must be a base64 DER SubjectPublicKeyInfo")
		return
	}
	out, err := s.Devices.Enroll(c.Request.Context(), device.EnrollRequest{Code: in.Code, PublicKey: pub, PIN: in.PIN})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"deviceId": out.DeviceID, "userId": out.UserID})
}

// deviceAuth authenticates a device call by its signed Authorization header, over the
// exact body, which it keeps for the handler.
func (s *server) deviceAuth(c *gin.Context) {
	body, ok := readBody(c, s.Limits.DeviceBody)
	if !ok {
		return
	}
	dev, err := s.Devices.Authenticate(c.Request.Context(), c.GetHeader("Authorization"), c.Request.Method, c.Request.URL.RequestURI(), body)
	if err != nil {
		c.Header("WWW-Authenticate", device.AuthScheme)
		fail(c, err)
		return
	}
	c.Set(ctxDevice, dev)
	c.Set("paraphe.body", body)
	c.Set(ctxLogger, logger(c).With("deviceId", dev.ID))
	c.Next()
}

func deviceOf(c *gin.Context) *device.Device { return c.MustGet(ctxDevice).(*device.Device) }

type deviceDocOut struct {
	Name            string `json:"name"`
	Digest          string `json:"digest"`
	DigestAlgorithm string `json:"digestAlgorithm"`
	Fingerprint     string `json:"fingerprint"`
}

type pendingOut struct {
	ID         string `json:"id"`
	Integrator string `json:"integrator"`
	Status     string `json:"status"`
	// Description is what the integrator says the signer approves (CSC authorizations).
	Description string         `json:"description,omitempty"`
	Documents   []deviceDocOut `json:"documents"`
	Icons       []iconOut      `json:"icons"`
	ExpiresAt   time.Time      `json:"expiresAt"`
	Nonce       string         `json:"nonce,omitempty"`
}

// Fingerprint is the short form of a digest a person can compare: the first 8 bytes of
// SHA-256 over the digest, in four groups of four hex digits.
func Fingerprint(digest []byte) string {
	s := sha256.Sum256(digest)
	h := hex.EncodeToString(s[:8])
	return h[0:4] + " " + h[4:8] + " " + h[8:12] + " " + h[12:16]
}

func (s *server) pendingView(c *gin.Context, r *signer.Request, withNonce bool) pendingOut {
	out := pendingOut{ID: r.ID, Integrator: s.Integrators.Name(c.Request.Context(), r.IntegratorID), Status: string(r.Status), ExpiresAt: r.ExpiresAt,
		Description: r.Description}
	for _, d := range r.Documents {
		out.Documents = append(out.Documents, deviceDocOut{Name: d.Name, Digest: base64.StdEncoding.EncodeToString(d.Digest),
			DigestAlgorithm: signer.HashName(d.Hash), Fingerprint: Fingerprint(d.Digest)})
	}
	for _, id := range r.IconChoices {
		out.Icons = append(out.Icons, *iconView(id))
	}
	if withNonce && r.Status == signer.StatusPending {
		out.Nonce = r.Nonce
	}
	return out
}

func (s *server) devicePending(c *gin.Context) {
	dev := deviceOf(c)
	wait := time.Duration(0)
	if w := c.Query("wait"); w != "" {
		d, err := time.ParseDuration(w)
		if err != nil || d < 0 {
			badRequest(c, "wait must be a duration such as 10s")
			return
		}
		wait = min(d, s.Limits.MaxWait)
	}
	ctx := c.Request.Context()
	deadline := time.Now().Add(wait)
	ch, leave := s.Waiter.Subscribe(dev.UserID)
	defer leave()
	for woken := false; ; woken = true {
		if woken {
			// Revoked while waiting (re-activation, block): the new device's requests
			// are not this one's to see.
			if ok, err := s.Devices.StillActive(ctx, dev.ID); err != nil || !ok {
				if err == nil {
					err = fmt.Errorf("%w: device revoked", device.ErrUnauthenticated)
					c.Header("WWW-Authenticate", device.AuthScheme)
				}
				fail(c, err)
				return
			}
		}
		rs, err := s.DeviceRequests.Pending(ctx, dev)
		if err != nil {
			fail(c, err)
			return
		}
		left := time.Until(deadline)
		if len(rs) > 0 || left <= 0 || !notify.Wait(ctx, ch, left) {
			out := make([]pendingOut, 0, len(rs))
			for _, r := range rs {
				out = append(out, s.pendingView(c, r, false))
			}
			c.JSON(http.StatusOK, out)
			return
		}
	}
}

func (s *server) deviceRequest(c *gin.Context) {
	r, err := s.DeviceRequests.ForDevice(c.Request.Context(), deviceOf(c), c.Param("id"))
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, s.pendingView(c, r, true))
}

type approveIn struct {
	Icon      string `json:"icon"`
	PIN       string `json:"pin"`
	Nonce     string `json:"nonce"`
	Signature string `json:"signature"` // base64 DER ECDSA over the canonical challenge
}

func (s *server) approve(c *gin.Context) {
	var in approveIn
	if !decodeJSON(c, c.MustGet("paraphe.body").([]byte), &in) {
		return
	}
	sig, err := base64.StdEncoding.DecodeString(in.Signature)
	if err != nil || len(sig) == 0 {
		badRequest(c, "signature must be base64")
		return
	}
	r, err := s.DeviceRequests.Approve(c.Request.Context(), deviceOf(c), signer.ApproveInput{
		RequestID: c.Param("id"), ClientIP: c.ClientIP(), Icon: in.Icon, PIN: in.PIN, Nonce: in.Nonce, Signature: sig})
	if err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": r.ID, "status": r.Status, "reason": r.Reason})
}

func (s *server) refuse(c *gin.Context) {
	if err := s.DeviceRequests.Refuse(c.Request.Context(), deviceOf(c), c.Param("id"), c.ClientIP()); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"id": c.Param("id"), "status": signer.StatusRefused})
}
