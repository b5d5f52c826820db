-- bankfeed schema, version 7: pull-consistent balances and Plaid's
-- history states (issue 11).
--
-- Every complete sync keeps the account.balances of its last page as a
-- snapshot (source 'sync'): Plaid reports them as of the same pull that
-- produced the transactions, so they are what the opening is anchored on
-- and what the reconcile compares with. Real-time /processor/balance/get
-- snapshots (source 'realtime', off by default) can already include
-- transactions that sync delivers only after Plaid's next pull: they are
-- shown as "in flight" and never anchor. Rows written before this version
-- all came from the real-time call.
ALTER TABLE balance_snapshots ADD COLUMN source TEXT NOT NULL DEFAULT 'realtime' CHECK (source IN ('sync', 'realtime'));
-- balances.last_updated_datetime when Plaid gave one (Capital One), else NULL.
ALTER TABLE balance_snapshots ADD COLUMN last_updated_at TEXT;
-- The newest snapshot of one source per account: accounts list, the reconcile.
CREATE INDEX balance_snapshots_source ON balance_snapshots(account_id, source, id);

-- transactions_update_status as of the token's last sync: NULL before the
-- first, 'not_ready' while Plaid has nothing yet, 'initial' with the recent
-- ~30 days, 'complete' once the history has arrived.
ALTER TABLE tokens ADD COLUMN history TEXT CHECK (history IN ('not_ready', 'initial', 'complete'));
-- When the token's last paid real-time balance call was claimed: at most
-- one per token per UTC day with BANKFEED_REALTIME_BALANCES=daily.
ALTER TABLE tokens ADD COLUMN realtime_at TEXT;

-- Written by the applier, so that a rebuild from the page log derives the
-- same anchors: when the account's first update at INITIAL_UPDATE_COMPLETE
-- was applied (the 3-day rule counts from it), and whether the live
-- opening was anchored before the history was complete (then the history's
-- arrival re-derives it).
ALTER TABLE accounts ADD COLUMN initial_at TEXT;
ALTER TABLE accounts ADD COLUMN anchor_provisional INTEGER NOT NULL DEFAULT 0;

-- A token that synced before this version shows the state its last
-- applied update reported (bankfeed always logged it); one that never
-- synced stays NULL.
UPDATE tokens SET history = (
  SELECT CASE json_extract(CAST(p.payload AS TEXT), '$.update_status')
           WHEN 'INITIAL_UPDATE_COMPLETE' THEN 'initial' ELSE 'complete' END
  FROM sync_updates u JOIN sync_pages p ON p.update_id = u.id
  WHERE u.token_id = tokens.id AND u.state = 'applied'
  ORDER BY u.id DESC, p.seq DESC LIMIT 1)
WHERE cursor != '';
