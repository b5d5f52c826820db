package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"bankfeed/store"
)

// Logged pages are stored zstd-compressed and read back byte for byte;
// the checksum stays over the page as sent, so a page logged before
// compression (payload_codec NULL) reads as it always did, and damage to
// a compressed page is corruption, not garbage handed to the applier.
func TestPageLogIsCompressed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "b.db")
	st := open(t, path, key1, store.Options{})
	defer st.Close()
	b, err := st.PutTokens(ctx, "biz", "sandbox", []string{tok}, true)
	if err != nil {
		t.Fatal(err)
	}
	upd, err := st.BeginUpdate(ctx, b.Tokens[0].ID, "run", "")
	if err != nil {
		t.Fatal(err)
	}
	page := []byte(`{"added":[` + strings.Repeat(`{"transaction_id":"t","name":"Coffee shop","amount":"4.50"},`, 400) + `{}]}`)
	if err := st.AppendPage(ctx, upd, store.PageMeta{Seq: 0, CursorAfter: "c1", HasMore: true, RequestID: "r0"}, page); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx *store.Tx) error {
		return tx.AppendPage(upd, store.PageMeta{Seq: 1, CursorBefore: "c1", CursorAfter: "c2", RequestID: "r1"}, []byte(`{"last":true}`))
	}); err != nil {
		t.Fatal(err)
	}
	// A page as a bankfeed before schema version 9 logged it.
	old := []byte(`{"old":true}`)
	sum := sha256.Sum256(old)
	if err := st.Exec(ctx, `INSERT INTO sync_pages(update_id, seq, cursor_before, cursor_after, has_more, request_id, added, modified, removed,
		payload_sha256, payload, received_at) VALUES (?, 2, 'c2', 'c3', 0, 'r2', 0, 0, 0, ?, ?, '2026-11-01T00:00:00Z')`, upd, sum[:], old); err != nil {
		t.Fatal(err)
	}

	ro, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var stored []byte
	var codec string
	if err := ro.QueryRow(`SELECT payload, payload_codec FROM sync_pages WHERE update_id = ? AND seq = 0`, upd).Scan(&stored, &codec); err != nil {
		t.Fatal(err)
	}
	if codec != "zstd" || len(stored)*10 > len(page) {
		t.Errorf("page stored as %q in %d bytes, sent as %d", codec, len(stored), len(page))
	}

	want := [][]byte{page, []byte(`{"last":true}`), old}
	read := func() ([][]byte, error) {
		var got [][]byte
		err := st.UpdatePages(ctx, upd, func(_ store.PageMeta, p []byte) error {
			got = append(got, bytes.Clone(p))
			return nil
		})
		return got, err
	}
	got, err := read()
	if err != nil || len(got) != len(want) {
		t.Fatalf("read %d pages: %v", len(got), err)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("page %d reads back as %.60q, want %.60q", i, got[i], want[i])
		}
	}
	// The applier's read (Tx.Pages) sees the same bytes.
	var n int
	if err := st.Update(ctx, func(tx *store.Tx) error {
		return tx.Pages(upd, func(_ store.PageMeta, p []byte) error {
			if !bytes.Equal(p, want[n]) {
				t.Errorf("Tx.Pages: page %d differs", n)
			}
			n++
			return nil
		})
	}); err != nil || n != 3 {
		t.Fatalf("Tx.Pages: %d pages, %v", n, err)
	}

	// Damage: a flipped byte inside the compressed frame, or a frame
	// that decompresses to other bytes than the checksum's.
	for _, q := range []string{
		`DROP TRIGGER sync_pages_no_update`,
		`UPDATE sync_pages SET payload = CAST(substr(payload, 1, 20) || x'00' || substr(payload, 22) AS BLOB) WHERE seq = 0`,
	} {
		if err := st.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := read(); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "sync page 0 of update") {
		t.Errorf("damaged compressed page: %v", err)
	}
}
