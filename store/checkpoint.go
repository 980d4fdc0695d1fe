package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
)

// SQLite in WAL mode appends each commit to the -wal file; a checkpoint copies the
// pages back into the database file. By default the commit that takes the WAL past
// 1,000 pages (4 MiB) checkpoints on its own, before it returns: one request in a few
// then waits for a copy of several MiB and an fsync made for earlier commits (a batch
// of 500 signed documents alone writes over a MiB of results). The server instead
// checkpoints in the background, on a connection of its own, every checkpointEvery:
// commits return without waiting, and writers keep writing while it copies (WAL lets
// them). The commit-time checkpoint stays as a safety net at walAutocheckpointPages,
// for when the background one falls behind or does not run.
const (
	checkpointEvery        = time.Second
	walAutocheckpointPages = 8000 // 32 MiB of 4 KiB pages
)

// checkpointer runs passive WAL checkpoints in the background until stopped.
type checkpointer struct {
	db   *sql.DB
	stop context.CancelFunc
	done chan struct{}
	// mu is held while a checkpoint runs: SQLite lets one checkpoint run at a time and
	// answers busy to another, so a checkpoint the store needs done (compact) waits for
	// a background one instead (see hold).
	mu sync.Mutex
}

// startCheckpointer opens one more connection to the SQLite database of dsn and
// checkpoints on it every checkpointEvery.
func startCheckpointer(dsn string) (*checkpointer, error) {
	// The driver gorm's SQLite dialector registers, without gorm: a pragma needs none.
	db, err := sql.Open(sqlite.DriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, stop: stop, done: make(chan struct{})}
	go c.run(ctx)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// PASSIVE copies what it can without waiting for readers or writers; what
			// it could not copy is copied at a later tick. An error (the database
			// busy with a schema change, the disk full) is met again at the next
			// tick, and the commit-time checkpoint remains.
			c.mu.Lock()
			_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
			c.mu.Unlock()
		}
	}
}

// hold runs fn, a checkpoint of the store's own, while no background checkpoint runs.
// c may be nil (PostgreSQL).
func (c *checkpointer) hold(fn func() error) error {
	if c == nil {
		return fn()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return fn()
}

// close stops the checkpoints and closes the connection.
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.db.Close()
}
