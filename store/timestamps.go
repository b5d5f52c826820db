package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// timeColumns are the columns where the store keeps a time it wrote
// (TimeLayout). Plaid's own datetime and authorized_datetime are Plaid's
// text and are kept as Plaid sent them.
var timeColumns = []struct {
	table string
	cols  []string
}{
	{"businesses", []string{"created_at", "updated_at"}},
	{"accounts", []string{"created_at", "updated_at", "initial_at"}},
	{"tokens", []string{"flagged_at", "next_probe_at", "last_synced_at", "last_error_at", "created_at", "updated_at", "removed_at", "realtime_at"}},
	{"sync_updates", []string{"started_at", "finished_at"}},
	{"sync_pages", []string{"received_at"}},
	{"bank_transactions", []string{"first_seen_at", "updated_at"}},
	{"journal_entries", []string{"created_at"}},
	{"balance_snapshots", []string{"taken_at", "last_updated_at"}},
	{"job_runs", []string{"started_at", "finished_at"}},
	{"report_runs", []string{"generated_at"}},
	{"reconciliations", []string{"nonzero_since", "clean_at", "generated_at"}},
	{"token_key", []string{"recorded_at"}},
	{"currencies", []string{"first_seen_at"}},
}

// fixedGlob matches TimeLayout text.
const fixedGlob = `'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'`

// toFixed is SQL that turns the RFC 3339 text in col into TimeLayout. UTC
// text ending in Z (all that bankfeed ever wrote) keeps its digits: the
// fraction is padded or cut to six. Any other form SQLite reads as a time
// (an offset, a hand edit) goes through strftime, which keeps
// milliseconds; text that is no time at all is left as it is.
func toFixed(col string) string {
	const second = `'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]`
	frac := fmt.Sprintf("substr(%s, 21, length(%[1]s) - 21)", col)
	return fmt.Sprintf(`CASE
	  WHEN %[1]s GLOB %[2]sZ' THEN substr(%[1]s, 1, 19) || '.000000Z'
	  WHEN %[1]s GLOB %[2]s.[0-9]*Z' AND %[3]s NOT GLOB '*[^0-9]*' THEN substr(%[1]s, 1, 20) || substr(%[3]s || '000000', 1, 6) || 'Z'
	  WHEN strftime('%%Y-%%m-%%dT%%H:%%M:%%f', %[1]s) IS NOT NULL THEN strftime('%%Y-%%m-%%dT%%H:%%M:%%f', %[1]s) || '000Z'
	  ELSE %[1]s END`, col, second, frac)
}

// rewriteTimes is the Go half of migration 0009: it rewrites every stored
// time into TimeLayout. The UPDATE triggers of a table (the append-only
// tables refuse every update) are dropped for its rewrite and recreated
// from their own stored text, in the migration's transaction: no other
// update can slip through meanwhile.
func rewriteTimes(ctx context.Context, tx *sql.Tx) error {
	for _, tc := range timeColumns {
		triggers, err := updateTriggers(ctx, tx, tc.table)
		if err != nil {
			return err
		}
		for name := range triggers {
			if _, err := tx.ExecContext(ctx, `DROP TRIGGER "`+name+`"`); err != nil {
				return err
			}
		}
		var sets, stale []string
		for _, c := range tc.cols {
			sets = append(sets, c+" = "+toFixed(c))
			stale = append(stale, fmt.Sprintf("(%s IS NOT NULL AND %[1]s NOT GLOB %s)", c, fixedGlob))
		}
		q := "UPDATE " + tc.table + " SET " + strings.Join(sets, ", ") + " WHERE " + strings.Join(stale, " OR ")
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rewrite the times of %s: %w", tc.table, err)
		}
		for _, ddl := range triggers {
			if _, err := tx.ExecContext(ctx, ddl); err != nil {
				return err
			}
		}
	}
	return nil
}

// updateTriggers maps the name of every trigger that fires on an UPDATE
// of table to the statement that created it.
func updateTriggers(ctx context.Context, tx *sql.Tx, table string) (map[string]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, ddl string
		if err := rows.Scan(&name, &ddl); err != nil {
			return nil, err
		}
		// The event is named before the body: "... BEFORE UPDATE ON t BEGIN".
		head, _, _ := strings.Cut(strings.ToUpper(ddl), "BEGIN")
		if strings.Contains(head, " UPDATE ") || strings.Contains(head, "\nUPDATE ") {
			out[name] = ddl
		}
	}
	return out, rows.Err()
}
