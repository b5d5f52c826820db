package ledger_test

import (
	"slices"
	"testing"

	"bankfeed/ledger"
)

func TestMatchDuplicates(t *testing.T) {
	tx := func(id, date string, amount int64, name string) ledger.MatchTxn {
		return ledger.MatchTxn{ID: id, Date: date, Amount: amount, Currency: "USD", Name: name}
	}
	coffee := func(id string) ledger.MatchTxn { return tx(id, "2026-03-02", 450, "Blue Bottle") }
	tests := []struct {
		name       string
		prev, next []ledger.MatchTxn
		want       []ledger.MatchPair
	}{
		{"same date and amount", []ledger.MatchTxn{tx("o1", "2026-03-01", 1200, "Uber")}, []ledger.MatchTxn{tx("n1", "2026-03-01", 1200, "Uber")},
			[]ledger.MatchPair{{"n1", "o1"}}},
		{"two identical coffees match two, not one", []ledger.MatchTxn{coffee("o1"), coffee("o2")}, []ledger.MatchTxn{coffee("n1"), coffee("n2")},
			[]ledger.MatchPair{{"n1", "o1"}, {"n2", "o2"}}},
		{"three coffees on the new Item, two on the old: one is new", []ledger.MatchTxn{coffee("o1"), coffee("o2")},
			[]ledger.MatchTxn{coffee("n1"), coffee("n2"), coffee("n3")}, []ledger.MatchPair{{"n1", "o1"}, {"n2", "o2"}}},
		{"the name breaks the tie", []ledger.MatchTxn{tx("o1", "2026-03-02", 450, "Blue Bottle"), tx("o2", "2026-03-02", 450, "Arco Fuel")},
			[]ledger.MatchTxn{tx("n1", "2026-03-02", 450, "Arco Fuel")}, []ledger.MatchPair{{"n1", "o2"}}},
		{"a renamed transaction still matches on date and amount", []ledger.MatchTxn{tx("o1", "2026-03-02", 450, "SQ *BLUE BOTTLE")},
			[]ledger.MatchTxn{tx("n1", "2026-03-02", 450, "Blue Bottle")}, []ledger.MatchPair{{"n1", "o1"}}},
		{"equal names pair before the rest", []ledger.MatchTxn{tx("o1", "2026-03-02", 450, "A"), tx("o2", "2026-03-02", 450, "Z")},
			[]ledger.MatchTxn{tx("n1", "2026-03-02", 450, "B"), tx("n2", "2026-03-02", 450, "Z")}, []ledger.MatchPair{{"n1", "o1"}, {"n2", "o2"}}},
		{"a cent apart is no match", []ledger.MatchTxn{tx("o1", "2026-03-02", 450, "Blue Bottle")}, []ledger.MatchTxn{tx("n1", "2026-03-02", 451, "Blue Bottle")}, nil},
		{"a day apart is no match", []ledger.MatchTxn{tx("o1", "2026-03-02", 450, "Blue Bottle")}, []ledger.MatchTxn{tx("n1", "2026-03-03", 450, "Blue Bottle")}, nil},
		{"another currency is no match", []ledger.MatchTxn{{ID: "o1", Date: "2026-03-02", Amount: 450, Currency: "CAD", Name: "X"}},
			[]ledger.MatchTxn{{ID: "n1", Date: "2026-03-02", Amount: 450, Currency: "USD", Name: "X"}}, nil},
		{"the sign counts: a refund is not the purchase", []ledger.MatchTxn{tx("o1", "2026-03-02", 450, "X")}, []ledger.MatchTxn{tx("n1", "2026-03-02", -450, "X")}, nil},
		{"nothing on the old side", nil, []ledger.MatchTxn{coffee("n1")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ledger.MatchDuplicates(tt.prev, tt.next)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			// The order of the inputs does not matter.
			rp, rn := slices.Clone(tt.prev), slices.Clone(tt.next)
			slices.Reverse(rp)
			slices.Reverse(rn)
			if again := ledger.MatchDuplicates(rp, rn); !slices.Equal(again, got) {
				t.Fatalf("reversed inputs give %v, want %v", again, got)
			}
		})
	}
}
