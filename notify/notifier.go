package notify

import (
	"context"
	"log/slog"
	"time"
)

// Event says that one of a user's requests changed. Events carry ids and a status only.
type Event struct {
	ID        int64
	UserID    string
	RequestID string
	Status    string
	At        time.Time
}

// EventStore persists events so that a device that reconnects (to any replica) misses
// nothing: it resumes after the last event id it saw.
type EventStore interface {
	AppendEvent(ctx context.Context, userID, requestID, status string) (int64, error)
	EventsAfter(ctx context.Context, userID string, after int64, limit int) ([]Event, error)
	LastEventID(ctx context.Context, userID string) (int64, error)
}

// Pusher forwards an event to a push channel: a push gateway (how a real deployment
// reaches APNs/FCM), Web Push. Push must not block for long.
type Pusher interface {
	Push(ev Event)
}

// Notifier records request changes and wakes the devices waiting for them.
// It is safe for concurrent use.
type Notifier struct {
	store EventStore
	hub   *Hub
	push  []Pusher
	log   *slog.Logger
}

// NotifierDeps are the Notifier's collaborators. The notifier has nothing to tune.
type NotifierDeps struct {
	Store EventStore
	Hub   *Hub
	// Pushers each get every recorded event (none at all is fine: devices then learn of
	// requests through streams and polling).
	Pushers []Pusher
	// Log receives events not recorded; nil: slog.Default().
	Log *slog.Logger
}

// NewNotifier returns a Notifier.
func NewNotifier(d NotifierDeps) *Notifier {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Notifier{store: d.Store, hub: d.Hub, push: d.Pushers, log: d.Log}
}

// RequestChanged records the change and wakes the user's waiters on this replica (other
// replicas hear of it through the store: PostgreSQL NOTIFY, or their polling).
func (n *Notifier) RequestChanged(ctx context.Context, userID, requestID, status string) {
	id, err := n.store.AppendEvent(context.WithoutCancel(ctx), userID, requestID, status)
	if err != nil {
		// Devices still learn of it from their pending list; the stream's replay covers it.
		n.log.Error("notify: event not recorded", "requestId", requestID, "err", err)
	}
	n.hub.RequestChanged(userID, requestID)
	if err != nil {
		return
	}
	ev := Event{ID: id, UserID: userID, RequestID: requestID, Status: status, At: time.Now().UTC()}
	for _, p := range n.push {
		p.Push(ev)
	}
}
