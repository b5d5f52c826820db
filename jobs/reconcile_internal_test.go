package jobs

import (
	"math"
	"math/rand/v2"
	"testing"

	"bankfeed/ledger"
)

// formatMinor stands in for ledger.Format on the report's hot path, so it
// must agree with it byte for byte.
func TestFormatMinor(t *testing.T) {
	values := []int64{0, 1, -1, 5, -5, 9, 10, -10, 99, 100, -100, 12345, -12345, 1e8, -1e8 + 1,
		math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, math.MaxInt32, math.MinInt32}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		n := rng.Int64() >> rng.IntN(63)
		if rng.IntN(2) == 0 {
			n = -n
		}
		values = append(values, n)
	}
	for exp := int32(0); exp <= 19; exp++ {
		c := ledger.Currency{Code: "TST", Exponent: exp}
		for _, n := range values {
			if got, want := formatMinor(n, c), ledger.Format(n, c); got != want {
				t.Fatalf("formatMinor(%d, exp %d) = %q, ledger.Format = %q", n, exp, got, want)
			}
		}
	}
}

func TestStampCache(t *testing.T) {
	c := stampCache{}
	for in, want := range map[string]string{
		"2026-11-27T12:00:00Z":           "2026-11-27T12:00:00Z",
		"2026-11-27T12:00:00.123456789Z": "2026-11-27T12:00:00Z",
		"2026-11-27T13:00:00+01:00":      "2026-11-27T12:00:00Z",
		"":                               "0001-01-01T00:00:00Z",
		"yesterday":                      "0001-01-01T00:00:00Z",
	} {
		for range 2 {
			if got := c.rfc(in); got != want {
				t.Errorf("rfc(%q) = %q, want %q", in, got, want)
			}
		}
	}
}
