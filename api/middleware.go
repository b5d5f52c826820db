package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"bankfeed/store"
)

// statusWriter remembers what was answered, for the request log, and the
// internal error behind a 500, which is logged but never sent.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
	err    error
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController and internalError reach through.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one line per request. It names the request by method
// and path only: bodies carry processor tokens and headers carry API keys,
// so neither is ever logged.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		ev := s.log.Info()
		if sw.status >= 500 {
			ev = s.log.Error().Err(sw.err)
		}
		ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", sw.status).
			Float64("latency_ms", float64(time.Since(start).Microseconds())/1000).
			Int("bytes", sw.bytes).Str("remote", r.RemoteAddr).Msg("api request")
	})
}

// internalError answers a generic 500 and hands the real error to the
// request log line.
func internalError(w http.ResponseWriter, err error) {
	for u := w; u != nil; {
		if sw, ok := u.(*statusWriter); ok {
			sw.err = err
			break
		}
		uw, ok := u.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		u = uw.Unwrap()
	}
	writeError(w, http.StatusInternalServerError, "internal", "internal error; the server log has the details")
}

// recoverPanics turns a panic into a 500 that echoes nothing of it.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err := fmt.Errorf("panic: %v", v)
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				// Too late for a clean answer; record why for the log.
				sw.err = err
				return
			}
			internalError(w, err)
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate demands a valid bearer key. Keys are compared as SHA-256
// hashes in constant time, against every key, so neither the key's length
// nor which key matched shows in the timing.
//
// A bearer that is a scoped token (store.ScopedTokenPrefix) authenticates
// as its business; the routes decide what it may do (platformOnly,
// forBusiness).
func (s *server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		p := principal{platform: s.authorized(header)}
		if !p.platform {
			msg := "send Authorization: Bearer <api key> with a valid key"
			if len(s.keys) == 0 {
				// serve listens without keys too (metrics, health, webhooks).
				msg = "the business API is off: set BANKFEED_API_KEYS to turn it on"
			}
			if tok, ok := bearer(header); ok && strings.HasPrefix(tok, store.ScopedTokenPrefix) {
				p.business, msg = s.scoped(r.Context(), tok)
			}
			if p.business == "" {
				w.Header().Set("WWW-Authenticate", "Bearer")
				writeError(w, http.StatusUnauthorized, "unauthorized", msg)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

func (s *server) authorized(header string) bool {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return false
	}
	h := sha256.Sum256([]byte(key))
	match := 0
	for _, k := range s.keys {
		match |= subtle.ConstantTimeCompare(h[:], k[:])
	}
	return match == 1
}

// jsonFallback gives ServeMux's own answers (404 for an unknown route,
// 405 with Allow for a known path and another method, redirects for
// unclean paths) the contract's JSON error shape. It recognises them as
// the responses that are not JSON by the time their header is written:
// every handler of ours sets application/json first.
func jsonFallback(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&fallbackWriter{ResponseWriter: w}, r)
	})
}

type fallbackWriter struct {
	http.ResponseWriter
	wrote   bool
	replace bool // the mux answered: swallow its plain-text body
}

func (w *fallbackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *fallbackWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	w.wrote = true
	h := w.Header()
	if code < 300 || strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		// The mux answers only 3xx and 4xx; a success (a 204) is ours.
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replace = true
	h.Del("Content-Type")
	h.Del("X-Content-Type-Options")
	if code == http.StatusMethodNotAllowed {
		writeError(w.ResponseWriter, code, "method_not_allowed", "this path allows "+h.Get("Allow"))
		return
	}
	// The API's paths are exact: a path the mux would redirect (double
	// slashes, dot segments) is not one of them.
	h.Del("Location")
	writeError(w.ResponseWriter, http.StatusNotFound, "not_found", "no such route")
}

func (w *fallbackWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.replace {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
