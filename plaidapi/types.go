package plaidapi

import (
	"encoding/json"
	"fmt"
	"time"

	"bankfeed/ledger"
)

// Page is one /processor/transactions/sync response, converted and checked.
type Page struct {
	Account      Account       `json:"account"`
	Added        []Transaction `json:"added"`
	Modified     []Transaction `json:"modified"`
	Removed      []Removed     `json:"removed"`
	NextCursor   string        `json:"next_cursor"`
	HasMore      bool          `json:"has_more"`
	RequestID    string        `json:"request_id"`
	UpdateStatus string        `json:"update_status"`
}

// Transaction is a Plaid transaction with its amount made exact.
type Transaction struct {
	ID                   string       `json:"id"`
	AccountID            string       `json:"account_id"`
	Amount               ledger.Money `json:"amount"` // Plaid sign: positive = money out
	Date                 string       `json:"date"`
	AuthorizedDate       string       `json:"authorized_date"`
	Datetime             string       `json:"datetime"`
	AuthorizedDatetime   string       `json:"authorized_datetime"`
	Name                 string       `json:"name"`
	MerchantName         string       `json:"merchant_name"`
	OriginalDescription  string       `json:"original_description"`
	Pending              bool         `json:"pending"`
	PendingTransactionID string       `json:"pending_transaction_id"`
	PaymentChannel       string       `json:"payment_channel"`
	PFCPrimary           string       `json:"pfc_primary"`
	PFCDetailed          string       `json:"pfc_detailed"`
	PFCConfidence        string       `json:"pfc_confidence"`
	Category             []string     `json:"category"`
	CategoryID           string       `json:"category_id"`
	CheckNumber          string       `json:"check_number"`
	TransactionCode      string       `json:"transaction_code"`
	MerchantEntityID     string       `json:"merchant_entity_id"`
	Website              string       `json:"website"`
	LogoURL              string       `json:"logo_url"`
	AccountOwner         string       `json:"account_owner"`
	City                 string       `json:"city"`
	Region               string       `json:"region"`
	Country              string       `json:"country"`
	PostalCode           string       `json:"postal_code"`
}

// Removed names a transaction Plaid withdrew (e.g. a pending hold that posted
// under a new id, or never posted).
type Removed struct {
	TransactionID string `json:"transaction_id"`
	AccountID     string `json:"account_id"`
}

// Account is the one account a processor token reaches, balances in minor
// units of Currency.
type Account struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	OfficialName string          `json:"official_name"`
	Mask         string          `json:"mask"`
	Type         string          `json:"type"`
	Subtype      string          `json:"subtype"`
	Currency     ledger.Currency `json:"currency"`
	Current      *int64          `json:"current"`
	Available    *int64          `json:"available"`
	Limit        *int64          `json:"limit"`
	// LastUpdated is balances.last_updated_datetime (UTC), zero when Plaid
	// sent none; Plaid sends it only for Capital One.
	LastUpdated time.Time `json:"last_updated,omitzero"`
	// InstitutionID comes only from Client.Account.
	InstitutionID string `json:"institution_id,omitempty"`
	RequestID     string `json:"request_id"`
}

// The raw page log is JSON, and ledger's types carry no tags. These shapes
// keep the log snake_case and write amounts as exact decimal strings, as
// everywhere else in bankfeed.
type currencyJSON struct {
	Code       string `json:"code"`
	Exponent   int32  `json:"exponent"`
	Unofficial bool   `json:"unofficial"`
}

type moneyJSON struct {
	Value    string       `json:"value"`
	Currency currencyJSON `json:"currency"`
}

func toCurrencyJSON(c ledger.Currency) currencyJSON {
	return currencyJSON{Code: c.Code, Exponent: c.Exponent, Unofficial: c.Unofficial}
}

func (c currencyJSON) currency() ledger.Currency {
	return ledger.Currency{Code: c.Code, Exponent: c.Exponent, Unofficial: c.Unofficial}
}

func (t Transaction) MarshalJSON() ([]byte, error) {
	type plain Transaction
	return json.Marshal(struct {
		plain
		Amount moneyJSON `json:"amount"`
	}{
		plain:  plain(t),
		Amount: moneyJSON{Value: ledger.Format(t.Amount.Minor, t.Amount.Currency), Currency: toCurrencyJSON(t.Amount.Currency)},
	})
}

func (t *Transaction) UnmarshalJSON(b []byte) error {
	type plain Transaction
	aux := struct {
		*plain
		Amount moneyJSON `json:"amount"`
	}{plain: (*plain)(t)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	c := aux.Amount.Currency.currency()
	minor, err := ledger.ParseAmount(aux.Amount.Value, c)
	if err != nil {
		return fmt.Errorf("transaction %s amount: %w", t.ID, err)
	}
	t.Amount = ledger.Money{Minor: minor, Currency: c}
	return nil
}

func (a Account) MarshalJSON() ([]byte, error) {
	type plain Account
	return json.Marshal(struct {
		plain
		Currency currencyJSON `json:"currency"`
	}{plain: plain(a), Currency: toCurrencyJSON(a.Currency)})
}

func (a *Account) UnmarshalJSON(b []byte) error {
	type plain Account
	aux := struct {
		*plain
		Currency currencyJSON `json:"currency"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a.Currency = aux.Currency.currency()
	return nil
}
