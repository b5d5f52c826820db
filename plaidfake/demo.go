package plaidfake

import (
	"strings"
	"time"
)

// Ids of the demo's two pending checking transactions. The dinner posts
// later, with a tip, when DemoPostTip is called.
const (
	DemoPendingDinnerID = "demoPendingDinnerTartine0000000000001"
	DemoPendingRideID   = "demoPendingRideUber000000000000000002"
)

var demoPFC = map[string][2]string{
	"saas":     {"GENERAL_SERVICES", "GENERAL_SERVICES_OTHER_GENERAL_SERVICES"},
	"payroll":  {"TRANSFER_OUT", "TRANSFER_OUT_ACCOUNT_TRANSFER"},
	"income":   {"INCOME", "INCOME_OTHER_INCOME"},
	"interest": {"INCOME", "INCOME_INTEREST_EARNED"},
	"rent":     {"RENT_AND_UTILITIES", "RENT_AND_UTILITIES_RENT"},
	"cardpay":  {"LOAN_PAYMENTS", "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"},
	"ride":     {"TRANSPORTATION", "TRANSPORTATION_TAXIS_AND_RIDE_SHARES"},
	"food":     {"FOOD_AND_DRINK", "FOOD_AND_DRINK_RESTAURANT"},
	"flight":   {"TRAVEL", "TRAVEL_FLIGHTS"},
	"hotel":    {"TRAVEL", "TRAVEL_LODGING"},
	"office":   {"GENERAL_MERCHANDISE", "GENERAL_MERCHANDISE_OFFICE_SUPPLIES"},
	"hardware": {"HOME_IMPROVEMENT", "HOME_IMPROVEMENT_HARDWARE"},
	"transfer": {"TRANSFER_IN", "TRANSFER_IN_ACCOUNT_TRANSFER"},
}

// demoRows are "date|name|merchant|amount|channel|pfc" with Plaid's sign.
// They are written as Q1 2026 and shifted, all by the same number of days,
// so that demoNewest falls on the server's today (see Demo): the history
// spans the last three months, the pending items are a few days old, and
// the same clock gives the same world.
var demoChecking = `
2026-01-01|WEWORK MEMBERSHIP|WeWork|4500.00|online|rent
2026-01-01|GOOGLE *WORKSPACE|Google Workspace|144.00|online|saas
2026-01-03|AWS EMEA AWS.AMAZON.CO|Amazon Web Services|2341.87|online|saas
2026-01-05|STRIPE TRANSFER ST-J8K2|Stripe|-24310.55|other|income
2026-01-07|GITHUB, INC.|GitHub|231.00|online|saas
2026-01-08|TWILIO SENDGRID|Twilio|58.12|online|saas
2026-01-10|SLACK T02ABCDEF|Slack|412.50|online|saas
2026-01-12|FIGMA MONTHLY|Figma|180.00|online|saas
2026-01-14|NOTION LABS|Notion|96.00|online|saas
2026-01-15|GUSTO PAYROLL 8841|Gusto|18432.17|other|payroll
2026-01-20|STRIPE TRANSFER ST-Q4M1|Stripe|-19875.10|other|income
2026-01-22|STAPLES 00114|Staples|143.29|in store|office
2026-01-30|GUSTO PAYROLL 8841|Gusto|18432.17|other|payroll
2026-02-01|WEWORK MEMBERSHIP|WeWork|4500.00|online|rent
2026-02-01|GOOGLE *WORKSPACE|Google Workspace|144.00|online|saas
2026-02-03|AWS EMEA AWS.AMAZON.CO|Amazon Web Services|2518.02|online|saas
2026-02-04|STRIPE TRANSFER ST-Z9P3|Stripe|-22004.83|other|income
2026-02-07|GITHUB, INC.|GitHub|231.00|online|saas
2026-02-08|TWILIO SENDGRID|Twilio|61.40|online|saas
2026-02-10|SLACK T02ABCDEF|Slack|412.50|online|saas
2026-02-12|FIGMA MONTHLY|Figma|180.00|online|saas
2026-02-13|GUSTO PAYROLL 8841|Gusto|18610.04|other|payroll
2026-02-14|NOTION LABS|Notion|96.00|online|saas
2026-02-15|FIGMA REFUND|Figma|-60.00|online|saas
2026-02-19|STRIPE TRANSFER ST-A7C5|Stripe|-21388.40|other|income
2026-02-25|PAYMENT TO BUSINESS CARD|Gingham Bank|3000.00|other|cardpay
2026-02-27|GUSTO PAYROLL 8841|Gusto|18610.04|other|payroll
2026-03-01|WEWORK MEMBERSHIP|WeWork|4500.00|online|rent
2026-03-01|GOOGLE *WORKSPACE|Google Workspace|144.00|online|saas
2026-03-03|AWS EMEA AWS.AMAZON.CO|Amazon Web Services|2402.66|online|saas
2026-03-05|STRIPE TRANSFER ST-K1L8|Stripe|-25117.92|other|income
2026-03-07|GITHUB, INC.|GitHub|231.00|online|saas
2026-03-08|TWILIO SENDGRID|Twilio|57.96|online|saas
2026-03-10|SLACK T02ABCDEF|Slack|412.50|online|saas
2026-03-12|FIGMA MONTHLY|Figma|180.00|online|saas
2026-03-13|GUSTO PAYROLL 8841|Gusto|18610.04|other|payroll
2026-03-14|NOTION LABS|Notion|96.00|online|saas
2026-03-20|STRIPE TRANSFER ST-U2V6|Stripe|-20940.77|other|income
2026-03-27|GUSTO PAYROLL 8841|Gusto|18610.04|other|payroll`

var demoCard = `
2026-01-06|DELTA AIR LINES 0062|Delta|612.40|online|flight
2026-01-06|ADOBE *CREATIVE CLD|Adobe|59.99|online|saas
2026-01-09|MARRIOTT SF UNION SQ|Marriott|489.22|in store|hotel
2026-01-09|UBER *TRIP|Uber|31.75|online|ride
2026-01-10|UBER *TRIP|Uber|27.40|online|ride
2026-01-10|ZOOM.US 888-799-9666|Zoom|15.99|online|saas
2026-01-17|SWEETGREEN MISSION|Sweetgreen|64.18|in store|food
2026-01-28|HOME DEPOT #0613|The Home Depot|56.70|in store|hardware
2026-02-06|ADOBE *CREATIVE CLD|Adobe|59.99|online|saas
2026-02-10|ZOOM.US 888-799-9666|Zoom|15.99|online|saas
2026-02-11|LYFT *RIDE|Lyft|22.35|online|ride
2026-02-18|BLUE BOTTLE COFFEE|Blue Bottle Coffee|38.50|in store|food
2026-02-26|PAYMENT - THANK YOU||-3000.00|other|cardpay
2026-03-02|UNITED AIRLINES|United Airlines|745.10|online|flight
2026-03-04|HILTON CHICAGO|Hilton|612.88|in store|hotel
2026-03-04|UBER *TRIP|Uber|44.20|online|ride
2026-03-06|ADOBE *CREATIVE CLD|Adobe|59.99|online|saas
2026-03-10|ZOOM.US 888-799-9666|Zoom|15.99|online|saas
2026-03-18|NOPA RESTAURANT|Nopa|212.64|in store|food
2026-03-24|STAPLES 00114|Staples|88.13|in store|office`

var demoSavings = `
2026-01-31|INTEREST PAYMENT||-41.12|other|interest
2026-02-16|TRANSFER FROM CHECKING||-5000.00|other|transfer
2026-02-28|INTEREST PAYMENT||-45.87|other|interest`

func (s *Server) addRows(accountID, rows string) {
	for _, line := range strings.Split(strings.TrimSpace(rows), "\n") {
		f := strings.Split(line, "|")
		p := demoPFC[f[5]]
		d := s.demoDate(f[0])
		s.AddTxn(Txn{AccountID: accountID, Date: d, AuthorizedDate: d, Name: f[1], MerchantName: f[2],
			Amount: f[3], PaymentChannel: f[4], PFCPrimary: p[0], PFCDetailed: p[1]})
	}
}

// demoNewest is the newest date the demo's rows are written with (the
// deposit after a re-link): it becomes the server's today.
const demoNewest = "2026-04-02"

// demoDate is a date of the demo's rows, shifted as Demo fixed it.
func (s *Server) demoDate(d string) string {
	t, err := time.Parse(time.DateOnly, d)
	if err != nil {
		panic("plaidfake: demo date " + d)
	}
	return t.AddDate(0, 0, s.demoShift).Format(time.DateOnly)
}

var demoMoneyMarket = `
2026-02-28|INTEREST PAYMENT||-61.30|other|interest
2026-03-31|INTEREST PAYMENT||-63.02|other|interest`

// Demo is a small business's world for `bankfeed demo` and `sandbox`:
// checking (with two pendings), a credit card, a savings account whose Item
// needs a new login, and a money-market account linked so recently that its
// history is not ready. It returns tokens by "checking", "card", "broken",
// "staged". Options (WithWebhooks, WithClock, ...) apply to the server; its
// clock's today dates the world: three months of history up to today,
// pendings two and three days old.
func Demo(opts ...Option) (*Server, map[string]string) {
	s := New(opts...)
	newest, _ := time.Parse(time.DateOnly, demoNewest)
	y, m, d := s.now().Date()
	s.demoShift = int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(newest).Hours() / 24)
	chk, chkTok := s.AddAccount(Account{Name: "Business Checking", OfficialName: "Gingham Bank Business Checking",
		Mask: "0000", Type: "depository", Subtype: "checking", Opening: "152854.23"})
	s.addRows(chk, demoChecking)
	s.AddTxn(Txn{ID: DemoPendingDinnerID, AccountID: chk, Date: s.demoDate("2026-03-30"), AuthorizedDate: s.demoDate("2026-03-30"),
		Name: "TARTINE BAKERY", MerchantName: "Tartine", Amount: "42.00", Pending: true, PaymentChannel: "in store",
		PFCPrimary: "FOOD_AND_DRINK", PFCDetailed: "FOOD_AND_DRINK_RESTAURANT"})
	s.AddTxn(Txn{ID: DemoPendingRideID, AccountID: chk, Date: s.demoDate("2026-03-31"), AuthorizedDate: s.demoDate("2026-03-31"),
		Name: "UBER *TRIP HELP.UBER.COM", MerchantName: "Uber", Amount: "23.10", Pending: true, PaymentChannel: "online",
		PFCPrimary: "TRANSPORTATION", PFCDetailed: "TRANSPORTATION_TAXIS_AND_RIDE_SHARES"})

	card, cardTok := s.AddAccount(Account{Name: "Business Card", OfficialName: "Gingham Bank Business Platinum Card",
		Mask: "4242", Type: "credit", Subtype: "credit card", Opening: "1250.00", Limit: "25000.00"})
	s.addRows(card, demoCard)

	sav, savTok := s.AddAccount(Account{Name: "Business Savings", OfficialName: "Gingham Bank High Yield Savings",
		Mask: "1111", Type: "depository", Subtype: "savings", Opening: "50000.00"})
	s.addRows(sav, demoSavings)
	s.SetItemError(savTok, "ITEM_LOGIN_REQUIRED")

	// Linked moments ago: Plaid is still fetching its history, so every
	// sync answers NOT_READY. Nothing advances it in the demo.
	mm, mmTok := s.AddAccount(Account{Name: "Business Money Market", OfficialName: "Gingham Bank Money Market",
		Mask: "2222", Type: "depository", Subtype: "money market", Opening: "75000.00", History: HistoryStaged})
	s.addRows(mm, demoMoneyMarket)
	return s, map[string]string{"checking": chkTok, "card": cardTok, "broken": savTok, "staged": mmTok}
}

// DemoPostTip posts the demo's pending dinner with a tip added, linked to its
// pending id as Plaid would, and returns the posted transaction's id.
func DemoPostTip(s *Server) string {
	return s.PostPending(DemoPendingDinnerID, Txn{Date: s.demoDate("2026-04-01"), AuthorizedDate: s.demoDate("2026-03-30"),
		Name: "TARTINE BAKERY", MerchantName: "Tartine", Amount: "50.40", PaymentChannel: "in store",
		PFCPrimary: "FOOD_AND_DRINK", PFCDetailed: "FOOD_AND_DRINK_RESTAURANT"}, true)
}

// demoRelinkFrom is where the demo's re-link copy starts, shifted like
// the rows: two months of overlap with what the old Item delivered.
const demoRelinkFrom = "2026-02-01"

// DemoRelink re-links the demo's checking account as its customer would
// after its login broke: a new Item with new account and transaction ids
// for a copy of the history since February, plus one new deposit. The old
// checking token then answers ITEM_LOGIN_REQUIRED. It returns the new
// account's processor token. Calling it again re-links the newest checking
// Item.
func DemoRelink(s *Server) (newToken string) {
	s.mu.Lock()
	var old *account
	for _, a := range s.order {
		if a.Name == "Business Checking" && a.Mask == "0000" && a.it.err == "" {
			old = a
		}
	}
	if old == nil {
		s.mu.Unlock()
		panic("plaidfake: DemoRelink needs the demo world's checking account")
	}
	a := s.relinkLocked(old, s.demoDate(demoRelinkFrom))
	newToken = s.newToken(a)
	s.mu.Unlock()
	s.addRows(a.ID, demoAfterRelink)
	return newToken
}

var demoAfterRelink = `
2026-04-02|STRIPE TRANSFER ST-R3L1|Stripe|-23118.64|other|income`
