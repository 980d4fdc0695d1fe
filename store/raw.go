package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The statements every signature request runs several times (request reads, audit
// appends, device events, identities) go to database/sql directly with fixed column
// lists: gorm's statement building and reflection scanning cost more CPU than SQLite's
// own work on them (docs/performance.md). They are written with ? placeholders and
// numbered for PostgreSQL once.

// sqlConns are the database/sql pools under the gorm handles.
type sqlConns struct {
	w, r *sql.DB // the writer (and reader on PostgreSQL) and the read pool
	// pgStmts caches statements renumbered for PostgreSQL, by their ? form.
	pgStmts sync.Map
}

// q returns query in the placeholders of the store's database.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	if v, ok := s.raw.pgStmts.Load(query); ok {
		return v.(string)
	}
	out := numberPlaceholders(query)
	s.raw.pgStmts.Store(query, out)
	return out
}

// numberPlaceholders turns each ? into $1, $2, … (the statements here have no ? inside
// string literals).
func numberPlaceholders(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// queryRow runs a read on the read pool.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.raw.r.QueryRowContext(ctx, s.q(query), args...)
}

// nullString scans a text column that may be NULL (a column added to an existing
// table by a later migration) as "".
type nullString string

func (n *nullString) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil {
		return err
	}
	*n = nullString(ns.String)
	return nil
}

// timePtr returns a nullable time column as the *time.Time of a row field.
func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// execOne runs a write on the writer and reports whether it changed exactly one row.
func (s *Store) execOne(ctx context.Context, query string, args ...any) (bool, error) {
	res, err := s.raw.w.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
