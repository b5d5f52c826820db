package plaidapi

import (
	"fmt"
	"io"
	"net/http"
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
