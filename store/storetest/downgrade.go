// Package storetest takes a database written by this build back to an
// older schema version, so tests can prove that the migrations after it
// carry an older bankfeed's data forward. It is for tests only.
//
// A new migration adds one entry to undo: the statements that remove what
// it added, newest first. Every downgrade fixture then keeps working.
package storetest

import (
	"database/sql"
	"fmt"

	"github.com/klauspost/compress/zstd"
	_ "github.com/mattn/go-sqlite3" // the driver store uses
)

// undo maps a schema version to the statements that take a database at
// that version back to the one before it.
var undo = map[int][]string{
	14: {`DROP INDEX bank_transactions_account_id`},
	13: {`DROP INDEX job_runs_started`, `DROP INDEX job_runs_unfinished`, `ALTER TABLE job_runs DROP COLUMN detail`, `DROP INDEX journal_entries_business`},
	12: {`DROP TABLE outbox`},
	11: {
		`DROP INDEX tokens_item`, `DROP INDEX accounts_item`, `ALTER TABLE accounts DROP COLUMN item_token_id`,
		`ALTER TABLE tokens DROP COLUMN kind`, `ALTER TABLE tokens DROP COLUMN item_id`, `ALTER TABLE tokens DROP COLUMN institution_id`,
		`ALTER TABLE tokens DROP COLUMN webhook_url`, `DROP TABLE scoped_tokens`, `DROP TABLE exchanged_public_tokens`,
	},
	10: {
		`DROP INDEX accounts_replaces`, `DROP INDEX accounts_book`, `DROP INDEX accounts_identity`,
		`DROP INDEX bank_transactions_duplicate`, `ALTER TABLE bank_transactions DROP COLUMN duplicate_of`,
		`ALTER TABLE accounts DROP COLUMN institution_id`, `ALTER TABLE accounts DROP COLUMN replaces`,
		`ALTER TABLE accounts DROP COLUMN book_account_id`, `ALTER TABLE accounts DROP COLUMN match_through`,
	},
	// Version 9 compressed the page log; Downgrade stores every page as
	// sent before it runs these, because older migrations read pages with SQL.
	9: {
		`DROP INDEX journal_entries_account_created`, `DROP INDEX bank_transactions_account_updated`,
		`ALTER TABLE sync_pages DROP COLUMN payload_codec`,
	},
	8: {`DROP INDEX bank_transactions_large`},
	7: {
		`DROP INDEX balance_snapshots_source`,
		`ALTER TABLE balance_snapshots DROP COLUMN source`, `ALTER TABLE balance_snapshots DROP COLUMN last_updated_at`,
		`ALTER TABLE tokens DROP COLUMN history`, `ALTER TABLE tokens DROP COLUMN realtime_at`,
		`ALTER TABLE accounts DROP COLUMN initial_at`, `ALTER TABLE accounts DROP COLUMN anchor_provisional`,
	},
	6: {`DROP TABLE token_key`, `DROP TABLE currencies`, `ALTER TABLE accounts DROP COLUMN currency_exponent`},
}

// Downgrade takes the database at path (closed by every other user) back
// to schema version to. It does not touch the data beyond what the newer
// versions added, so reopening it with store.Open migrates it forward again.
func Downgrade(path string, to int) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=1")
	if err != nil {
		return err
	}
	defer db.Close()
	var from int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&from); err != nil {
		return err
	}
	if from >= 9 && to < 9 {
		if err := uncompressPages(db); err != nil {
			return fmt.Errorf("storetest: uncompress the page log: %w", err)
		}
	}
	for v := from; v > to; v-- {
		steps, ok := undo[v]
		if !ok {
			return fmt.Errorf("storetest: no undo steps for schema version %d: add them to storetest's undo", v)
		}
		for _, q := range steps {
			if _, err := db.Exec(q); err != nil {
				return fmt.Errorf("storetest: undo %d: %s: %w", v, q, err)
			}
		}
	}
	_, err = db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, to))
	return err
}

// uncompressPages stores every logged page as sent, as bankfeed did before
// schema version 9, with the page log's append-only triggers lifted for
// the rewrite and put back after it.
func uncompressPages(db *sql.DB) error {
	dec, err := zstd.NewReader(nil)
	if err != nil {
		return err
	}
	defer dec.Close()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	raw, err := storedPages(tx, dec)
	if err != nil {
		return err
	}
	triggers, err := updateTriggers(tx)
	if err != nil {
		return err
	}
	for name := range triggers {
		if _, err := tx.Exec(`DROP TRIGGER "` + name + `"`); err != nil {
			return err
		}
	}
	for id, p := range raw {
		if _, err := tx.Exec(`UPDATE sync_pages SET payload = ?, payload_codec = NULL WHERE rowid = ?`, p, id); err != nil {
			return err
		}
	}
	for _, ddl := range triggers {
		if _, err := tx.Exec(ddl); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func storedPages(tx *sql.Tx, dec *zstd.Decoder) (map[int64][]byte, error) {
	rows, err := tx.Query(`SELECT rowid, payload FROM sync_pages WHERE payload_codec = 'zstd'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	raw := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var stored []byte
		if err := rows.Scan(&id, &stored); err != nil {
			return nil, err
		}
		if raw[id], err = dec.DecodeAll(stored, nil); err != nil {
			return nil, err
		}
	}
	return raw, rows.Err()
}

func updateTriggers(tx *sql.Tx) (map[string]string, error) {
	rows, err := tx.Query(`SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'sync_pages' AND sql LIKE '%BEFORE UPDATE%'`)
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
		out[name] = ddl
	}
	return out, rows.Err()
}
