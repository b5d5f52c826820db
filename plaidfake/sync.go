package plaidfake

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

type wireBalances struct {
	Available          json.RawMessage `json:"available"` // raw so amounts stay exactly as held
	Current            json.RawMessage `json:"current"`
	Limit              json.RawMessage `json:"limit"`
	ISOCurrency        *string         `json:"iso_currency_code"`
	UnofficialCurrency *string         `json:"unofficial_currency_code"`
	LastUpdated        *string         `json:"last_updated_datetime"`
}

type wireAccount struct {
	AccountID    string       `json:"account_id"`
	Balances     wireBalances `json:"balances"`
	Mask         *string      `json:"mask"`
	Name         string       `json:"name"`
	OfficialName *string      `json:"official_name"`
	Type         string       `json:"type"`
	Subtype      *string      `json:"subtype"`
}

type pfc struct {
	Primary         string `json:"primary"`
	Detailed        string `json:"detailed"`
	ConfidenceLevel string `json:"confidence_level"`
}

type wireTxn struct {
	AccountID            string          `json:"account_id"`
	AccountOwner         *string         `json:"account_owner"`
	Amount               json.RawMessage `json:"amount"`
	ISOCurrency          *string         `json:"iso_currency_code"`
	UnofficialCurrency   *string         `json:"unofficial_currency_code"`
	Category             []string        `json:"category"`
	CategoryID           *string         `json:"category_id"`
	CheckNumber          *string         `json:"check_number"`
	Counterparties       []struct{}      `json:"counterparties"`
	Date                 string          `json:"date"`
	Datetime             *string         `json:"datetime"`
	AuthorizedDate       *string         `json:"authorized_date"`
	AuthorizedDatetime   *string         `json:"authorized_datetime"`
	Location             json.RawMessage `json:"location"`
	Name                 string          `json:"name"`
	MerchantName         *string         `json:"merchant_name"`
	MerchantEntityID     *string         `json:"merchant_entity_id"`
	LogoURL              *string         `json:"logo_url"`
	Website              *string         `json:"website"`
	OriginalDescription  *string         `json:"original_description"`
	PaymentMeta          json.RawMessage `json:"payment_meta"`
	PaymentChannel       string          `json:"payment_channel"`
	Pending              bool            `json:"pending"`
	PendingTransactionID *string         `json:"pending_transaction_id"`
	PFC                  *pfc            `json:"personal_finance_category"`
	TransactionCode      *string         `json:"transaction_code"`
	TransactionID        string          `json:"transaction_id"`
}

type removedTxn struct {
	TransactionID string `json:"transaction_id"`
	AccountID     string `json:"account_id"`
}

type syncResp struct {
	Account    *wireAccount `json:"account"` // null while NOT_READY
	Added      []wireTxn    `json:"added"`
	Modified   []wireTxn    `json:"modified"`
	Removed    []removedTxn `json:"removed"`
	NextCursor string       `json:"next_cursor"`
	HasMore    bool         `json:"has_more"`
	RequestID  string       `json:"request_id"`
	Status     string       `json:"transactions_update_status"`
}

var (
	nullLocation    = json.RawMessage(`{"address":null,"city":null,"region":null,"postal_code":null,"country":null,"lat":null,"lon":null,"store_number":null}`)
	nullPaymentMeta = json.RawMessage(`{"by_order_of":null,"payee":null,"payer":null,"payment_method":null,"payment_processor":null,"ppd_id":null,"reason":null,"reference_number":null}`)
)

// orNull maps "" to JSON null, which is how Plaid spells "unknown".
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func rawNum(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func wire(t *Txn, originalDescription bool) wireTxn {
	w := wireTxn{
		AccountID: t.AccountID, Amount: rawNum(t.Amount),
		ISOCurrency: orNull(t.ISOCurrency), UnofficialCurrency: orNull(t.UnofficialCurrency),
		Counterparties: []struct{}{}, Date: t.Date, AuthorizedDate: orNull(t.AuthorizedDate),
		Location: nullLocation, Name: t.Name, MerchantName: orNull(t.MerchantName), PaymentMeta: nullPaymentMeta,
		PaymentChannel: t.PaymentChannel, Pending: t.Pending, PendingTransactionID: orNull(t.PendingTransactionID),
		TransactionID: t.ID,
	}
	if originalDescription {
		w.OriginalDescription = orNull(strings.ToUpper(t.Name))
	}
	if t.PFCPrimary != "" {
		w.PFC = &pfc{t.PFCPrimary, cmp.Or(t.PFCDetailed, t.PFCPrimary+"_OTHER"), "VERY_HIGH"}
	} else {
		w.PFC = guessPFC(t.Amount)
	}
	return w
}

// guessPFC stands in for Plaid's enrichment, which categorises every
// transaction by default now: a low-confidence guess from the direction.
func guessPFC(amount string) *pfc {
	if strings.HasPrefix(amount, "-") {
		return &pfc{"TRANSFER_IN", "TRANSFER_IN_DEPOSIT", "LOW"}
	}
	return &pfc{"GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE", "LOW"}
}

// wire shows the account with the balances sm, fetched from the bank at.
func (a *account) wire(sm *sums, at time.Time) *wireAccount {
	cur, avail := a.format(a.current(sm)), a.available(sm)
	switch {
	case a.NullCurrent:
		// Plaid guarantees available when current is null.
		avail, cur = cmp.Or(avail, cur), ""
	case a.NullAvailable:
		avail = ""
	}
	w := &wireAccount{
		AccountID: a.ID, Mask: orNull(a.Mask), Name: a.Name, OfficialName: orNull(a.OfficialName),
		Type: a.Type, Subtype: orNull(a.Subtype),
		Balances: wireBalances{
			Available: rawNum(avail), Current: rawNum(cur), Limit: rawNum(a.Limit),
			ISOCurrency: orNull(a.ISOCurrency), UnofficialCurrency: orNull(a.UnofficialCurrency),
		},
	}
	// Plaid returns last_updated_datetime only for Capital One.
	if a.InstitutionID == capitalOne {
		w.Balances.LastUpdated = ptr(at.UTC().Format(time.RFC3339))
	}
	return w
}

// pulledWire is the account as sync and /processor/account/get show it.
func (s *Server) pulledWire(a *account) *wireAccount {
	_, sm, at := s.view(a)
	return a.wire(sm, at)
}

type changeKind int8

const (
	added changeKind = iota
	modified
	removed
)

type change struct {
	seq  int64
	kind changeKind
	id   string
	a    *account
	t    *Txn // state at the loop's end; nil when removed
}

type changeKey struct {
	from, to int64
	pf, pt   phase
	only     *account // nil: the whole Item
}

// visible is the transaction as sync shows it in phase p: nil when it is
// outside the days_requested window, or not yet delivered while the history
// is only at its initial update. Both bounds are fixed once set, so
// visibility changes only with a mutation or a phase.
func (it *item) visible(t *Txn, p phase) *Txn {
	if t == nil || it.windowFrom != "" && t.Date < it.windowFrom {
		return nil
	}
	if p == phaseInitial && (t.LateHistory || t.Date < it.initialFrom) {
		return nil
	}
	return t
}

// netChange lists what changed in the Item (or only in one of its
// accounts) between two seqs, seen in phases pf and pt, the way Plaid
// reports it: each transaction at most once, judged only by its states at
// both ends. Loops reuse it page after page, which keeps a full sync
// O(total).
func (it *item) netChange(from, to int64, pf, pt phase, only *account) []change {
	key := changeKey{from, to, pf, pt, only}
	if c, ok := it.cache[key]; ok {
		return c
	}
	type touched struct {
		seq int64
		a   *account
	}
	last := map[string]touched{}
	if pf != pt {
		// The historical update reveals transactions no mutation touched.
		for _, a := range it.accounts {
			if only != nil && a != only {
				continue
			}
			for id, vs := range a.hist {
				for i := len(vs) - 1; i >= 0; i-- {
					if vs[i].seq <= to {
						last[id] = touched{vs[i].seq, a}
						break
					}
				}
			}
		}
	} else {
		i := sort.Search(len(it.log), func(i int) bool { return it.log[i].seq > from })
		for _, e := range it.log[i:] {
			if e.seq > to {
				break
			}
			if only == nil || e.a == only {
				last[e.id] = touched{e.seq, e.a}
			}
		}
	}
	out := make([]change, 0, len(last))
	for id, tc := range last {
		a := tc.a
		old, cur := it.visible(a.at(id, from), pf), it.visible(a.at(id, to), pt)
		c := change{seq: tc.seq, id: id, a: a, t: cur}
		switch {
		case old == nil && cur != nil:
			c.kind = added
		case old != nil && cur == nil:
			c.kind = removed
		case old != nil && *old != *cur:
			c.kind = modified
		default:
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y change) int { return cmp.Or(cmp.Compare(x.seq, y.seq), strings.Compare(x.id, y.id)) })
	if len(it.cache) >= 8 || it.cache == nil {
		it.cache = map[changeKey][]change{}
	}
	it.cache[key] = out
	return out
}

// changedSince reports whether a mutation in (from, to] touched the Item,
// or only the account when one is given.
func (it *item) changedSince(from, to int64, only *account) bool {
	i := sort.Search(len(it.log), func(i int) bool { return it.log[i].seq > from })
	for ; i < len(it.log) && it.log[i].seq <= to; i++ {
		if only == nil || it.log[i].a == only {
			return true
		}
	}
	return false
}

// cursor is where a client stands in a scope (an account for a processor
// token, an Item for an access token): base is the Item seq its last
// complete sync reached, seen in phase pb; inside a loop (mid), to and pt
// are the seq and phase the loop started at and off how many changes it has
// been given.
type cursor struct {
	scope    string
	base, to int64
	pb, pt   phase
	off      int
	mid      bool
}

func (c cursor) String() string {
	mid := 0
	if c.mid {
		mid = 1
	}
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "pf2|%d|%d|%d|%d|%d|%d|%s", mid, c.base, c.to, c.off, c.pb, c.pt, c.scope))
}

func parseCursor(s string) (c cursor, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(s) > 256 {
		return c, false
	}
	var mid int
	f := strings.SplitN(string(raw), "|", 8)
	if len(f) != 8 || f[0] != "pf2" {
		return c, false
	}
	if _, err := fmt.Sscanf(strings.Join(f[1:7], " "), "%d %d %d %d %d %d", &mid, &c.base, &c.to, &c.off, &c.pb, &c.pt); err != nil ||
		mid > 1 || c.pb < phaseInitial || c.pb > phaseHistorical || c.pt < c.pb || c.pt > phaseHistorical {
		return c, false
	}
	c.scope, c.mid = f[7], mid == 1
	return c, true
}

// initItem fixes the history window as the Item's first sync call does.
func (s *Server) initItem(it *item, tok string, req *request) *apiError {
	var o SyncOptions
	if req.Options != nil {
		o.Sent = true
		o.DaysRequested = deref(req.Options.DaysRequested)
		o.IncludeOriginalDescription = deref(req.Options.IncludeOriginalDescription)
		if d := req.Options.DaysRequested; d != nil && (*d < 1 || *d > 730) {
			return plaidError("INVALID_FIELD", "days_requested must be between 1 and 730")
		}
	}
	s.syncOpts[tok] = o
	it.synced = true
	if it.days == 0 {
		s.fixWindow(it, cmp.Or(o.DaysRequested, 90))
	}
	return nil
}

// fixWindow initialises Transactions for the Item with days of history,
// for good: at its first sync, or when it was linked with transactions.
func (s *Server) fixWindow(it *item, days int) {
	it.days = days
	if s.clock != nil {
		it.windowFrom = s.now().AddDate(0, 0, -days).Format(time.DateOnly)
	}
}

// page is one answer of a sync loop, whichever token asked.
type page struct {
	added, modified []wireTxn
	removed         []removedTxn
	next            string
	hasMore         bool
	status          phase
}

// syncPage answers one sync call over the Item, or over one of its
// accounts (only) for a processor token; scope names the cursor's owner.
// Processor and Item sync share it, so both follow the same history,
// pull, window and mutation rules.
func (s *Server) syncPage(it *item, only *account, scope, tok string, req *request) (*page, *apiError) {
	count := 100
	if req.Count != nil {
		if count = *req.Count; count < 1 || count > 500 {
			return nil, plaidError("INVALID_FIELD", "count must be between 1 and 500")
		}
	}
	if pe := s.initItem(it, tok, req); pe != nil {
		return nil, pe
	}
	pg := &page{added: []wireTxn{}, modified: []wireTxn{}, removed: []removedTxn{}, status: it.phase}
	if it.phase == phaseNotReady {
		// Plaid's answer while the Item's first pull is under way.
		return pg, nil
	}
	seq := s.viewSeq(it)
	c := cursor{scope: scope, pb: it.phase}
	if cur := deref(req.Cursor); cur != "" {
		var ok bool
		if c, ok = parseCursor(cur); !ok || c.scope != scope || c.base < 0 || c.base > seq || c.pt > it.phase ||
			c.mid && (c.to < c.base || c.to > seq || c.off < 0) {
			return nil, plaidError("INVALID_FIELD", "cursor is invalid or does not belong to this token")
		}
	}
	if !c.mid {
		c.to, c.pt, c.off = seq, it.phase, 0
	} else if (it.changedSince(c.to, seq, only) || c.pt != it.phase) && s.checkMutation {
		return nil, plaidError("TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
			"underlying transaction data changed since last page was fetched. Please restart pagination from last update.")
	}
	changes := it.netChange(c.base, c.to, c.pb, c.pt, only)
	if c.off > len(changes) {
		return nil, plaidError("INVALID_FIELD", "cursor is invalid or does not belong to this token")
	}
	end := min(c.off+count, len(changes))
	pg.status = c.pt
	desc := s.syncOpts[tok].IncludeOriginalDescription
	for _, ch := range changes[c.off:end] {
		switch ch.kind {
		case added:
			pg.added = append(pg.added, wire(ch.t, desc))
		case modified:
			pg.modified = append(pg.modified, wire(ch.t, desc))
		case removed:
			pg.removed = append(pg.removed, removedTxn{ch.id, ch.a.ID})
		}
	}
	if pg.hasMore = end < len(changes); pg.hasMore {
		pg.next = cursor{scope: scope, base: c.base, to: c.to, pb: c.pb, pt: c.pt, off: end, mid: true}.String()
	} else {
		pg.next = cursor{scope: scope, base: c.to, pb: c.pt, pt: c.pt}.String()
	}
	return pg, nil
}

// sync answers /processor/transactions/sync for the token's account.
func (s *Server) sync(a *account, req *request, rid string) (*syncResp, *apiError) {
	pg, pe := s.syncPage(a.it, a, a.ID, req.ProcessorToken, req)
	if pe != nil {
		return nil, pe
	}
	r := &syncResp{Added: pg.added, Modified: pg.modified, Removed: pg.removed, NextCursor: pg.next,
		HasMore: pg.hasMore, RequestID: rid, Status: pg.status.String()}
	if pg.status != phaseNotReady {
		r.Account = s.pulledWire(a)
	}
	return r, nil
}
