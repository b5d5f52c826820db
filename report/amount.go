package report

import "bankfeed/ledger"

// parseAmount is ledger.ParseAmount for the report's own amounts. Every
// amount in a report was written by ledger.Format: an optional minus, an
// integer part without leading zeros, and exactly the currency's places.
// Those are read here digit by digit (a chart alone has 600,000 of them);
// anything else, or anything that could overflow, goes to ledger.ParseAmount,
// so the result and the errors are ParseAmount's (TestParseAmount).
func parseAmount(s string, c ledger.Currency) (int64, error) {
	if n, ok := parseFormatted(s, int(c.Exponent)); ok {
		return n, nil
	}
	return ledger.ParseAmount(s, c)
}

func parseFormatted(s string, exp int) (int64, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	intStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intDigits := i - intStart
	if intDigits == 0 || (intDigits > 1 && s[intStart] == '0') {
		return 0, false
	}
	if exp > 0 {
		if i >= len(s) || s[i] != '.' || len(s)-i-1 != exp {
			return 0, false
		}
		for _, d := range []byte(s[i+1:]) {
			if d < '0' || d > '9' {
				return 0, false
			}
		}
	} else if i != len(s) || exp < 0 {
		return 0, false
	}
	if intDigits+exp > 18 {
		return 0, false // may not fit an int64: let ParseAmount decide
	}
	var n int64
	for _, d := range []byte(s[intStart:]) {
		if d != '.' {
			n = n*10 + int64(d-'0')
		}
	}
	if neg {
		if n == 0 {
			return 0, false // "-0.00" is not what Format writes
		}
		n = -n
	}
	return n, true
}
