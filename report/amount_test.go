package report

import (
	"math"
	"math/rand/v2"
	"testing"

	"bankfeed/ledger"
)

func TestParseAmount(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	inputs := []string{"", "-", ".", "0", "-0", "00", "01", "1.", ".5", "1.5", "1.50", "1.500", "-0.00", "-00.00", "0.00", "12.34",
		"-12.34", "+1.00", "1e2", "1,00", " 1.00", "1.00 ", "99999999999999999.99", "9999999999999999.99", "-9999999999999999.99",
		"92233720368547758.07", "92233720368547758.08", "1200", "-1200", "0.00000001", "1.2.3", "１.00", "NaN", "1.0a"}
	for range 20000 {
		n := rng.Int64() >> rng.IntN(63)
		if rng.IntN(2) == 0 {
			n = -n
		}
		for _, exp := range []int32{0, 2, 3, 8} {
			inputs = append(inputs, ledger.Format(n, ledger.Currency{Code: "TST", Exponent: exp}))
		}
	}
	inputs = append(inputs, ledger.Format(math.MaxInt64, ledger.Currency{Exponent: 2}), ledger.Format(math.MinInt64, ledger.Currency{Exponent: 2}))
	for _, code := range []string{"USD", "JPY", "BHD", "BTC"} {
		c, err := ledger.LookupCurrency(code, "")
		if code == "BTC" {
			c, err = ledger.LookupCurrency("", code)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range inputs {
			got, gotErr := parseAmount(s, c)
			want, wantErr := ledger.ParseAmount(s, c)
			if got != want || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("parseAmount(%q, %s) = %d, %v; ParseAmount = %d, %v", s, code, got, gotErr, want, wantErr)
			}
		}
	}
}
