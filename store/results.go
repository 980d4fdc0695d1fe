package store

import (
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// resultsPerStatement bounds how many documents one UPDATE of setResults covers: two
// bound values each, well under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const resultsPerStatement = 250

// setResults stores results[i] as the result of document idx[i] of a request, in a few
// statements instead of one per document (a batch of 500 costs two UPDATEs, not 500
// round trips through gorm), and returns how many documents it updated. cond, when
// not empty, is a further condition on the document's columns (the document table is
// named d). It runs inside the caller's transaction tx.
func (s *Store) setResults(tx *gorm.DB, requestID string, idx []int, results [][]byte, cond string) (int64, error) {
	if len(idx) != len(results) {
		return 0, fmt.Errorf("store: %d results for %d documents", len(results), len(idx))
	}
	// One UPDATE … FROM (VALUES …): SQLite (3.33 and later) and PostgreSQL both have it.
	// PostgreSQL would read untyped parameters in VALUES as text, so its rows are cast;
	// SQLite takes the values as bound. No "?" may follow "(" directly but the index:
	// gorm expands a slice bound right after a parenthesis (an IN list), a []byte too.
	row := "(?, ?)"
	if s.postgres {
		row = "(?::integer, ?::bytea)"
	}
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
			q.WriteString(row)
			args = append(args, idx[i], results[i])
		}
		q.WriteString(") AS v WHERE d.request_id = ? AND d.idx = v.column1")
		args = append(args, requestID)
		if cond != "" {
			q.WriteString(" AND (" + cond + ")")
		}
		res := tx.Exec(q.String(), args...)
		if res.Error != nil {
			return total, fmt.Errorf("store: store results of request %s: %w", requestID, res.Error)
		}
		total += res.RowsAffected
	}
	return total, nil
}
