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

// FuzzMatchDuplicates checks the match against an independent model: per
// group of equal date, currency and amount, as many pairs as the smaller
// side has, as many of them between equal names as the names allow, each
// transaction used once, and the same answer for the inputs in any order.
func FuzzMatchDuplicates(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0})
	f.Add([]byte{2, 1, 1, 3, 1, 1, 6, 2, 0, 7, 2, 1, 4, 0, 2, 5, 0, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		var prev, next []ledger.MatchTxn
		for i := 0; i+2 < len(in) && i < 3*40; i += 3 {
			// Few dates, amounts, currencies and names, so groups collide.
			tx := ledger.MatchTxn{ID: string(rune('a'+i/3%26)) + string(rune('0'+i/78)), Date: []string{"2026-03-01", "2026-03-02"}[in[i]>>1&1],
				Amount: int64(in[i+1]%3) * 450, Currency: []string{"USD", "CAD"}[in[i+1]>>2&1], Name: []string{"A", "B", "C"}[in[i+2]%3]}
			if in[i]&1 == 0 {
				tx.ID = "o" + tx.ID
				prev = append(prev, tx)
			} else {
				tx.ID = "n" + tx.ID
				next = append(next, tx)
			}
		}
		got := ledger.MatchDuplicates(prev, next)

		byID := map[string]ledger.MatchTxn{}
		for _, tx := range append(slices.Clone(prev), next...) {
			byID[tx.ID] = tx
		}
		type key struct {
			date, cur string
			amount    int64
		}
		k := func(tx ledger.MatchTxn) key { return key{tx.Date, tx.Currency, tx.Amount} }
		used := map[string]bool{}
		pairs, named := map[key]int{}, map[key]int{}
		for _, p := range got {
			o, okO := byID[p.Old]
			n, okN := byID[p.New]
			if !okO || !okN || p.Old[0] != 'o' || p.New[0] != 'n' || used[p.Old] || used[p.New] {
				t.Fatalf("pair %v is not of one old and one new transaction, each used once", p)
			}
			used[p.Old], used[p.New] = true, true
			if k(o) != k(n) {
				t.Fatalf("pair %v joins %+v and %+v", p, o, n)
			}
			pairs[k(o)]++
			if o.Name == n.Name {
				named[k(o)]++
			}
		}
		type nkey struct {
			key
			name string
		}
		olds, news := map[key]int{}, map[key]int{}
		oldNames, newNames := map[nkey]int{}, map[nkey]int{}
		for _, tx := range prev {
			olds[k(tx)]++
			oldNames[nkey{k(tx), tx.Name}]++
		}
		for _, tx := range next {
			news[k(tx)]++
			newNames[nkey{k(tx), tx.Name}]++
		}
		wantNamed := map[key]int{}
		for nk, n := range newNames {
			wantNamed[nk.key] += min(n, oldNames[nk])
		}
		for kk, n := range news {
			if pairs[kk] != min(n, olds[kk]) || named[kk] != wantNamed[kk] {
				t.Fatalf("group %+v: %d pairs (%d of equal names), want %d (%d)", kk, pairs[kk], named[kk], min(n, olds[kk]), wantNamed[kk])
			}
		}
		rp, rn := slices.Clone(prev), slices.Clone(next)
		slices.Reverse(rp)
		slices.Reverse(rn)
		if again := ledger.MatchDuplicates(rp, rn); !slices.Equal(again, got) {
			t.Fatalf("reversed inputs: %v, want %v", again, got)
		}
	})
}
