-- bankfeed schema: what each job run did (issue 15, `runs list` / `runs show`).
--
-- job_runs had one row per run with its counts; an operator asking "what
-- happened last night" also needs which tokens failed and why (by hint,
-- never the token) and where the report went. detail is a JSON object:
-- {"tokens":[{"business_id","token_hint"|"item_id","outcome","error_code","error"}]}
-- (only the tokens that failed or were flagged: a run over 10,000 healthy
-- tokens stays one small row). The report's files are found through
-- report_runs.run_id, which is the reconcile run's id.
ALTER TABLE job_runs ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';

-- `runs list` walks the runs newest first.
CREATE INDEX job_runs_started ON job_runs(started_at);
-- A run that never finished (the process was killed) is found by the next
-- run, which holds the run lock and so knows it is dead: it is marked
-- interrupted. Partial: only unfinished rows, a handful at most.
CREATE INDEX job_runs_unfinished ON job_runs(started_at) WHERE finished_at IS NULL;

-- `ledger entries --business` and `ledger export`: one business's journal
-- in date order (rowid last, as every index holds it: insertion order
-- within a day), so the export streams from the first row without
-- sorting the journal, and a business's books cost their own size, not
-- every business's.
CREATE INDEX journal_entries_business ON journal_entries(business_id, date);
