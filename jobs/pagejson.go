package jobs

import (
	"encoding/json"

	"bankfeed/ledger"
	"bankfeed/plaidapi"
)

// The page log holds a plaidapi.Page as encoding/json writes it. Each of
// its transactions goes through Transaction's MarshalJSON/UnmarshalJSON,
// which call encoding/json again for the one transaction: a logged page
// was scanned and validated twice over when written and three times when
// read back, and that was half the JSON work bankfeed adds to an ingest
// on top of plaid-go's own (the profile of BenchmarkInitialIngest). The
// shapes below are the same JSON in one pass: the same fields in the same
// order, the amount as plaidapi writes it. pagejson_test.go checks them
// byte for byte against encoding/json on plaidapi.Page.

// plainTxn has Transaction's fields and none of its methods, so
// encoding/json walks the fields itself.
type plainTxn plaidapi.Transaction

// txnJSON is a Transaction as its MarshalJSON writes it: its own fields,
// then the amount as an exact decimal string beside its currency.
type txnJSON struct {
	plainTxn
	Amount moneyJSON `json:"amount"`
}

type moneyJSON struct {
	Value    string       `json:"value"`
	Currency currencyJSON `json:"currency"`
}

type currencyJSON struct {
	Code       string `json:"code"`
	Exponent   int32  `json:"exponent"`
	Unofficial bool   `json:"unofficial"`
}

// pageJSON is plaidapi.Page field for field.
type pageJSON struct {
	Account      plaidapi.Account   `json:"account"`
	Added        []txnJSON          `json:"added"`
	Modified     []txnJSON          `json:"modified"`
	Removed      []plaidapi.Removed `json:"removed"`
	NextCursor   string             `json:"next_cursor"`
	HasMore      bool               `json:"has_more"`
	RequestID    string             `json:"request_id"`
	UpdateStatus string             `json:"update_status"`
}

// encodePage is json.Marshal(p), in one pass for a processor token's page.
func encodePage(p any) ([]byte, error) {
	pg, ok := p.(plaidapi.Page)
	if !ok {
		return json.Marshal(p) // an Item's page
	}
	return json.Marshal(pageJSON{Account: pg.Account, Added: toTxnJSON(pg.Added), Modified: toTxnJSON(pg.Modified),
		Removed: pg.Removed, NextCursor: pg.NextCursor, HasMore: pg.HasMore, RequestID: pg.RequestID, UpdateStatus: pg.UpdateStatus})
}

func toTxnJSON(ts []plaidapi.Transaction) []txnJSON {
	if ts == nil {
		return nil
	}
	out := make([]txnJSON, len(ts))
	for i, t := range ts {
		c := t.Amount.Currency
		out[i] = txnJSON{plainTxn: plainTxn(t), Amount: moneyJSON{Value: ledger.Format(t.Amount.Minor, c),
			Currency: currencyJSON{Code: c.Code, Exponent: c.Exponent, Unofficial: c.Unofficial}}}
	}
	return out
}

// readLoggedPage is decodePage in one pass. A page that does not read
// cleanly this way goes through decodePage, so a bad page fails with the
// same error as ever.
func readLoggedPage(payload []byte) (plaidapi.Page, error) {
	var pj pageJSON
	if err := json.Unmarshal(payload, &pj); err != nil {
		return decodePage(payload)
	}
	added, ok := fromTxnJSON(pj.Added)
	if !ok {
		return decodePage(payload)
	}
	modified, ok := fromTxnJSON(pj.Modified)
	if !ok {
		return decodePage(payload)
	}
	return plaidapi.Page{Account: pj.Account, Added: added, Modified: modified, Removed: pj.Removed,
		NextCursor: pj.NextCursor, HasMore: pj.HasMore, RequestID: pj.RequestID, UpdateStatus: pj.UpdateStatus}, nil
}

func fromTxnJSON(ts []txnJSON) ([]plaidapi.Transaction, bool) {
	if ts == nil {
		return nil, true
	}
	out := make([]plaidapi.Transaction, len(ts))
	for i := range ts {
		c := ledger.Currency{Code: ts[i].Amount.Currency.Code, Exponent: ts[i].Amount.Currency.Exponent,
			Unofficial: ts[i].Amount.Currency.Unofficial}
		minor, err := ledger.ParseAmount(ts[i].Amount.Value, c)
		if err != nil {
			return nil, false
		}
		out[i] = plaidapi.Transaction(ts[i].plainTxn)
		out[i].Amount = ledger.Money{Minor: minor, Currency: c}
	}
	return out, true
}
