package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"bankfeed/metrics"
	"bankfeed/store"
)

// opsHandler serves what an operator's tooling polls, without an API key:
// /metrics, /healthz (the process is up) and /readyz (the database opens
// at this build's schema and the scheduler is running); every other path
// goes to the business handler.
func opsHandler(m *metrics.Metrics, st *store.Store, scheduling *atomic.Bool, business http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !scheduling.Load() {
			plain(w, http.StatusServiceUnavailable, "not ready: the scheduler is not running (starting or shutting down)")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := st.Ready(ctx); err != nil {
			plain(w, http.StatusServiceUnavailable, "not ready: "+oneLine(err))
			return
		}
		plain(w, http.StatusOK, "ready")
	})
	mux.Handle("/", business)
	return mux
}

func plain(w http.ResponseWriter, status int, line string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintln(w, line)
}

// checkMetricsFile refuses, before any work, a BANKFEED_METRICS_FILE that
// can never be written: retrying does not create its folder.
func checkMetricsFile(path string) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("BANKFEED_METRICS_FILE %s: folder %s does not exist; create it or point the setting into node_exporter's textfile folder", path, dir)
	case err != nil:
		return usagef("BANKFEED_METRICS_FILE %s: %v", path, err)
	case !fi.IsDir():
		return usagef("BANKFEED_METRICS_FILE %s: %s is not a folder", path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usagef("BANKFEED_METRICS_FILE %s is a folder; name a file in it, such as %s", path, filepath.Join(path, "bankfeed.prom"))
	}
	return nil
}
