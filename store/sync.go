package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"bankfeed/ledger"
)

// PageMeta describes one raw sync page as Plaid sent it.
type PageMeta struct {
	Seq          int
	CursorBefore string
	CursorAfter  string
	HasMore      bool
	RequestID    string
	Added        int
	Modified     int
	Removed      int
}

const abandonOpenSQL = `UPDATE sync_updates SET state = 'abandoned', reason = 'run ended before the update was applied', finished_at = ?
			WHERE token_id = ? AND state = 'open'`

// BeginUpdate opens a record for one pass of the sync loop of a token,
// starting at cursorBefore. Its pages are logged as they arrive and applied
// only when the loop completes. Any update of the token still open is
// abandoned in the same transaction: it belongs to a run that died before
// applying it (runs of one database never overlap: see LockRun).
func (s *Store) BeginUpdate(ctx context.Context, tokenID int64, runID, cursorBefore string) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = beginUpdate(ctx, tx, ts(s.Now()), tokenID, runID, cursorBefore)
		return err
	})
	return id, err
}

// BeginUpdate opens the update inside the transaction that applies it: a
// loop of one page (an idle token's, most of them) then costs one commit,
// not two. Nothing is recorded if the transaction rolls back.
func (t *Tx) BeginUpdate(tokenID int64, runID, cursorBefore string) (int64, error) {
	return beginUpdate(t.ctx, t.tx, t.now, tokenID, runID, cursorBefore)
}

func beginUpdate(ctx context.Context, tx *sql.Tx, now string, tokenID int64, runID, cursorBefore string) (int64, error) {
	if _, err := tx.ExecContext(ctx, abandonOpenSQL, now, tokenID); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO sync_updates(token_id, run_id, cursor_before, state, started_at) VALUES (?,?,?,'open',?)`,
		tokenID, runID, cursorBefore, now)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// AppendPage logs a page. The log is append-only: the journal can be
// rebuilt from it.
func (s *Store) AppendPage(ctx context.Context, updateID int64, m PageMeta, payload []byte) error {
	p := packPage(payload)
	return s.inTx(ctx, func(tx *sql.Tx) error { return appendPage(ctx, tx, ts(s.Now()), updateID, m, p) })
}

// AppendPage logs a page inside the transaction that applies its update:
// the last page of a loop needs no commit of its own.
func (t *Tx) AppendPage(updateID int64, m PageMeta, payload []byte) error {
	return appendPage(t.ctx, t.tx, t.now, updateID, m, packPage(payload))
}

func appendPage(ctx context.Context, tx *sql.Tx, now string, updateID int64, m PageMeta, p packedPage) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO sync_pages(update_id, seq, cursor_before, cursor_after, has_more, request_id,
		added, modified, removed, payload_sha256, payload, payload_codec, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		updateID, m.Seq, m.CursorBefore, m.CursorAfter, m.HasMore, m.RequestID, m.Added, m.Modified, m.Removed, p.sum[:], p.stored, codecZstd, now)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE sync_updates SET pages = pages + 1 WHERE id = ?`, updateID)
	return err
}

// AbandonUpdate marks an update whose loop did not complete; its pages
// are never applied.
func (s *Store) AbandonUpdate(ctx context.Context, updateID int64, reason string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sync_updates SET state = 'abandoned', reason = ?, finished_at = ? WHERE id = ? AND state = 'open'`,
			reason, ts(s.Now()), updateID)
		return err
	})
}

// Update runs fn in one IMMEDIATE transaction on the writer connection.
func (s *Store) Update(ctx context.Context, fn func(*Tx) error) error {
	return s.inTx(ctx, func(stx *sql.Tx) error {
		tx := &Tx{tx: stx, ctx: ctx, s: s, ledgerAccts: map[ledgerKey]int64{}, curs: map[string]ledger.Currency{}, now: ts(s.Now())}
		return fn(tx)
	})
}

// Tx is one unit of work. Every query inside it goes through it.
type Tx struct {
	tx          *sql.Tx
	ctx         context.Context
	s           *Store
	now         string
	ledgerAccts map[ledgerKey]int64
	curs        map[string]ledger.Currency // stored exponents read or noted in this transaction
}

type ledgerKey struct{ business, code, currency string }

// exec runs a statement; the writer connection's statement cache
// (_stmt_cache_size) keeps it prepared across rows and transactions.
func (t *Tx) exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, q, args...)
}

// Token re-reads a token inside the transaction, to check that nobody
// moved its cursor since the loop started.
func (t *Tx) Token(id int64) (Token, error) {
	row := t.tx.QueryRowContext(t.ctx, oneTokenSQL, id)
	return scanToken(row)
}

// Pages streams an update's logged pages in order, one at a time, so
// applying an update needs memory for one page, not the whole history.
func (t *Tx) Pages(updateID int64, fn func(PageMeta, []byte) error) error {
	rows, err := t.tx.QueryContext(t.ctx, pagesSQL, updateID)
	if err != nil {
		return err
	}
	return scanPages(rows, updateID, fn)
}

// AccountInfo is what Plaid says about an account.
type AccountInfo struct {
	PlaidAccountID string
	Name           string
	OfficialName   string
	Mask           string
	Type           string
	Subtype        string
	Currency       string
	// InstitutionID is the bank's Plaid institution (from
	// /processor/account/get); "" when not known.
	InstitutionID string
	// CurrencyExponent scaled the account's amounts at ingestion; stored
	// at first sight of the code and used by every later conversion (see
	// Cur). Read back, it is the currencies table's.
	CurrencyExponent int32
}

// Account is a Plaid account as stored.
type Account struct {
	ID         int64
	BusinessID string
	AccountInfo
	Kind           ledger.Kind // "" when not posted (investment, other)
	OpeningVersion int         // 0 = not anchored yet
	OpeningDate    string
	OpeningMinor   int64
	// InitialAt is when the account's first update at
	// INITIAL_UPDATE_COMPLETE was applied (the 3-day rule counts from it).
	InitialAt *time.Time
	// AnchorProvisional: the live opening was anchored before the history
	// was complete, and is re-derived once it is.
	AnchorProvisional bool
	// Replaces is the account this one succeeds (0: none); BookID the
	// account whose ledger account and opening it posts to (0: its own).
	Replaces, BookID int64
	// MatchThrough: a successor's transactions dated on or before it are
	// matched against its predecessors' before they may post.
	MatchThrough string
}

// Book is the id of the account whose ledger account this one posts to.
func (a Account) Book() int64 {
	if a.BookID != 0 {
		return a.BookID
	}
	return a.ID
}

// EnsureAccount creates or refreshes the account a token syncs and links
// the token to it. An account already owned by another business is a
// conflict: its books cannot move silently.
func (t *Tx) EnsureAccount(businessID string, tokenID int64, a AccountInfo) (Account, error) {
	// Every sight of the account's currency is checked, not only its first:
	// a page converted at another scale must not reach the ledger.
	if err := t.NoteCurrency(a.Cur()); err != nil {
		return Account{}, fmt.Errorf("account %s: %w", a.PlaidAccountID, err)
	}
	acct, err := t.accountByPlaidID(a.PlaidAccountID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		kind, posted := ledger.KindForPlaidType(a.Type)
		var k sql.NullString
		if posted {
			k = nullStr(string(kind))
		}
		_, err = t.exec(`INSERT INTO accounts(business_id, plaid_account_id, name, official_name, mask, type, subtype, currency, currency_exponent, kind,
			institution_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`, businessID, a.PlaidAccountID, a.Name, nullStr(a.OfficialName),
			nullStr(a.Mask), a.Type, nullStr(a.Subtype), a.Currency, a.CurrencyExponent, k, nullStr(a.InstitutionID), t.now, t.now)
		if err != nil {
			return Account{}, err
		}
		acct, err = t.accountByPlaidID(a.PlaidAccountID)
		if err != nil {
			return Account{}, err
		}
	case err != nil:
		return Account{}, err
	case acct.BusinessID != businessID:
		return Account{}, fmt.Errorf("%w: Plaid account %s already belongs to business %s", ErrConflict, a.PlaidAccountID, acct.BusinessID)
	default:
		// The institution, once known, is kept: a page never carries it.
		if _, err := t.exec(`UPDATE accounts SET name = ?, official_name = ?, mask = ?, subtype = ?,
			institution_id = COALESCE(?, institution_id), updated_at = ? WHERE id = ?`,
			a.Name, nullStr(a.OfficialName), nullStr(a.Mask), nullStr(a.Subtype), nullStr(a.InstitutionID), t.now, acct.ID); err != nil {
			return Account{}, err
		}
		if acct.InstitutionID == "" {
			acct.InstitutionID = a.InstitutionID
		}
	}
	res, err := t.exec(`UPDATE tokens SET account_id = ? WHERE id = ? AND account_id IS NOT ? AND kind = 'processor'`, acct.ID, tokenID, acct.ID)
	if err != nil {
		return Account{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// An Item syncs many accounts: each points at the Item instead.
		if err := t.linkItemAccount(tokenID, acct.ID); err != nil {
			return Account{}, err
		}
	}
	return acct, nil
}

func (t *Tx) accountByPlaidID(plaidID string) (Account, error) {
	q := accountSelect + `plaid_account_id = ?`
	return scanAccount(t.tx.QueryRowContext(t.ctx, q, plaidID))
}

// accountSelect reads an account row as scanAccount scans it; a WHERE
// clause completes it.
var accountSelect = `SELECT ` + accountCols + ` FROM accounts WHERE `

// accountCols are the columns scanAccount scans, from the table accounts.
var accountCols = `id, business_id, plaid_account_id, name, COALESCE(official_name,''), COALESCE(mask,''), type, COALESCE(subtype,''),
		currency, ` + storedExponent("accounts.currency") + `, COALESCE(kind,''), opening_version, COALESCE(opening_date,''), COALESCE(opening_minor,0), initial_at, anchor_provisional,
		COALESCE(institution_id,''), COALESCE(replaces,0), COALESCE(book_account_id,0), COALESCE(match_through,'')`

func scanAccount(r scanner) (Account, error) {
	var a Account
	var kind string
	var initial sql.NullString
	err := r.Scan(&a.ID, &a.BusinessID, &a.PlaidAccountID, &a.Name, &a.OfficialName, &a.Mask, &a.Type, &a.Subtype,
		&a.Currency, &a.CurrencyExponent, &kind, &a.OpeningVersion, &a.OpeningDate, &a.OpeningMinor, &initial, &a.AnchorProvisional,
		&a.InstitutionID, &a.Replaces, &a.BookID, &a.MatchThrough)
	a.Kind, a.InitialAt = ledger.Kind(kind), parseTS(initial)
	return a, err
}

// BankTxn is a bank transaction as stored: the latest revision of what
// Plaid said about it, plus what bankfeed posted for it.
type BankTxn struct {
	ID                   int64
	AccountID            int64
	TransactionID        string
	Pending              bool
	PendingTransactionID string
	Amount               int64
	Currency             string
	Date                 string
	AuthorizedDate       string
	Datetime             string
	AuthorizedDatetime   string
	Name                 string
	MerchantName         string
	OriginalDescription  string
	PFCPrimary           string
	PFCDetailed          string
	PFCConfidence        string
	Category             string // JSON array
	CategoryID           string
	PaymentChannel       string
	CheckNumber          string
	TransactionCode      string
	MerchantEntityID     string
	Website              string
	LogoURL              string
	AccountOwner         string
	City                 string
	Region               string
	Country              string
	PostalCode           string
	Removed              bool
	Revision             int
	EntryVersion         int
	LiveEntryID          string
	FirstUpdateID        int64
	LastUpdateID         int64
	// DuplicateOf is the predecessor's transaction this one was matched to
	// at re-link: the same real transaction, never posted twice.
	DuplicateOf string
}

const bankTxnCols = `id, account_id, transaction_id, pending, COALESCE(pending_transaction_id,''), amount, currency, date,
	COALESCE(authorized_date,''), COALESCE(datetime,''), COALESCE(authorized_datetime,''), name, COALESCE(merchant_name,''),
	COALESCE(original_description,''), COALESCE(pfc_primary,''), COALESCE(pfc_detailed,''), COALESCE(pfc_confidence,''),
	COALESCE(category,''), COALESCE(category_id,''), COALESCE(payment_channel,''), COALESCE(check_number,''), COALESCE(transaction_code,''),
	COALESCE(merchant_entity_id,''), COALESCE(website,''), COALESCE(logo_url,''), COALESCE(account_owner,''), COALESCE(city,''),
	COALESCE(region,''), COALESCE(country,''), COALESCE(postal_code,''), removed, revision, entry_version, COALESCE(live_entry_id,''),
	first_update_id, last_update_id, COALESCE(duplicate_of,'')`

func scanBankTxn(r scanner) (BankTxn, error) {
	var b BankTxn
	err := r.Scan(&b.ID, &b.AccountID, &b.TransactionID, &b.Pending, &b.PendingTransactionID, &b.Amount, &b.Currency, &b.Date,
		&b.AuthorizedDate, &b.Datetime, &b.AuthorizedDatetime, &b.Name, &b.MerchantName, &b.OriginalDescription, &b.PFCPrimary,
		&b.PFCDetailed, &b.PFCConfidence, &b.Category, &b.CategoryID, &b.PaymentChannel, &b.CheckNumber, &b.TransactionCode,
		&b.MerchantEntityID, &b.Website, &b.LogoURL, &b.AccountOwner, &b.City, &b.Region, &b.Country, &b.PostalCode,
		&b.Removed, &b.Revision, &b.EntryVersion, &b.LiveEntryID, &b.FirstUpdateID, &b.LastUpdateID, &b.DuplicateOf)
	return b, err
}

const bankTxnSQL = `SELECT ` + bankTxnCols + ` FROM bank_transactions WHERE transaction_id = ?`

// BankTxn finds a transaction by Plaid id; ok is false when unknown.
func (t *Tx) BankTxn(transactionID string) (b BankTxn, ok bool, err error) {
	b, err = scanBankTxn(t.tx.QueryRowContext(t.ctx, bankTxnSQL, transactionID))
	if errors.Is(err, sql.ErrNoRows) {
		return BankTxn{}, false, nil
	}
	return b, err == nil, err
}

const bankTxnsSQL = `SELECT ` + bankTxnCols + ` FROM bank_transactions WHERE transaction_id IN (SELECT value FROM json_each(?))`

// BankTxns finds many transactions by Plaid id in one statement: the
// applier reads a whole page's worth at once instead of one probe per row.
// Unknown ids are absent from the map.
func (t *Tx) BankTxns(transactionIDs []string) (map[string]BankTxn, error) {
	out := make(map[string]BankTxn, len(transactionIDs))
	if len(transactionIDs) == 0 {
		return out, nil
	}
	ids, err := json.Marshal(transactionIDs)
	if err != nil {
		return nil, err
	}
	rows, err := t.tx.QueryContext(t.ctx, bankTxnsSQL, string(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		b, err := scanBankTxn(rows)
		if err != nil {
			return nil, err
		}
		out[b.TransactionID] = b
	}
	return out, rows.Err()
}

func (b *BankTxn) args() []any {
	return []any{b.AccountID, b.TransactionID, b.Pending, nullStr(b.PendingTransactionID), b.Amount, b.Currency, b.Date,
		nullStr(b.AuthorizedDate), nullStr(b.Datetime), nullStr(b.AuthorizedDatetime), b.Name, nullStr(b.MerchantName),
		nullStr(b.OriginalDescription), nullStr(b.PFCPrimary), nullStr(b.PFCDetailed), nullStr(b.PFCConfidence), nullStr(b.Category),
		nullStr(b.CategoryID), nullStr(b.PaymentChannel), nullStr(b.CheckNumber), nullStr(b.TransactionCode), nullStr(b.MerchantEntityID),
		nullStr(b.Website), nullStr(b.LogoURL), nullStr(b.AccountOwner), nullStr(b.City), nullStr(b.Region), nullStr(b.Country),
		nullStr(b.PostalCode), b.Removed, b.Revision, b.EntryVersion, nullStr(b.LiveEntryID), b.FirstUpdateID, b.LastUpdateID, nullStr(b.DuplicateOf)}
}

// SaveBankTxn inserts (ID 0) or overwrites a bank transaction row. The row
// is the current view; its history lives in the raw page log and the journal.
func (t *Tx) SaveBankTxn(b *BankTxn) error {
	args := b.args()
	if b.ID == 0 {
		res, err := t.exec(`INSERT INTO bank_transactions(account_id, transaction_id, pending, pending_transaction_id, amount, currency, date,
			authorized_date, datetime, authorized_datetime, name, merchant_name, original_description, pfc_primary, pfc_detailed, pfc_confidence,
			category, category_id, payment_channel, check_number, transaction_code, merchant_entity_id, website, logo_url, account_owner,
			city, region, country, postal_code, removed, revision, entry_version, live_entry_id, first_update_id, last_update_id, duplicate_of, first_seen_at, updated_at)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, append(args, t.now, t.now)...)
		if err != nil {
			return err
		}
		b.ID, err = res.LastInsertId()
		return err
	}
	_, err := t.exec(`UPDATE bank_transactions SET account_id=?, transaction_id=?, pending=?, pending_transaction_id=?, amount=?, currency=?, date=?,
		authorized_date=?, datetime=?, authorized_datetime=?, name=?, merchant_name=?, original_description=?, pfc_primary=?, pfc_detailed=?,
		pfc_confidence=?, category=?, category_id=?, payment_channel=?, check_number=?, transaction_code=?, merchant_entity_id=?, website=?,
		logo_url=?, account_owner=?, city=?, region=?, country=?, postal_code=?, removed=?, revision=?, entry_version=?, live_entry_id=?,
		first_update_id=?, last_update_id=?, duplicate_of=?, updated_at=? WHERE id=?`, append(args, t.now, b.ID)...)
	return err
}

const liveTxnIDsSQL = `SELECT transaction_id FROM bank_transactions WHERE account_id = ? AND removed = 0`

// LiveTxnIDs lists the transactions of an account that are not removed.
func (t *Tx) LiveTxnIDs(accountID int64) ([]string, error) {
	rows, err := t.tx.QueryContext(t.ctx, liveTxnIDsSQL, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// PostEntry validates and appends a journal entry. Posting an entry whose
// id exists is an error: replays are caught before they get here, so a
// collision means the same id with other content.
func (t *Tx) PostEntry(businessID string, accountID int64, e ledger.Entry, updateID int64) error {
	if err := e.Validate(); err != nil {
		return err
	}
	var acct, upd sql.NullInt64
	if accountID != 0 {
		acct = sql.NullInt64{Int64: accountID, Valid: true}
	}
	if updateID != 0 {
		upd = sql.NullInt64{Int64: updateID, Valid: true}
	}
	if _, err := t.exec(`INSERT INTO journal_entries(id, business_id, account_id, kind, date, transaction_id, version, reverses, update_id, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, e.ID, businessID, acct, string(e.Kind), e.Date, nullStr(e.TransactionID), e.Version,
		nullStr(e.Reverses), upd, t.now); err != nil {
		return fmt.Errorf("post entry %s: %w", e.ID, err)
	}
	// Entries of two lines (nearly all) go in one statement: one step
	// instead of two is most of what a line costs.
	if len(e.Lines) == 2 {
		la0, err := t.ledgerAccount(businessID, accountID, e.Lines[0])
		if err != nil {
			return err
		}
		la1, err := t.ledgerAccount(businessID, accountID, e.Lines[1])
		if err != nil {
			return err
		}
		_, err = t.exec(`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount) VALUES (?1,1,?2,?3,?4), (?1,2,?5,?6,?7)`,
			e.ID, la0, e.Lines[0].Currency, e.Lines[0].Amount, la1, e.Lines[1].Currency, e.Lines[1].Amount)
		return err
	}
	for i, l := range e.Lines {
		la, err := t.ledgerAccount(businessID, accountID, l)
		if err != nil {
			return err
		}
		if _, err := t.exec(`INSERT INTO journal_lines(entry_id, line_no, ledger_account_id, currency, amount) VALUES (?,?,?,?,?)`,
			e.ID, i+1, la, l.Currency, l.Amount); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tx) ledgerAccount(businessID string, accountID int64, l ledger.Line) (int64, error) {
	k := ledgerKey{businessID, l.Account, l.Currency}
	if id, ok := t.ledgerAccts[k]; ok {
		return id, nil
	}
	// Every ledger currency has its stored exponent: nothing is posted in
	// a code whose scale no reader could know.
	if _, err := t.Currency(l.Currency); err != nil {
		return 0, fmt.Errorf("ledger account %s: %w", l.Account, err)
	}
	var id int64
	q := `SELECT id FROM ledger_accounts WHERE business_id = ? AND code = ? AND currency = ?`
	err := t.tx.QueryRowContext(t.ctx, q, businessID, l.Account, l.Currency).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		kind, acct := ledgerKindOf(l.Account), sql.NullInt64{}
		if kind == "" {
			var k string
			if err := t.tx.QueryRowContext(t.ctx, `SELECT COALESCE(kind,'asset') FROM accounts WHERE id = ?`, accountID).Scan(&k); err != nil {
				return 0, fmt.Errorf("ledger account %s: %w", l.Account, err)
			}
			kind, acct = k, sql.NullInt64{Int64: accountID, Valid: true}
		}
		res, err := t.exec(`INSERT INTO ledger_accounts(business_id, code, kind, currency, account_id) VALUES (?,?,?,?,?)`,
			businessID, l.Account, kind, l.Currency, acct)
		if err != nil {
			return 0, err
		}
		id, err = res.LastInsertId()
		if err != nil {
			return 0, err
		}
	} else if err != nil {
		return 0, err
	}
	t.ledgerAccts[k] = id
	return id, nil
}

func ledgerKindOf(code string) string {
	switch code {
	case ledger.Suspense:
		return string(ledger.Expense)
	case ledger.OpeningEquity:
		return string(ledger.Equity)
	}
	return ""
}

// Entry loads a journal entry with its lines.
func (t *Tx) Entry(id string) (ledger.Entry, error) {
	return loadEntry(t.ctx, t.tx, id)
}

type querier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

const entrySQL = `SELECT e.id, e.kind, e.date, e.transaction_id, e.version, e.reverses, a.plaid_account_id
		FROM journal_entries e LEFT JOIN accounts a ON a.id = e.account_id WHERE e.id = ?`

const entryLinesSQL = `SELECT la.code, l.currency, l.amount FROM journal_lines l JOIN ledger_accounts la ON la.id = l.ledger_account_id
		WHERE l.entry_id = ? ORDER BY l.line_no`

func loadEntry(ctx context.Context, q querier, id string) (ledger.Entry, error) {
	var e ledger.Entry
	var kind string
	var txn, rev, pid sql.NullString
	err := q.QueryRowContext(ctx, entrySQL, id).
		Scan(&e.ID, &kind, &e.Date, &txn, &e.Version, &rev, &pid)
	if err != nil {
		return e, fmt.Errorf("entry %s: %w", id, err)
	}
	e.Kind, e.TransactionID, e.Reverses, e.AccountID = ledger.EntryKind(kind), txn.String, rev.String, pid.String
	rows, err := q.QueryContext(ctx, entryLinesSQL, id)
	if err != nil {
		return e, err
	}
	defer rows.Close()
	for rows.Next() {
		var l ledger.Line
		if err := rows.Scan(&l.Account, &l.Currency, &l.Amount); err != nil {
			return e, err
		}
		e.Lines = append(e.Lines, l)
	}
	return e, rows.Err()
}

// SetOpening records the account's live opening entry.
func (t *Tx) SetOpening(accountID int64, version int, date string, minor int64, snapshotID int64) error {
	var snap sql.NullInt64
	if snapshotID != 0 {
		snap = sql.NullInt64{Int64: snapshotID, Valid: true}
	}
	_, err := t.exec(`UPDATE accounts SET opening_version = ?, opening_date = ?, opening_minor = ?,
		anchor_snapshot = COALESCE(?, anchor_snapshot), updated_at = ? WHERE id = ?`, version, date, minor, snap, t.now, accountID)
	return err
}

// AccountByID reads an account inside the transaction.
func (t *Tx) AccountByID(id int64) (Account, error) {
	q := accountSelect + `id = ?`
	return scanAccount(t.tx.QueryRowContext(t.ctx, q, id))
}

const postedStatsSQL = `SELECT COALESCE(SUM(amount) FILTER (WHERE pending = 0), 0), MIN(date), COUNT(*) FILTER (WHERE pending = 0)
		FROM bank_transactions WHERE account_id IN (` + bookAccounts + `) AND removed = 0 AND currency = ? AND duplicate_of IS NULL`

// PostedStats sums an account's live posted transactions in its own
// currency: their natural-sign effect needs the account kind, so the raw
// Plaid-sign sum is returned. earliest also counts staged holds: an opening
// dated before them lets a hold's settlement, dated on or after the hold,
// be told from late history even when Plaid does not link the two.
//
// accountID is a book (Account.Book): the transactions of every account
// posting to it count, a successor's matched duplicates not (their
// predecessor's transactions carry them).
func (t *Tx) PostedStats(accountID int64, currency string) (sumAmount int64, earliest string, n int, err error) {
	var e sql.NullString
	err = t.tx.QueryRowContext(t.ctx, postedStatsSQL, accountID, accountID, currency).Scan(&sumAmount, &e, &n)
	return sumAmount, e.String, n, err
}

// FinishUpdate advances the token's cursor and closes the update, in the
// same transaction that applied it.
func (t *Tx) FinishUpdate(updateID, tokenID int64, cursorAfter string) error {
	if _, err := t.exec(`UPDATE sync_updates SET state = 'applied', cursor_after = ?, finished_at = ? WHERE id = ?`, cursorAfter, t.now, updateID); err != nil {
		return err
	}
	_, err := t.exec(`UPDATE tokens SET cursor = ?, last_synced_at = ?, updated_at = ? WHERE id = ?`, cursorAfter, t.now, t.now, tokenID)
	return err
}

// Now is the transaction's timestamp.
func (t *Tx) Now() time.Time {
	tm, _ := parseTime(t.now)
	return tm
}

// CountUpdates counts sync updates in a state (open, applied, abandoned).
func (s *Store) CountUpdates(ctx context.Context, state string) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM sync_updates WHERE state = ?`, state).Scan(&n)
	return n, Classify(err)
}
