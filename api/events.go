package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/paraphe/paraphe/notify"
)

// Events reads the persisted device events.
type Events interface {
	EventsAfter(ctx context.Context, userID string, after int64, limit int) ([]notify.Event, error)
	LastEventID(ctx context.Context, userID string) (int64, error)
}

// Stream timing. Heartbeats keep proxies from closing an idle stream (most cut at 60 s);
// the poll catches events written by another process when no NOTIFY reaches this one,
// and a revocation of the device (the stream closes within one poll of it).
const (
	sseHeartbeat = 15 * time.Second
	ssePoll      = 2 * time.Second
	sseWrite     = 30 * time.Second
)

type eventOut struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	EventID int64     `json:"eventId"`
	At      time.Time `json:"at"`
	Replay  bool      `json:"replay,omitempty"`
}

// deviceEvents streams server-sent events to a device: on connecting without
// Last-Event-ID it first replays the pending requests; then every change of the user's
// requests, each with its event id, so a reconnect with Last-Event-ID resumes exactly.
func (s *server) deviceEvents(c *gin.Context) {
	dev := deviceOf(c)
	ctx := c.Request.Context()
	last := int64(-1)
	if v := c.GetHeader("Last-Event-ID"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			badRequest(c, "Last-Event-ID must be an event id")
			return
		}
		last = n
	}
	ch, leave := s.Waiter.Subscribe(dev.UserID)
	defer leave()
	var replay []eventOut
	if last < 0 {
		var err error
		if last, err = s.Events.LastEventID(ctx, dev.UserID); err != nil {
			fail(c, err)
			return
		}
		rs, err := s.DeviceRequests.Pending(ctx, dev)
		if err != nil {
			fail(c, err)
			return
		}
		for _, r := range rs {
			replay = append(replay, eventOut{ID: r.ID, Status: string(r.Status), EventID: last, At: r.CreatedAt, Replay: true})
		}
	}
	w := c.Writer
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(sseWrite))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\n\n") {
		return
	}
	for _, e := range replay {
		b, _ := json.Marshal(e)
		if !send("id: %d\nevent: request\ndata: %s\n\n", e.EventID, b) {
			return
		}
	}
	heartbeat := time.NewTicker(sseHeartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(ssePoll)
	defer poll.Stop()
	for {
		// A device revoked meanwhile (re-activation, block) gets nothing more: its stream
		// ends, and the reconnect is refused with 401. The poll bounds how late this is
		// noticed when the revocation came from another process.
		if ok, err := s.Devices.StillActive(ctx, dev.ID); err != nil || !ok {
			if err != nil && ctx.Err() == nil {
				logger(c).Warn("event stream: device status", "err", err)
			}
			return
		}
		evs, err := s.Events.EventsAfter(ctx, dev.UserID, last, 100)
		if err != nil {
			logger(c).Warn("event stream", "err", err)
			return
		}
		for _, e := range evs {
			b, _ := json.Marshal(eventOut{ID: e.RequestID, Status: e.Status, EventID: e.ID, At: e.At})
			if !send("id: %d\nevent: request\ndata: %s\n\n", e.ID, b) {
				return
			}
			last = e.ID
		}
		if len(evs) == 100 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-ch:
		case <-poll.C:
		case <-heartbeat.C:
			if !send(": heartbeat\n\n") {
				return
			}
		}
	}
}
