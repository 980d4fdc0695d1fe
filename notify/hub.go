// Package notify owns reaching devices: an in-process hub that wakes the device calls
// waiting for a user's requests (long polling now, server-sent events next).
//
// Hub is safe for concurrent use. Notifications carry ids only, never document content.
package notify

import (
	"context"
	"sync"
	"time"
)

// Hub fans out "request changed" signals to waiters, per user.
type Hub struct {
	mu      sync.Mutex
	waiters map[string]map[chan string]struct{}
}

// NewHub returns an empty Hub.
func NewHub() *Hub { return &Hub{waiters: map[string]map[chan string]struct{}{}} }

// RequestChanged wakes every waiter of the user. It never blocks: a waiter that already
// has a signal queued is not sent another.
func (h *Hub) RequestChanged(userID, requestID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.waiters[userID] {
		select {
		case ch <- requestID:
		default:
		}
	}
}

// Subscribe registers a waiter for the user; call the returned function to leave.
func (h *Hub) Subscribe(userID string) (<-chan string, func()) {
	ch := make(chan string, 1)
	h.mu.Lock()
	if h.waiters[userID] == nil {
		h.waiters[userID] = map[chan string]struct{}{}
	}
	h.waiters[userID][ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.waiters[userID], ch)
		if len(h.waiters[userID]) == 0 {
			delete(h.waiters, userID)
		}
		h.mu.Unlock()
	}
}

// Wait blocks until a signal for the user arrives, the timeout passes or ctx ends; it
// reports whether a signal arrived. Subscribe before checking state to avoid missing one.
func Wait(ctx context.Context, ch <-chan string, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}
