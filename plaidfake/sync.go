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
	t    *Txn // state at the loop's end; nil when removed
}

type changeKey struct {
	from, to int64
	pf, pt   phase
}

// visible is the transaction as sync shows it in phase p: nil when it is
// outside the days_requested window, or not yet delivered while the history
// is only at its initial update. Both bounds are fixed once set, so
// visibility changes only with a mutation or a phase.
func (a *account) visible(t *Txn, p phase) *Txn {
	if t == nil || a.windowFrom != "" && t.Date < a.windowFrom {
		return nil
	}
	if p == phaseInitial && (t.LateHistory || t.Date < a.initialFrom) {
		return nil
	}
	return t
}

// netChange lists what changed between two seqs (seen in phases pf and pt)
// the way Plaid reports it: each transaction at most once, judged only by
// its states at both ends. Loops reuse it page after page, which keeps a
// full sync O(total).
func (a *account) netChange(from, to int64, pf, pt phase) []change {
	key := changeKey{from, to, pf, pt}
	if c, ok := a.cache[key]; ok {
		return c
	}
	last := map[string]int64{}
	if pf != pt {
		// The historical update reveals transactions no mutation touched.
		for id, vs := range a.hist {
			for i := len(vs) - 1; i >= 0; i-- {
				if vs[i].seq <= to {
					last[id] = vs[i].seq
					break
				}
			}
		}
	} else {
		i := sort.Search(len(a.log), func(i int) bool { return a.log[i].seq > from })
		for _, e := range a.log[i:] {
			if e.seq > to {
				break
			}
			last[e.id] = e.seq
		}
	}
	out := make([]change, 0, len(last))
	for id, seq := range last {
		old, cur := a.visible(a.at(id, from), pf), a.visible(a.at(id, to), pt)
		c := change{seq: seq, id: id, t: cur}
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
	if len(a.cache) >= 8 || a.cache == nil {
		a.cache = map[changeKey][]change{}
	}
	a.cache[key] = out
	return out
}

// cursor is where a client stands: base is the seq its last complete sync
// reached, seen in phase pb; inside a loop (mid), to and pt are the seq and
// phase the loop started at and off how many changes it has been given.
type cursor struct {
	acct     string
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
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "pf2|%d|%d|%d|%d|%d|%d|%s", mid, c.base, c.to, c.off, c.pb, c.pt, c.acct))
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
	c.acct, c.mid = f[7], mid == 1
	return c, true
}

// initItem fixes the history window as the Item's first sync call does.
func (s *Server) initItem(a *account, req *request) *apiError {
	var o SyncOptions
	if req.Options != nil {
		o.Sent = true
		o.DaysRequested = deref(req.Options.DaysRequested)
		o.IncludeOriginalDescription = deref(req.Options.IncludeOriginalDescription)
		if d := req.Options.DaysRequested; d != nil && (*d < 1 || *d > 730) {
			return plaidError("INVALID_FIELD", "days_requested must be between 1 and 730")
		}
	}
	s.syncOpts[req.ProcessorToken] = o
	if a.days == 0 {
		a.days = cmp.Or(o.DaysRequested, 90)
		if s.clock != nil {
			a.windowFrom = s.now().AddDate(0, 0, -a.days).Format(time.DateOnly)
		}
	}
	return nil
}

func (s *Server) sync(a *account, req *request, rid string) (*syncResp, *apiError) {
	count := 100
	if req.Count != nil {
		if count = *req.Count; count < 1 || count > 500 {
			return nil, plaidError("INVALID_FIELD", "count must be between 1 and 500")
		}
	}
	if pe := s.initItem(a, req); pe != nil {
		return nil, pe
	}
	if a.phase == phaseNotReady {
		// Plaid's answer while the Item's first pull is under way.
		return &syncResp{Added: []wireTxn{}, Modified: []wireTxn{}, Removed: []removedTxn{},
			RequestID: rid, Status: a.phase.String()}, nil
	}
	seq, _, _ := s.view(a)
	c := cursor{acct: a.ID, pb: a.phase}
	if cur := deref(req.Cursor); cur != "" {
		var ok bool
		if c, ok = parseCursor(cur); !ok || c.acct != a.ID || c.base < 0 || c.base > seq || c.pt > a.phase ||
			c.mid && (c.to < c.base || c.to > seq || c.off < 0) {
			return nil, plaidError("INVALID_FIELD", "cursor is invalid or does not belong to this processor token")
		}
	}
	if !c.mid {
		c.to, c.pt, c.off = seq, a.phase, 0
	} else if (c.to != seq || c.pt != a.phase) && s.checkMutation {
		return nil, plaidError("TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
			"underlying transaction data changed since last page was fetched. Please restart pagination from last update.")
	}
	changes := a.netChange(c.base, c.to, c.pb, c.pt)
	if c.off > len(changes) {
		return nil, plaidError("INVALID_FIELD", "cursor is invalid or does not belong to this processor token")
	}
	end := min(c.off+count, len(changes))
	r := &syncResp{Account: s.pulledWire(a), Added: []wireTxn{}, Modified: []wireTxn{}, Removed: []removedTxn{},
		RequestID: rid, Status: c.pt.String()}
	desc := s.syncOpts[req.ProcessorToken].IncludeOriginalDescription
	for _, ch := range changes[c.off:end] {
		switch ch.kind {
		case added:
			r.Added = append(r.Added, wire(ch.t, desc))
		case modified:
			r.Modified = append(r.Modified, wire(ch.t, desc))
		case removed:
			r.Removed = append(r.Removed, removedTxn{ch.id, a.ID})
		}
	}
	if r.HasMore = end < len(changes); r.HasMore {
		r.NextCursor = cursor{acct: a.ID, base: c.base, to: c.to, pb: c.pb, pt: c.pt, off: end, mid: true}.String()
	} else {
		r.NextCursor = cursor{acct: a.ID, base: c.to, pb: c.pt, pt: c.pt}.String()
	}
	return r, nil
}
