package plaidapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
)

// The token and secret are distinctive, so that a leak into an error's
// text cannot be a coincidence; seeds also plant them in the body.
const (
	fuzzToken    = "processor-sandbox-fuzz-7f3a9c2e-0000-4c0f-9e1e-00000000beef"
	fuzzClientID = "fuzz-client-id"
	fuzzSecret   = "fuzz-secret-51d2e8a4"
	fuzzCursor   = "cursor-before-0"
)

// One server and one client per fuzz process: each worker is its own
// process and runs inputs one at a time, so the handler serves whatever
// body the current input set.
var fuzzSrv struct {
	once   sync.Once
	mu     sync.Mutex
	body   []byte
	client *plaidapi.Client
}

func fuzzClient() *plaidapi.Client {
	fuzzSrv.once.Do(func() {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			fuzzSrv.mu.Lock()
			body := fuzzSrv.body
			fuzzSrv.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(http.StatusOK)
			w.Write(body)
		}))
		// Never closed: it lives as long as the fuzz process.
		fuzzSrv.client = plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: fuzzClientID, Secret: fuzzSecret,
			Timeout: 5 * time.Second, RetryMax: 2, MaxBody: 1 << 20,
			Sleep: func(context.Context, time.Duration) error { return nil }})
	})
	return fuzzSrv.client
}

// fakePage asks a real plaidfake for a first sync page, in process.
func fakePage(f *testing.F) []byte {
	srv := plaidfake.New(plaidfake.WithCredentials(fuzzClientID, fuzzSecret))
	acct, tok := srv.AddAccount(plaidfake.Account{Name: "Checking", Mask: "0001", Type: "depository", Subtype: "checking", Opening: "1000.00"})
	srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "12.34", Date: "2026-10-01", Name: "Coffee", MerchantName: "Blue Bottle", PFCPrimary: "FOOD_AND_DRINK"})
	srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "-2500.00", Date: "2026-10-02", Name: "Payroll", AuthorizedDate: "2026-10-01"})
	srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "0.29", Date: "2026-10-03", Name: "Fee"})
	srv.AddTxn(plaidfake.Txn{AccountID: acct, Amount: "40.00", Date: "2026-10-04", Name: "Diner", Pending: true})
	req := httptest.NewRequest(http.MethodPost, "/processor/transactions/sync", strings.NewReader(`{"processor_token":"`+tok+`","count":3}`))
	req.Header.Set("PLAID-CLIENT-ID", fuzzClientID)
	req.Header.Set("PLAID-SECRET", fuzzSecret)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		f.Fatalf("plaidfake answered %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

const (
	fzAcct = `{"account_id":"acc1","name":"Checking","type":"depository","subtype":"checking","mask":"0001","official_name":null,` +
		`"balances":{"current":10.5,"available":null,"limit":null,"iso_currency_code":"USD","unofficial_currency_code":null}}`
	fzTxn = `{"transaction_id":"t1","account_id":"acc1","amount":12.34,"iso_currency_code":"USD","unofficial_currency_code":null,` +
		`"date":"2026-02-03","name":"x","pending":false,"payment_channel":"other"}`
)

func fzBody(acct, added, removed, tail string) string {
	return `{"account":` + acct + `,"added":[` + added + `],"modified":[],"removed":[` + removed + `],` + tail + `}`
}

const fzTail = `"next_cursor":"c2","has_more":false,"request_id":"req-1","transactions_update_status":"HISTORICAL_UPDATE_COMPLETE"`

// FuzzSyncResponse serves arbitrary bytes as a 200 sync response to the
// real client. It must never panic, and must either hand back a page that
// the ledger can trust or fail Fatal or Transient (a 200 is never an
// invalid token) without echoing the token or the secret.
func FuzzSyncResponse(f *testing.F) {
	valid := fakePage(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(bytes.Replace(valid, []byte(`"has_more":true`), []byte(`"has_more":"yes"`), 1))
	f.Add([]byte(fzBody(fzAcct, fzTxn, "", fzTail)))
	for _, s := range []string{
		"", "null", "{}", "[]", `"x"`, "{", "\x00\xff",
		fzBody(fzAcct, "", "", fzTail),
		fzBody(fzAcct, fzTxn, `{"transaction_id":"t0","account_id":"acc1"}`, fzTail),
		fzBody(fzAcct, fzTxn, "", `"next_cursor":"c2","has_more":false`),                             // no request_id
		fzBody(fzAcct, fzTxn, "", `"next_cursor":"`+fuzzCursor+`","has_more":true,"request_id":"r"`), // loops
		fzBody(fzAcct, fzTxn, "", `"next_cursor":"","has_more":true,"request_id":"r"`),
		fzBody(fzAcct, fzTxn, "", `"next_cursor":"","has_more":false,"request_id":"r"`),
		fzBody(`{"account_id":"","balances":{"iso_currency_code":"USD"}}`, "", "", fzTail),
		fzBody(`{"account_id":"acc1","balances":{}}`, "", "", fzTail),
		fzBody(`{"account_id":"acc1","balances":{"iso_currency_code":"USD","unofficial_currency_code":"BTC"}}`, "", "", fzTail),
		fzBody(`{"account_id":"acc1","balances":{"current":0.001,"iso_currency_code":"USD"}}`, "", "", fzTail),
		fzBody(`{"account_id":"acc1","balances":{"current":1e400,"iso_currency_code":"USD"}}`, "", "", fzTail),
		fzBody(`{"account_id":"acc1","balances":{"current":"10","iso_currency_code":"USD"}}`, "", "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"t1"`, `""`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"transaction_id":"t1",`, ``, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"account_id":"acc1"`, `"account_id":"acc2"`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"2026-02-03"`, `"2026-02-30"`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"2026-02-03"`, `null`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"pending":false`, `"pending":false,"authorized_date":"03/02/2026"`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `12.34`, `12.345`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `12.34`, `0.1000000000000000055511151231257827`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `12.34`, `1e400`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `12.34`, `92233720368547758.08`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `12.34`, `"12.34"`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"iso_currency_code":"USD"`, `"iso_currency_code":"JPY"`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"iso_currency_code":"USD","unofficial_currency_code":null`, `"iso_currency_code":null,"unofficial_currency_code":"DOGE"`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"iso_currency_code":"USD"`, `"iso_currency_code":null`, 1), "", fzTail),
		fzBody(fzAcct, fzTxn, `{"transaction_id":""}`, fzTail),
		fzBody(fzAcct, fzTxn, `{"transaction_id":"t9","account_id":"acc2"}`, fzTail),
		fzBody(fzAcct, fzTxn, `{"transaction_id":"t9"}`, `"next_cursor":2,"has_more":false,"request_id":"r"`),
		fzBody(fzAcct, `{"transaction_id":"t1","account_id":"acc1","amount":1,"iso_currency_code":"USD","date":"2026-02-03","name":"x","pending":false,"payment_channel":"other","location":{"city":7}}`, "", fzTail),
		// The token and the secret planted where error messages quote the body.
		fzBody(fzAcct, strings.Replace(fzTxn, `"account_id":"acc1"`, `"account_id":"`+fuzzToken+`"`, 1), "", fzTail),
		fzBody(fzAcct, strings.Replace(fzTxn, `"2026-02-03"`, `"`+fuzzSecret+`"`, 1), "", `"next_cursor":"c2","has_more":false,"request_id":"`+fuzzToken+`"`),
		fzBody(fzAcct, fzTxn, `{"transaction_id":"`+fuzzSecret+`","account_id":"acc2"}`, fzTail),
		`{"request_id":"` + fuzzSecret + `","account":7}`,
		`{"error_type":"INVALID_INPUT","error_code":"INVALID_PROCESSOR_TOKEN","error_message":"bad","request_id":"r"}`,
		`{"error_type":"ITEM_ERROR","error_code":"ITEM_LOGIN_REQUIRED","request_id":"r","display_message":null}`,
	} {
		f.Add([]byte(s))
	}
	c := fuzzClient()
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzSrv.mu.Lock()
		fuzzSrv.body = body
		fuzzSrv.mu.Unlock()
		page, err := c.Sync(context.Background(), fuzzToken, fuzzCursor, 500)
		if err != nil {
			checkSyncError(t, err)
			return
		}
		checkPage(t, page, body)
	})
}

func checkSyncError(t *testing.T, err error) {
	t.Helper()
	switch cl := plaidapi.ClassOf(err); cl {
	case plaidapi.Fatal, plaidapi.Transient:
	default:
		t.Fatalf("a 200 was classified %v: %v", cl, err)
	}
	var pe *plaidapi.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T is not a *plaidapi.Error: %v", err, err)
	}
	// What gets logged: the error's text and fields. The unwrapped cause
	// keeps its original text for errors.Is/As and is not checked here.
	for _, s := range []string{err.Error(), pe.Type, pe.Code, pe.RequestID, pe.Message} {
		if strings.Contains(s, fuzzToken) || strings.Contains(s, fuzzSecret) {
			t.Fatalf("error field leaks a credential: %q", s)
		}
	}
}

// wireAmounts is an independent reading of the amounts as plaid-go sees
// them: float64s.
type wireAmounts struct {
	Added, Modified []struct {
		ID     string  `json:"transaction_id"`
		Amount float64 `json:"amount"`
	}
}

func checkPage(t *testing.T, page plaidapi.Page, body []byte) {
	t.Helper()
	if page.RequestID == "" {
		t.Fatalf("page without request_id accepted: %+v", page)
	}
	if page.Account.ID == "" {
		// Only NOT_READY comes without an account: nothing in it, no cursor.
		if page.NextCursor != "" || page.HasMore || len(page.Added)+len(page.Modified)+len(page.Removed) > 0 {
			t.Fatalf("page without account id accepted: %+v", page)
		}
		return
	}
	if page.HasMore && (page.NextCursor == "" || page.NextCursor == fuzzCursor) {
		t.Fatalf("has_more with cursor %q accepted", page.NextCursor)
	}
	if _, err := ingested(page.Account.Currency); err != nil || page.Account.Currency.Code == "" {
		t.Fatalf("account currency %+v accepted: %v", page.Account.Currency, err)
	}
	var wire wireAmounts
	independent := json.Unmarshal(body, &wire) == nil && len(wire.Added) == len(page.Added) && len(wire.Modified) == len(page.Modified)
	for i, txns := range [][]plaidapi.Transaction{page.Added, page.Modified} {
		for j, tx := range txns {
			if tx.ID == "" {
				t.Fatalf("transaction without id accepted: %+v", tx)
			}
			if !ledger.ValidDate(tx.Date) {
				t.Fatalf("transaction %s: date %q accepted", tx.ID, tx.Date)
			}
			if tx.AuthorizedDate != "" && !ledger.ValidDate(tx.AuthorizedDate) {
				t.Fatalf("transaction %s: authorized_date %q accepted", tx.ID, tx.AuthorizedDate)
			}
			if tx.AccountID != page.Account.ID {
				t.Fatalf("transaction %s on account %q in a page for %q", tx.ID, tx.AccountID, page.Account.ID)
			}
			cur, err := ingested(tx.Amount.Currency)
			if err != nil || cur.Exponent != tx.Amount.Currency.Exponent {
				t.Fatalf("transaction %s: currency %+v (%v)", tx.ID, tx.Amount.Currency, err)
			}
			// Exact: the minor units read back through Format, and they are
			// the very float the wire carried.
			if back, err := ledger.ParseAmount(ledger.Format(tx.Amount.Minor, cur), cur); err != nil || back != tx.Amount.Minor {
				t.Fatalf("transaction %s: %d minor units do not round-trip (%d, %v)", tx.ID, tx.Amount.Minor, back, err)
			}
			if independent {
				w := wire.Added
				if i == 1 {
					w = wire.Modified
				}
				if got := ledger.Decimal(tx.Amount.Minor, cur).InexactFloat64(); got != w[j].Amount {
					t.Fatalf("transaction %s: wire amount %v became %d minor units of %s", tx.ID, w[j].Amount, tx.Amount.Minor, cur.Code)
				}
			}
		}
	}
	for _, r := range page.Removed {
		if r.TransactionID == "" || (r.AccountID != "" && r.AccountID != page.Account.ID) {
			t.Fatalf("removed entry %+v accepted for account %s", r, page.Account.ID)
		}
	}
	// The page must survive the raw page log: what is applied later is
	// what was checked now.
	payload, err := json.Marshal(page)
	if err != nil {
		t.Fatalf("page does not encode for the log: %v", err)
	}
	var again plaidapi.Page
	if err := json.Unmarshal(payload, &again); err != nil {
		t.Fatalf("logged page does not decode: %v\n%s", err, payload)
	}
	if len(again.Added) != len(page.Added) || len(again.Modified) != len(page.Modified) || len(again.Removed) != len(page.Removed) {
		t.Fatalf("logged page lost entries")
	}
	if again2, _ := json.Marshal(again); !bytes.Equal(again2, payload) {
		t.Fatalf("the page log does not round-trip:\n%s\n%s", payload, again2)
	}
}

// ingested resolves a converted currency again by the one rule, ingestion's.
func ingested(c ledger.Currency) (ledger.Currency, error) {
	if c.Unofficial {
		return ledger.LookupCurrency("", c.Code)
	}
	return ledger.LookupCurrency(c.Code, "")
}
