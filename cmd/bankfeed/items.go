package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/api"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

// The commands of the bankfeed-managed Plaid connection: the Items list,
// the link page's URL for an operator, and the demo's page-flow linking.

func (a *app) cmdItemsList(ctx context.Context, args []string) error {
	return list(ctx, a, "items list", args, api.ListItems, "BUSINESS\tITEM\tINSTITUTION\tSTATUS\tREASON\tACCOUNTS\tLAST SYNC\tTO FIX",
		func(x api.ItemOut) []string {
			return []string{x.BusinessID, x.ItemID, orDash(x.InstitutionID), x.Status, orDash(x.Reason), fmt.Sprint(len(x.AccountIDs)),
				orDash(x.LastSyncedAt), orDash(x.Remedy)}
		})
}

// cmdLink prints the Bank Linking page's URL with a fresh scoped token, for
// an operator to hand to the business.
func (a *app) cmdLink(ctx context.Context, args []string) error {
	fs := newFlagSet("link")
	base := fs.String("base-url", "", "public URL of serve (default: http:// and BANKFEED_LISTEN)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("link: give exactly one BUSINESS_ID (see bankfeed --help)")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	st, err := a.existingStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, exp, err := st.CreateScopedToken(ctx, fs.Arg(0), api.ScopedTTL)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("link: no business %q; create it first (bankfeed business put %s, or POST /v1/businesses)", fs.Arg(0), fs.Arg(0))
	}
	if err != nil {
		return err
	}
	u := *base
	if u == "" {
		host, port, _ := net.SplitHostPort(cfg.Listen)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		u = "http://" + net.JoinHostPort(host, port)
	}
	fmt.Fprintf(a.stdout, "%s/link?token=%s\n", strings.TrimRight(u, "/"), url.QueryEscape(tok))
	fmt.Fprintf(a.stderr, "valid until %s (15 minutes), for business %s only; serve must be running\n", exp.Format(time.RFC3339), fs.Arg(0))
	return nil
}

// demoLink links one bank for business through the page flow's API, as
// the page's script does: scoped token -> link token -> Plaid Link (played
// by the sandbox) -> public token -> exchange. Scoped tokens expire on
// the demo's clock.
func demoLink(ctx context.Context, st *store.Store, client api.Plaid, srv *plaidfake.Server, business string, now func() time.Time) (api.ItemOut, int, error) {
	const key = "demo-platform-api-key-0123456789"
	h := api.NewHandler(st, api.Options{APIKeys: []string{key}, Env: "sandbox", Log: zerolog.Nop(), Plaid: client, Now: now})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return api.ItemOut{}, 0, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	call := func(bearer, method, path string, body, out any) error {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
	if err := call(key, "POST", "/v1/businesses", map[string]string{"id": business, "legal_name": "Demo Bakery LLC"}, nil); err != nil {
		return api.ItemOut{}, 0, err
	}
	var scoped struct {
		Token string `json:"token"`
	}
	if err := call(key, "POST", "/v1/businesses/"+business+"/scoped-tokens", nil, &scoped); err != nil {
		return api.ItemOut{}, 0, err
	}
	var lt struct {
		LinkToken string `json:"link_token"`
	}
	if err := call(scoped.Token, "POST", "/v1/businesses/"+business+"/plaid/link-token", map[string]string{}, &lt); err != nil {
		return api.ItemOut{}, 0, err
	}
	pub := srv.LinkSuccess(lt.LinkToken) // the end user finishing Plaid Link
	var created struct {
		ItemID   string            `json:"item_id"`
		Accounts []json.RawMessage `json:"accounts"`
	}
	if err := call(scoped.Token, "POST", "/v1/businesses/"+business+"/plaid/items", map[string]string{"public_token": pub}, &created); err != nil {
		return api.ItemOut{}, 0, err
	}
	items, err := api.ListItems(ctx, st, business)
	if err != nil || len(items) != 1 {
		return api.ItemOut{}, 0, fmt.Errorf("demo Item not stored: %v", err)
	}
	return items[0], len(created.Accounts), nil
}
