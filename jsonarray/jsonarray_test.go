package jsonarray_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"bankfeed/jsonarray"
)

// The streamed array is byte for byte what encoding/json's indented
// encoder writes for the whole slice, for every length.
func TestSameAsTheWholeArray(t *testing.T) {
	type row struct {
		ID     string  `json:"id"`
		Amount string  `json:"amount"`
		Note   *string `json:"note"`
		Tags   []int   `json:"tags"`
	}
	note := "a <b> & \"c\""
	all := []row{{"1", "-1.00", nil, nil}, {"2", "3.50", &note, []int{1, 2}}, {"3", "0.00", nil, []int{}}}
	for n := 0; n <= len(all); n++ {
		var want, got bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all[:n]); err != nil {
			t.Fatal(err)
		}
		a := jsonarray.New(&got)
		for _, r := range all[:n] {
			if err := a.Add(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Errorf("%d rows:\n%s\nwant\n%s", n, got.String(), want.String())
		}
	}
}
