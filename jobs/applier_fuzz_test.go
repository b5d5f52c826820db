package jobs_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/jobs"
	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// FuzzApplier runs a program of bank-side changes and syncs against a
// plaidfake world with one checking and one card account, then checks the
// ledger against an independent model built from the server's live
// transactions: per-account balance, posted and pending counts and totals,
// the live entry of every transaction, trial balance and journal checks.
//
// The card's history is staged as Plaid stages a new Item's: its first
// sync finds NOT_READY, the second INITIAL_UPDATE_COMPLETE (the last 30
// days), the third and later HISTORICAL_UPDATE_COMPLETE. The model knows
// that nothing is stored for a token that is not ready and that nothing is
// anchored before the history is complete.
//
// The checking account may be re-linked (fzRelink): its bank linked again
// as a new Item, with new account and transaction ids for the same
// history. The model then knows nothing of which new transaction is which
// old one; it checks that the pair's ledger account holds, by date and
// amount, exactly the bank's live posted transactions, each once.
//
// Each input byte is an op (see the fz* constants); some ops read one to
// three argument bytes after it. Programs stop after fzMaxOps ops.

// Ops of a program.
const (
	fzAddPosted       = iota // acct, amount(2), date
	fzAddPending             // acct, amount(2), date
	fzModifyAmount           // pick, amount(2)
	fzModifyDate             // pick, date
	fzModifyName             // pick
	fzRemove                 // pick
	fzPostLinked             // pick pending, date: same amount, pending_transaction_id set
	fzPostUnlinked           // pick pending, date: same amount, no link
	fzPostOtherAmount        // pick pending, amount(2), date: linked, another amount
	fzSync                   // runner.Run("all")
	fzRotate                 // acct: a new token replaces the account's token
	fzPageSize               // n: page size 1..4 until changed again
	fzMidLoop                // k, what: the k-th sync request from now first changes the world
	fzRelink                 // sync, re-link the checking account, put its new token in place of the old, sync
	fzNumOps
)

const (
	fzMaxOps = 40
	fzFloor  = "2026-10-01" // every account's first, untouchable transaction
)

// fzProc is one HTTP server and one client per fuzz process (workers are
// separate processes and run inputs one at a time); each input gets its
// own plaidfake world behind them.
var fzProc struct {
	once   sync.Once
	client *plaidapi.Client

	mu        sync.Mutex
	srv       *plaidfake.Server
	hook      func() // a world change armed by fzMidLoop
	countdown int
}

func fzClient() *plaidapi.Client {
	fzProc.once.Do(func() {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fzProc.mu.Lock()
			srv, hook := fzProc.srv, fzProc.hook
			if hook != nil && r.URL.Path == syncPath {
				if fzProc.countdown--; fzProc.countdown <= 0 {
					fzProc.hook = nil
				} else {
					hook = nil
				}
			} else {
				hook = nil
			}
			fzProc.mu.Unlock()
			if hook != nil {
				hook()
			}
			srv.ServeHTTP(w, r)
		}))
		fzProc.client = plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second,
			RetryMax: 4, Sleep: func(context.Context, time.Duration) error { return nil }})
	})
	return fzProc.client
}

type fzAccount struct {
	id, token string
	book      string // the ledger account's Plaid id: the first account of a re-linked chain
	kind      ledger.Kind
	opening   int64
	base      string // the floor transaction, never touched by ops
}

type fzRun struct {
	t        *testing.T
	ctx      context.Context
	srv      *plaidfake.Server
	st       *store.Store
	runner   *jobs.Runner
	accts    [2]*fzAccount
	prog     []byte
	pos      int
	synced   bool            // the first run anchored both openings
	running  bool            // inside runner.Run: a mid-loop change may land after an anchor
	lateHist bool            // a posted date older than the openings appeared after the anchor
	staged   map[string]bool // pending ids present when a sync last completed
	syncs    int             // runs so far: they step the card's history
	names    int
	trace    []string
}

func (r *fzRun) arg() byte {
	if r.pos >= len(r.prog) {
		return 0
	}
	b := r.prog[r.pos]
	r.pos++
	return b
}

// amount is a signed number of cents, -327.68 to 327.67, zero included.
func (r *fzRun) amount() string {
	c := int(int16(uint16(r.arg())<<8 | uint16(r.arg())))
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// date is mostly on or after the floor; one value in eight is older,
// before every opening date.
func (r *fzRun) date() string {
	d := int(r.arg() % 32)
	if d < 28 {
		return fmt.Sprintf("2026-10-%02d", d+1)
	}
	return fmt.Sprintf("2026-09-%02d", 20+(d-28)*3)
}

func (r *fzRun) acct() *fzAccount { return r.accts[r.arg()&1] }

// pick returns a live transaction made by the program; pendingOnly
// narrows it to pending ones. ok is false when there is none.
func (r *fzRun) pick(pendingOnly bool) (plaidfake.Txn, bool) {
	var live []plaidfake.Txn
	for _, a := range r.accts {
		for _, tx := range r.srv.Txns(a.id) {
			if tx.ID != a.base && (!pendingOnly || tx.Pending) {
				live = append(live, tx)
			}
		}
	}
	n := r.arg()
	if len(live) == 0 {
		return plaidfake.Txn{}, false
	}
	return live[int(n)%len(live)], true
}

func (r *fzRun) name() string {
	r.names++
	return fmt.Sprintf("fuzz %d", r.names)
}

// noteDate records a posted date older than every opening once the
// openings may be anchored. The applier cannot tell such a transaction,
// when first posted, from history Plaid delivered late, which was already
// inside the anchored balance: it moves the opening, not the balance,
// while plaidfake's current moves. The model then checks the balance
// against the opening and the posted sum, but no longer against current.
func (r *fzRun) noteDate(date string) {
	if (r.synced || r.running) && date < fzFloor {
		r.lateHist = true
	}
}

// fzStaged is the account whose history Plaid stages.
const fzStaged = 1

const fzHistorical = "HISTORICAL_UPDATE_COMPLETE"

func (r *fzRun) sync() {
	card := r.accts[fzStaged].id
	if r.syncs > 0 && r.srv.HistoryState(card) != fzHistorical {
		r.srv.AdvanceHistory(card)
	}
	r.syncs++
	state := r.srv.HistoryState(card)
	r.running = true
	sum, err := r.runner.Run(r.ctx, jobs.JobAll)
	r.running = false
	notReady := 0
	for _, res := range sum.Results {
		if res.Outcome == "not_ready" && state == "NOT_READY" {
			notReady++
			continue
		}
		if res.Outcome != "synced" {
			r.t.Fatalf("token %d: %s (%v)\nprogram: %v", res.TokenID, res.Outcome, res.Err, r.trace)
		}
	}
	if err != nil {
		r.t.Fatalf("run: %v\nprogram: %v", err, r.trace)
	}
	r.checkHistory(state, notReady)
	r.synced = true
	r.staged = map[string]bool{}
	for _, a := range r.accts {
		for _, tx := range r.srv.Txns(a.id) {
			if tx.Pending {
				r.staged[tx.ID] = true
			}
		}
	}
}

// checkHistory holds the staged account to its history state after a run:
// not ready stores nothing, not complete anchors nothing.
func (r *fzRun) checkHistory(state string, notReady int) {
	r.t.Helper()
	card := r.accts[fzStaged].id
	bs, err := r.st.LedgerBalances(r.ctx, "")
	if err != nil {
		r.t.Fatal(err)
	}
	var b *store.LedgerBalance
	for i := range bs {
		if bs[i].PlaidAccountID == card {
			b = &bs[i]
		}
	}
	toks, err := r.st.Tokens(r.ctx, store.TokenFilter{})
	if err != nil {
		r.t.Fatal(err)
	}
	var hist []string
	for _, t := range toks {
		hist = append(hist, t.History)
	}
	switch state {
	case "NOT_READY":
		if notReady != 1 || b != nil {
			r.t.Fatalf("not ready: %d not_ready results, ledger %+v\nprogram: %v", notReady, b, r.trace)
		}
	case "INITIAL_UPDATE_COMPLETE":
		if b != nil && b.Anchored {
			r.t.Fatalf("anchored at INITIAL_UPDATE_COMPLETE: %+v\nprogram: %v", *b, r.trace)
		}
	}
	want := map[string]string{"NOT_READY": store.HistoryNotReady, "INITIAL_UPDATE_COMPLETE": store.HistoryInitial, fzHistorical: store.HistoryComplete}[state]
	if !slices.Contains(hist, want) {
		r.t.Fatalf("card at %s, token histories %q\nprogram: %v", state, hist, r.trace)
	}
}

func (r *fzRun) put() {
	if _, err := r.st.PutTokens(r.ctx, "biz1", "sandbox", []string{r.accts[0].token, r.accts[1].token}, true); err != nil {
		r.t.Fatal(err)
	}
}

// change applies one world change; it is shared by the direct ops and the
// mid-loop hook.
func (r *fzRun) change(op byte) {
	switch op {
	case fzAddPosted, fzAddPending:
		a, amt, date := r.acct(), r.amount(), r.date()
		r.srv.AddTxn(plaidfake.Txn{AccountID: a.id, Amount: amt, Date: date, Name: r.name(), Pending: op == fzAddPending})
		if op == fzAddPosted {
			r.noteDate(date)
		}
	case fzModifyAmount:
		if tx, ok := r.pick(false); ok {
			amt := r.amount()
			r.srv.ModifyTxn(tx.ID, func(t *plaidfake.Txn) { t.Amount = amt })
		}
	case fzModifyDate:
		if tx, ok := r.pick(false); ok {
			date := r.date()
			r.srv.ModifyTxn(tx.ID, func(t *plaidfake.Txn) { t.Date = date })
			r.noteDate(date)
		}
	case fzModifyName:
		if tx, ok := r.pick(false); ok {
			n := r.name()
			r.srv.ModifyTxn(tx.ID, func(t *plaidfake.Txn) { t.Name = n })
		}
	case fzRemove:
		if tx, ok := r.pick(false); ok {
			r.srv.RemoveTxn(tx.ID)
		}
	case fzPostLinked, fzPostUnlinked, fzPostOtherAmount:
		tx, ok := r.pick(true)
		if !ok {
			return
		}
		amt := tx.Amount
		if op == fzPostOtherAmount {
			amt = r.amount()
		}
		date := r.date()
		r.srv.PostPending(tx.ID, plaidfake.Txn{Amount: amt, Date: date, Name: tx.Name}, op != fzPostUnlinked)
		// A linked settlement of a hold bankfeed staged is never late
		// history, whatever its date: the hold was outside the anchor.
		if op == fzPostUnlinked || !r.staged[tx.ID] {
			r.noteDate(date)
		}
	}
}

func (r *fzRun) step(op byte) {
	switch op {
	case fzSync:
		r.sync()
	case fzRotate:
		a := r.acct()
		a.token = r.srv.NewToken(a.id)
		r.put()
	case fzPageSize:
		r.runner.PageSize = 1 + int(r.arg()%4)
	case fzRelink:
		// The old Item's last changes are synced first, with no change
		// landing during that sync or the new Item's first: a transaction
		// the bank changed after the old Item's last sync is two different
		// ones to the match (another date or amount), and rightly stays
		// twice, a break in the report, until a person looks.
		fzProc.mu.Lock()
		fzProc.hook = nil
		fzProc.mu.Unlock()
		r.sync()
		a := r.accts[0]
		a.id, a.token = r.srv.Relink(a.id, 0)
		a.base = ""
		r.put()
		r.sync()
	case fzMidLoop:
		k, what := 1+int(r.arg()%4), r.arg()%fzSync // only world changes
		// The hook reads its arguments now, from the program, so that the
		// program stays the only source of randomness.
		args := make([]byte, 4)
		for i := range args {
			args[i] = r.arg()
		}
		fzProc.mu.Lock()
		fzProc.hook = func() {
			saved, savedPos := r.prog, r.pos
			r.prog, r.pos = args, 0
			r.change(what)
			r.prog, r.pos = saved, savedPos
		}
		fzProc.countdown = k
		fzProc.mu.Unlock()
	default:
		r.change(op)
	}
}

func FuzzApplier(f *testing.F) {
	for _, p := range fzSeeds() {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		runApplierProgram(t, prog)
	})
}

func runApplierProgram(t *testing.T, prog []byte) {
	ctx := context.Background()
	client := fzClient()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	srv := plaidfake.New(plaidfake.WithCredentials("cid", "sec"), plaidfake.WithClock(func() time.Time { return now }))
	fzProc.mu.Lock()
	fzProc.srv, fzProc.hook = srv, nil
	fzProc.mu.Unlock()

	dir := t.TempDir() // a seed's name holds '#': the store escapes it
	st, err := store.Open(ctx, filepath.Join(dir, "bankfeed.db"), testKey, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Now = func() time.Time { return now }
	r := &fzRun{t: t, ctx: ctx, srv: srv, st: st, prog: prog,
		runner: &jobs.Runner{Store: st, Plaid: client, Log: zerolog.New(io.Discard), Concurrency: 1, PageSize: 3,
			ProbeInterval: 6 * time.Hour, Now: func() time.Time { return now }}}
	for i, a := range []plaidfake.Account{
		{Name: "Checking", Mask: "0001", Type: "depository", Subtype: "checking", Opening: "1000.00"},
		{Name: "Card", Mask: "0002", Type: "credit", Subtype: "credit card", Opening: "150.00", Limit: "5000", History: plaidfake.HistoryStaged},
	} {
		id, tok := srv.AddAccount(a)
		kind, _ := ledger.KindForPlaidType(a.Type)
		open, _ := ledger.ParseAmount(a.Opening, fzUSD)
		base := srv.AddTxn(plaidfake.Txn{AccountID: id, Amount: "1.00", Date: fzFloor, Name: "floor"})
		r.accts[i] = &fzAccount{id: id, token: tok, book: id, kind: kind, opening: open, base: base}
	}
	r.put()

	for ops := 0; ops < fzMaxOps && r.pos < len(prog); ops++ {
		op := prog[r.pos] % fzNumOps
		r.pos++
		r.trace = append(r.trace, fzOpNames[op])
		r.step(op)
	}
	// Nothing may change the world during the final run.
	fzProc.mu.Lock()
	fzProc.hook = nil
	fzProc.mu.Unlock()
	for r.srv.HistoryState(r.accts[fzStaged].id) != fzHistorical {
		r.sync()
	}
	r.sync()
	r.check()

	// A run with nothing new posts nothing.
	before, err := st.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.sync()
	after, err := st.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("an idle run posted %d entries\nprogram: %v", len(after)-len(before), r.trace)
	}
}

var fzUSD = func() ledger.Currency {
	c, err := ledger.ISO("USD")
	if err != nil {
		panic(err)
	}
	return c
}()

var fzOpNames = [fzNumOps]string{"add", "add-pending", "amount", "date", "name", "remove", "post-linked",
	"post-unlinked", "post-other-amount", "sync", "rotate", "page-size", "mid-loop", "relink"}

// check compares the ledger with the model: the server's live state.
func (r *fzRun) check() {
	t := r.t
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf(format+"\nprogram: %v", append(args, r.trace)...)
	}
	tb, err := r.st.TrialBalance(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for cur, sum := range tb {
		if sum != 0 {
			fail("trial balance in %s off by %d", cur, sum)
		}
	}
	entries, err := r.st.Journal(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range ledger.CheckJournal(entries) {
		fail("journal: %v", err)
	}
	reversed := map[string]bool{}
	for _, e := range entries {
		if e.Kind == ledger.KindReversal {
			reversed[e.Reverses] = true
		}
	}
	// The live entry of each transaction, as the movement of its bank line;
	// and per ledger account, the live entries by date and bank line.
	live := map[string]int64{}
	liveBook := map[string]string{}
	type dated struct {
		book, date string
		line       int64
	}
	liveDated, wantDated := map[dated]int{}, map[dated]int{}
	openings := map[string]int{}
	for _, e := range entries {
		if reversed[e.ID] {
			continue
		}
		switch e.Kind {
		case ledger.KindTxn:
			if _, twice := live[e.TransactionID]; twice {
				fail("transaction %s has two live entries", e.TransactionID)
			}
			for _, l := range e.Lines {
				if l.Account == ledger.BankCode(e.AccountID) {
					live[e.TransactionID] += l.Amount
				}
			}
			liveBook[e.TransactionID] = e.AccountID
			liveDated[dated{e.AccountID, e.Date, live[e.TransactionID]}]++
		case ledger.KindOpening:
			openings[e.AccountID]++
		}
	}
	bs, err := r.st.LedgerBalances(r.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	bal := map[string]store.LedgerBalance{}
	for _, b := range bs {
		bal[b.PlaidAccountID] = b
	}
	want := map[string]int64{} // transaction id -> bank line of its live entry
	for _, a := range r.accts {
		var posted, pending int
		var postedSum, pendingSum int64
		for _, tx := range r.srv.Txns(a.id) {
			m, err := ledger.ParseAmount(tx.Amount, fzUSD)
			if err != nil {
				t.Fatal(err)
			}
			if tx.Pending {
				pending++
				pendingSum += m
				continue
			}
			posted++
			postedSum += m
			if m != 0 {
				want[tx.ID] = -m // credit the bank account A
				wantDated[dated{a.book, tx.Date, -m}]++
			}
		}
		// Plaid's sign: positive is money out, or a charge on a card.
		effect, pendingEffect := -postedSum, -pendingSum
		if a.kind == ledger.Liability {
			effect, pendingEffect = postedSum, pendingSum
		}
		b, ok := bal[a.id]
		if !ok {
			fail("account %s has no ledger balance", a.id)
			continue
		}
		if !b.Anchored || openings[a.book] != 1 {
			fail("account %s: anchored=%v with %d live openings", a.id, b.Anchored, openings[a.book])
		}
		if b.Balance != b.Opening+effect {
			fail("account %s (%s): ledger %d, opening %d + posted effect %d = %d", a.id, a.kind, b.Balance, b.Opening, effect, b.Opening+effect)
		}
		if cur, _ := ledger.ParseAmount(r.srv.Current(a.id), fzUSD); !r.lateHist && b.Balance != cur {
			fail("account %s (%s): ledger %d, server current %d (opening %d, want %d)", a.id, a.kind, b.Balance, cur, b.Opening, a.opening)
		}
		if b.PostedCount != posted {
			fail("account %s: posted count %d, server has %d", a.id, b.PostedCount, posted)
		}
		if b.PendingCount != pending || b.PendingTotal != pendingEffect {
			fail("account %s: pending %d / %d, server has %d / %d", a.id, b.PendingCount, b.PendingTotal, pending, pendingEffect)
		}
	}
	// Each real transaction once, by date and amount, on its ledger account.
	if len(bal) != len(r.accts) {
		fail("%d ledger rows, want one per account (a re-linked pair is one)", len(bal))
	}
	for k, n := range wantDated {
		if liveDated[k] != n {
			fail("ledger account %s: %d live entries dated %s moving the bank %d, the bank has %d", k.book, liveDated[k], k.date, k.line, n)
		}
	}
	for k, n := range liveDated {
		if wantDated[k] == 0 {
			fail("ledger account %s: %d live entries dated %s moving the bank %d, the bank has none", k.book, n, k.date, k.line)
		}
	}
	// And by id where no re-link hides which transaction is which.
	plain := map[string]bool{}
	for _, a := range r.accts {
		plain[a.id] = a.book == a.id
	}
	for id, w := range want {
		if got, ok := live[id]; plain[liveBook[id]] && (!ok || got != w) {
			fail("transaction %s: live bank line %d (present %v), want %d", id, got, ok, w)
		}
	}
	for id, got := range live {
		if _, ok := want[id]; !ok && plain[liveBook[id]] {
			fail("transaction %s has a live entry (%d) but is not a live posted transaction", id, got)
		}
	}
}

// fzSeeds are hand-written programs, each aimed at a few ops.
func fzSeeds() [][]byte {
	const (
		chk, card = 0, 1
		d05, d20  = 4, 19 // 2026-10-05, 2026-10-20
		old       = 28    // 2026-09-20
	)
	amt := func(cents int16) []byte { return []byte{byte(uint16(cents) >> 8), byte(cents)} }
	prog := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	op := func(o byte, args ...byte) []byte { return append([]byte{o}, args...) }
	add := func(acct byte, cents int16, date byte) []byte {
		return op(fzAddPosted, append(append([]byte{acct}, amt(cents)...), date)...)
	}
	addPending := func(acct byte, cents int16, date byte) []byte {
		return op(fzAddPending, append(append([]byte{acct}, amt(cents)...), date)...)
	}
	sync := op(fzSync)
	return [][]byte{
		// Adds on both accounts, synced.
		prog(add(chk, 1234, d05), add(chk, -25000, d05), add(card, 4000, d20), sync),
		// Every modification kind, then a removal.
		prog(add(chk, 1234, d05), add(card, 999, d05), sync,
			op(fzModifyAmount, 0, amt(1334)[0], amt(1334)[1]), op(fzModifyDate, 1, d20), op(fzModifyName, 0), sync,
			op(fzRemove, 1), sync),
		// Pending: staged, then posted linked, unlinked, and with another amount.
		prog(addPending(chk, 4000, d05), addPending(chk, 1500, d05), addPending(card, 10000, d05), sync,
			op(fzPostLinked, 0, d20), op(fzPostUnlinked, 0, d20), op(fzPostOtherAmount, 0, amt(4800)[0], amt(4800)[1], d20), sync),
		// A staged hold settles dated before the opening: new money, the opening stays.
		prog(addPending(chk, 4000, old), add(chk, 100, d05), sync, op(fzPostLinked, 0, old), sync),
		// A pending hold that vanishes; a zero-amount transaction that moves.
		prog(addPending(card, 20000, d05), add(chk, 0, d05), sync, op(fzRemove, 0), op(fzModifyAmount, 0, amt(700)[0], amt(700)[1]), sync),
		// Token rotation on both accounts: full resyncs that sweep removals.
		prog(add(chk, 500, d05), add(card, 600, d05), sync, op(fzRotate, chk), op(fzRemove, 0), sync, op(fzRotate, card), sync),
		// Rotation without a sync in between: the new token's first sync sees the net state.
		prog(add(chk, 500, d05), sync, op(fzRemove, 0), add(chk, 700, d20), op(fzRotate, chk)),
		// Small pages and a change in the middle of a loop: the loop restarts.
		prog(op(fzPageSize, 0), add(chk, 100, d05), add(chk, 200, d05), add(chk, 300, d05), add(chk, 400, d05),
			op(fzMidLoop, 1, fzAddPosted, chk, amt(5)[0], amt(5)[1], d20), sync, sync),
		prog(add(card, 100, d05), add(card, 200, d05), add(card, 300, d05), add(card, 400, d05), sync,
			op(fzModifyAmount, 0, 0, 1), op(fzModifyAmount, 1, 0, 2), op(fzModifyAmount, 2, 0, 3), op(fzModifyAmount, 3, 0, 4),
			op(fzPageSize, 1), op(fzMidLoop, 2, fzRemove, 0, 0, 0, 0), sync),
		// Late history: a posted transaction older than the opening arrives after the anchor.
		prog(add(chk, 1000, d05), sync, add(chk, 2500, old), add(card, -300, old), sync, op(fzModifyAmount, 0, 0, 9)),
		// Older history before the first sync simply moves the opening date.
		prog(add(chk, 1000, old), add(card, 1000, old), sync, op(fzModifyDate, 0, d20)),
		// Found by the fuzzer: a new transaction whose date moves before the
		// opening ahead of its first sync looks exactly like late history.
		// (op bytes written modulo the op count of the time, 13)
		[]byte("\x00\x00Y\xe8\x04\t\x00\x00\t\xc4\x13\x03\x01\xfe\x04\x1c\t\x02\x00\x00\t"),
		// Re-linked: the copy matched, later changes on the new Item, a
		// second re-link (a chain), same-day identical amounts.
		prog(add(chk, 450, d05), add(chk, 450, d05), add(chk, -9900, d20), addPending(chk, 700, d20), op(fzRelink),
			op(fzModifyAmount, 0, amt(500)[0], amt(500)[1]), op(fzRemove, 1), add(chk, 450, d05), sync, op(fzRelink), sync),
		// Re-linked with zero amounts and pendings settling afterwards.
		prog(add(chk, 0, d05), addPending(chk, 1200, d05), sync, op(fzRelink), op(fzPostLinked, 0, d20), op(fzModifyAmount, 0, 0, 7), sync),
		// No ops at all: the floor transactions alone.
		{},
	}
}
