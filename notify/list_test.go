package notify_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"bankfeed/jobs"
	"bankfeed/notify"
	"bankfeed/plaidapi"
	"bankfeed/plaidfake"
	"bankfeed/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// listWorld makes one event of each type through the paths that write
// them in production (a sync that flags a token, a probe that recovers
// it, a reconciliation that finds a break, a failed run), then one
// delivery pass whose receiver acknowledges only token.recovered: the
// break, written three days before, is given up; the others wait.
func listWorld(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	srv := plaidfake.New(plaidfake.WithCredentials("cid", "sec"))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "b.db"), []byte("0123456789abcdef0123456789abcdef"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.Now = clock
	chk, tok := srv.AddAccount(plaidfake.Account{ID: "acc_checking", Name: "Checking", Type: "depository", Subtype: "checking", ISOCurrency: "USD", Opening: "1000.00"})
	srv.AddTxn(plaidfake.Txn{AccountID: chk, Amount: "200.00", Date: "2026-11-02", Name: "Rent"})
	if _, err := st.PutTokens(ctx, "biz-golden", "sandbox", []string{tok}, true); err != nil {
		t.Fatal(err)
	}
	r := &jobs.Runner{Store: st, Log: zerolog.New(io.Discard), Now: clock, ProbeInterval: time.Hour,
		Plaid: plaidapi.New(plaidapi.Config{BaseURL: hs.URL, ClientID: "cid", Secret: "sec", RetryMax: 1})}
	reconcile := func() {
		_, _, err := jobs.Reconcile(ctx, st, jobs.ReconcileOptions{Now: clock})
		if err != nil && !errors.Is(err, jobs.ErrBreak) {
			t.Fatal(err)
		}
	}
	run := func(job string) {
		if _, err := r.Run(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	run("sync")
	reconcile()
	srv.AdjustBalance(chk, "-12.34")
	for range 2 { // the same difference on two snapshots: a break
		now = now.Add(time.Hour)
		run("sync")
		reconcile()
	}

	now = now.Add(73 * time.Hour)
	srv.SetItemError(tok, "ITEM_LOGIN_REQUIRED")
	run("sync")
	srv.SetItemError(tok, "")
	now = now.Add(2 * time.Hour)
	run("probe")
	if err := st.StartRun(ctx, "20261126T133000Z-0a1b2c3d4e5f", "reconcile"); err != nil {
		t.Fatal(err)
	}
	if err := finishRun(st, "20261126T133000Z-0a1b2c3d4e5f", "store reconciliation: database or disk is full"); err != nil {
		t.Fatal(err)
	}

	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if bytes.Contains(body, []byte(`"token.recovered"`)) {
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(rcv.Close)
	d := &notify.Deliverer{Store: st, URL: rcv.URL, Key: []byte("0123456789abcdef01234567"), Now: clock, Log: zerolog.New(io.Discard)}
	if c, err := d.DeliverDue(ctx); err != nil || c.Delivered != 1 || c.Failed != 1 || c.Retrying != 2 {
		t.Fatalf("delivery pass: %+v %v", c, err)
	}
	return st
}

// eventIDs are random; the golden files hold them numbered in order.
var eventID = regexp.MustCompile(`msg_[a-z2-7]{24}`)

func numberIDs(b []byte) []byte {
	seen := map[string]string{}
	return eventID.ReplaceAllFunc(b, func(id []byte) []byte {
		if _, ok := seen[string(id)]; !ok {
			seen[string(id)] = fmt.Sprintf("msg_%024d", len(seen)+1)
		}
		return []byte(seen[string(id)])
	})
}

// TestListGolden pins `notifications list` as a table and as JSON, with
// and without --all.
func TestListGolden(t *testing.T) {
	st := listWorld(t)
	for _, c := range []struct {
		name        string
		all, asJSON bool
	}{{"list.golden.txt", false, false}, {"list.golden.json", false, true}, {"list-all.golden.txt", true, false}, {"list-all.golden.json", true, true}} {
		var buf bytes.Buffer
		if err := notify.WriteList(context.Background(), st, &buf, c.all, c.asJSON); err != nil {
			t.Fatal(err)
		}
		got := numberIDs(buf.Bytes())
		if bytes.Contains(buf.Bytes(), []byte("processor-sandbox")) {
			t.Errorf("%s shows a processor token", c.name)
		}
		path := filepath.Join("testdata", c.name)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./notify -run TestListGolden -update creates it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (go test ./notify -run TestListGolden -update rewrites it after a deliberate change)\ngot:\n%s\nwant:\n%s", path, got, want)
		}
	}
	var buf bytes.Buffer
	if err := notify.WriteList(context.Background(), st, &buf, false, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "token.recovered") {
		t.Error("the default list shows a delivered event")
	}
}

// An empty outbox lists as [] (scripts iterate over it) and as a header.
func TestListEmpty(t *testing.T) {
	w := newWorld(t, "")
	var buf bytes.Buffer
	if err := notify.WriteList(context.Background(), w.st, &buf, true, true); err != nil || buf.String() != "[]\n" {
		t.Fatalf("%q %v", buf.String(), err)
	}
}
