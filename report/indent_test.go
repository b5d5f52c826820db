package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// indent must lay out Marshal's output exactly as json.Indent does.
func TestIndentMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{`"`, `\`, `\"`, `\\`, "\n", "\t", "<", ">", "&", "\u2028", "\u2029", "é", "\x00", "\x1f", "\xff", "{", "}",
		"[", "]", ",", ":", " ", "a", "1", "null", `\u0022`}
	str := func() string {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	var value func(depth int) any
	value = func(depth int) any {
		switch k := rng.IntN(8); {
		case depth > 4 || k == 0:
			return str()
		case k == 1:
			return rng.Int64() - rng.Int64()
		case k == 2:
			return rng.IntN(2) == 0
		case k == 3:
			return nil
		case k == 4:
			return rng.Float64() * 1e6
		case k == 5:
			m := map[string]any{}
			for range rng.IntN(4) {
				m[str()] = value(depth + 1)
			}
			return m
		default:
			var a []any
			for range rng.IntN(4) {
				a = append(a, value(depth+1))
			}
			if a == nil && rng.IntN(2) == 0 {
				return []any{}
			}
			return a
		}
	}
	check := func(v any) {
		t.Helper()
		compact, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		if err := json.Indent(&want, compact, "", "  "); err != nil {
			t.Fatal(err)
		}
		want.WriteByte('\n')
		if got := indent(compact); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("indent(%s)\n got %q\nwant %q", compact, got, want.Bytes())
		}
	}
	for range 20000 {
		check(value(0))
	}
	check(sample())
	check(Report{})
	var deep any = "x"
	for range 40 {
		deep = []any{map[string]any{"k": deep}}
	}
	check(deep)
}

func FuzzIndent(f *testing.F) {
	f.Add(`{"a":["x\"y",{},[],{"b":null}],"c":"\\"}`)
	f.Fuzz(func(t *testing.T, s string) {
		// Whatever the text, Marshal's output of it as a value and as a key.
		for _, v := range []any{s, map[string]any{s: []any{s, map[string]any{}}}} {
			compact, err := json.Marshal(v)
			if err != nil {
				return
			}
			var want bytes.Buffer
			if err := json.Indent(&want, compact, "", "  "); err != nil {
				t.Fatal(err)
			}
			want.WriteByte('\n')
			if got := indent(compact); !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("indent(%s)\n got %q\nwant %q", compact, got, want.Bytes())
			}
		}
	})
}

// appendString must write every string exactly as json.Marshal does.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	check := func(s string) {
		t.Helper()
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	for c := range 256 {
		check(string([]byte{byte(c)}))
		check("a" + string([]byte{byte(c)}) + "é")
	}
	for _, s := range []string{"", "\u2028\u2029", "\xe2\x80", "\xe2\x80\xa8", "\xed\xa0\x80", "\xf4\x90\x80\x80", "😀", "\ufffd", "<&>"} {
		check(s)
	}
	for range 20000 {
		b := make([]byte, rng.IntN(12))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		check(string(b))
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("a\u2028<\xff")
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}
