package jobs_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"bankfeed/jobs"
	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// richLedger drives a ledger through every kind of change the applier
// knows: adds, economic and descriptive modifies, removes, pending ->
// posted with and without a link, a vanished hold, history that arrives
// after the anchor, and a token rotation with a sweep.
func richLedger(t *testing.T) (e *env, chk, card string) {
	return richLedgerWith(t, func(*env) {})
}

func richLedgerWith(t *testing.T, setup func(*env)) (e *env, chk, card string) {
	e = newEnv(t)
	setup(e)
	chk, ctok := seedChecking(e)
	card, ktok := e.srv.AddAccount(plaidfake.Account{Name: "Card", Type: "credit", Subtype: "credit card", ISOCurrency: "USD", Opening: "150.00"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "400.00", Date: "2026-10-03", Name: "Office"})
	e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "-250.00", Date: "2026-10-09", Name: "Payment"})
	pend := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "40.00", Date: "2026-10-20", Name: "Diner", Pending: true})
	pend2 := e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "15.00", Date: "2026-10-20", Name: "Gas", Pending: true})
	hold := e.srv.AddTxn(plaidfake.Txn{AccountID: card, Amount: "100.00", Date: "2026-10-20", Name: "Hotel hold", Pending: true})
	e.put("biz1", ctok, ktok)
	e.run("all")

	var posted []string
	for _, tx := range e.srv.Txns(chk) {
		if !tx.Pending {
			posted = append(posted, tx.ID)
		}
	}
	e.srv.ModifyTxn(posted[0], func(t *plaidfake.Txn) { t.Amount = "13.34" })
	e.srv.ModifyTxn(posted[1], func(t *plaidfake.Txn) { t.Name = "Renamed deposit" })
	e.srv.ModifyTxn(posted[2], func(t *plaidfake.Txn) { t.Date = "2026-10-30" })
	e.srv.RemoveTxn(posted[3])
	e.srv.PostPending(pend, plaidfake.Txn{AccountID: chk, Amount: "48.00", Date: "2026-10-22", Name: "Diner + tip"}, true)
	e.srv.PostPending(pend2, plaidfake.Txn{AccountID: chk, Amount: "15.00", Date: "2026-10-22", Name: "Gas"}, false)
	e.srv.RemoveTxn(hold)
	e.run("all")

	// History older than the anchor was already inside the anchored
	// balance: the bank's current does not move, the opening does.
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "20.00", Date: "2026-09-10", Name: "Late"})
	e.srv.AdjustBalance(chk, "20.00")
	e.run("all")

	e.srv.InvalidateToken(ctok)
	e.run("all")
	e.srv.RemoveTxn(posted[4])
	e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "2.00", Date: "2026-11-01", Name: "new"})
	e.put("biz1", e.srv.NewToken(chk), ktok)
	e.run("all")
	e.checkExact(chk, card)
	return e, chk, card
}

func doctor(t *testing.T, st *store.Store) jobs.DoctorReport {
	t.Helper()
	rep, err := jobs.Doctor(context.Background(), st, 0)
	if err != nil {
		t.Fatalf("doctor: %v", err)
	}
	return rep
}

func TestDoctorHealthyLedgerRebuildsExactly(t *testing.T) {
	e, _, _ := richLedger(t)
	rep := doctor(t, e.store)
	if !rep.OK || len(rep.Findings) != 0 {
		t.Fatalf("healthy ledger has findings:\n%s", strings.Join(rep.Findings, "\n"))
	}
	journal, _ := e.store.Journal(context.Background())
	if rep.Entries != len(journal) || rep.Rebuilt != len(journal) {
		t.Fatalf("checked %d, rebuilt %d, journal has %d entries", rep.Entries, rep.Rebuilt, len(journal))
	}
	if want := countUpdates(t, e, "applied"); rep.Replayed != want {
		t.Fatalf("replayed %d updates, %d were applied", rep.Replayed, want)
	}
	kinds := map[ledger.EntryKind]int{}
	for _, en := range journal {
		kinds[en.Kind]++
	}
	// The scenario must have exercised reversals and a re-derived opening,
	// or the rebuild proves less than it claims.
	if kinds[ledger.KindReversal] < 5 || kinds[ledger.KindOpening] < 3 {
		t.Fatalf("scenario too tame: %v", kinds)
	}
}

// A stubbed clock gives every commit the same time; the rebuild must
// still replay anchors and updates in commit order.
func TestDoctorRebuildsUnderAStoppedClock(t *testing.T) {
	stopped := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	e, _, _ := richLedgerWith(t, func(e *env) { e.store.Now = func() time.Time { return stopped } })
	if rep := doctor(t, e.store); !rep.OK {
		t.Fatalf("findings:\n%s", strings.Join(rep.Findings, "\n"))
	}
}

// smallLedger is a synced ledger with a reversal in it, cheap enough to
// build once per corruption.
func smallLedger(t *testing.T) (*env, string) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all")
	e.srv.ModifyTxn(e.srv.Txns(chk)[0].ID, func(t *plaidfake.Txn) { t.Amount = "1.11" })
	e.run("all")
	return e, chk
}

func accountID(t *testing.T, e *env, plaidID string) int64 {
	t.Helper()
	accts, err := e.store.Accounts(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if a.PlaidAccountID == plaidID {
			return a.ID
		}
	}
	t.Fatalf("no account %s", plaidID)
	return 0
}

func liveTxnEntry(t *testing.T, e *env) ledger.Entry {
	t.Helper()
	journal, _ := e.store.Journal(context.Background())
	reversed := map[string]bool{}
	for _, en := range journal {
		reversed[en.Reverses] = true
	}
	for _, en := range journal {
		if en.Kind == ledger.KindTxn && !reversed[en.ID] {
			return en
		}
	}
	t.Fatal("no live entry")
	return ledger.Entry{}
}

func post(t *testing.T, e *env, acct int64, entries ...ledger.Entry) {
	t.Helper()
	err := e.store.Update(context.Background(), func(tx *store.Tx) error {
		for _, en := range entries {
			if err := tx.PostEntry("biz1", acct, en, 0); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func sqlExec(t *testing.T, e *env, q string, args ...any) {
	t.Helper()
	if err := e.store.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestDoctorFindsCorruptions(t *testing.T) {
	usd, _ := ledger.ISO("USD")
	cases := []struct {
		name    string
		corrupt func(t *testing.T, e *env, chk string)
		want    string // a finding must contain this
		only    string // when set, every finding must come from this check
	}{{
		name: "duplicated posting",
		corrupt: func(t *testing.T, e *env, chk string) {
			dup := liveTxnEntry(t, e)
			dup.ID, dup.Version = ledger.TxnEntryID(dup.TransactionID, 99), 99
			post(t, e, accountID(t, e, chk), dup)
		},
		want: "has 2 live entries",
	}, {
		name: "second live opening",
		corrupt: func(t *testing.T, e *env, chk string) {
			op, err := ledger.Opening(chk, ledger.Asset, 2, "2026-09-01", ledger.Money{Minor: 100, Currency: usd})
			if err != nil {
				t.Fatal(err)
			}
			post(t, e, accountID(t, e, chk), op)
		},
		want: "has 2 live opening entries",
	}, {
		name: "unbalanced entry behind Validate's back",
		corrupt: func(t *testing.T, e *env, chk string) {
			sqlExec(t, e, `INSERT INTO journal_entries(id, business_id, kind, date, version, created_at)
				VALUES ('bad:1', 'biz1', 'opening', '2026-10-01', 1, '2026-10-01T00:00:00Z')`)
			for i, amt := range []int64{100, -99} {
				sqlExec(t, e, `INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount)
					VALUES ('bad:1', ?, (SELECT id FROM ledger_accounts WHERE code = ?), 'USD', ?)`, i+1, ledger.Suspense, amt)
			}
		},
		want: "journal: entry does not balance: bad:1 is off by 1 minor units of USD",
	}, {
		name: "running balance edited behind the trigger's back",
		corrupt: func(t *testing.T, e *env, chk string) {
			sqlExec(t, e, `UPDATE ledger_balances SET amount = amount + 5 WHERE ledger_account_id = (SELECT id FROM ledger_accounts WHERE code = ?)`, ledger.Suspense)
		},
		want: "balances: ledger account 2 (biz1 Suspense:Uncategorized, USD): running balance",
		only: "balances: ",
	}, {
		name: "a running balance lost",
		corrupt: func(t *testing.T, e *env, chk string) {
			sqlExec(t, e, `DELETE FROM ledger_balances WHERE ledger_account_id = (SELECT id FROM ledger_accounts WHERE code = ?)`, ledger.Suspense)
		},
		want: "Suspense:Uncategorized, USD) has 14 lines summing to 148505 and no running balance",
		only: "balances: ",
	}, {
		name: "balanced, reversed, but never in any page",
		corrupt: func(t *testing.T, e *env, chk string) {
			ghost, err := ledger.PostTransaction(chk, "ghost", 1, "2026-10-05", ledger.Money{Minor: 500, Currency: usd})
			if err != nil {
				t.Fatal(err)
			}
			post(t, e, accountID(t, e, chk), ghost, ledger.Reverse(ghost))
		},
		want: "rebuild: entry txn:ghost:v1 (txn, account " + "%s) is in the journal but not derivable from the sync pages",
		only: "rebuild: ",
	}, {
		name: "bank row lost its live entry",
		corrupt: func(t *testing.T, e *env, chk string) {
			live := liveTxnEntry(t, e)
			sqlExec(t, e, `UPDATE bank_transactions SET live_entry_id = NULL WHERE transaction_id = ?`, live.TransactionID)
		},
		want: `but its row names ""`,
	}, {
		name: "opening amount edited on the account",
		corrupt: func(t *testing.T, e *env, chk string) {
			sqlExec(t, e, `UPDATE accounts SET opening_minor = opening_minor + 1 WHERE plaid_account_id = ?`, chk)
		},
		want: "the account records",
	}, {
		name: "anchored on a real-time balance",
		corrupt: func(t *testing.T, e *env, chk string) {
			sqlExec(t, e, `INSERT INTO balance_snapshots(account_id, token_id, run_id, currency, current, request_id, taken_at, source)
				VALUES (?, 1, 'x', 'USD', 100, 'req-x', '2026-11-26T12:00:00Z', 'realtime')`, accountID(t, e, chk))
			sqlExec(t, e, `UPDATE accounts SET anchor_snapshot = last_insert_rowid() WHERE plaid_account_id = ?`, chk)
		},
		want: "a realtime balance; only a sync's own balances are consistent with its transactions",
		only: "openings: ",
	}, {
		name: "an applied update the journal never saw",
		corrupt: func(t *testing.T, e *env, chk string) {
			forgeUpdate(t, e, func(p *plaidapi.Page) { p.Modified, p.Added = p.Added[:1], nil; p.Modified[0].Amount.Minor += 100 }, true)
		},
		want: "follows from the sync pages but is missing from the journal",
		only: "rebuild: ",
	}, {
		name: "a logged page that fails its checksum",
		corrupt: func(t *testing.T, e *env, chk string) {
			forgeUpdate(t, e, func(p *plaidapi.Page) {}, false)
		},
		want: "fails its checksum; the journal was not compared",
		only: "rebuild: ",
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, chk := smallLedger(t)
			if rep := doctor(t, e.store); !rep.OK {
				t.Fatalf("findings before corruption:\n%s", strings.Join(rep.Findings, "\n"))
			}
			c.corrupt(t, e, chk)
			rep := doctor(t, e.store)
			want := c.want
			if strings.Contains(want, "%s") {
				want = fmt.Sprintf(want, chk)
			}
			if rep.OK || !containsLine(rep.Findings, want) {
				t.Fatalf("want a finding containing %q, got:\n%s", want, strings.Join(rep.Findings, "\n"))
			}
			for _, l := range rep.Findings {
				if c.only != "" && !strings.HasPrefix(l, c.only) {
					t.Errorf("unexpected finding outside %q: %s", c.only, l)
				}
			}
			t.Logf("findings:\n%s", strings.Join(rep.Findings, "\n"))
		})
	}
}

// forgeUpdate appends an applied update to the page log whose one page is
// the log's first page, edited; with goodSum false its checksum is wrong.
func forgeUpdate(t *testing.T, e *env, edit func(*plaidapi.Page), goodSum bool) {
	t.Helper()
	var first []byte
	err := e.store.Update(context.Background(), func(tx *store.Tx) error {
		return tx.Pages(1, func(_ store.PageMeta, payload []byte) error {
			if first == nil {
				first = payload
			}
			return nil
		})
	})
	if err != nil || first == nil {
		t.Fatalf("first page: %v", err)
	}
	var p plaidapi.Page
	if err := json.Unmarshal(first, &p); err != nil {
		t.Fatal(err)
	}
	edit(&p)
	payload, _ := json.Marshal(p)
	sum := sha256.Sum256(payload)
	if !goodSum {
		sum[0] ^= 0xff
	}
	sqlExec(t, e, `INSERT INTO sync_updates(id, token_id, run_id, cursor_before, cursor_after, state, pages, started_at, finished_at)
		VALUES (999, 1, 'forged', 'c-forged', 'c-forged-2', 'applied', 1, '2099-01-01T00:00:00Z', '2099-01-01T00:00:00Z')`)
	sqlExec(t, e, `INSERT INTO sync_pages(update_id, seq, cursor_before, cursor_after, has_more, request_id, added, modified, removed,
		payload_sha256, payload, received_at) VALUES (999, 0, 'c-forged', 'c-forged-2', 0, 'forged', 0, 1, 0, ?, ?, '2099-01-01T00:00:00Z')`, sum[:], payload)
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// A garbled file is store.ErrCorrupt whichever layer notices: Open, when
// the schema itself is hit, or Doctor's integrity check, when only data is.
func TestDoctorReportsCorruptFile(t *testing.T) {
	cases := []struct {
		name  string
		extra int    // transactions beyond the seed: a big file keeps its schema out of the middle
		via   string // which layer must notice
	}{{"schema hit", 0, "open"}, {"data hit", 800, "doctor"}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			chk, tok := seedChecking(e)
			for i := 0; i < c.extra; i++ {
				e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: fmt.Sprintf("%d.%02d", i%97, i%100), Date: "2026-10-15", Name: "bulk"})
			}
			e.runner.PageSize = 500
			e.put("biz1", tok)
			e.run("all")
			copyPath := filepath.Join(t.TempDir(), "copy.db")
			if err := e.store.Backup(context.Background(), copyPath); err != nil {
				t.Fatal(err)
			}
			garble(t, copyPath)
			how := openAndDoctorCorrupt(t, copyPath)
			if !strings.HasPrefix(how, c.via) {
				t.Fatalf("want %s to notice, got %s", c.via, how)
			}
			t.Log(how)
		})
	}
}

func openAndDoctorCorrupt(t *testing.T, path string) string {
	t.Helper()
	st, err := store.Open(context.Background(), path, testKey, store.Options{})
	if err != nil {
		if !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("open of a garbled file: %v, want ErrCorrupt", err)
		}
		return "open refused it: " + err.Error()
	}
	defer st.Close()
	rep, err := jobs.Doctor(context.Background(), st, 0)
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("doctor on a garbled file: %v, want ErrCorrupt (findings %q)", err, rep.Findings)
	}
	return fmt.Sprintf("doctor: %v; %d findings, first %q", err, len(rep.Findings), rep.Findings[:min(1, len(rep.Findings))])
}

// garble writes seeded random bytes over the middle third of a file.
func garble(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 64*1024 {
		t.Fatalf("file too small (%d bytes) to garble only its middle", len(b))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := len(b) / 3; i < 2*len(b)/3; i++ {
		b[i] = byte(rng.Uint32())
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestBackupWhileRunsWrite(t *testing.T) {
	e := newEnv(t)
	chk, tok := seedChecking(e)
	e.put("biz1", tok)
	e.run("all")
	ctx := context.Background()

	var runs atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var runErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for j := 0; j < 20; j++ {
				e.srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: fmt.Sprintf("%d.%02d", j+1, i%100), Date: "2026-11-02", Name: "load"})
			}
			e.srv.RemoveTxn(e.srv.Txns(chk)[0].ID)
			if _, err := e.runner.Run(ctx, "sync"); err != nil {
				runErr = err
				return
			}
			runs.Add(1)
		}
	}()
	for runs.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	// Keep backing up until several runs have committed meanwhile, so
	// copies are taken across many write transactions.
	dir := t.TempDir()
	var dests []string
	for start := runs.Load(); runs.Load() < start+4 && len(dests) < 40; {
		dest := filepath.Join(dir, fmt.Sprintf("backup-%d.db", len(dests)))
		if err := e.store.Backup(ctx, dest); err != nil {
			t.Fatalf("backup %d: %v", len(dests), err)
		}
		dests = append(dests, dest)
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if runErr != nil {
		t.Fatal(runErr)
	}
	t.Logf("%d sync runs overlapped %d backups", runs.Load(), len(dests))
	for _, dest := range dests {
		checkBackup(t, dest)
	}
	if err := e.store.Backup(ctx, dests[0]); !errors.Is(err, store.ErrBackupExists) ||
		!strings.Contains(err.Error(), "exists; remove it or pick another name") {
		t.Fatalf("backup over an existing file: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.partial*")); len(left) > 0 {
		t.Fatalf("partial files left behind: %v", left)
	}
}

func checkBackup(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, path, testKey, store.Options{})
	if err != nil {
		t.Fatalf("open backup %s: %v", path, err)
	}
	defer st.Close()
	if lines, err := st.CheckFile(ctx); err != nil || len(lines) > 0 {
		t.Fatalf("backup %s: integrity %v %q", path, err, lines)
	}
	tb, err := st.TrialBalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for cur, sum := range tb {
		if sum != 0 {
			t.Errorf("backup %s: trial balance in %s off by %d", path, cur, sum)
		}
	}
	journal, err := st.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range ledger.CheckJournal(journal) {
		t.Errorf("backup %s: %v", path, err)
	}
	// The strongest consistency check there is: a torn copy would not
	// rebuild from its own page log.
	if rep := doctor(t, st); !rep.OK {
		t.Errorf("backup %s:\n%s", path, strings.Join(rep.Findings, "\n"))
	}
}
