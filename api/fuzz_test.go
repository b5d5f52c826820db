package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/store"
)

// fuzzBusinessID is the business every fuzzed PUT replaces the tokens of.
const fuzzBusinessID = "fuzz-biz"

// minLeakLen is the shortest input token whose full appearance in a
// response counts as a leak. A response may show a token's last 4
// characters (its hint), so a shorter token "leaks" by design, and a few
// characters more could match the API's own words by chance.
const minLeakLen = 8

// FuzzBusinessJSON sends each input, with a valid key and Content-Type
// application/json, as the body of POST /v1/businesses and of PUT
// /v1/businesses/{existing id} over real HTTP, and checks that the API
// never answers 500, answers only the contract's statuses, answers every
// error in the contract's shape, and never shows a processor token of the
// input whole.
//
// The server, its store and its temporary directory are built once per
// call of FuzzBusinessJSON, which is once per process (each fuzzing worker
// is its own process), and are removed by f.Cleanup.
func FuzzBusinessJSON(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add([]byte(seed))
	}
	fz := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		h := &harness{t: t, url: fz.url}
		toks, explained := inputStrings(body)
		for _, route := range []struct {
			method, path string
			ok           int // the success status
		}{
			{"POST", "/v1/businesses", http.StatusCreated},
			{"PUT", "/v1/businesses/" + fuzzBusinessID, http.StatusOK},
		} {
			r := h.do(route.method, route.path, string(body), withContentType("application/json"))
			where := fmt.Sprintf("%s %s", route.method, route.path)
			if bad := fz.srv.failures(); len(bad) > 0 {
				t.Fatalf("%s: the answer breaks openapi.json: %s", where, strings.Join(bad, "; "))
			}
			if r.status == http.StatusInternalServerError {
				t.Fatalf("%s: 500 (a panic or an unhandled error): %s\nserver log: %s", where, r.body, fz.log.String())
			}
			if !slices.Contains([]int{200, 201, 400, 404, 409, 413}, r.status) {
				t.Fatalf("%s: status %d is not one of the contract's: %.300s", where, r.status, r.body)
			}
			if r.status >= 400 {
				r.errCode(t) // fails unless {"error":{"code","message"}}
			} else {
				var b businessOut
				if err := json.Unmarshal(r.body, &b); err != nil || b.ID == "" {
					t.Fatalf("%s: %d with a body that is not a business: %v: %.300s", where, r.status, err, r.body)
				}
				if r.status != route.ok {
					t.Fatalf("%s: success is %d, want %d", where, r.status, route.ok)
				}
				if loc := r.header.Get("Location"); r.status == http.StatusCreated && loc != "/v1/businesses/"+b.ID {
					t.Fatalf("%s: 201 for business %q with Location %q", where, b.ID, loc)
				}
			}
			text := responseText(t, r.body)
			for _, tk := range toks {
				if len(tk) >= minLeakLen && strings.Contains(text, tk) &&
					!strings.Contains(explained+"\x00"+route.path+"\x00"+fz.vocab, tk) {
					t.Fatalf("%s: %d response shows the input's processor token %q whole: %.400s", where, r.status, tk, r.body)
				}
			}
		}
	})
}

type fuzzAPI struct {
	url   string
	srv   *checkedServer // every answer checked against openapi.json
	log   *lockedBuffer  // error lines only: the reason behind a 500
	vocab string         // the API's own words, from its answers to known requests
}

func newFuzzAPI(f *testing.F) *fuzzAPI {
	st, err := store.Open(context.Background(), filepath.Join(f.TempDir(), "bankfeed.db"), tokenKey, store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	st.Now = func() time.Time { return fixedNow }
	fz := &fuzzAPI{log: &lockedBuffer{}}
	fz.srv = serveChecked(f, NewHandler(st, Options{
		APIKeys: []string{apiKey}, Env: "sandbox", Log: zerolog.New(fz.log).Level(zerolog.ErrorLevel),
		Now: func() time.Time { return fixedNow },
	}))
	fz.url = fz.srv.URL

	// The business that PUTs replace, and the words of the API's answers,
	// so that a token that merely equals some of them is not a leak.
	var words []string
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/businesses", `{"id":"` + fuzzBusinessID + `","external_id":"x","legal_name":"y","plaid_processor_tokens":[{"processor_token":"` + tok(1) + `"}]}`},
		{"POST", "/v1/businesses", `{"id":"` + fuzzBusinessID + `"}`},
		{"POST", "/v1/businesses", `{"plaid_processor_tokens":[{"processor_token":"` + tok(1) + `"}]}`},
		{"POST", "/v1/businesses", `{"id":"a/b"}`},
		{"POST", "/v1/businesses", ``},
		{"POST", "/v1/businesses", `{`},
		{"POST", "/v1/businesses", `[]`},
		{"POST", "/v1/businesses", `{} {}`},
		{"POST", "/v1/businesses", `{"x":1}`},
		{"POST", "/v1/businesses", `{"plaid_processor_tokens":[{"processor_token":1}]}`},
		{"POST", "/v1/businesses", `{"plaid_processor_tokens":[{"processor_token":"a"},{"processor_token":"processor-production-abcd"}]}`},
		{"PUT", "/v1/businesses/" + fuzzBusinessID, `{}`},
		{"PUT", "/v1/businesses/none", `{"plaid_processor_tokens":[]}`},
		{"POST", "/v1/businesses", `{"legal_name":"` + strings.Repeat("a", DefaultMaxBody) + `"}`},
	} {
		req, err := http.NewRequest(c.method, fz.url+c.path, strings.NewReader(c.body))
		if err != nil {
			f.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			f.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			f.Fatal(err)
		}
		if resp.StatusCode >= 500 {
			f.Fatalf("%s %s: %d %s", c.method, c.path, resp.StatusCode, b)
		}
		words = append(words, strings.Join(jsonStrings(b), "\x00"))
	}
	fz.vocab = strings.Join(words, "\x00")
	return fz
}

// responseText is every key and string value of a JSON response, decoded,
// so that a token is found however the encoder escaped it.
func responseText(t *testing.T, body []byte) string {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("response is not JSON: %.300s", body)
	}
	return strings.Join(jsonStrings(body), "\x00")
}

// inputStrings reads the first JSON value of an input as the server does
// and returns the strings under any "processor_token" key (encoding/json
// matches keys without regard to case), and every other key and string
// value joined, which the API may echo legitimately (unknown field names,
// the business id, names).
func inputStrings(body []byte) (tokens []string, explained string) {
	var v any
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&v); err != nil {
		return nil, ""
	}
	var other []string
	var walk func(v any, underToken bool)
	walk = func(v any, underToken bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				other = append(other, k)
				walk(e, strings.EqualFold(k, "processor_token"))
			}
		case []any:
			for _, e := range x {
				walk(e, false)
			}
		case string:
			if underToken {
				tokens = append(tokens, x)
			} else {
				other = append(other, x)
			}
		}
	}
	walk(v, false)
	return tokens, strings.Join(other, "\x00")
}

// jsonStrings lists every key and string value of a JSON document; nil if
// it is not JSON.
func jsonStrings(b []byte) []string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				out = append(out, k)
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			out = append(out, x)
		}
	}
	walk(v)
	return out
}

func fuzzSeeds() []string {
	tokArray := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `{"processor_token":"` + f(i) + `"}`
		}
		return `{"plaid_processor_tokens":[` + strings.Join(parts, ",") + `]}`
	}
	return []string{
		// valid
		`{"plaid_processor_tokens":[]}`,
		tokensJSON(tok(11), tok(12)),
		`{"id":"seed-biz-1","external_id":"cust-1","legal_name":"Acme LLC","plaid_processor_tokens":[{"processor_token":"` + tok(21) + `"}]}`,
		`{"legal_name":"Ünïcødé GmbH","plaid_processor_tokens":[{"processor_token":"processor-sandbox-0a1b2c3d-zz99"}]}`,
		`{}`,
		// unknown fields, case games, duplicate keys
		`{"plaid_processor_tokens":[],"extra":1}`,
		`{"plaid_processor_tokens":[{"processor_token":"` + tok(31) + `","x":1}]}`,
		`{"PLAID_PROCESSOR_TOKENS":[{"Processor_Token":"` + tok(32) + `"}]}`,
		`{"plaid_processor_tokens":[],"plaid_processor_tokens":null}`,
		`{"processor_token":"processor-sandbox-top-level-1234"}`,
		// wrong types
		`{"plaid_processor_tokens":"` + tok(41) + `"}`,
		`{"plaid_processor_tokens":["` + tok(42) + `"]}`,
		`{"plaid_processor_tokens":[{"processor_token":7}]}`,
		`{"plaid_processor_tokens":[{"processor_token":null}]}`,
		`{"plaid_processor_tokens":{"processor_token":"` + tok(43) + `"}}`,
		`{"id":5,"legal_name":true,"external_id":[]}`,
		`{"id":"bad/id","plaid_processor_tokens":[]}`,
		`{"id":"` + strings.Repeat("a", 129) + `"}`,
		// bad token forms: none may come back whole
		tokensJSON("access-sandbox-5e1f0c7a-b2d4-9999"),
		tokensJSON("processor-production-5e1f0c7a-b2d4-9999"),
		tokensJSON("processor-sandbox-\u00e9\u00e9\u00e9\u00e9-b2d4-9999\u00e9"),
		tokensJSON("processor-sandbox-<script>alert(1)</script>"),
		tokensJSON("processor-sandbox-x\"y\\z\n-0000"),
		`{"plaid_processor_tokens":[{"processor_token":"processor-sandbox-\ud800\udc00-abc"}]}`,
		`{"plaid_processor_tokens":[{"processor_token":"proc\u0000essor-sandbox-abcdef"}]}`,
		`{"plaid_processor_tokens":[{}]}`,
		// nested garbage
		`{"plaid_processor_tokens":[[[[[[[[[[[[[[[[[[[[{}]]]]]]]]]]]]]]]]]]]]}`,
		`{"a":{"b":{"c":{"d":{"e":[1,2,{"f":null}]}}}}}`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		`{"plaid_processor_tokens":[{"processor_token":"` + tok(51) + `"}]` + strings.Repeat(" ", 1000) + `}`,
		"\xef\xbb\xbf{}",
		"\xff\xfe{\x00}",
		`{"legal_name":"\ud800"}`,
		`{"plaid_processor_tokens":[1e999]}`,
		// huge arrays and duplicates
		tokArray(2000, func(i int) string { return tok(i % 10000) }),
		tokArray(500, func(int) string { return tok(61) }),
		tokArray(300, func(i int) string { return fmt.Sprintf("not-a-token-%06d-secret", i) }),
		tokensJSON(tok(71), tok(71), tok(72), tok(71)),
		`{"legal_name":"` + strings.Repeat("a", DefaultMaxBody) + `"}`, // 413
		// not an object, or not only one
		`null`,
		`[]`,
		`""`,
		`0`,
		`true`,
		``,
		` `,
		`{`,
		`{"plaid_processor_tokens":[`,
		`{"plaid_processor_tokens":[]} {}`,
		`{"plaid_processor_tokens":[]} x`,
		`{"plaid_processor_tokens":[]}]`,
		`{"plaid_processor_tokens":[]}` + "\n\n",
		`{} null`,
	}
}
