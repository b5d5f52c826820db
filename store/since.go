package store

import (
	"context"
	"database/sql"
	"time"
)

// sinceSQL is the earliest time the database records: the token key's
// row is written when the schema is created (or, for an older file, when
// it was upgraded to version 6), and a business older than that dates the
// file further back. Rotating the key rewrites the row, but a database
// with tokens to rotate has a business that is older.
const sinceSQL = `SELECT MIN(t) FROM (SELECT recorded_at AS t FROM token_key UNION ALL SELECT MIN(created_at) FROM businesses)`

// Since is when the database began, near enough: nothing it holds can be
// older. serve's catch-up never replays a schedule from before it.
func (s *Store) Since(ctx context.Context) (time.Time, error) {
	var v sql.NullString
	if err := s.rdb.QueryRowContext(ctx, sinceSQL).Scan(&v); err != nil {
		return time.Time{}, Classify(err)
	}
	if !v.Valid {
		return s.Now(), nil
	}
	return parseTime(v.String)
}
