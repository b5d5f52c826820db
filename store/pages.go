package store

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Raw sync pages are most of what bankfeed stores (Plaid's JSON repeats
// every field name of every transaction); zstd keeps them at a small
// fraction of their size. A row says how its payload is stored
// (payload_codec: NULL as sent, 'zstd'): pages logged before schema
// version 9 stay readable as they are. payload_sha256 is always over the
// page as sent, so the checksum proves the decompression too.
const codecZstd = "zstd"

// maxPage bounds what one stored page may decompress to: a page holds at
// most 500 transactions, well under a megabyte of JSON, and a damaged or
// forged frame must not make a rebuild allocate without limit.
const maxPage = 64 << 20

// One encoder and one decoder for the process: both are safe for
// concurrent EncodeAll/DecodeAll and keep their buffers between pages.
var codec = sync.OnceValues(func() (*zstd.Encoder, *zstd.Decoder) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(0))
	if err != nil {
		panic(err) // constant options: cannot fail
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxPage))
	if err != nil {
		panic(err)
	}
	return enc, dec
})

// packedPage is a page ready for the log: its checksum over the bytes as
// sent, and the bytes as stored.
type packedPage struct {
	sum    [sha256.Size]byte
	stored []byte
}

// packPage compresses a page. It runs before the writer's transaction, so
// that no other writer waits for the compression.
func packPage(payload []byte) packedPage {
	enc, _ := codec()
	return packedPage{sum: sha256.Sum256(payload), stored: enc.EncodeAll(payload, make([]byte, 0, len(payload)/8))}
}

// unpackPage returns the page as sent, checked against its checksum.
func unpackPage(stored []byte, codecName sql.NullString, sum []byte) ([]byte, error) {
	payload := stored
	switch {
	case !codecName.Valid:
	case codecName.String == codecZstd:
		_, dec := codec()
		var err error
		if payload, err = dec.DecodeAll(stored, nil); err != nil {
			return nil, fmt.Errorf("does not decompress (%v)", err)
		}
	default:
		return nil, fmt.Errorf("is stored as %q, which this bankfeed cannot read", codecName.String)
	}
	if got := sha256.Sum256(payload); string(got[:]) != string(sum) {
		return nil, fmt.Errorf("fails its checksum")
	}
	return payload, nil
}

// pagesSQL reads an update's logged pages in order.
const pagesSQL = `SELECT seq, cursor_before, cursor_after, has_more, request_id, payload_sha256, payload, payload_codec
		FROM sync_pages WHERE update_id = ? ORDER BY seq`

// scanPages hands each page of rows (pagesSQL) to fn, as sent and checked.
func scanPages(rows *sql.Rows, updateID int64, fn func(PageMeta, []byte) error) error {
	defer rows.Close()
	for rows.Next() {
		var m PageMeta
		var sum, stored []byte
		var codecName sql.NullString
		if err := rows.Scan(&m.Seq, &m.CursorBefore, &m.CursorAfter, &m.HasMore, &m.RequestID, &sum, &stored, &codecName); err != nil {
			return err
		}
		payload, err := unpackPage(stored, codecName, sum)
		if err != nil {
			return fmt.Errorf("%w: sync page %d of update %d %v", ErrCorrupt, m.Seq, updateID, err)
		}
		if err := fn(m, payload); err != nil {
			return err
		}
	}
	return rows.Err()
}
