package plaidfake

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// ItemID is the id of the Item holding the account.
func (s *Server) ItemID(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acct(accountID).it.id
}

// Relink links the account's bank again, as a customer does after a login
// broke: a new Item at the same institution holding a new account (same
// name, mask, type, subtype, currency and official name, a new account_id)
// with a copy of the history dated within the last days days of the fake's
// now (days <= 0: all of it), under new transaction ids, and the same bank
// balance. Pendings are copied as pendings. Later AddTxn on the new account
// is new activity. The old Item's tokens answer ITEM_LOGIN_REQUIRED from
// then on.
//
// The copy may reach further back than the old Item ever delivered: the
// new Item fixes its own days_requested window at its first sync, as Plaid
// does. A staged account's copy is staged again (NOT_READY until
// AdvanceHistory), as a new Item's history is.
func (s *Server) Relink(accountID string, days int) (newAccountID, newToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := ""
	if days > 0 {
		from = s.now().AddDate(0, 0, -days).Format(time.DateOnly)
	}
	a := s.relinkLocked(s.acct(accountID), from)
	return a.ID, s.newToken(a)
}

// relinkLocked copies old into a new Item of its own and breaks old's Item.
func (s *Server) relinkLocked(old *account, from string) *account {
	a := s.copyAccountLocked(old, from, nil)
	s.pullLocked(a.it) // linking fetches the history
	old.it.err = "ITEM_LOGIN_REQUIRED"
	return a
}

// RelinkItem is Relink for an Item bankfeed linked itself: a new Item at
// the same institution with a copy of every account of the old one (new
// ids, the last days days of history, same balances), which Link would
// hand over as the public token returned; the old Item's access token and
// processor tokens answer ITEM_LOGIN_REQUIRED from then on. The new Item
// keeps the old one's webhook; its days_requested window is fixed by its
// first sync.
func (s *Server) RelinkItem(itemID string, days int) (public string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.item(itemID)
	from := ""
	if days > 0 {
		from = s.now().AddDate(0, 0, -days).Format(time.DateOnly)
	}
	it := s.newItemLocked(old.institution, HistoryReady)
	it.webhook = old.webhook
	for _, a := range old.accounts {
		s.copyAccountLocked(a, from, it)
	}
	s.pullLocked(it)
	old.err = "ITEM_LOGIN_REQUIRED"
	public = s.uuid("public")
	s.public[public] = &publicToken{it: it}
	return public
}

// copyAccountLocked copies old, with its transactions dated from `from`
// on under new ids, into the Item into (nil: a new Item of its own).
func (s *Server) copyAccountLocked(old *account, from string, into *item) *account {
	acc := old.Account
	acc.ID, acc.Opening = "", "0"
	a := s.addToItemLocked(into, acc)
	a.scale = old.scale

	var src []*Txn
	for id := range old.hist {
		if t := old.live(id); t != nil && t.Date >= from {
			src = append(src, t)
		}
	}
	slices.SortFunc(src, func(x, y *Txn) int { return cmp.Or(strings.Compare(x.Date, y.Date), strings.Compare(x.ID, y.ID)) })
	ids := make(map[string]string, len(src))
	for _, t := range src {
		ids[t.ID] = s.newID()
	}
	edits := make([]edit, 0, len(src))
	for _, t := range src {
		c := *t
		// A link to a pending outside the copy would point at nothing.
		c.ID, c.AccountID, c.PendingTransactionID = ids[t.ID], a.ID, ids[t.PendingTransactionID]
		p := s.prepare(c, a)
		edits = append(edits, edit{p.ID, p})
	}
	if len(edits) > 0 {
		a.record(s.now(), edits...)
	}
	// The same bank, so the same balance: current is linear in the
	// opening, which starts at 0 here.
	want, got := old.current(&old.sums), a.current(&a.sums)
	a.opening.add(*want, 1).add(*got, -1)
	return a
}
