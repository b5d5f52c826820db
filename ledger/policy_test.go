package ledger

import (
	"strconv"
	"testing"
	"time"
)

func TestChange(t *testing.T) {
	posted := TxnFacts{ID: "t", Date: "2026-02-10", Amount: 1250, Currency: "USD"}
	with := func(f func(*TxnFacts)) TxnFacts {
		n := posted
		f(&n)
		return n
	}
	pending := with(func(n *TxnFacts) { n.Pending = true })
	live := &TxnState{Facts: posted, Live: true, Posted: true}
	dup := &TxnState{Facts: posted, Duplicate: true}
	const through = "2026-02-15" // a successor's match window

	tests := []struct {
		name    string
		kind    Kind
		old     *TxnState
		next    TxnFacts
		through string
		want    Decision
	}{
		{"added posted", Asset, nil, posted, "", Decision{Post: true, FirstPosting: true}},
		{"added to a card", Liability, nil, posted, "", Decision{Post: true, FirstPosting: true}},
		{"added pending is staged", Asset, nil, pending, "", Decision{}},
		{"added zero amount", Asset, nil, with(func(n *TxnFacts) { n.Amount = 0 }), "", Decision{}},
		{"added to an account not posted", "", nil, posted, "", Decision{}},
		{"description-only modify", Asset, live, posted, "", Decision{}},
		{"amount modify reposts", Asset, live, with(func(n *TxnFacts) { n.Amount = 1334 }), "", Decision{Reverse: true, Post: true}},
		{"date modify reposts", Asset, live, with(func(n *TxnFacts) { n.Date = "2026-02-11" }), "", Decision{Reverse: true, Post: true}},
		{"currency modify reposts", Asset, live, with(func(n *TxnFacts) { n.Currency = "EUR" }), "", Decision{Reverse: true, Post: true}},
		{"modify to zero reverses only", Asset, live, with(func(n *TxnFacts) { n.Amount = 0 }), "", Decision{Reverse: true}},
		{"posted back to pending reverses", Asset, live, pending, "", Decision{Reverse: true}},
		{"pending modify stays staged", Asset, &TxnState{Facts: pending}, with(func(n *TxnFacts) { n.Pending, n.Amount = true, 900 }), "", Decision{}},
		{"pending to posted in place", Asset, &TxnState{Facts: pending}, posted, "", Decision{Post: true, FirstPosting: true}},
		{"re-added after removal", Asset, &TxnState{Facts: with(func(n *TxnFacts) { n.Removed = true }), Posted: true}, posted, "", Decision{Post: true}},
		{"reposted after a zero amount", Asset, &TxnState{Facts: with(func(n *TxnFacts) { n.Amount = 0 }), Posted: true}, posted, "", Decision{Post: true}},
		{"duplicate description-only", Asset, dup, posted, through, Decision{Duplicate: true}},
		{"duplicate economic modify is released, matched again", Asset, dup, with(func(n *TxnFacts) { n.Amount = 1300 }), through, Decision{Release: true, Defer: true}},
		{"duplicate moved past the window is released and posts", Asset, dup, with(func(n *TxnFacts) { n.Date = "2026-02-20" }), through, Decision{Release: true, Post: true, FirstPosting: true}},
		{"duplicate turned pending is released, staged", Asset, dup, pending, through, Decision{Release: true}},
		{"removed duplicate re-added posts on its own", Asset, &TxnState{Facts: with(func(n *TxnFacts) { n.Removed = true }), Duplicate: true}, posted, "", Decision{Post: true, FirstPosting: true}},
		{"successor inside the match window defers", Asset, nil, posted, through, Decision{Defer: true}},
		{"successor zero amount inside the window defers", Asset, nil, with(func(n *TxnFacts) { n.Amount = 0 }), through, Decision{Defer: true}},
		{"successor on the window's last day defers", Asset, nil, with(func(n *TxnFacts) { n.Date = through }), through, Decision{Defer: true}},
		{"successor after the window posts", Asset, nil, with(func(n *TxnFacts) { n.Date = "2026-02-16" }), through, Decision{Post: true, FirstPosting: true}},
		{"successor pending inside the window is staged", Asset, nil, pending, through, Decision{}},
		{"successor once posted reposts, not deferred", Asset, live, with(func(n *TxnFacts) { n.Amount = 1 }), through, Decision{Reverse: true, Post: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Change(tt.kind, tt.old, tt.next, tt.through); got != tt.want {
				t.Fatalf("Change = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRemove(t *testing.T) {
	f := TxnFacts{ID: "t", Date: "2026-02-10", Amount: 1250, Currency: "USD"}
	tests := []struct {
		name string
		s    TxnState
		want Decision
	}{
		{"posted is reversed", TxnState{Facts: f, Live: true, Posted: true}, Decision{Reverse: true}},
		{"staged hold leaves the journal alone", TxnState{Facts: TxnFacts{Pending: true}}, Decision{}},
		{"reversed earlier, nothing live", TxnState{Facts: f, Posted: true}, Decision{}},
		{"duplicate takes its predecessor's entry", TxnState{Facts: f, Duplicate: true}, Decision{Release: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Remove(tt.s); got != tt.want {
				t.Fatalf("Remove = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWaiting(t *testing.T) {
	f := TxnFacts{ID: "t", Date: "2026-02-10", Amount: 1250, Currency: "USD"}
	const through = "2026-02-15"
	tests := []struct {
		name string
		kind Kind
		s    TxnState
		want bool
	}{
		{"deferred and untouched", Asset, TxnState{Facts: f}, true},
		{"zero amount still matched", Asset, TxnState{Facts: TxnFacts{Date: f.Date}}, true},
		{"removed later in the update", Asset, TxnState{Facts: TxnFacts{Date: f.Date, Removed: true}}, false},
		{"posted later in the update", Asset, TxnState{Facts: f, Live: true, Posted: true}, false},
		{"already matched", Asset, TxnState{Facts: f, Duplicate: true}, false},
		{"turned pending", Asset, TxnState{Facts: TxnFacts{Date: f.Date, Pending: true}}, false},
		{"moved past the window", Asset, TxnState{Facts: TxnFacts{Date: "2026-02-16"}}, false},
		{"account not posted", "", TxnState{Facts: f}, false},
	}
	for _, tt := range tests {
		if got := Waiting(tt.kind, tt.s, through); got != tt.want {
			t.Errorf("%s: Waiting = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEconomic(t *testing.T) {
	f := TxnFacts{ID: "t", Date: "2026-02-10", Amount: 1250, Currency: "USD"}
	for _, tt := range []struct {
		name string
		next func(*TxnFacts)
		want bool
	}{
		{"same", func(*TxnFacts) {}, false},
		{"removed flag alone", func(n *TxnFacts) { n.Removed = true }, false},
		{"amount", func(n *TxnFacts) { n.Amount = -1250 }, true},
		{"currency", func(n *TxnFacts) { n.Currency = "CAD" }, true},
		{"date", func(n *TxnFacts) { n.Date = "2026-02-09" }, true},
		{"pending", func(n *TxnFacts) { n.Pending = true }, true},
	} {
		n := f
		tt.next(&n)
		if got := Economic(f, n); got != tt.want {
			t.Errorf("%s: Economic = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLateHistory(t *testing.T) {
	open := OpeningFacts{Version: 1, Date: "2026-01-09", Natural: 102500, Currency: "USD"}
	txn := func(date string, amount int64) TxnFacts {
		return TxnFacts{ID: date, Date: date, Amount: amount, Currency: "USD"}
	}
	staged := &TxnFacts{ID: "hold", Date: "2026-01-12", Amount: 700, Currency: "USD", Pending: true}
	tests := []struct {
		name string
		kind Kind
		open OpeningFacts
		t    TxnFacts
		hold *TxnFacts
		want LateHistory
	}{
		{"before the opening, money out of an asset", Asset, open, txn("2026-01-05", 1000), nil, LateHistory{-1000, "2026-01-05"}},
		{"on the opening date", Asset, open, txn("2026-01-09", -300), nil, LateHistory{300, "2026-01-09"}},
		{"charge on a card raises the debt", Liability, open, txn("2026-01-05", 1000), nil, LateHistory{1000, "2026-01-05"}},
		{"after the opening is ordinary", Asset, open, txn("2026-01-10", 1000), nil, LateHistory{}},
		{"another currency is outside the opening", Asset, open, TxnFacts{Date: "2026-01-05", Amount: 1000, Currency: "EUR"}, nil, LateHistory{}},
		{"no opening yet", Asset, OpeningFacts{}, txn("2026-01-05", 1000), nil, LateHistory{}},
		{"settlement of a staged hold dated before the opening", Asset, open, txn("2026-01-05", 700), staged, LateHistory{}},
		{"settlement whose hold is no longer pending counts", Asset, open, txn("2026-01-05", 700), &TxnFacts{ID: "hold", Currency: "USD"}, LateHistory{-700, "2026-01-05"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l LateHistory
			l.Note(tt.kind, tt.open, tt.t, tt.hold)
			if l != tt.want {
				t.Fatalf("late history = %+v, want %+v", l, tt.want)
			}
		})
	}

	t.Run("accumulates, earliest date wins", func(t *testing.T) {
		var l LateHistory
		for _, f := range []TxnFacts{txn("2026-01-07", 100), txn("2026-01-03", 200), txn("2026-01-12", 400), txn("2026-01-08", -50)} {
			l.Note(Asset, open, f, nil)
		}
		if want := (LateHistory{-250, "2026-01-03"}); l != want {
			t.Fatalf("late history = %+v, want %+v", l, want)
		}
	})
}

func TestOpeningFor(t *testing.T) {
	tests := []struct {
		name            string
		kind            Kind
		current, posted int64
		earliest        string
		wantNat         int64
		wantDate        string
		wantErr         bool
	}{
		// A checking account holding 1000.00 after 25.00 left it opened at 1025.00.
		{name: "asset", kind: Asset, current: 100000, posted: 2500, earliest: "2026-01-10", wantNat: 102500, wantDate: "2026-01-09"},
		// A card owing 150.00 after 25.00 of charges owed 125.00.
		{name: "liability", kind: Liability, current: 15000, posted: 2500, earliest: "2026-01-10", wantNat: 12500, wantDate: "2026-01-09"},
		{name: "asset with a net deposit", kind: Asset, current: 100000, posted: -40000, earliest: "2026-03-01", wantNat: 60000, wantDate: "2026-02-28"},
		{name: "liability paid down", kind: Liability, current: 0, posted: -5000, earliest: "2026-01-01", wantNat: 5000, wantDate: "2025-12-31"},
		{name: "nothing posted: dated before today", kind: Asset, current: 5000, wantNat: 5000, wantDate: "2026-02-14"},
		{name: "bad date", kind: Asset, current: 5000, earliest: "2026-02-30", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nat, date, err := OpeningFor(tt.kind, tt.current, tt.posted, tt.earliest, "2026-02-15")
			if tt.wantErr {
				if err == nil {
					t.Fatal("bad date accepted")
				}
				return
			}
			if err != nil || nat != tt.wantNat || date != tt.wantDate {
				t.Fatalf("OpeningFor = %d, %s, %v; want %d, %s", nat, date, err, tt.wantNat, tt.wantDate)
			}
		})
	}
}

func TestRederive(t *testing.T) {
	open := OpeningFacts{Version: 1, Date: "2026-01-09", Natural: 102500, Currency: "USD"}
	nat, date, err := Rederive(open, LateHistory{Effect: -1000, Earliest: "2026-01-05"})
	if err != nil || nat != 103500 || date != "2026-01-04" {
		t.Fatalf("Rederive = %d, %s, %v; want 103500, 2026-01-04", nat, date, err)
	}
	if _, _, err := Rederive(open, LateHistory{Effect: 1}); err == nil {
		t.Fatal("re-derived without a late date")
	}

	// Re-deriving after late history gives the opening that anchoring with
	// that history already in would have given, for either kind.
	for _, k := range []Kind{Asset, Liability} {
		const current, anchored, late = 100000, 2500, 1700 // Plaid-sign sums
		nat1, date1, err := OpeningFor(k, current, anchored, "2026-01-10", "2026-02-15")
		if err != nil {
			t.Fatal(err)
		}
		var l LateHistory
		l.Note(k, OpeningFacts{Version: 1, Date: date1, Natural: nat1, Currency: "USD"},
			TxnFacts{Date: "2026-01-02", Amount: late, Currency: "USD"}, nil)
		got, gotDate, err := Rederive(OpeningFacts{Version: 1, Date: date1, Natural: nat1, Currency: "USD"}, l)
		if err != nil {
			t.Fatal(err)
		}
		want, wantDate, _ := OpeningFor(k, current, anchored+late, "2026-01-02", "2026-02-15")
		if got != want || gotDate != wantDate {
			t.Fatalf("%s: re-derived %d on %s, anchoring afresh gives %d on %s", k, got, gotDate, want, wantDate)
		}
	}
}

func TestPlanOpening(t *testing.T) {
	open := OpeningFacts{Version: 1, Date: "2026-01-09", Natural: 102500, Currency: "USD"}
	late := LateHistory{Effect: -1000, Earliest: "2026-01-05"}
	tests := []struct {
		name        string
		open        OpeningFacts
		provisional bool
		h           History
		canAnchor   bool
		initialFor  time.Duration
		late        LateHistory
		want        OpeningStep
	}{
		{"complete history anchors", OpeningFacts{}, false, HistoryComplete, true, 0, LateHistory{}, OpeningAnchor},
		{"no usable balance waits", OpeningFacts{}, false, HistoryComplete, false, 0, LateHistory{}, OpeningKeep},
		{"initial history waits", OpeningFacts{}, false, HistoryInitial, true, InitialGrace - time.Second, LateHistory{}, OpeningKeep},
		{"initial history past the grace anchors provisionally", OpeningFacts{}, false, HistoryInitial, true, InitialGrace, LateHistory{}, OpeningProvisional},
		{"not ready never anchors", OpeningFacts{}, false, HistoryNotReady, true, 1000 * time.Hour, LateHistory{}, OpeningKeep},
		{"late history before any opening changes nothing", OpeningFacts{}, false, HistoryNotReady, true, 0, late, OpeningKeep},
		{"provisional, history complete: anchored afresh", open, true, HistoryComplete, true, 0, late, OpeningReanchor},
		{"provisional without a usable balance re-derives", open, true, HistoryComplete, false, 0, late, OpeningRederive},
		{"provisional still initial keeps", open, true, HistoryInitial, true, 0, LateHistory{}, OpeningKeep},
		{"late history re-derives", open, false, HistoryComplete, true, 0, late, OpeningRederive},
		{"nothing late keeps", open, false, HistoryComplete, true, 0, LateHistory{}, OpeningKeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PlanOpening(tt.open, tt.provisional, tt.h, tt.canAnchor, tt.initialFor, tt.late); got != tt.want {
				t.Fatalf("PlanOpening = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCanAnchor(t *testing.T) {
	for _, tt := range []struct {
		name     string
		kind     Kind
		present  bool
		currency string
		want     bool
	}{
		{"asset balance in its currency", Asset, true, "USD", true},
		{"card balance", Liability, true, "USD", true},
		{"no current balance", Asset, false, "USD", false},
		{"balance in another currency", Asset, true, "EUR", false},
		{"account not posted", "", true, "USD", false},
	} {
		if got := CanAnchor(tt.kind, "USD", tt.present, tt.currency); got != tt.want {
			t.Errorf("%s: CanAnchor = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzChange drives one transaction through any sequence of bank reports
// (adds and modifies with amount, date and pending state drawn from small
// sets, and removals), applying what Change and Remove decide as the
// applier does, and checks after every report: a reversal only undoes a
// live entry and a posting never stacks on one; the transaction has a live
// entry exactly when it is present and posts; that entry carries its
// current economic facts; and only the first posting ever is marked first.
func FuzzChange(f *testing.F) {
	for _, seed := range [][]byte{
		{0x00}, {0x01, 0x00}, {0x00, 0x02, 0x00}, {0x08, 0x00}, {0x00, 0x03, 0x00, 0x03},
		{0x10, 0x00, 0x04, 0x01}, {0x00, 0x03, 0x03, 0x00}, {0x05, 0x0a, 0x03, 0x11, 0x02},
		{0x08, 0x0c}, {0x08, 0x10, 0x18}, {0x09, 0x08, 0x09}, {0x08, 0x0b, 0x08}, {0x08, 0x09, 0x08},
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, ops []byte, card bool) {
		k := Asset
		if card {
			k = Liability
		}
		var (
			s         *TxnState
			liveFacts TxnFacts
			everPost  bool
		)
		for i, op := range ops {
			if op&0x03 == 0x03 { // removal
				if s == nil || s.Facts.Removed {
					continue
				}
				d := Remove(*s)
				if d.Release || d.Post || d.Defer {
					t.Fatalf("op %d: removal of an ordinary transaction decided %+v", i, d)
				}
				if d.Reverse != s.Live {
					t.Fatalf("op %d: removal reverses %v, live entry %v", i, d.Reverse, s.Live)
				}
				s.Live, s.Facts.Removed = false, true
			} else {
				next := TxnFacts{ID: "t", Date: "2026-02-1" + strconv.Itoa(int(op>>2&1)), Currency: "USD",
					Amount: []int64{0, 500, -700, 500}[op>>3&3], Pending: op&0x01 == 1}
				if s != nil && !s.Facts.Removed && s.Facts == next {
					continue // a replay: the applier skips it before asking
				}
				d := Change(k, s, next, "")
				if d.Release || d.Defer || d.Duplicate {
					t.Fatalf("op %d: outside a re-link decided %+v", i, d)
				}
				if s == nil {
					s = &TxnState{}
				}
				if d.Reverse {
					if !s.Live {
						t.Fatalf("op %d: reverses with no live entry", i)
					}
					s.Live = false
				}
				if d.Post {
					if s.Live {
						t.Fatalf("op %d: posts over a live entry", i)
					}
					if d.FirstPosting == everPost {
						t.Fatalf("op %d: FirstPosting %v after earlier postings %v", i, d.FirstPosting, everPost)
					}
					s.Live, s.Posted, everPost, liveFacts = true, true, true, next
				}
				s.Facts = next
			}
			if want := !s.Facts.Removed && !s.Facts.Pending && s.Facts.Amount != 0; s.Live != want {
				t.Fatalf("op %d: live entry %v, want %v for %+v", i, s.Live, want, s.Facts)
			}
			if now := s.Facts; s.Live && (liveFacts.Amount != now.Amount || liveFacts.Date != now.Date ||
				liveFacts.Currency != now.Currency || liveFacts.Pending != now.Pending) {
				t.Fatalf("op %d: live entry carries %+v, the bank says %+v", i, liveFacts, s.Facts)
			}
		}
	})
}
