package ledger

import (
	"cmp"
	"slices"
)

// MatchTxn is what the re-link match looks at in a bank transaction.
type MatchTxn struct {
	ID       string // Plaid transaction_id
	Date     string // YYYY-MM-DD
	Amount   int64  // minor units, Plaid's sign
	Currency string
	Name     string
}

// MatchPair says that the successor's transaction New is the same real
// transaction as the predecessor's Old.
type MatchPair struct {
	New, Old string
}

// MatchDuplicates pairs a re-linked account's transactions (next) with its
// predecessor's live posted ones (prev), one to one. Two transactions can
// only be one real transaction when date, currency and amount agree to the
// minor unit: a cent or a day apart is two transactions. Within such a
// group, equal names pair first (so two coffees and a refund of the same
// amount on one day pair coffee with coffee); the rest of the group pairs
// in (name, id) order, since Plaid may describe the same transaction
// differently on a new Item. Whatever has no partner is left out: it is
// history only one side holds. The result is sorted by New and does not
// depend on the order of the inputs.
func MatchDuplicates(prev, next []MatchTxn) []MatchPair {
	type key struct {
		date, currency string
		amount         int64
	}
	byName := func(x, y MatchTxn) int { return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.ID, y.ID)) }
	groups := map[key][2][]MatchTxn{}
	for _, t := range prev {
		k := key{t.Date, t.Currency, t.Amount}
		g := groups[k]
		g[0] = append(g[0], t)
		groups[k] = g
	}
	for _, t := range next {
		k := key{t.Date, t.Currency, t.Amount}
		if g, ok := groups[k]; ok {
			g[1] = append(g[1], t)
			groups[k] = g
		}
	}
	var out []MatchPair
	for _, g := range groups {
		olds, news := g[0], g[1]
		if len(news) == 0 {
			continue
		}
		slices.SortFunc(olds, byName)
		slices.SortFunc(news, byName)
		usedOld, usedNew := make([]bool, len(olds)), make([]bool, len(news))
		// Equal names first: both lists are in name order, so one merge
		// walk pairs each name's transactions in id order.
		for i, j := 0, 0; i < len(olds) && j < len(news); {
			switch c := cmp.Compare(olds[i].Name, news[j].Name); {
			case c < 0:
				i++
			case c > 0:
				j++
			default:
				out = append(out, MatchPair{New: news[j].ID, Old: olds[i].ID})
				usedOld[i], usedNew[j] = true, true
				i++
				j++
			}
		}
		i := 0
		for j := range news {
			if usedNew[j] {
				continue
			}
			for i < len(olds) && usedOld[i] {
				i++
			}
			if i == len(olds) {
				break
			}
			out = append(out, MatchPair{New: news[j].ID, Old: olds[i].ID})
			usedOld[i] = true
		}
	}
	slices.SortFunc(out, func(x, y MatchPair) int { return cmp.Compare(x.New, y.New) })
	return out
}
