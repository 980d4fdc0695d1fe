package api

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/signer"
)

// Accounts blocks accounts from the public lost-phone page.
type Accounts interface {
	// RequestBlockByPhone queues the block and returns at once (the answer must take
	// the same time whether or not an account matches).
	RequestBlockByPhone(phone, givenName string) error
}

type blockIn struct {
	Phone     string `json:"phone"`
	GivenName string `json:"givenName"`
}

// blockAnswer is the same whether or not an account matched, so the page cannot be used
// to learn who has an account.
var blockAnswer = gin.H{"status": "accepted",
	"detail": "If an account matches this phone number and given name, it is now blocked: its device no longer works, pending requests are cancelled, and signing needs a new activation."}

func (s *server) blockAccount(c *gin.Context) {
	body, ok := readBody(c, 4<<10)
	if !ok {
		return
	}
	var in blockIn
	if !decodeJSON(c, body, &in) {
		return
	}
	if strings.TrimSpace(in.Phone) == "" || strings.TrimSpace(in.GivenName) == "" {
		badRequest(c, "phone and givenName are required")
		return
	}
	if err := s.Accounts.RequestBlockByPhone(in.Phone, in.GivenName); err != nil {
		fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, blockAnswer)
}

type historyItem struct {
	ID         string     `json:"id"`
	Integrator string     `json:"integrator"`
	Documents  []nameOnly `json:"documents"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

type nameOnly struct {
	Name string `json:"name"`
}

// History pages: 50 by default, 200 at most (a phone screen shows a few dozen).
const (
	historyDefault = 50
	historyMax     = 200
)

func encodeCursor(r *signer.Request) string {
	return base64.RawURLEncoding.EncodeToString([]byte(r.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + r.ID))
}

func decodeCursor(s string) (*signer.Cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	ts, id, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || id == "" {
		return nil, false
	}
	return &signer.Cursor{CreatedAt: t, ID: id}, true
}

func (s *server) deviceHistory(c *gin.Context) {
	limit := historyDefault
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > historyMax {
			badRequest(c, "limit must be between 1 and "+strconv.Itoa(historyMax))
			return
		}
		limit = n
	}
	var before *signer.Cursor
	if v := c.Query("before"); v != "" {
		cur, ok := decodeCursor(v)
		if !ok {
			badRequest(c, "before is not a cursor from a previous page")
			return
		}
		before = cur
	}
	rs, err := s.DeviceRequests.History(c.Request.Context(), deviceOf(c), before, limit)
	if err != nil {
		fail(c, err)
		return
	}
	out := make([]historyItem, 0, len(rs))
	for _, r := range rs {
		it := historyItem{ID: r.ID, Integrator: s.Integrators.Name(c.Request.Context(), r.IntegratorID), Status: string(r.Status),
			Reason: r.Reason, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, Documents: []nameOnly{}}
		for _, d := range r.Documents {
			it.Documents = append(it.Documents, nameOnly{d.Name})
		}
		out = append(out, it)
	}
	if len(rs) == limit {
		c.Header("Paraphe-Next-Cursor", encodeCursor(rs[len(rs)-1]))
	}
	c.JSON(http.StatusOK, out)
}

type changePINIn struct {
	PIN    string `json:"pin"`
	NewPIN string `json:"newPin"`
}

func (s *server) changePIN(c *gin.Context) {
	var in changePINIn
	if !decodeJSON(c, c.MustGet("paraphe.body").([]byte), &in) {
		return
	}
	if err := s.Devices.ChangePIN(c.Request.Context(), deviceOf(c), in.PIN, in.NewPIN); err != nil {
		fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
