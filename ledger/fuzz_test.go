package ledger_test

import (
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"bankfeed/ledger"
)

// FuzzToMinor: for any decimal string and currency code, ToMinor either
// refuses with ErrPrecision, or returns minor units that Format renders
// back to the very same number. Which of the two it does is checked
// against an independent big.Rat computation. An unusable code is
// ErrCurrency and nothing else.
func FuzzToMinor(f *testing.F) {
	for _, s := range [][2]string{
		{"12.34", "USD"}, {"-2500.00", "USD"}, {"0.29", "USD"}, {"1.005", "USD"}, {"0", "JPY"}, {"1200", "JPY"},
		{"1200.5", "JPY"}, {"1.234", "BHD"}, {"1.2345", "BHD"}, {"1.2345", "CLF"}, {"0.00000001", "BTC"},
		{"0.000000001", "BTC"}, {"-0.00", "EUR"}, {"92233720368547758.07", "USD"}, {"92233720368547758.08", "USD"},
		{"-92233720368547758.08", "USD"}, {"-92233720368547758.07", "USD"}, {"1e2", "USD"}, {"1.5e-2", "USD"},
		{"1.5e-3", "USD"}, {"12.340000", "USD"}, {".5", "USD"}, {"5.", "USD"}, {"+7", "USD"}, {"abc", "USD"},
		{"1", "XXX"}, {"1", "XTS"}, {"1", "usd"}, {"1", "GBX"}, {"1", "ZZZZZ"}, {"1", "TOOLONG"}, {"1", ""},
		{"1", "U1D"}, {"1e400", "USD"}, {"1e-400", "USD"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, code string) {
		// The code as Plaid's iso_currency_code, else as its
		// unofficial_currency_code.
		cur, err := ledger.LookupCurrency(code, "")
		if err != nil {
			cur, err = ledger.LookupCurrency("", code)
		}
		if err != nil {
			if !errors.Is(err, ledger.ErrCurrency) {
				t.Fatalf("LookupCurrency(%q): %v is not ErrCurrency", code, err)
			}
			return
		}
		if cur.Exponent < 0 || cur.Exponent > 8 || cur.Code == "" {
			t.Fatalf("LookupCurrency(%q) = %+v", code, cur)
		}
		d, perr := decimal.NewFromString(s)
		if perr != nil {
			if _, err := ledger.ParseAmount(s, cur); !errors.Is(err, ledger.ErrPrecision) {
				t.Fatalf("ParseAmount(%q) of a non-number: %v, want ErrPrecision", s, err)
			}
			return
		}
		// No bound on the exponent is needed: shopspring refuses to decode
		// one beyond ±10000 (decimal.MaxDecodeExponent), and 10^10000 is cheap.
		m, err := ledger.ToMinor(d, cur)
		pm, perr2 := ledger.ParseAmount(s, cur)
		if pm != m || (err == nil) != (perr2 == nil) {
			t.Fatalf("ParseAmount(%q) = %d, %v; ToMinor = %d, %v", s, pm, perr2, m, err)
		}

		// Independently: d·10^exp must be a whole number in (MinInt64, MaxInt64].
		r := d.Rat()
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(cur.Exponent)), nil)))
		fits := r.IsInt() && r.Num().IsInt64() && r.Num().Int64() != math.MinInt64

		if err != nil {
			if !errors.Is(err, ledger.ErrPrecision) {
				t.Fatalf("ToMinor(%s, %s): %v is not ErrPrecision", s, cur.Code, err)
			}
			if fits {
				t.Fatalf("ToMinor(%s, %s) refused %s minor units: %v", s, cur.Code, r.Num(), err)
			}
			return
		}
		if !fits {
			t.Fatalf("ToMinor(%s, %s) = %d, but the amount is %s minor units", s, cur.Code, m, r.RatString())
		}
		if r.Num().Int64() != m {
			t.Fatalf("ToMinor(%s, %s) = %d, want %s", s, cur.Code, m, r.Num())
		}
		out := ledger.Format(m, cur)
		back, err := decimal.NewFromString(out)
		if err != nil {
			t.Fatalf("Format(%d, %s) = %q does not parse: %v", m, cur.Code, out, err)
		}
		if !back.Equal(d) {
			t.Fatalf("Format(ToMinor(%s)) = %s, not equal to the input", s, out)
		}
		// Exactly the currency's places, so reports line up.
		if cur.Exponent > 0 {
			_, frac, _ := strings.Cut(out, ".")
			if len(frac) != int(cur.Exponent) {
				t.Fatalf("Format(%d, %s) = %q: want %d places", m, cur.Code, out, cur.Exponent)
			}
		} else if strings.Contains(out, ".") {
			t.Fatalf("Format(%d, %s) = %q has a decimal point", m, cur.Code, out)
		}
		if again, err := ledger.ParseAmount(out, cur); err != nil || again != m {
			t.Fatalf("ParseAmount(Format(%d)) = %d, %v", m, again, err)
		}
	})
}

// FuzzFromFloat follows an amount the way plaid-go hands it over, as a
// float64: decimal.NewFromFloat gives the shortest decimal that reads back
// as the same float, and ToMinor(USD) must accept it exactly when that
// decimal has at most two places and fits an int64. When it does, the
// result is math.Round(x*100) for every |x| < 1e13, which documents that
// bankfeed never truncates like int64(x*100) (0.29*100 = 28.999999999999996).
func FuzzFromFloat(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 0.29, 0.57, 1.1, 12.34, -2500, 0.01, -0.01, 1.005, 0.1 + 0.2,
		1e-7, 5e-324, 99999999999.99, 1e13 - 0.01, 1e13, 92233720368547758.07, 9.2e16, 1e17, -9.3e16,
		math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.12, 4503599627370495.5} {
		f.Add(x)
	}
	usd, err := ledger.ISO("USD")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return // NewFromFloat panics on these; encoding/json never yields them
		}
		d := decimal.NewFromFloat(x)
		m, err := ledger.ToMinor(d, usd)

		// The shortest decimal, independently: strconv's digits and exponent.
		short := strconv.FormatFloat(x, 'e', -1, 64)
		mant, expStr, _ := strings.Cut(short, "e")
		exp, _ := strconv.Atoi(expStr)
		mant = strings.TrimPrefix(mant, "-")
		intPart, frac, _ := strings.Cut(mant, ".")
		frac = strings.TrimRight(frac, "0")
		places := len(frac) - exp
		if intPart == "0" && frac == "" {
			places = 0
		}
		fits := false
		if places <= 2 {
			r, ok := new(big.Rat).SetString(short)
			if !ok {
				t.Fatalf("big.Rat cannot read %q", short)
			}
			r.Mul(r, big.NewRat(100, 1))
			fits = r.IsInt() && r.Num().IsInt64() && r.Num().Int64() != math.MinInt64
		}
		if !d.Equal(decimal.RequireFromString(short)) {
			t.Fatalf("NewFromFloat(%v) = %s, shortest is %s", x, d, short)
		}
		if (err == nil) != fits {
			t.Fatalf("ToMinor(%s) = %d, %v; shortest %s has %d places, fits=%v", d, m, err, short, places, fits)
		}
		if err != nil {
			if !errors.Is(err, ledger.ErrPrecision) {
				t.Fatalf("ToMinor(%s): %v is not ErrPrecision", d, err)
			}
			return
		}
		if math.Abs(x) < 1e13 && math.Round(x*100) != float64(m) {
			t.Fatalf("ToMinor(%v) = %d, math.Round(x*100) = %v", x, m, math.Round(x*100))
		}
		if back := ledger.Decimal(m, usd).InexactFloat64(); back != x && !(x == 0 && back == 0) {
			t.Fatalf("ToMinor(%v) = %d reads back as %v", x, m, back)
		}
	})
}
