package ledger

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"
)

func TestLookupCurrency(t *testing.T) {
	tests := []struct {
		iso, unofficial string
		code            string
		exp             int32
		wantErr         bool
	}{
		{"USD", "", "USD", 2, false},
		{"EUR", "", "EUR", 2, false},
		{"JPY", "", "JPY", 0, false},
		{"BHD", "", "BHD", 3, false},
		{"CLF", "", "CLF", 4, false},
		{"", "BTC", "BTC", 8, false},
		{"", "GBX", "GBX", 2, false},
		{"", "NEWCOIN", "", 0, true}, // 7 letters: not a code
		{"", "SOLX", "SOLX", 8, false},
		{"XYZ", "", "", 0, true},
		{"USD", "BTC", "", 0, true},
		{"", "", "", 0, true},
		{"XXX", "", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.iso+"/"+tt.unofficial, func(t *testing.T) {
			c, err := LookupCurrency(tt.iso, tt.unofficial)
			if tt.wantErr {
				if !errors.Is(err, ErrCurrency) {
					t.Fatalf("err = %v, want ErrCurrency", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Code != tt.code || c.Exponent != tt.exp {
				t.Fatalf("got %+v, want %s/%d", c, tt.code, tt.exp)
			}
		})
	}
}

func TestToMinor(t *testing.T) {
	tests := []struct {
		in      string
		cur     string
		want    int64
		wantErr bool
	}{
		{"0.29", "USD", 29, false},
		{"-1234.5", "USD", -123450, false},
		{"100000.01", "USD", 10000001, false},
		{"1200", "JPY", 1200, false},
		{"12.5", "JPY", 0, true},
		{"1.234", "USD", 0, true},
		{"1.234", "BHD", 1234, false},
		{"0.00012345", "BTC", 12345, false},
		{"0.000000001", "BTC", 0, true},
		{"92233720368547758.08", "USD", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in+tt.cur, func(t *testing.T) {
			c, err := testCurrency(tt.cur)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ToMinor(decimal.RequireFromString(tt.in), c)
			if tt.wantErr {
				if !errors.Is(err, ErrPrecision) {
					t.Fatalf("err = %v, want ErrPrecision", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ToMinor(%s) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			if back := Format(got, c); !decimal.RequireFromString(back).Equal(decimal.RequireFromString(tt.in)) {
				t.Fatalf("Format round trip: %s -> %s", tt.in, back)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	usd, _ := ISO("USD")
	jpy, _ := ISO("JPY")
	for _, tt := range []struct {
		minor int64
		c     Currency
		want  string
	}{{-123450, usd, "-1234.50"}, {5, usd, "0.05"}, {0, usd, "0.00"}, {1200, jpy, "1200"}} {
		if got := Format(tt.minor, tt.c); got != tt.want {
			t.Errorf("Format(%d, %s) = %q, want %q", tt.minor, tt.c.Code, got, tt.want)
		}
	}
}

// TestPostingRule checks the one rule for both kinds of account: the
// account's natural balance moves the way Plaid's balances.current does.
func TestPostingRule(t *testing.T) {
	tests := []struct {
		name        string
		plaidType   string
		amount      string
		cur         string
		wantNatural int64 // effect on the account's natural balance, minor units
	}{
		{"checking purchase", "depository", "12.34", "USD", -1234},
		{"checking deposit", "depository", "-2500.00", "USD", 250000},
		{"savings EUR fee", "depository", "3.5", "EUR", -350},
		{"yen purchase", "depository", "1200", "JPY", -1200},
		{"card purchase", "credit", "400.00", "USD", 40000},
		{"card payment", "credit", "-250.00", "USD", -25000},
		{"loan payment", "loan", "-100.00", "USD", -10000},
		{"crypto buy", "depository", "0.00012345", "BTC", -12345},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := testCurrency(tt.cur)
			if err != nil {
				t.Fatal(err)
			}
			kind, ok := KindForPlaidType(tt.plaidType)
			if !ok {
				t.Fatalf("%s not posted", tt.plaidType)
			}
			minor, err := ParseAmount(tt.amount, c)
			if err != nil {
				t.Fatal(err)
			}
			e, err := PostTransaction("acc1", "tx1", 1, "2026-01-02", Money{minor, c})
			if err != nil {
				t.Fatal(err)
			}
			var bank, suspense int64
			for _, l := range e.Lines {
				if l.Currency != c.Code {
					t.Fatalf("line currency %s, want %s", l.Currency, c.Code)
				}
				switch l.Account {
				case BankCode("acc1"):
					bank += l.Amount
				case Suspense:
					suspense += l.Amount
				}
			}
			if got := kind.Natural(bank); got != tt.wantNatural {
				t.Fatalf("natural effect = %d, want %d", got, tt.wantNatural)
			}
			if bank+suspense != 0 {
				t.Fatalf("unbalanced: %d", bank+suspense)
			}
		})
	}
}

func TestTooPreciseIsRefused(t *testing.T) {
	usd, _ := ISO("USD")
	if _, err := ParseAmount("1.234", usd); !errors.Is(err, ErrPrecision) {
		t.Fatalf("err = %v", err)
	}
}

func TestOpening(t *testing.T) {
	usd, _ := ISO("USD")
	for _, tt := range []struct {
		kind    Kind
		natural int64
	}{{Asset, 115000}, {Liability, 15000}, {Asset, -500}} {
		e, err := Opening("a", tt.kind, 1, "2026-01-01", Money{tt.natural, usd})
		if err != nil {
			t.Fatal(err)
		}
		if got := tt.kind.Natural(e.Lines[0].Amount); got != tt.natural || e.Lines[0].Account != BankCode("a") {
			t.Fatalf("%s opening natural = %d, want %d", tt.kind, got, tt.natural)
		}
	}
}

func TestCheckJournal(t *testing.T) {
	usd, _ := ISO("USD")
	e1, _ := PostTransaction("a", "t1", 1, "2026-01-02", Money{500, usd})
	r1 := Reverse(e1)
	if errs := CheckJournal([]Entry{e1, r1}); len(errs) != 0 {
		t.Fatalf("valid journal: %v", errs)
	}
	bad := r1
	bad.ID = "rev2"
	if errs := CheckJournal([]Entry{e1, r1, bad}); len(errs) == 0 {
		t.Fatal("double reversal not caught")
	}
	skew := r1
	skew.Lines = []Line{{BankCode("a"), "USD", 400}, {Suspense, "USD", -400}}
	if errs := CheckJournal([]Entry{e1, skew}); len(errs) == 0 {
		t.Fatal("non-mirroring reversal not caught")
	}
	unbal := Entry{ID: "x", Date: "2026-01-01", Lines: []Line{{"a", "USD", 1}, {"b", "USD", -2}}}
	if err := unbal.Validate(); !errors.Is(err, ErrUnbalanced) {
		t.Fatalf("unbalanced: %v", err)
	}
	multi := Entry{ID: "y", Date: "2026-01-01", Lines: []Line{{"a", "USD", 1}, {"b", "EUR", -1}}}
	if err := multi.Validate(); !errors.Is(err, ErrUnbalanced) {
		t.Fatal("balance must hold per currency")
	}
}

func TestDayBefore(t *testing.T) {
	if d, _ := DayBefore("2026-03-01"); d != "2026-02-28" {
		t.Fatal(d)
	}
	if _, err := DayBefore("2026-02-30"); err == nil {
		t.Fatal("bad date accepted")
	}
}

// testCurrency is a code as Plaid sends it: ISO 4217 in iso_currency_code,
// anything else in unofficial_currency_code.
func testCurrency(code string) (Currency, error) {
	if c, err := ISO(code); err == nil {
		return c, nil
	}
	return LookupCurrency("", code)
}
