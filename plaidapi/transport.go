package plaidapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// plaid-go reads every body whole (io.ReadAll) before decoding, so a
// runaway response would otherwise be held in memory in full.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

type bodyLimitError struct{ max int64 }

func (e *bodyLimitError) Error() string { return fmt.Sprintf("response over %d bytes", e.max) }

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, &bodyLimitError{max: t.max}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.max, max: t.max}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64 // bytes still allowed; negative once the limit is passed
	max  int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, &bodyLimitError{max: b.max}
	}
	// Ask for one byte past the limit: that byte is the proof of overflow.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - 1, &bodyLimitError{max: b.max}
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// countTransport reports every HTTP attempt to Plaid, retries included, by
// endpoint and outcome: the one place all calls pass, whatever the method.
// It sits outside limitTransport, so it sees what plaid-go will see.
type countTransport struct {
	base    http.RoundTripper
	prefix  string // the base URL's path, trimmed from endpoints
	observe func(endpoint, outcome string)
}

// errorPeek bounds how much of an error body is read to find its
// error_code: Plaid's error objects are well under 1 KiB.
const errorPeek = 16 << 10

// plaidCode is the shape of Plaid's error codes. Anything else (a proxy's
// page, a broken body) is counted by its status class, so that the label
// set stays small and no stray text reaches a label.
var plaidCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

func (t *countTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	endpoint := strings.TrimPrefix(req.URL.Path, t.prefix)
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		outcome := "no_response"
		if tooBig := (*bodyLimitError)(nil); errors.As(err, &tooBig) {
			outcome = "too_large"
		}
		t.observe(endpoint, outcome)
		return resp, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		t.observe(endpoint, "ok")
		return resp, nil
	}
	outcome := fmt.Sprintf("%dxx", resp.StatusCode/100)
	if resp.Body != nil {
		head, rerr := io.ReadAll(io.LimitReader(resp.Body, errorPeek))
		var e struct {
			Code string `json:"error_code"`
		}
		if json.Unmarshal(head, &e) == nil && plaidCode.MatchString(e.Code) {
			outcome = e.Code
		}
		// plaid-go reads the body again: hand it back whole, read error and all.
		rest := io.Reader(resp.Body)
		if rerr != nil {
			rest = &errReader{rerr}
		}
		resp.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(head), rest), Closer: resp.Body}
	}
	t.observe(endpoint, outcome)
	return resp, nil
}

type replayBody struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }
