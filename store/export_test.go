package store

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
		{"runs after a rowid (Store.RunsAfter, metrics)", runsAfterSQL, []any{100}},
		{"runs by rowid (Store.RunsAfter, metrics)", runsBySeqSQL, []any{"[1,2,3]"}},
		{"latest report summary (Store.LatestReportSummary, metrics)", latestReportSQL, nil},
		{"run history (Store.EachRun)", runsSQL, nil},
		{"trial balance rows (ReadTx.LedgerAccounts)", ledgerAccountsSQL, []any{"biz1", "biz1"}},
		{"account book (Store.AccountBook)", accountBookSQL, []any{"acc00001"}},
		plan("journal of a business (ReadTx.EachEntry)", journalSQL, JournalFilter{BusinessID: "biz1"}),
		plan("journal of a business since (ReadTx.EachEntry)", journalSQL, JournalFilter{BusinessID: "biz1", Since: "2026-06-01"}),
		plan("journal of an account (ReadTx.EachEntry)", journalSQL, JournalFilter{Book: 1, Since: "2026-06-01"}),
		plan("journal of one transaction (ReadTx.EachEntry)", journalSQL, JournalFilter{TransactionID: "tx1"}),
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
		{"an account's transactions, oldest first (Store.Transactions)", accountTxnsAscSQL, []any{1, "", "", "", 0, ""}},
		{"an account's transactions after a cursor, filtered (Store.Transactions)", accountTxnsAscSQL, []any{1, "2026-03-01", "2026-06-30", "posted", 100, ""}},
		{"an account's transactions, newest first (Store.Transactions)", accountTxnsDescSQL, []any{1, "", "", "pending", int64(1) << 62, ""}},
		{"every transaction in id order (Store.Transactions)", allTxnsAscSQL, []any{0, "", "", "", 100, ""}},
		{"every transaction, newest first (Store.Transactions)", allTxnsDescSQL, []any{0, "2026-03-01", "", "", int64(1) << 62, ""}},
		{"the account of one transaction (Store.Transactions)", txnAccountSQL, []any{"tx1"}},
		{"a page of businesses (Store.BusinessIDs)", businessIDsSQL, []any{"biz1", 100}},
		{"due notifications (Store.ClaimDue)", claimDueSQL, []any{"2026-11-27T00:00:00.000000Z", 50}},
		{"next notification due (Store.NextDue)", nextDueSQL, nil},
		{"prune notifications (Store.PruneOutbox)", pruneOutboxSQL, []any{"delivered", "2026-10-27T00:00:00.000000Z"}},
	}
}

func plan(name string, q func(JournalFilter) (string, []any), f JournalFilter) PlanQuery {
	sql, args := q(f)
	return PlanQuery{Name: name, SQL: sql, Args: args}
}
