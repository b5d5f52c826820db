package books_test

import (
	"encoding/json"
	"io"

	"github.com/shopspring/decimal"
)

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}

func decimalString(minor int64, exp int32) string {
	return decimal.New(minor, -exp).String()
}

// sameNumber compares two decimals exactly ("12.3" equals "12.30").
func sameNumber(a, b string) bool {
	x, err1 := decimal.NewFromString(a)
	y, err2 := decimal.NewFromString(b)
	return err1 == nil && err2 == nil && x.Equal(y)
}
