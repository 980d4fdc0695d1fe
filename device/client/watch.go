package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paraphe/paraphe/device"
)

// Event is one notification of the device's event stream.
type Event struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	EventID int64     `json:"eventId"`
	At      time.Time `json:"at"`
	Replay  bool      `json:"replay,omitempty"`
}

// maxEventLine bounds one line of the stream: events are a few hundred bytes.
const maxEventLine = 64 << 10

// Watch follows the server-sent event stream until ctx ends, calling fn for each event.
// It reconnects after a broken connection (2 s, then backing off to 30 s) with
// Last-Event-ID, so no event is lost across a reconnect. An error from fn stops it.
func (c *Client) Watch(ctx context.Context, fn func(Event) error) error {
	last := int64(-1)
	backoff := 2 * time.Second
	stream := &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
	}}
	for {
		err := c.watchOnce(ctx, stream, &last, fn)
		if ctx.Err() != nil {
			return nil
		}
		var stop fnError
		if errors.As(err, &stop) {
			return stop.err
		}
		var p Problem
		if errors.As(err, &p) && p.Status == http.StatusUnauthorized {
			return err // revoked device: reconnecting will not help
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

func (c *Client) watchOnce(ctx context.Context, hc *http.Client, last *int64, fn func(Event) error) error {
	const path = "/v1/device/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	auth, err := device.SignCall(c.st.key, c.st.DeviceID, http.MethodGet, path, nil, time.Now())
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "text/event-stream")
	if *last >= 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(*last, 10))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		var p Problem
		if json.Unmarshal(b, &p) != nil || p.Status == 0 {
			p.Status = resp.StatusCode
		}
		return p
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 4096), maxEventLine)
	var id, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != "" {
				var ev Event
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					return fmt.Errorf("malformed event: %w", err)
				}
				if err := fn(ev); err != nil {
					return fnError{err}
				}
				if n, err := strconv.ParseInt(id, 10, 64); err == nil {
					*last = n
				}
			}
			id, data = "", ""
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "data:"):
			data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}
