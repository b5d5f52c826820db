package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"bankfeed/ledger"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
)

// logPages are pages as plaid-go hands them to bankfeed, plus one built
// here with what the fake bank does not send: an unofficial currency,
// categories, text that encoding/json escapes, nil and empty lists.
func logPages(t *testing.T) []plaidapi.Page {
	t.Helper()
	srv := plaidfake.New(plaidfake.WithCredentials("cid", "sec"))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	tok := srv.Seed(1, 40, 3)[0]
	c := plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: "cid", Secret: "sec", Timeout: 5 * time.Second})
	var pages []plaidapi.Page
	for cursor := ""; ; {
		p, err := c.Sync(context.Background(), tok, cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, p)
		if !p.HasMore {
			break
		}
		cursor = p.NextCursor
	}
	btc := ledger.Currency{Code: "BTC", Exponent: 8, Unofficial: true}
	cur := int64(12)
	pages = append(pages, plaidapi.Page{
		Account: plaidapi.Account{ID: "acc<1>", Name: "R&D \"ops\"", Currency: btc, Current: &cur, LastUpdated: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)},
		Added: []plaidapi.Transaction{{ID: "t1", AccountID: "acc<1>", Amount: ledger.Money{Minor: -123456789, Currency: btc}, Date: "2026-01-02",
			Name: "<script>&\u2028", Category: []string{"Food", "Coffee <Shop>"}, Pending: true, PendingTransactionID: "p0", City: "Zürich"}},
		Modified: []plaidapi.Transaction{},
		Removed:  []plaidapi.Removed{{TransactionID: "t0", AccountID: "acc<1>"}},
	}, plaidapi.Page{})
	return pages
}

// TestPageLogJSON: the one-pass encoding of a logged page is encoding/json's
// byte for byte, and reading it back gives what decodePage gives.
func TestPageLogJSON(t *testing.T) {
	for i, p := range logPages(t) {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodePage(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("page %d encodes differently:\n got %s\nwant %s", i, got, want)
		}
		back, err := readLoggedPage(want)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := decodePage(want)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, slow) {
			t.Fatalf("page %d reads back differently:\n got %+v\nwant %+v", i, back, slow)
		}
	}
}

// TestPageLogJSONBadPages: a page that does not read cleanly fails exactly
// as decodePage fails.
func TestPageLogJSONBadPages(t *testing.T) {
	for _, payload := range []string{
		`{"added":[{"id":"t1","amount":{"value":"1.234","currency":{"code":"USD","exponent":2}}}]}`,
		`{"modified":[{"id":"t1","amount":{"value":"x","currency":{"code":"USD","exponent":2}}}]}`,
		`{"added":[null]}`,
		`{"added":[{"id":5}]}`,
		`{"added":`,
		`[]`,
	} {
		_, err := readLoggedPage([]byte(payload))
		_, want := decodePage([]byte(payload))
		if err == nil || want == nil || err.Error() != want.Error() {
			t.Errorf("%s: got error %v, want %v", payload, err, want)
		}
	}
}

// TestPageLogJSONShape: pageJSON is plaidapi.Page field for field, so a
// field added to Page cannot be dropped from the log unnoticed.
func TestPageLogJSONShape(t *testing.T) {
	pt, jt := reflect.TypeFor[plaidapi.Page](), reflect.TypeFor[pageJSON]()
	if pt.NumField() != jt.NumField() {
		t.Fatalf("plaidapi.Page has %d fields, pageJSON %d", pt.NumField(), jt.NumField())
	}
	for i := range pt.NumField() {
		pf, jf := pt.Field(i), jt.Field(i)
		if pf.Name != jf.Name || pf.Tag != jf.Tag {
			t.Errorf("field %d: plaidapi.Page has %s %q, pageJSON %s %q", i, pf.Name, pf.Tag, jf.Name, jf.Tag)
		}
	}
}
