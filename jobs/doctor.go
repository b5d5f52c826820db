package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"bankfeed/ledger"
	"bankfeed/store"
)

// DoctorReport is what Doctor found. Each finding is one plain line naming
// what is wrong and where; OK means there are none.
type DoctorReport struct {
	Findings []string
	OK       bool
	Entries  int // journal entries checked
	Replayed int // applied sync updates replayed into the rebuild
	Rebuilt  int // entries the rebuild produced
}

// maxPerCheck keeps one systematic fault from burying the others under
// thousands of identical lines.
const maxPerCheck = 50

type findings struct {
	lines []string
	per   map[string]int
}

func (f *findings) add(check, format string, args ...any) {
	if f.per == nil {
		f.per = map[string]int{}
	}
	f.per[check]++
	switch n := f.per[check]; {
	case n <= maxPerCheck:
		f.lines = append(f.lines, check+": "+fmt.Sprintf(format, args...))
	case n == maxPerCheck+1:
		f.lines = append(f.lines, check+": more problems of this kind left out")
	}
}

// Doctor checks a database end to end: the file itself, the journal's
// invariants, the bookkeeping that links bank transactions and accounts to
// their live entries, and that the journal is exactly what replaying the raw
// sync pages produces. An error means a check could not run; a file that
// fails integrity_check is reported as a finding and an error wrapping
// store.ErrCorrupt, and nothing else is checked on it.
//
// Doctor holds the run lock (waiting at most lockWait, 0: until ctx ends)
// so that no run moves the journal between the checks' reads, which would
// show up as false findings.
func Doctor(ctx context.Context, st *store.Store, lockWait time.Duration) (DoctorReport, error) {
	var rep DoctorReport
	var f findings
	fileLines, err := st.CheckFile(ctx)
	for _, l := range fileLines {
		f.add("file", "%s", l)
	}
	if err != nil {
		rep.Findings = f.lines
		return rep, fmt.Errorf("doctor %s: %w", st.Path(), err)
	}
	lock, err := store.LockRun(ctx, st.Path(), lockWait)
	if err != nil {
		return rep, err
	}
	defer lock.Unlock()
	journal, err := st.Journal(ctx)
	if err != nil {
		return rep, fmt.Errorf("doctor: read journal: %w", store.Classify(err))
	}
	rep.Entries = len(journal)
	if err := checkJournal(ctx, st, journal, &f); err != nil {
		return rep, err
	}
	if err := checkPostings(ctx, st, journal, &f); err != nil {
		return rep, err
	}
	// A re-linked pair: no real transaction posted twice across it.
	double, err := st.DoublePosted(ctx)
	if err != nil {
		return rep, fmt.Errorf("doctor: %w", err)
	}
	for _, d := range double {
		f.add("successors", "%s", d)
	}
	if err := checkOpenings(ctx, st, journal, &f); err != nil {
		return rep, err
	}
	if err := checkRebuild(ctx, st, journal, &rep, &f); err != nil {
		return rep, err
	}
	rep.Findings, rep.OK = f.lines, len(f.lines) == 0
	return rep, nil
}

func checkJournal(ctx context.Context, st *store.Store, journal []ledger.Entry, f *findings) error {
	for _, err := range ledger.CheckJournal(journal) {
		f.add("journal", "%v", err)
	}
	bare, err := st.EntriesWithoutLines(ctx)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	for _, id := range bare {
		f.add("journal", "entry %s has no lines", id)
	}
	drift, err := st.BalanceDrift(ctx)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	for _, d := range drift {
		f.add("balances", "%s", d)
	}
	return nil
}

// liveByKey groups the entries of one kind that no reversal undoes.
func liveByKey(journal []ledger.Entry, kind ledger.EntryKind, key func(ledger.Entry) string) map[string][]string {
	reversed := map[string]bool{}
	for _, e := range journal {
		if e.Kind == ledger.KindReversal {
			reversed[e.Reverses] = true
		}
	}
	live := map[string][]string{}
	for _, e := range journal {
		if e.Kind == kind && !reversed[e.ID] {
			live[key(e)] = append(live[key(e)], e.ID)
		}
	}
	return live
}

// checkPostings holds every bank transaction to the applier's own posting
// rule: one that posts has exactly one live entry, the one its row names;
// one that does not (removed, pending, zero, unposted account) has none.
func checkPostings(ctx context.Context, st *store.Store, journal []ledger.Entry, f *findings) error {
	states, err := st.PostingStates(ctx)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	live := liveByKey(journal, ledger.KindTxn, func(e ledger.Entry) string { return e.TransactionID })
	known := make(map[string]bool, len(states))
	for _, p := range states {
		known[p.TransactionID] = true
		checkPosting(p, live[p.TransactionID], f)
	}
	for _, txn := range sortedKeys(live) {
		if !known[txn] {
			f.add("postings", "live entries %s are for transaction %q, which no sync recorded", strings.Join(live[txn], ", "), txn)
		}
	}
	return nil
}

func checkPosting(p store.PostingState, live []string, f *findings) {
	where := fmt.Sprintf("transaction %s (account %s)", p.TransactionID, p.PlaidAccountID)
	if p.DuplicateOf != "" && !p.Removed {
		// Its predecessor's transaction carries it: see DoublePosted.
		if len(live) > 0 || p.LiveEntryID != "" {
			f.add("postings", "%s duplicates %s, so nothing of it should be live, but live entries are [%s] and its row names %q",
				where, p.DuplicateOf, strings.Join(live, ", "), p.LiveEntryID)
		}
		return
	}
	if !posts(p) {
		if len(live) > 0 || p.LiveEntryID != "" {
			f.add("postings", "%s is %s, so nothing of it should be live, but live entries are [%s] and its row names %q",
				where, whyNotPosted(p), strings.Join(live, ", "), p.LiveEntryID)
		}
		return
	}
	switch {
	case len(live) == 0:
		f.add("postings", "%s is posted at the bank but has no live journal entry (its row names %q)", where, p.LiveEntryID)
	case len(live) > 1:
		f.add("postings", "%s has %d live entries (%s); want exactly one", where, len(live), strings.Join(live, ", "))
	case live[0] != p.LiveEntryID:
		f.add("postings", "%s: live entry is %s but its row names %q", where, live[0], p.LiveEntryID)
	}
}

// posts asks the applier itself, so the doctor cannot drift from the rule
// that produced the journal.
func posts(p store.PostingState) bool {
	a := &applier{acct: store.Account{Kind: p.Kind}}
	return !p.Removed && a.posts(store.BankTxn{Pending: p.Pending, Amount: p.Amount})
}

func whyNotPosted(p store.PostingState) string {
	switch {
	case p.Removed:
		return "removed"
	case p.Pending:
		return "pending"
	case p.Amount == 0:
		return "of zero amount"
	}
	return "on an account that is not posted"
}

// checkOpenings: an anchored account has exactly one live opening, of the
// version and amount the account records, anchored on a sync snapshot; an
// unanchored one has none.
func checkOpenings(ctx context.Context, st *store.Store, journal []ledger.Entry, f *findings) error {
	accts, err := st.Accounts(ctx, "")
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	mis, err := st.MisanchoredOpenings(ctx)
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	for _, m := range mis {
		f.add("openings", "%s", m)
	}
	live := liveByKey(journal, ledger.KindOpening, func(e ledger.Entry) string { return e.AccountID })
	byID := make(map[string]ledger.Entry, len(journal))
	for _, e := range journal {
		byID[e.ID] = e
	}
	known := map[string]bool{}
	for _, a := range accts {
		known[a.PlaidAccountID] = true
		checkOpening(a.Account, live[a.PlaidAccountID], byID, f)
	}
	for _, pid := range sortedKeys(live) {
		if !known[pid] {
			f.add("openings", "live opening entries %s are for account %q, which is not recorded", strings.Join(live[pid], ", "), pid)
		}
	}
	return nil
}

func checkOpening(a store.Account, live []string, byID map[string]ledger.Entry, f *findings) {
	if a.OpeningVersion == 0 {
		if len(live) > 0 {
			f.add("openings", "account %s is not anchored but has live opening entries %s", a.PlaidAccountID, strings.Join(live, ", "))
		}
		return
	}
	want := ledger.OpeningEntryID(a.PlaidAccountID, a.OpeningVersion)
	switch {
	case len(live) == 0:
		f.add("openings", "account %s is anchored (opening version %d) but has no live opening entry", a.PlaidAccountID, a.OpeningVersion)
	case len(live) > 1:
		f.add("openings", "account %s has %d live opening entries (%s); want exactly %s", a.PlaidAccountID, len(live), strings.Join(live, ", "), want)
	case live[0] != want:
		f.add("openings", "account %s: live opening entry is %s but the account records %s", a.PlaidAccountID, live[0], want)
	default:
		if got := openingNatural(a, byID[want]); got != a.OpeningMinor {
			f.add("openings", "account %s: opening entry %s says %d minor units, the account records %d", a.PlaidAccountID, want, got, a.OpeningMinor)
		}
	}
}

func openingNatural(a store.Account, e ledger.Entry) int64 {
	var sum int64
	for _, l := range e.Lines {
		if l.Account == ledger.BankCode(a.PlaidAccountID) {
			sum += l.Amount
		}
	}
	return a.Kind.Natural(sum)
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// checkRebuild replays the raw page log into a scratch database and
// compares the result with the stored journal.
func checkRebuild(ctx context.Context, st *store.Store, journal []ledger.Entry, rep *DoctorReport, f *findings) error {
	dir, err := os.MkdirTemp("", "bankfeed-doctor-")
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	defer os.RemoveAll(dir)
	scratch, err := st.NewReplica(ctx, filepath.Join(dir, "rebuild.db"))
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	defer scratch.Close()
	n, err := replay(ctx, st, scratch, journal)
	rep.Replayed = n
	var rf replayFailure
	if errors.As(err, &rf) {
		f.add("rebuild", "%v; the journal was not compared", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	rebuilt, err := scratch.Journal(ctx)
	if err != nil {
		return fmt.Errorf("doctor: read rebuilt journal: %w", err)
	}
	rep.Rebuilt = len(rebuilt)
	compareJournals(journal, rebuilt, f)
	return nil
}

// replayFailure is a replay step that the stored data itself made fail:
// a finding, not a failure of the doctor.
type replayFailure struct{ err error }

func (r replayFailure) Error() string { return r.err.Error() }
func (r replayFailure) Unwrap() error { return r.err }

// step is one write to replay: an applied sync update or an anchoring by
// the balances job.
type step struct {
	at     time.Time
	seq    int64 // journal rowid of the step's first entry; 0 for an update that posted none
	update *store.AppliedUpdate
	anchor *store.Anchor
}

// replaySteps orders updates and anchors as they were committed. Both carry
// the time their transaction took inside SQLite's write lock, so time order
// is commit order; where a coarse or stubbed clock makes times tie, two
// updates go in the order they began, and an update and an anchoring by
// the journal's rowids. An update that posted nothing has no rowid and
// goes first among its ties with an anchoring: such anchorings come from
// databases older than version 7, whose updates never anchored.
// Only the order within one account matters (an update reads the account's
// opening; an anchoring sums its transactions).
func replaySteps(ups []store.AppliedUpdate, anchors []store.Anchor) []step {
	steps := make([]step, 0, len(ups)+len(anchors))
	for i := range ups {
		steps = append(steps, step{at: ups[i].AppliedAt, seq: ups[i].FirstEntry, update: &ups[i]})
	}
	for i := range anchors {
		steps = append(steps, step{at: anchors[i].PostedAt, seq: anchors[i].Entry, anchor: &anchors[i]})
	}
	slices.SortStableFunc(steps, func(a, b step) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if a.update != nil && b.update != nil {
			// An update that posts nothing may still anchor on what earlier
			// updates posted: between updates, begin order is commit order
			// (one token's updates never overlap).
			return cmp.Compare(a.update.ID, b.update.ID)
		}
		return cmp.Compare(a.seq, b.seq)
	})
	return steps
}

func replay(ctx context.Context, st, scratch *store.Store, journal []ledger.Entry) (int, error) {
	ups, err := st.AppliedUpdates(ctx)
	if err != nil {
		return 0, err
	}
	anchors, err := st.Anchors(ctx)
	if err != nil {
		return 0, err
	}
	byID := make(map[string]ledger.Entry, len(journal))
	for _, e := range journal {
		byID[e.ID] = e
	}
	n := 0
	for _, s := range replaySteps(ups, anchors) {
		at := s.at
		// Replayed rows carry the original commit time, which is what the
		// anchoring's date falls back to when there are no transactions.
		scratch.Now = func() time.Time { return at }
		if s.update != nil {
			if err := replayUpdate(ctx, st, scratch, *s.update); err != nil {
				return n, err
			}
			n++
			continue
		}
		if err := replayAnchor(ctx, scratch, *s.anchor, byID[s.anchor.EntryID]); err != nil {
			return n, err
		}
	}
	return n, nil
}

// replayUpdate runs the production applier over the update's logged pages,
// exactly as syncOnce does once the loop completes.
func replayUpdate(ctx context.Context, st, scratch *store.Store, u store.AppliedUpdate) error {
	err := scratch.Update(ctx, func(tx *store.Tx) error {
		if u.Kind == store.KindItem {
			_, err := applyItemPages(tx, u.BusinessID, u.TokenID, u.ID, u.CursorBefore == "", "", "",
				func(fn func(store.PageMeta, []byte) error) error { return st.UpdatePages(ctx, u.ID, fn) })
			return err
		}
		a := newApplier(tx, u.BusinessID, u.TokenID, u.ID, u.CursorBefore == "")
		if err := st.UpdatePages(ctx, u.ID, func(_ store.PageMeta, payload []byte) error { return a.logged(payload) }); err != nil {
			return err
		}
		return a.finish()
	})
	if err != nil && ctx.Err() == nil {
		return replayFailure{fmt.Errorf("sync update %d (token %d) does not replay: %w", u.ID, u.TokenID, err)}
	}
	return err
}

// replayAnchor re-derives an opening posted by the balances job with the
// same anchor logic, from the snapshot the account records. Openings come
// from balance snapshots, not pages, so this is their only source. An
// account with no recorded snapshot gets its stored entry re-posted as is:
// nothing else could derive it, and the comparison then proves only that
// later updates treated it the same way.
func replayAnchor(ctx context.Context, scratch *store.Store, an store.Anchor, stored ledger.Entry) error {
	err := scratch.Update(ctx, func(tx *store.Tx) error {
		a, err := tx.AccountByID(an.AccountID)
		if err != nil {
			return err
		}
		if a.OpeningVersion > 0 {
			return nil // the balances job anchors once; a second anchoring is not derivable
		}
		if an.Current != nil {
			return anchor(tx, an.BusinessID, a, *an.Current, an.SnapshotID)
		}
		if err := tx.PostEntry(an.BusinessID, a.ID, stored, 0); err != nil {
			return err
		}
		return tx.SetOpening(a.ID, stored.Version, stored.Date, openingNatural(a, stored), 0)
	})
	if err != nil && ctx.Err() == nil {
		return replayFailure{fmt.Errorf("opening %s does not replay: %w", an.EntryID, err)}
	}
	return err
}

// compareJournals matches entries by id: ids are derived from content, so
// the same id must carry the same entry. Order across accounts is not
// compared, only what exists.
func compareJournals(stored, rebuilt []ledger.Entry, f *findings) {
	want := make(map[string]ledger.Entry, len(rebuilt))
	for _, e := range rebuilt {
		want[e.ID] = e
	}
	seen := make(map[string]bool, len(stored))
	for _, e := range stored {
		seen[e.ID] = true
		r, ok := want[e.ID]
		switch {
		case !ok:
			f.add("rebuild", "entry %s (%s, account %s) is in the journal but not derivable from the sync pages", e.ID, e.Kind, e.AccountID)
		default:
			if diff := entryDiff(e, r); diff != "" {
				f.add("rebuild", "entry %s differs from its rebuild from the sync pages: %s", e.ID, diff)
			}
		}
	}
	for _, e := range rebuilt {
		if !seen[e.ID] {
			f.add("rebuild", "entry %s (%s, account %s) follows from the sync pages but is missing from the journal", e.ID, e.Kind, e.AccountID)
		}
	}
}

func entryDiff(a, b ledger.Entry) string {
	var d []string
	field := func(name string, x, y any) {
		if x != y {
			d = append(d, fmt.Sprintf("%s %v, rebuilt %v", name, x, y))
		}
	}
	field("kind", a.Kind, b.Kind)
	field("date", a.Date, b.Date)
	field("transaction", a.TransactionID, b.TransactionID)
	field("account", a.AccountID, b.AccountID)
	field("version", a.Version, b.Version)
	field("reverses", a.Reverses, b.Reverses)
	if !slices.Equal(a.Lines, b.Lines) {
		d = append(d, fmt.Sprintf("lines %v, rebuilt %v", a.Lines, b.Lines))
	}
	return strings.Join(d, "; ")
}
