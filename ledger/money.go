// Package ledger holds bankfeed's accounting domain: exact money, ledger
// accounts, journal entries and the rules that turn a bank transaction into
// a balanced entry. It knows nothing of SQLite or Plaid.
package ledger

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/shopspring/decimal"
	"golang.org/x/text/currency"
)

// Currency is a currency code with the number of decimal places its minor
// unit has. Money is stored as an int64 count of minor units beside it.
type Currency struct {
	Code       string
	Exponent   int32
	Unofficial bool
}

// unofficial lists the codes Plaid reports in unofficial_currency_code, with
// the decimal places bankfeed keeps for them. CLDR has no data for these, so
// the table is ours: crypto gets 8 places (a satoshi), which holds every
// amount Plaid has documented; GBX (pence) and CNH (offshore yuan) follow
// their fiat cousins. A code missing here falls back to DefaultUnofficialExponent.
var unofficial = map[string]int32{
	"ADA": 8, "BAT": 8, "BCH": 8, "BNB": 8, "BTC": 8, "BTG": 8, "BSV": 8,
	"CNH": 2, "DASH": 8, "DOGE": 8, "ETC": 8, "ETH": 8, "GBX": 2, "LSK": 8,
	"NEO": 8, "OMG": 8, "QTUM": 8, "USDT": 8, "XLM": 8, "XMR": 8, "XRP": 8,
	"ZEC": 8, "ZRX": 8,
}

// DefaultUnofficialExponent is used for an unofficial code not in the table.
const DefaultUnofficialExponent = 8

// ErrCurrency marks a transaction or balance whose currency cannot be used.
var ErrCurrency = errors.New("unusable currency")

// ErrPrecision marks an amount that is not a whole number of minor units or
// does not fit in an int64 of them.
var ErrPrecision = errors.New("amount does not fit its currency")

// LookupCurrency resolves Plaid's pair of mutually exclusive codes.
func LookupCurrency(iso, unofficialCode string) (Currency, error) {
	switch {
	case iso != "" && unofficialCode != "":
		return Currency{}, fmt.Errorf("%w: both iso_currency_code %q and unofficial_currency_code %q are set", ErrCurrency, iso, unofficialCode)
	case iso == "" && unofficialCode == "":
		return Currency{}, fmt.Errorf("%w: neither iso_currency_code nor unofficial_currency_code is set", ErrCurrency)
	case iso != "":
		return ISO(iso)
	}
	code := strings.ToUpper(unofficialCode)
	if !validCode(code) {
		return Currency{}, fmt.Errorf("%w: unofficial currency code %q is not 3 to 5 letters", ErrCurrency, unofficialCode)
	}
	exp, ok := unofficial[code]
	if !ok {
		exp = DefaultUnofficialExponent
	}
	return Currency{Code: code, Exponent: exp, Unofficial: true}, nil
}

// ISO resolves an ISO 4217 code with its CLDR minor-unit exponent.
func ISO(code string) (Currency, error) {
	u, err := currency.ParseISO(code)
	if err != nil || len(code) != 3 || u == currency.XXX || u.String() == "XTS" {
		return Currency{}, fmt.Errorf("%w: %q is not an ISO 4217 currency code", ErrCurrency, code)
	}
	scale, _ := currency.Standard.Rounding(u)
	return Currency{Code: u.String(), Exponent: int32(scale)}, nil
}

// Currencies maps a currency code to the currency its stored amounts were
// converted with at ingestion. It is read from what was stored, never
// resolved again from the code: an unofficial code that ISO 4217 also
// knows (XAU, VEF, ...) resolves differently by the two rules, and a table
// edited later would rescale history.
type Currencies map[string]Currency

// Get returns the stored currency of code.
func (cs Currencies) Get(code string) (Currency, error) {
	c, ok := cs[code]
	if !ok {
		return Currency{}, fmt.Errorf("%w: the exponent of %q is not stored", ErrCurrency, code)
	}
	return c, nil
}

func validCode(s string) bool {
	if len(s) < 3 || len(s) > 5 {
		return false
	}
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// ToMinor converts an exact decimal into whole minor units, refusing
// anything that would lose a digit.
func ToMinor(d decimal.Decimal, c Currency) (int64, error) {
	shifted := d.Shift(c.Exponent)
	if !shifted.Equal(shifted.Truncate(0)) {
		return 0, fmt.Errorf("%w: %s has more than %d decimal places for %s", ErrPrecision, d.String(), c.Exponent, c.Code)
	}
	bi := shifted.BigInt()
	if !bi.IsInt64() || bi.Int64() == math.MinInt64 {
		return 0, fmt.Errorf("%w: %s %s is out of range", ErrPrecision, d.String(), c.Code)
	}
	return bi.Int64(), nil
}

// ParseAmount reads a decimal string such as "-12.50" into minor units.
func ParseAmount(s string, c Currency) (int64, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a decimal number", ErrPrecision, s)
	}
	return ToMinor(d, c)
}

// Format renders minor units as an exact decimal string with exactly the
// currency's number of places ("-1234.50", "1200" for JPY).
func Format(minor int64, c Currency) string {
	return decimal.New(minor, -c.Exponent).StringFixed(c.Exponent)
}

// Decimal returns minor units as an exact decimal.
func Decimal(minor int64, c Currency) decimal.Decimal {
	return decimal.New(minor, -c.Exponent)
}

// Money is an exact amount in one currency.
type Money struct {
	Minor    int64
	Currency Currency
}

func (m Money) String() string { return Format(m.Minor, m.Currency) + " " + m.Currency.Code }
