package store

import (
	"context"
	"database/sql"
)

// TimeColumns lists every column rewritten by migration 0009, as
// "table.column".
func TimeColumns() []string {
	var out []string
	for _, tc := range timeColumns {
		for _, c := range tc.cols {
			out = append(out, tc.table+"."+c)
		}
	}
	return out
}

// PlanQuery is one of the store's hot statements, with arguments that make
// it plannable.
type PlanQuery struct {
	Name string
	SQL  string
	Args []any
}

// PlanQueries are the statements bankfeed runs per page, per token or per
// run: the strings the store itself executes, never copies.
func PlanQueries() []PlanQuery {
	tokens, targs := tokensQuery(TokenFilter{})
	bizTokens, bargs := tokensQuery(TokenFilter{BusinessID: "biz1", Status: StatusActive})
	windows := `[{"a":1,"c":"USD","f":"2026-11-01T00:00:00.000000Z","t":"2026-11-27T00:00:00.000000Z"},
		{"a":2,"c":"USD","f":"2026-11-20T00:00:00.000000Z","t":"2026-11-27T00:00:00.000000Z"}]`
	return []PlanQuery{
		{"per-page transaction lookup (Tx.BankTxns)", bankTxnsSQL, []any{`["tx1","tx2","tx3"]`}},
		{"an Item's accounts (Store.ItemAccountIDs)", itemAccountIDsSQL, []any{1}},
		{"an Item by Plaid's item_id (Store.ItemByPlaidID, webhooks)", itemByPlaidIDSQL, []any{"item1"}},
		{"transaction by id (Tx.BankTxn)", bankTxnSQL, []any{"tx1"}},
		{"live transactions of an account (Tx.LiveTxnIDs)", liveTxnIDsSQL, []any{1}},
		{"posted stats (Tx.PostedStats)", postedStatsSQL, []any{1, 1, "USD"}},
		{"re-link candidates (Tx.PredecessorCandidates)", predecessorCandidatesSQL, []any{"biz1", 2, "ins_1", "depository", "checking", "0000", "USD"}},
		{"re-link match pool (Tx.MatchPool)", matchPoolSQL, []any{1, 1, 2, "2026-11-01"}},
		{"entry (loadEntry)", entrySQL, []any{"txn:tx1:v1"}},
		{"entry lines (loadEntry)", entryLinesSQL, []any{"txn:tx1:v1"}},
		{"abandon open updates (Store.BeginUpdate)", abandonOpenSQL, []any{"t", 1}},
		{"logged pages of an update (Tx.Pages, Store.UpdatePages)", pagesSQL, []any{1}},
		{"token listing (Store.Tokens)", tokens, targs},
		{"token listing of a business (Store.Tokens)", bizTokens, bargs},
		{"one token (Store.Token, Tx.Token)", oneTokenSQL, []any{1}},
		{"ledger balances (Store.LedgerBalances)", ledgerBalancesSQL, []any{"", ""}},
		{"accounts (Store.Accounts)", accountsSQL, []any{"", ""}},
		{"last run (Store.LastRun)", lastRunSQL, []any{"sync"}},
		{"run history (Store.EachRun)", runsSQL, nil},
		{"trial balance rows (ReadTx.LedgerAccounts)", ledgerAccountsSQL, []any{"biz1", "biz1"}},
		{"account book (Store.AccountBook)", accountBookSQL, []any{"acc00001"}},
		plan("journal of a business (ReadTx.EachEntry)", journalSQL, JournalFilter{BusinessID: "biz1"}),
		plan("journal of a business since (ReadTx.EachEntry)", journalSQL, JournalFilter{BusinessID: "biz1", Since: "2026-06-01"}),
		plan("journal of an account (ReadTx.EachEntry)", journalSQL, JournalFilter{Book: 1, Since: "2026-06-01"}),
		plan("carried balances of a business (ReadTx.Carried)", carriedSQL, JournalFilter{BusinessID: "biz1", Since: "2026-06-01"}),
		plan("first entry of a business (ReadTx.FirstEntryDate)", firstEntrySQL, JournalFilter{BusinessID: "biz1"}),
		{"one run (Store.Run)", oneRunSQL, []any{"r1"}},
		{"a run's report files (Store.Run)", runReportSQL, []any{"r1"}},
		{"interrupt unfinished runs (Store.StartRun)", interruptStaleSQL, []any{"2026-11-27T02:00:00.000000Z"}},
		{"reconcile positions (ReadTx.ReconPositions)", reconPositionsSQL, nil},
		{"candidates (ReadTx.Candidates)", candidatesSQL, []any{windows}},
		{"pending items (ReadTx.PendingItems)", pendingItemsSQL, nil},
		{"vanished holds (ReadTx.VanishedHolds)", vanishedHoldsSQL, []any{"2026-11-20T00:00:00.000000Z"}},
		{"precision suspects (ReadTx.PrecisionSuspects)", precisionSuspectsSQL, nil},
		{"flagged tokens (ReadTx.FlaggedTokens)", flaggedTokensSQL, nil},
		{"opening checks (ReadTx.OpeningChecks)", openingChecksSQL, nil},
		{"trial balance (ReadTx.TrialBalance)", trialBalanceSQL, nil},
		{"chart history (ReadTx.ChartHistory)", chartHistorySQL, []any{28}},
		{"charts of a stored run (Store.RunCharts)", runChartsSQL, []any{28, "old1"}},
		{"suspense (ReadTx.Suspense)", suspenseSQL, []any{"Suspense:Uncategorized"}},
		{"stored report (Store.StoredReportFor)", storedReportSQL, []any{"2026-10-02"}},
		{"stored report rows (Store.StoredReportFor)", storedReportRowsSQL, []any{"old1"}},
	}
}

func plan(name string, q func(JournalFilter) (string, []any), f JournalFilter) PlanQuery {
	sql, args := q(f)
	return PlanQuery{Name: name, SQL: sql, Args: args}
}

// UncompressPageLog turns db's page log back into what bankfeed wrote
// before schema version 9 (every payload as sent), for tests that take a
// database back to an older version and migrate it again: the older
// migrations read the pages with SQL.
func UncompressPageLog(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	triggers, err := updateTriggers(context.Background(), tx, "sync_pages")
	if err != nil {
		return err
	}
	for name := range triggers {
		if _, err := tx.Exec(`DROP TRIGGER "` + name + `"`); err != nil {
			return err
		}
	}
	raw, err := rawPages(tx)
	if err != nil {
		return err
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

// rawPages reads every compressed page as sent, by rowid.
func rawPages(tx *sql.Tx) (map[int64][]byte, error) {
	rows, err := tx.Query(`SELECT rowid, payload, payload_codec, payload_sha256 FROM sync_pages WHERE payload_codec IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	raw := map[int64][]byte{}
	for rows.Next() {
		var id int64
		var stored, sum []byte
		var c sql.NullString
		if err := rows.Scan(&id, &stored, &c, &sum); err != nil {
			return nil, err
		}
		if raw[id], err = unpackPage(stored, c, sum); err != nil {
			return nil, err
		}
	}
	return raw, rows.Err()
}
