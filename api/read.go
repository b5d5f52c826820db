package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"bankfeed/store"
)

// The read side of the API (issue 15): businesses, bank transactions and
// ledger balances, for the platform only. Lists are walked with cursors.

// Page sizes of the cursor-paginated lists.
const (
	DefaultLimit = 100
	MaxLimit     = 500
)

// page is the envelope of a cursor-paginated list. NextCursor is null on
// the last page.
type page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// badParam answers 400 for a query parameter, naming it.
func badParam(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, "invalid_parameter", msg)
}

// queryOf parses the query string, refusing a parameter the route does
// not know (a typo such as ?statuss=removed must not return everything)
// and one given twice.
func queryOf(w http.ResponseWriter, r *http.Request, known ...string) (url.Values, bool) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		badParam(w, "the query string is malformed")
		return nil, false
	}
	for k, v := range q {
		if !contains(known, k) {
			takes := "no query parameters"
			if len(known) > 0 {
				takes = strings.Join(known, ", ")
			}
			writeError(w, http.StatusBadRequest, "unknown_parameter", fmt.Sprintf("unknown query parameter %q; this route takes %s", k, takes))
			return nil, false
		}
		if len(v) > 1 {
			badParam(w, fmt.Sprintf("query parameter %q is given %d times; give it once", k, len(v)))
			return nil, false
		}
	}
	return q, true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// limitOf reads ?limit= (default DefaultLimit, at most MaxLimit).
func limitOf(w http.ResponseWriter, q url.Values) (int, bool) {
	v := q.Get("limit")
	if v == "" {
		return DefaultLimit, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit || strconv.Itoa(n) != v {
		badParam(w, fmt.Sprintf("limit must be a whole number from 1 to %d", MaxLimit))
		return 0, false
	}
	return n, true
}

// Cursors are opaque to clients: base64url of "<kind>:<keyset>". Decoding
// is strict (the cursor must re-encode to itself) so that an edited cursor
// is a 400, never a silently different page.
func encodeCursor(kind, keyset string) *string {
	c := base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + keyset))
	return &c
}

var errCursor = errors.New("the cursor is not one this API returned; start again without a cursor")

func decodeCursor(c, kind string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != c {
		return "", errCursor
	}
	k, keyset, ok := strings.Cut(string(raw), ":")
	if !ok || k != kind || keyset == "" {
		return "", errCursor
	}
	return keyset, nil
}

func (s *server) listBusinesses(w http.ResponseWriter, r *http.Request) {
	q, ok := queryOf(w, r, "limit", "cursor")
	if !ok {
		return
	}
	limit, ok := limitOf(w, q)
	if !ok {
		return
	}
	after := ""
	if c := q.Get("cursor"); c != "" {
		var err error
		if after, err = decodeCursor(c, "b"); err != nil {
			badParam(w, "cursor: "+err.Error())
			return
		}
	}
	// One more than asked tells whether another page follows.
	ids, err := s.st.BusinessIDs(r.Context(), after, limit+1)
	if err != nil {
		internalError(w, err)
		return
	}
	out := page[businessOut]{Data: make([]businessOut, 0, min(len(ids), limit))}
	if len(ids) > limit {
		ids = ids[:limit]
		out.NextCursor = encodeCursor("b", ids[limit-1])
	}
	for _, id := range ids {
		b, err := s.st.Business(r.Context(), id)
		if err != nil {
			internalError(w, err)
			return
		}
		out.Data = append(out.Data, s.businessOut(b))
	}
	writeJSON(w, http.StatusOK, out)
}

// TxnFilterOf checks the filters `transactions list` and the API share; a
// problem comes back as one line naming the filter.
func TxnFilterOf(business, account, transaction, since, until, status string) (store.TxnFilter, error) {
	for _, d := range []struct{ name, v string }{{"since", since}, {"until", until}} {
		if d.v == "" {
			continue
		}
		if t, err := time.Parse(time.DateOnly, d.v); err != nil || t.Format(time.DateOnly) != d.v {
			return store.TxnFilter{}, fmt.Errorf("%s %q: use a date as YYYY-MM-DD", d.name, d.v)
		}
	}
	if since != "" && until != "" && since > until {
		return store.TxnFilter{}, fmt.Errorf("since %s is after until %s", since, until)
	}
	if status != "" && !contains(store.TxnStatuses, status) {
		return store.TxnFilter{}, fmt.Errorf("status %q: use one of %s", status, strings.Join(store.TxnStatuses, ", "))
	}
	return store.TxnFilter{BusinessID: business, AccountID: account, TransactionID: transaction, Since: since, Until: until, Status: status}, nil
}

func (s *server) listBankTransactions(w http.ResponseWriter, r *http.Request) {
	q, ok := queryOf(w, r, "account_id", "transaction_id", "since", "until", "status", "order", "limit", "cursor")
	if !ok {
		return
	}
	limit, ok := limitOf(w, q)
	if !ok {
		return
	}
	biz := r.PathValue("id")
	f, err := TxnFilterOf(biz, q.Get("account_id"), q.Get("transaction_id"), q.Get("since"), q.Get("until"), q.Get("status"))
	if err != nil {
		badParam(w, err.Error())
		return
	}
	order := q.Get("order")
	switch order {
	case "", "asc":
		order = "asc"
	case "desc":
		f.Desc = true
	default:
		badParam(w, fmt.Sprintf("order %q: use asc or desc", order))
		return
	}
	if c := q.Get("cursor"); c != "" {
		keyset, err := decodeCursor(c, order)
		if err == nil {
			f.After, err = strconv.ParseInt(keyset, 10, 64)
			if err != nil || f.After < 1 || strconv.FormatInt(f.After, 10) != keyset {
				err = errCursor
			}
		}
		if err != nil {
			badParam(w, "cursor: "+err.Error()+" (a cursor keeps the order it was made for)")
			return
		}
	}
	ctx := r.Context()
	if _, err := s.st.Business(ctx, biz); err != nil {
		s.storeError(w, err)
		return
	}
	f.Limit = limit + 1
	out := page[TransactionOut]{Data: make([]TransactionOut, 0, limit)}
	var last int64
	err = s.st.Transactions(ctx, f, func(row store.TxnRow) error {
		if len(out.Data) == limit {
			out.NextCursor = encodeCursor(order, strconv.FormatInt(last, 10))
			return nil
		}
		out.Data = append(out.Data, TransactionOf(row))
		last = row.ID
		return nil
	})
	if errors.Is(err, store.ErrUnknownAccount) || errors.Is(err, store.ErrUnknownTransaction) {
		writeError(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	if err != nil {
		internalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// ledgerBalances answers the objects of `ledger balances --json` for one
// business, a bare array as GET …/plaid/accounts is.
func (s *server) ledgerBalances(w http.ResponseWriter, r *http.Request) {
	if _, ok := queryOf(w, r); !ok {
		return
	}
	id := r.PathValue("id")
	if _, err := s.st.Business(r.Context(), id); err != nil {
		s.storeError(w, err)
		return
	}
	bals, err := ListLedgerBalances(r.Context(), s.st, id)
	if err != nil {
		internalError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, bals)
}
