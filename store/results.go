package store

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// resultsPerStatement bounds how many documents one UPDATE of setResults covers on
// PostgreSQL: two bound values each, well under its 65,535 parameters.
const resultsPerStatement = 250

// setResults stores results[i] as the result of document idx[i] of a request, inside
// the caller's transaction tx, and returns how many documents it updated. cond, when
// not empty, is a further condition on the document's columns (the document table is
// named d). A batch of 500 results costs PostgreSQL two statements, not 500 round
// trips, and SQLite one prepared statement run 500 times, not 500 statements built by
// gorm.
func (s *Store) setResults(tx *gorm.DB, requestID string, idx []int, results [][]byte, cond string) (int64, error) {
	if len(idx) != len(results) {
		return 0, fmt.Errorf("store: %d results for %d documents", len(results), len(idx))
	}
	if cond != "" {
		cond = " AND (" + cond + ")"
	}
	var (
		n   int64
		err error
	)
	if s.postgres {
		n, err = setResultsValues(tx, requestID, idx, results, cond)
	} else {
		n, err = setResultsPrepared(tx, requestID, idx, results, cond)
	}
	if err != nil {
		return n, fmt.Errorf("store: store results of request %s: %w", requestID, err)
	}
	return n, nil
}

// setResultsPrepared runs one prepared UPDATE per document. SQLite runs in the process:
// a statement costs no round trip, and one UPDATE … FROM (VALUES …) over many rows
// costs it more than this (it copies the values into a temporary table first).
func setResultsPrepared(tx *gorm.DB, requestID string, idx []int, results [][]byte, cond string) (int64, error) {
	ctx := tx.Statement.Context
	st, err := tx.Statement.ConnPool.PrepareContext(ctx, "UPDATE signature_documents AS d SET result = ? WHERE d.request_id = ? AND d.idx = ?"+cond)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	var total int64
	for i, r := range results {
		res, err := st.ExecContext(ctx, r, requestID, idx[i])
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// setResultsValues updates up to resultsPerStatement documents per statement with
// UPDATE … FROM (VALUES …), for PostgreSQL, where each statement is a round trip.
func setResultsValues(tx *gorm.DB, requestID string, idx []int, results [][]byte, cond string) (int64, error) {
	var total int64
	for start := 0; start < len(idx); start += resultsPerStatement {
		end := min(start+resultsPerStatement, len(idx))
		var q strings.Builder
		q.WriteString("UPDATE signature_documents AS d SET result = v.column2 FROM (VALUES ")
		args := make([]any, 0, 2*(end-start)+1)
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			// PostgreSQL reads untyped parameters in VALUES as text: the casts type
			// them. No "?" may follow "(" directly but the index: gorm expands a
			// slice bound right after a parenthesis (an IN list), a []byte too.
			q.WriteString("(?::integer, ?::bytea)")
			args = append(args, idx[i], results[i])
		}
		q.WriteString(") AS v WHERE d.request_id = ? AND d.idx = v.column1" + cond)
		args = append(args, requestID)
		res := tx.Exec(q.String(), args...)
		if res.Error != nil {
			return total, res.Error
		}
		total += res.RowsAffected
	}
	return total, nil
}
