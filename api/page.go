package api

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
)

// The Bank Linking page (GET /link?token=SCOPED) and its script (GET
// /link.js, for embedding): self-contained HTML, CSS and JS, with Plaid's
// link-initialize.js as the only external asset. The page checks the
// scoped token to name its business, but never writes the token into the
// HTML: the script reads it from the address and then removes it there.

//go:embed page/link.html
var pageHTML string

//go:embed page/link.js
var pageJS string

var pageTmpl = template.Must(template.New("link").Parse(pageHTML))

type pageData struct {
	Problem   string
	Business  string
	LinkJSURL string
	Script    template.JS
}

func (s *server) linkPage(w http.ResponseWriter, r *http.Request) {
	d := pageData{LinkJSURL: s.linkJSURL, Script: template.JS(pageJS)}
	status := http.StatusOK
	tok := r.URL.Query().Get("token")
	switch biz, problem := s.scoped(r.Context(), tok); {
	case tok == "":
		status, d.Problem = http.StatusUnauthorized, "This page needs a link from your platform: it carries a short-lived token. Ask for a new link."
	case problem != "":
		status, d.Problem = http.StatusUnauthorized, "This link cannot be used: "+problem+"."
	default:
		d.Business = biz
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, d); err != nil {
		internalError(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (s *server) linkScript(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(pageJS))
}
