// Package plaidfake is an in-memory Plaid that speaks the wire format of the
// endpoints bankfeed uses, so that tests, benchmarks and the demo drive the
// real plaid-go client over real HTTP instead of mocking it: the processor
// endpoints, and the Link side (link and public tokens, access tokens,
// Item sync, removal, signed webhooks) for Items bankfeed links itself.
//
// Every account belongs to an Item (AddAccount makes one per account);
// what Plaid keeps per Item, the fake keeps per Item too: errors, history
// state and window, pulls, rate limits.
package plaidfake

import (
	"cmp"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the fake Plaid: an http.Handler plus the world it serves.
// Every method is safe for concurrent use.
type Server struct {
	clientID, secret string
	latency          time.Duration
	env              string

	mu            sync.Mutex
	ids           uint64 // feeds generated ids, so a fresh world is reproducible
	itemIDs       uint64 // feeds Item ids apart, so account and transaction ids stay as they were before Items
	nreq          int
	accounts      map[string]*account
	order         []*account
	items         []*item
	tokens        map[string]*token
	txnAcct       map[string]*account
	faults        []*injected
	calls         map[callKey]int
	times         []time.Time
	release       chan struct{}
	checkMutation bool
	transientP    float64
	rng           *rand.Rand
	clock         func() time.Time // nil: time.Now, and no days_requested window
	demoShift     int              // days the demo world's dates move (Demo)
	pulls         bool
	syncOpts      map[string]SyncOptions
	ratePer       int
	rateWindow    time.Duration
	retryAfter    bool
	rateCalls     map[rateKey][]time.Time
	access        map[string]*item        // access token -> Item
	public        map[string]*publicToken // public token -> Item to exchange
	links         []LinkTokenRequest
	linkTokens    map[string]int // link token -> index in links
	hooks         webhooks
}

type Option func(*Server)

// WithCredentials makes the server demand this client id and secret, in
// headers or body, as Plaid does.
func WithCredentials(clientID, secret string) Option {
	return func(s *Server) { s.clientID, s.secret = clientID, secret }
}

// WithLatency delays every answer, to make timeouts and concurrency visible.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// WithEnv sets the environment named in token prefixes, which bankfeed checks
// against its own configuration.
func WithEnv(env string) Option { return func(s *Server) { s.env = env } }

// WithClock sets the fake's "now": the 30-day INITIAL_UPDATE_COMPLETE
// window, last_updated_datetime, bank update and pull times, and rate-limit
// windows all read it. It also switches on the days_requested window (see
// DaysRequested): a window against the wall clock would make the worlds of
// older tests, with their fixed dates, lose transactions as time passes.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithPulls makes the fake lag behind the bank as Plaid does: world changes
// (AddTxn, ModifyTxn, RemoveTxn, PostPending, AdjustBalance) reach sync, its
// account.balances and /processor/account/get only after Pull or PullAll.
// /processor/balance/get is real-time and always sees the bank now. Without
// it every change is visible at once, as if Plaid pulled continuously.
func WithPulls() Option { return func(s *Server) { s.pulls = true } }

func (s *Server) now() time.Time {
	if s.clock != nil {
		return s.clock().UTC()
	}
	return time.Now().UTC()
}

func New(opts ...Option) *Server {
	s := &Server{
		env:           "sandbox",
		itemIDs:       1 << 40, // far from the account ids' sequence, so no Item shares an account's id
		accounts:      map[string]*account{},
		tokens:        map[string]*token{},
		access:        map[string]*item{},
		public:        map[string]*publicToken{},
		linkTokens:    map[string]int{},
		txnAcct:       map[string]*account{},
		calls:         map[callKey]int{},
		syncOpts:      map[string]SyncOptions{},
		release:       make(chan struct{}),
		checkMutation: true,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

type Account struct {
	ID                       string // Plaid account_id; generated if empty
	Name, OfficialName, Mask string
	Type, Subtype            string // default "depository"/"checking"
	ISOCurrency              string // default "USD" unless UnofficialCurrency is set
	UnofficialCurrency       string
	Opening                  string // natural-sign balance before the first transaction (credit: amount owed)
	Limit                    string // "" = null
	Available                string // "" = computed
	History                  HistoryMode
	// InstitutionID is reported by /processor/account/get (default
	// "ins_109508"). "ins_128026" (Capital One) turns on its balance rule for
	// non-depository accounts: /processor/balance/get needs
	// options.min_last_updated_datetime, and balances carry
	// last_updated_datetime.
	InstitutionID string
	// NullCurrent and NullAvailable send balances.current or .available as
	// null, as some institutions do. Plaid never nulls both.
	NullCurrent, NullAvailable bool
}

// HistoryMode is how an account's history becomes available to sync.
type HistoryMode int

const (
	// HistoryReady: everything at once, HISTORICAL_UPDATE_COMPLETE from the
	// first call.
	HistoryReady HistoryMode = iota
	// HistoryStaged: NOT_READY (account null, empty cursor) until the first
	// AdvanceHistory; then INITIAL_UPDATE_COMPLETE with the last 30 days
	// (less the Txn.LateHistory ones); after the second AdvanceHistory,
	// HISTORICAL_UPDATE_COMPLETE with everything.
	HistoryStaged
)

// phase is where an account's history stands; the order matters.
type phase int8

const (
	phaseNotReady phase = iota
	phaseInitial
	phaseHistorical
)

var phaseNames = [...]string{"NOT_READY", "INITIAL_UPDATE_COMPLETE", "HISTORICAL_UPDATE_COMPLETE"}

func (p phase) String() string { return phaseNames[p] }

const capitalOne = "ins_128026"

type Txn struct {
	ID                              string // generated if empty
	AccountID                       string
	Amount                          string // Plaid sign: positive = money out / charge on a card
	Date                            string // YYYY-MM-DD
	AuthorizedDate                  string
	Name, MerchantName              string
	Pending                         bool
	PendingTransactionID            string
	PaymentChannel                  string // "online" | "in store" | "other" (default)
	PFCPrimary, PFCDetailed         string
	ISOCurrency, UnofficialCurrency string // default: the account's
	// LateHistory withholds the transaction from INITIAL_UPDATE_COMPLETE
	// even when dated inside its 30 days: it arrives with the historical
	// update, as Plaid's late history does. Only staged accounts look at it.
	LateHistory bool
}

type token struct {
	acct    *account
	invalid bool
	webhook string // set by /processor/token/webhook/update
}

// item is a Plaid Item: one login at one institution, holding one or more
// accounts. What Plaid keeps per Item lives here: its error state, history
// state and window, rate limits, and one mutation sequence for all its
// accounts, so a cursor over the whole Item is as cheap as one over an
// account.
type item struct {
	id          string
	institution string
	accounts    []*account
	err         string     // error_code every call answers; "" = healthy
	seq         int64      // bumped by every transaction mutation of any account
	log         []logEntry // ascending seq: which ids each mutation touched
	cache       map[changeKey][]change
	pulledSeq   int64 // the seq Plaid last fetched (WithPulls)
	phase       phase
	initialFrom string // first date INITIAL_UPDATE_COMPLETE delivers
	days        int    // days_requested fixed by the first sync; 0 before it
	windowFrom  string // first date ever delivered; "" = no window
	synced      bool   // sync was called once: Plaid sends SYNC_UPDATES_AVAILABLE only then
	access      string // the access token; "" for an Item made by AddAccount
	webhook     string // where its webhooks go; "" = nowhere
	removed     bool   // /item/remove: every token fails with ITEM_NOT_FOUND
}

// failure is the error_code every call about the Item answers, "" if none.
func (it *item) failure() string {
	if it.removed {
		return "ITEM_NOT_FOUND"
	}
	return it.err
}

// version is one state of a transaction from seq on; t is nil once removed.
// Snapshots are never mutated, so responses can share them outside the lock.
type version struct {
	seq int64
	t   *Txn
}

type logEntry struct {
	seq int64
	id  string
	a   *account
}

// sums are the running totals that keep Current O(1) however large the
// history.
type sums struct{ posted, pending, adjust dec }

func (s *sums) clone() sums {
	var c sums
	c.posted.add(s.posted, 1)
	c.pending.add(s.pending, 1)
	c.adjust.add(s.adjust, 1)
	return c
}

// pull is what Plaid last fetched from the bank: sync and
// /processor/account/get see the balances as of then (and the transactions
// as of the Item's pulledSeq).
type pull struct {
	sums sums
	at   time.Time
}

type account struct {
	Account
	it             *item
	hist           map[string][]version // per transaction, ascending Item seq
	sums                                // the bank now
	opening, limit dec
	scale          int       // most decimals seen, so Current prints exactly
	updated        time.Time // the bank's last change
	pulled         pull      // what sync sees WithPulls
}

func (a *account) owesNaturally() bool { return a.Type == "credit" || a.Type == "loan" }

// at returns the transaction's state as of seq, nil if it did not exist.
func (a *account) at(id string, seq int64) *Txn {
	vs := a.hist[id]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].seq <= seq {
			return vs[i].t
		}
	}
	return nil
}

func (a *account) live(id string) *Txn { return a.at(id, a.it.seq) }

// dec is an exact decimal, u·10^-scale. big.Rat would do, but its parsing
// and normalising made seeding 100k transactions several times slower.
type dec struct {
	u     big.Int
	scale int
}

var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// parseDec accepts only plain decimals, because they are written verbatim
// into JSON as numbers.
func parseDec(s string) (d dec, ok bool) {
	neg := strings.HasPrefix(s, "-")
	digits, frac, dot := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if digits == "" || (dot && frac == "") || strings.Trim(digits+frac, "0123456789") != "" ||
		(len(digits) > 1 && digits[0] == '0') {
		return d, false
	}
	if n, err := strconv.ParseInt(digits+frac, 10, 64); err == nil {
		d.u.SetInt64(n)
	} else {
		d.u.SetString(digits+frac, 10)
	}
	if neg {
		d.u.Neg(&d.u)
	}
	d.scale = len(frac)
	return d, true
}

// at returns a fresh unscaled value for a scale no smaller than d's.
func (d *dec) at(scale int) *big.Int {
	u := new(big.Int).Set(&d.u)
	for s := d.scale; s < scale; s += min(scale-s, 18) {
		u.Mul(u, big.NewInt(pow10[min(scale-s, 18)]))
	}
	return u
}

func (d *dec) add(x dec, sign int) *dec {
	scale := max(d.scale, x.scale)
	u, v := d.at(scale), x.at(scale)
	if sign < 0 {
		v.Neg(v)
	}
	d.u.Add(u, v)
	d.scale = scale
	return d
}

func (d *dec) String(scale int) string {
	scale = max(scale, d.scale)
	u := d.at(scale)
	digits := new(big.Int).Abs(u).String()
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	sign := ""
	if u.Sign() < 0 {
		sign = "-"
	}
	if scale == 0 {
		return sign + digits
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
}

func (a *account) addDec(dst *dec, s string, sign int) {
	x, ok := parseDec(s)
	if !ok {
		panic(fmt.Sprintf("plaidfake: %q is not a plain decimal", s))
	}
	a.scale = max(a.scale, x.scale)
	dst.add(x, sign)
}

func (a *account) count(t *Txn, sign int) {
	if t == nil {
		return
	}
	if t.Pending {
		a.addDec(&a.pending, t.Amount, sign)
	} else {
		a.addDec(&a.posted, t.Amount, sign)
	}
}

func (a *account) current(s *sums) *dec {
	c := new(dec).add(a.opening, 1)
	if a.owesNaturally() {
		c.add(s.posted, 1)
	} else {
		c.add(s.posted, -1)
	}
	return c.add(s.adjust, 1)
}

func (a *account) format(d *dec) string { return d.String(a.scale) }

// available follows Plaid's definition: pending outflows reduce it and
// pending inflows raise it.
func (a *account) available(s *sums) string {
	switch {
	case a.Available != "":
		return a.Available
	case a.Type == "depository":
		c := a.current(s)
		return a.format(c.add(s.pending, -1))
	case a.Type == "credit" && a.Limit != "":
		return a.format(new(dec).add(a.limit, 1).add(*a.current(s), -1).add(s.pending, -1))
	}
	return ""
}

type edit struct {
	id string
	t  *Txn // nil removes
}

// record applies one mutation: every touched id gets a new version at the
// next seq, so a cursor taken before it sees the net change.
func (a *account) record(at time.Time, edits ...edit) {
	it := a.it
	it.seq++
	a.updated = at
	it.cache = nil
	for _, e := range edits {
		a.count(a.live(e.id), -1)
		a.count(e.t, +1)
		a.hist[e.id] = append(a.hist[e.id], version{it.seq, e.t})
		it.log = append(it.log, logEntry{it.seq, e.id, a})
	}
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (s *Server) next() uint64 { return mix(&s.ids) }

func mix(n *uint64) uint64 {
	*n++
	x := *n*0x9e3779b97f4a7c15 + 0x5eed
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// newID makes a Plaid-looking 37-character id.
func (s *Server) newID() string { return newID(&s.ids) }

func newID(n *uint64) string {
	b := make([]byte, 37)
	x := mix(n)
	for i := range b {
		if i%10 == 0 {
			x = mix(n)
		}
		b[i] = alnum[x%62]
		x /= 62
	}
	return string(b)
}

func (s *Server) newToken(a *account) string {
	x, y := s.next(), s.next()
	t := fmt.Sprintf("processor-%s-%08x-%04x-%04x-%04x-%012x", s.env, x>>32, x>>16&0xffff, x&0xffff, y>>48, y&0xffffffffffff)
	s.tokens[t] = &token{acct: a}
	return t
}

func (s *Server) acct(id string) *account {
	a := s.accounts[id]
	if a == nil {
		panic(fmt.Sprintf("plaidfake: unknown account %q", id))
	}
	return a
}

// AddAccount creates the account as its own Item and returns its first
// processor token.
func (s *Server) AddAccount(acc Account) (accountID, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.addAccountLocked(acc)
	return a.ID, s.newToken(a)
}

// newItemLocked starts an Item at the institution; staged, its history is
// NOT_READY until AdvanceHistory.
func (s *Server) newItemLocked(institution string, mode HistoryMode) *item {
	it := &item{id: newID(&s.itemIDs), institution: cmp.Or(institution, "ins_109508"), phase: phaseHistorical}
	if mode == HistoryStaged {
		it.phase = phaseNotReady
	}
	s.items = append(s.items, it)
	return it
}

// addAccountLocked adds the account to a new Item of its own.
func (s *Server) addAccountLocked(acc Account) *account {
	return s.addToItemLocked(nil, acc)
}

// addToItemLocked adds the account to it, or to a new Item when it is nil.
func (s *Server) addToItemLocked(it *item, acc Account) *account {
	if acc.ID == "" {
		acc.ID = s.newID()
	}
	if s.accounts[acc.ID] != nil {
		panic(fmt.Sprintf("plaidfake: duplicate account %q", acc.ID))
	}
	if acc.Type == "" {
		acc.Type, acc.Subtype = "depository", cmp.Or(acc.Subtype, "checking")
	}
	if acc.ISOCurrency == "" && acc.UnofficialCurrency == "" {
		acc.ISOCurrency = "USD"
	}
	acc.Name = cmp.Or(acc.Name, strings.ToUpper(acc.Type[:1])+acc.Type[1:]+" account")
	acc.InstitutionID = cmp.Or(acc.InstitutionID, "ins_109508")
	if acc.NullCurrent && acc.NullAvailable {
		panic(fmt.Sprintf("plaidfake: account %q: Plaid never nulls both current and available", acc.ID))
	}
	if it == nil {
		it = s.newItemLocked(acc.InstitutionID, acc.History)
	}
	acc.InstitutionID = it.institution
	now := s.now()
	a := &account{Account: acc, it: it, hist: map[string][]version{}, updated: now, pulled: pull{at: now}}
	it.accounts = append(it.accounts, a)
	a.addDec(&a.opening, cmp.Or(acc.Opening, "0"), 1)
	if acc.Limit != "" {
		a.addDec(&a.limit, acc.Limit, 1)
	}
	s.accounts[acc.ID] = a
	s.order = append(s.order, a)
	return a
}

// NewToken issues another token for the same account, as a token rotation
// would; older tokens keep working.
func (s *Server) NewToken(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newToken(s.acct(accountID))
}

// InvalidateToken makes the token fail with INVALID_PROCESSOR_TOKEN forever.
func (s *Server) InvalidateToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[tok]; t != nil {
		t.invalid = true
	}
}

// SetItemError breaks (or, with code "", repairs) the Item behind the token:
// all tokens of all its accounts fail with code on every endpoint.
func (s *Server) SetItemError(tok, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[tok]
	if t == nil {
		panic(fmt.Sprintf("plaidfake: unknown token %q", tok))
	}
	t.acct.it.err = code
}

// SetItemErrorByID is SetItemError for an Item known by its item_id, as an
// Item bankfeed linked itself is.
func (s *Server) SetItemErrorByID(itemID, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.item(itemID).err = code
}

func (s *Server) prepare(t Txn, a *account) *Txn {
	if t.ID == "" {
		t.ID = s.newID()
	}
	if t.ISOCurrency == "" && t.UnofficialCurrency == "" {
		t.ISOCurrency, t.UnofficialCurrency = a.ISOCurrency, a.UnofficialCurrency
	}
	t.PaymentChannel = cmp.Or(t.PaymentChannel, "other")
	if _, ok := parseDec(t.Amount); !ok {
		panic(fmt.Sprintf("plaidfake: transaction %s: amount %q is not a plain decimal", t.ID, t.Amount))
	}
	if other := s.txnAcct[t.ID]; other != nil && (other != a || a.live(t.ID) != nil) {
		panic(fmt.Sprintf("plaidfake: transaction id %q already in use", t.ID))
	}
	s.txnAcct[t.ID] = a
	return &t
}

// AddTxn adds a transaction to its account and returns its id.
func (s *Server) AddTxn(t Txn) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acct(t.AccountID)
	p := s.prepare(t, a)
	a.record(s.now(), edit{p.ID, p})
	s.changedLocked(a)
	return p.ID
}

func (s *Server) liveTxn(id string) (*account, *Txn) {
	a := s.txnAcct[id]
	if a == nil || a.live(id) == nil {
		panic(fmt.Sprintf("plaidfake: no live transaction %q", id))
	}
	return a, a.live(id)
}

// ModifyTxn changes any field but ID and AccountID.
func (s *Server) ModifyTxn(id string, f func(*Txn)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, old := s.liveTxn(id)
	t := *old
	f(&t)
	t.ID, t.AccountID = old.ID, old.AccountID
	if _, ok := parseDec(t.Amount); !ok {
		panic(fmt.Sprintf("plaidfake: transaction %s: amount %q is not a plain decimal", id, t.Amount))
	}
	a.record(s.now(), edit{id, &t})
	s.changedLocked(a)
}

// RemoveTxn removes a live transaction; removing one that is gone is a no-op.
func (s *Server) RemoveTxn(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.txnAcct[id]; a != nil && a.live(id) != nil {
		a.record(s.now(), edit{id, nil})
		s.changedLocked(a)
	}
}

// PostPending replaces a pending transaction by its posted successor in one
// update, linking them through pending_transaction_id when link is set.
func (s *Server) PostPending(pendingID string, posted Txn, link bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, _ := s.liveTxn(pendingID)
	posted.AccountID, posted.Pending, posted.PendingTransactionID = a.ID, false, ""
	if link {
		posted.PendingTransactionID = pendingID
	}
	p := s.prepare(posted, a)
	a.record(s.now(), edit{pendingID, nil}, edit{p.ID, p})
	s.changedLocked(a)
	return p.ID
}

// Current is the bank's exact balance now: what the real-time
// /processor/balance/get reports as balances.current.
func (s *Server) Current(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acct(accountID)
	return a.format(a.current(&a.sums))
}

// PulledCurrent is balances.current as of Plaid's last pull: what sync and
// /processor/account/get report. Without WithPulls it equals Current.
func (s *Server) PulledCurrent(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acct(accountID)
	_, sm, _ := s.view(a)
	return a.format(a.current(sm))
}

// view is the bank as Plaid last saw it: the seq sync reads up to, the
// balances it reports, and when they were fetched.
func (s *Server) view(a *account) (seq int64, sm *sums, at time.Time) {
	if !s.pulls {
		return a.it.seq, &a.sums, a.updated
	}
	return a.it.pulledSeq, &a.pulled.sums, a.pulled.at
}

// viewSeq is the Item's seq as sync sees it.
func (s *Server) viewSeq(it *item) int64 {
	if !s.pulls {
		return it.seq
	}
	return it.pulledSeq
}

// Pull makes Plaid fetch the account's Item from the bank: everything that
// happened so far to any of its accounts becomes visible to sync and
// /processor/account/get.
func (s *Server) Pull(accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pullLocked(s.acct(accountID).it)
}

// PullAll pulls every Item.
func (s *Server) PullAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.items {
		s.pullLocked(it)
	}
}

func (s *Server) pullLocked(it *item) {
	fresh := s.pulls && it.pulledSeq != it.seq
	it.pulledSeq = it.seq
	for _, a := range it.accounts {
		a.pulled = pull{sums: a.sums.clone(), at: s.now()}
	}
	if fresh {
		s.notifyLocked(it, nil)
	}
}

// AdvanceHistory moves a staged account's Item's history one step:
// NOT_READY -> INITIAL_UPDATE_COMPLETE (transactions dated in the 30 days
// before now, less LateHistory ones) -> HISTORICAL_UPDATE_COMPLETE
// (everything, delivered as added on the next sync from the stored cursor).
func (s *Server) AdvanceHistory(accountID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.acct(accountID).it
	switch it.phase {
	case phaseNotReady:
		it.phase = phaseInitial
		it.initialFrom = s.now().AddDate(0, 0, -30).Format(time.DateOnly)
	case phaseInitial:
		it.phase = phaseHistorical
	default:
		return
	}
	s.notifyLocked(it, nil)
}

// HistoryState is the transactions_update_status of the account's Item.
func (s *Server) HistoryState(accountID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acct(accountID).it.phase.String()
}

// DaysRequested is the history window the first sync call of the account's
// Item fixed, as Plaid fixes it when it initialises Transactions: the
// request's options.days_requested, or 90 when it had none; 0 before any
// sync. WithClock, transactions dated before now minus that many days are
// never delivered for the account.
func (s *Server) DaysRequested(accountID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acct(accountID).it.days
}

// SyncOptions is what a sync request asked for in its options.
type SyncOptions struct {
	Sent                       bool // the request had an options object
	DaysRequested              int  // 0 when absent
	IncludeOriginalDescription bool
}

// LastSyncOptions reports the options of the token's latest sync request.
func (s *Server) LastSyncOptions(token string) SyncOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.syncOpts[token]
}

// AdjustBalance moves the reported balance without any transaction, to
// simulate a feed that misses activity.
func (s *Server) AdjustBalance(accountID, delta string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acct(accountID)
	a.addDec(&a.adjust, delta, 1)
	a.updated = s.now()
}

// Txns lists the account's live transactions sorted by ID.
func (s *Server) Txns(accountID string) []Txn {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acct(accountID)
	var out []Txn
	for id := range a.hist {
		if t := a.live(id); t != nil {
			out = append(out, *t)
		}
	}
	slices.SortFunc(out, func(x, y Txn) int { return strings.Compare(x.ID, y.ID) })
	return out
}

// SetMutationDuringPagination controls whether a page of a loop that started
// before the account last changed fails like Plaid's does (default on).
func (s *Server) SetMutationDuringPagination(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkMutation = on
}

// Seed builds a large deterministic world for benchmarks: every fourth
// account is a credit card, the rest checking; the newest 2% are pending.
func (s *Server) Seed(accounts, txnsPerAccount int, seed int64) []string {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	end := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	dates := make([]string, 730)
	for i := range dates {
		dates[i] = end.AddDate(0, 0, i-len(dates)+1).Format(time.DateOnly)
	}
	names := []string{"AWS", "Gusto Payroll", "Stripe Payout", "Slack", "GitHub", "Uber", "Staples", "Delta Air Lines", "WeWork", "Google Workspace"}
	s.mu.Lock()
	defer s.mu.Unlock()
	toks := make([]string, 0, accounts)
	for i := range accounts {
		acc := Account{Name: fmt.Sprintf("Seed checking %d", i), Mask: fmt.Sprintf("%04d", i%10000), Opening: "250000.00"}
		if i%4 == 3 {
			acc = Account{Name: fmt.Sprintf("Seed card %d", i), Mask: acc.Mask, Type: "credit", Subtype: "credit card", Opening: "0.00", Limit: "1000000.00"}
		}
		a := s.addAccountLocked(acc)
		toks = append(toks, s.newToken(a))
		day := 0
		for j := range txnsPerAccount {
			day = min(day+rng.IntN(2*len(dates)/max(txnsPerAccount, 1)+1), len(dates)-1)
			t := s.prepare(Txn{
				AccountID: a.ID,
				Amount:    centsString(rng.IntN(200000) - 20000),
				Date:      dates[day],
				Name:      names[rng.IntN(len(names))],
				Pending:   j >= txnsPerAccount-txnsPerAccount/50,
			}, a)
			a.record(s.now(), edit{t.ID, t})
		}
	}
	return toks
}

func centsString(c int) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}
