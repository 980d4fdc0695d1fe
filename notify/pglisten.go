package notify

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresChannel is the channel replicas NOTIFY on when a user's requests change; the
// payload is the user id (ids only).
const PostgresChannel = "paraphe_events"

// ListenPostgres wakes the hub's waiters when any replica records an event, until ctx
// ends. It reconnects after a lost connection (1 s, backing off to 30 s); while it is
// down, the streams' own polling still delivers every event, only later.
func ListenPostgres(ctx context.Context, dsn string, hub *Hub, log *slog.Logger) {
	backoff := time.Second
	for ctx.Err() == nil {
		err := listenOnce(ctx, dsn, hub, func() { backoff = time.Second })
		if ctx.Err() != nil {
			return
		}
		log.Warn("notify: postgres listener lost, reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func listenOnce(ctx context.Context, dsn string, hub *Hub, connected func()) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(cctx, dsn)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{PostgresChannel}.Sanitize()); err != nil {
		return err
	}
	connected()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		hub.RequestChanged(n.Payload, "")
	}
}
