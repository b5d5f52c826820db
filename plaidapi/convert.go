package plaidapi

import (
	"fmt"
	"time"

	"github.com/plaid/plaid-go/v29/plaid"
	"github.com/shopspring/decimal"

	"bankfeed/ledger"
)

// plaid-go decodes leniently (plaid-facts §2): a missing required field is a
// zero value, not an error. Everything below checks what the ledger relies on
// and turns each float into exact minor units, once, here.

// convertPage checks and converts one sync response. cursor is the cursor the
// request was sent with.
func convertPage(r plaid.ProcessorTransactionsSyncResponse, cursor string) (Page, error) {
	if r.RequestId == "" {
		return Page{}, fmt.Errorf("response has no request_id")
	}
	if notReady(r) {
		return Page{RequestID: r.RequestId, UpdateStatus: string(r.TransactionsUpdateStatus)}, nil
	}
	acct, err := convertAccount(r.Account, r.RequestId)
	if err != nil {
		return Page{}, err
	}
	if r.HasMore && (r.NextCursor == "" || r.NextCursor == cursor) {
		return Page{}, fmt.Errorf("has_more with an unchanged cursor: refusing to loop")
	}
	added, err := convertTransactions(r.Added, acct.ID)
	if err != nil {
		return Page{}, fmt.Errorf("added: %w", err)
	}
	modified, err := convertTransactions(r.Modified, acct.ID)
	if err != nil {
		return Page{}, fmt.Errorf("modified: %w", err)
	}
	removed, err := convertRemoved(r.Removed, acct.ID)
	if err != nil {
		return Page{}, err
	}
	return Page{
		Account:      acct,
		Added:        added,
		Modified:     modified,
		Removed:      removed,
		NextCursor:   r.NextCursor,
		HasMore:      r.HasMore,
		RequestID:    r.RequestId,
		UpdateStatus: string(r.TransactionsUpdateStatus),
	}, nil
}

// notReady recognises Plaid's answer for an Item whose first pull is still
// under way (status NOT_READY): no cursor, nothing in it, and account null,
// which plaid-go turns into a zero AccountBase. Any other page without an
// account is still refused.
func notReady(r plaid.ProcessorTransactionsSyncResponse) bool {
	return r.NextCursor == "" && !r.HasMore && len(r.Added) == 0 && len(r.Modified) == 0 && len(r.Removed) == 0 &&
		r.Account.AccountId == ""
}

func convertAccount(a plaid.AccountBase, requestID string) (Account, error) {
	if requestID == "" {
		return Account{}, fmt.Errorf("response has no request_id")
	}
	if a.AccountId == "" {
		return Account{}, fmt.Errorf("response has no account.account_id")
	}
	b := a.Balances
	cur, err := ledger.LookupCurrency(b.GetIsoCurrencyCode(), b.GetUnofficialCurrencyCode())
	if err != nil {
		return Account{}, fmt.Errorf("account %s balances: %w", a.AccountId, err)
	}
	out := Account{
		ID:           a.AccountId,
		Name:         a.Name,
		OfficialName: str(a.OfficialName.Get()),
		Mask:         str(a.Mask.Get()),
		Type:         string(a.Type),
		Currency:     cur,
		RequestID:    requestID,
	}
	if t := b.LastUpdatedDatetime.Get(); t != nil {
		out.LastUpdated = t.UTC()
	}
	if st := a.Subtype.Get(); st != nil {
		out.Subtype = string(*st)
	}
	for _, f := range []struct {
		name string
		in   plaid.NullableFloat64
		out  **int64
	}{
		{"current", b.Current, &out.Current},
		{"available", b.Available, &out.Available},
		{"limit", b.Limit, &out.Limit},
	} {
		if *f.out, err = balance(f.in, cur); err != nil {
			return Account{}, fmt.Errorf("account %s %s balance: %w", a.AccountId, f.name, err)
		}
	}
	return out, nil
}

func balance(v plaid.NullableFloat64, c ledger.Currency) (*int64, error) {
	f := v.Get()
	if f == nil {
		return nil, nil
	}
	m, err := exactMinor(*f, c)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// maxExact is 2^53: every whole number of minor units up to it is exactly
// a float64; beyond it plaid-go's float64 may already have rounded Plaid's
// number (plaid-node issue 637 shows Plaid itself delivering such amounts
// rounded), so a value there cannot be trusted to the cent.
const maxExact = 1 << 53

// exactMinor converts a float64 from plaid-go into minor units of c, or
// refuses it when it cannot be exact.
func exactMinor(f float64, c ledger.Currency) (int64, error) {
	m, err := ledger.ToMinor(decimal.NewFromFloat(f), c)
	if err != nil {
		return 0, err
	}
	if m > maxExact || m < -maxExact {
		return 0, fmt.Errorf("%w: %s %s is %d minor units, beyond 2^53 (%d), which a float64 cannot carry exactly; refusing it rather than booking a rounded amount",
			ledger.ErrPrecision, decimal.NewFromFloat(f).String(), c.Code, m, int64(maxExact))
	}
	return m, nil
}

func convertTransactions(in []plaid.Transaction, accountID string) ([]Transaction, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]Transaction, 0, len(in))
	for i, t := range in {
		ct, err := convertTransaction(t, accountID)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		out = append(out, ct)
	}
	return out, nil
}

func convertTransaction(t plaid.Transaction, accountID string) (Transaction, error) {
	id := t.TransactionId
	if id == "" {
		return Transaction{}, fmt.Errorf("transaction has no transaction_id")
	}
	if t.AccountId != accountID {
		return Transaction{}, fmt.Errorf("transaction %s belongs to account %q, not this token's account %q", id, t.AccountId, accountID)
	}
	if !ledger.ValidDate(t.Date) {
		return Transaction{}, fmt.Errorf("transaction %s: date %q is not YYYY-MM-DD", id, t.Date)
	}
	authorized := str(t.AuthorizedDate.Get())
	if authorized != "" && !ledger.ValidDate(authorized) {
		return Transaction{}, fmt.Errorf("transaction %s: authorized_date %q is not YYYY-MM-DD", id, authorized)
	}
	cur, err := ledger.LookupCurrency(t.GetIsoCurrencyCode(), t.GetUnofficialCurrencyCode())
	if err != nil {
		return Transaction{}, fmt.Errorf("transaction %s: %w", id, err)
	}
	minor, err := exactMinor(t.Amount, cur)
	if err != nil {
		return Transaction{}, fmt.Errorf("transaction %s amount: %w", id, err)
	}
	out := Transaction{
		ID:                   id,
		AccountID:            t.AccountId,
		Amount:               ledger.Money{Minor: minor, Currency: cur},
		Date:                 t.Date,
		AuthorizedDate:       authorized,
		Datetime:             timestamp(t.Datetime.Get()),
		AuthorizedDatetime:   timestamp(t.AuthorizedDatetime.Get()),
		Name:                 t.Name,
		MerchantName:         str(t.MerchantName.Get()),
		OriginalDescription:  str(t.OriginalDescription.Get()),
		Pending:              t.Pending,
		PendingTransactionID: str(t.PendingTransactionId.Get()),
		PaymentChannel:       t.PaymentChannel,
		Category:             t.Category,
		CategoryID:           str(t.CategoryId.Get()),
		CheckNumber:          str(t.CheckNumber.Get()),
		MerchantEntityID:     str(t.MerchantEntityId.Get()),
		Website:              str(t.Website.Get()),
		LogoURL:              str(t.LogoUrl.Get()),
		AccountOwner:         str(t.AccountOwner.Get()),
		City:                 str(t.Location.City.Get()),
		Region:               str(t.Location.Region.Get()),
		Country:              str(t.Location.Country.Get()),
		PostalCode:           str(t.Location.PostalCode.Get()),
	}
	if tc := t.TransactionCode.Get(); tc != nil {
		out.TransactionCode = string(*tc)
	}
	if pfc := t.PersonalFinanceCategory.Get(); pfc != nil {
		out.PFCPrimary = pfc.Primary
		out.PFCDetailed = pfc.Detailed
		out.PFCConfidence = str(pfc.ConfidenceLevel.Get())
	}
	return out, nil
}

func convertRemoved(in []plaid.RemovedTransaction, accountID string) ([]Removed, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]Removed, 0, len(in))
	for i, r := range in {
		if r.TransactionId == "" {
			return nil, fmt.Errorf("removed entry %d has no transaction_id", i)
		}
		if r.AccountId != "" && r.AccountId != accountID {
			return nil, fmt.Errorf("removed transaction %s belongs to account %q, not this token's account %q", r.TransactionId, r.AccountId, accountID)
		}
		out = append(out, Removed{TransactionID: r.TransactionId, AccountID: r.AccountId})
	}
	return out, nil
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func timestamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
