// Package store keeps bankfeed's state in one SQLite file: businesses and
// their processor tokens (encrypted), Plaid accounts, bank transactions, the
// append-only journal, raw sync pages, balance snapshots and job runs.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors callers branch on.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("conflict")
	ErrSchemaTooNew = errors.New("database schema is newer than this bankfeed")
	ErrWrongKey     = errors.New("BANKFEED_TOKEN_KEY does not decrypt the stored processor tokens")
	ErrDiskFull     = errors.New("database or disk is full (free space, or move BANKFEED_DB to a larger disk)")
	ErrReadOnly     = errors.New("database is read-only (make BANKFEED_DB and its folder writable by this user)")
	ErrLocked       = errors.New("database is locked by another process (try again when it is done)")
	ErrCorrupt      = errors.New("database file is corrupt or not a bankfeed database (check BANKFEED_DB; run bankfeed doctor, or restore a copy made by bankfeed backup)")
	// ErrNoFolder: a path whose folder does not exist, which no retry can
	// fix (the database's, a backup's).
	ErrNoFolder = errors.New("folder does not exist")
	// ErrNoDatabase: a command that only reads found no database (see
	// Options.MustExist).
	ErrNoDatabase = errors.New("no database there (check BANKFEED_DB; bankfeed business put or bankfeed --run-once creates one)")
)

// Store is the SQLite database. All writes go through one connection, so
// SQLite's single writer never makes two of our goroutines race for it;
// reads use their own pool and see WAL snapshots.
type Store struct {
	db    *sql.DB // writer: one connection, BEGIN IMMEDIATE
	rdb   *sql.DB // readers
	crypt *sealer
	Now   func() time.Time
	path  string
	// outboxSig wakes this process's notification deliverer.
	outboxSig chan struct{}
}

// Options tune Open for tests and faults.
type Options struct {
	BusyTimeout  time.Duration // default 5s
	MaxPageCount int64         // >0 caps the file size (used to simulate a full disk)
	ReadOnly     bool          // open for reading only (list commands, reports)
	// MustExist refuses to create the database: a command that only reads
	// must not leave an empty database behind a mistyped BANKFEED_DB.
	MustExist bool
}

func dsn(path string, o Options, write bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10))
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	// Every statement stays prepared on its connection across rows and
	// transactions: a run of small updates (one per token) otherwise
	// re-parsed each statement in every transaction.
	q.Set("_stmt_cache_size", "128")
	if write && o.MustExist {
		q.Set("mode", "rw") // SQLite's own guard: never create the file
	}
	if write {
		q.Set("_txlock", "immediate")
		// The writer inserts journal rows keyed by Plaid's ids, which land
		// all over their B-trees: with SQLite's 2 MiB default cache an
		// initial ingest re-reads pages from the OS for most rows. 32 MiB
		// (a constant, whatever the history) cut its apply CPU by a quarter.
		q.Set("_cache_size", "-32768")
	} else {
		q.Set("mode", "ro")
	}
	return fileURI(path) + "?" + q.Encode()
}

// fileURI makes a path safe inside SQLite's file: URI, where '?' starts
// the parameters, '#' a fragment and '%' an escape: a database named with
// any of them must open that file and no other.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

func fileURI(path string) string {
	return "file:" + uriEscaper.Replace(filepath.Clean(path))
}

// Open opens (creating if needed) the database at path and brings its
// schema up to date. key is the 32-byte token key.
func Open(ctx context.Context, path string, key []byte, o Options) (*Store, error) {
	if o.BusyTimeout == 0 {
		o.BusyTimeout = 5 * time.Second
	}
	crypt, err := newSealer(key)
	if err != nil {
		return nil, err
	}
	if err := prepareFile(path, o); err != nil {
		return nil, err
	}
	s := &Store{crypt: crypt, Now: func() time.Time { return time.Now().UTC() }, path: path, outboxSig: make(chan struct{}, 1)}
	if o.ReadOnly {
		s.db, err = sql.Open("sqlite3", dsn(path, o, false))
	} else {
		s.db, err = sql.Open("sqlite3", dsn(path, o, true))
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s.db.SetMaxOpenConns(1)
	s.db.SetConnMaxIdleTime(0)
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open %s: %w", path, Classify(err))
	}
	if err := s.migrate(ctx, o.ReadOnly); err != nil {
		s.db.Close()
		return nil, err
	}
	// Capped after migrating, so a test can fill the disk under real work.
	if o.MaxPageCount > 0 {
		if _, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", o.MaxPageCount)); err != nil {
			s.db.Close()
			return nil, fmt.Errorf("open %s: %w", path, Classify(err))
		}
	}
	s.rdb, err = sql.Open("sqlite3", dsn(path, o, false))
	if err != nil {
		s.db.Close()
		return nil, err
	}
	s.rdb.SetMaxOpenConns(4)
	if err := s.checkKey(ctx, o.ReadOnly); err != nil {
		s.Close()
		return nil, err
	}
	if !o.ReadOnly {
		if err := tightenSidecars(path); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// prepareFile refuses a path no retry can open (its folder is missing; a
// database that must exist does not) and creates a new database file with
// mode 0600 before SQLite opens it: the file holds the books and the
// encrypted tokens, and SQLite would create it 0644 less the umask.
func prepareFile(path string, o Options) error {
	dir := filepath.Dir(path)
	// Only a folder that is not there (or is a file) is sure never to
	// open; one we may not read is SQLite's to report (read-only, 6).
	if st, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || (err == nil && !st.IsDir()) {
		return fmt.Errorf("%w: %s (create it, or point BANKFEED_DB at a file in an existing folder)", ErrNoFolder, dir)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil // there (or unreadable: SQLite says why)
	}
	if o.ReadOnly || o.MustExist {
		return ErrNoDatabase
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil // another process created it first
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	// The umask may have taken bits off 0600 (never added any); set it
	// exactly, so SQLite's -wal and -shm, which copy it, are 0600 too.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}

// tightenSidecars makes the -wal and -shm files no more open than the
// database: they hold the newest pages of the same data. SQLite creates
// them with the database's mode; this checks it held.
func tightenSidecars(path string) error {
	db, err := os.Stat(path)
	if err != nil {
		return nil // not a plain file we can judge (SQLite opened it)
	}
	want := db.Mode().Perm()
	for _, side := range []string{path + "-wal", path + "-shm"} {
		st, err := os.Stat(side)
		if err != nil || st.Mode().Perm()&^want == 0 {
			continue
		}
		if err := os.Chmod(side, want); err != nil {
			return fmt.Errorf("restrict %s to the database's mode %v: %w", side, want, err)
		}
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	var errs []error
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	errs = append(errs, s.db.Close())
	return errors.Join(errs...)
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its number", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// migrate applies every migration newer than PRAGMA user_version, each in
// its own transaction with the version bump, so a crash leaves the
// database at a whole version.
func (s *Store) migrate(ctx context.Context, readOnly bool) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	var cur int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&cur); err != nil {
		return fmt.Errorf("read schema version: %w", Classify(err))
	}
	newest := ms[len(ms)-1].version
	if cur > newest {
		return fmt.Errorf("%w: the file is at version %d, this build knows up to %d; run a newer bankfeed", ErrSchemaTooNew, cur, newest)
	}
	if cur == newest {
		return nil
	}
	if readOnly {
		return fmt.Errorf("%w: schema needs migrating from %d to %d; run bankfeed with write access once", ErrReadOnly, cur, newest)
	}
	for _, m := range ms {
		if m.version <= cur {
			continue
		}
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if after := s.afterMigration(m.version); after != nil {
				if err := after(ctx, tx); err != nil {
					return fmt.Errorf("migration %s: %w", m.name, err)
				}
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return Classify(err)
		}
	}
	return nil
}

// afterMigration is the Go half of a migration whose data SQL alone cannot
// compute; it runs in the migration's transaction.
func (s *Store) afterMigration(version int) func(context.Context, *sql.Tx) error {
	switch version {
	case 6:
		return func(ctx context.Context, tx *sql.Tx) error {
			if err := s.recordKeyID(ctx, tx); err != nil {
				return err
			}
			return backfillExponents(ctx, tx)
		}
	case 9:
		return rewriteTimes
	}
	return nil
}

func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Classify(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return Classify(err)
	}
	return Classify(tx.Commit())
}

// Classify maps SQLite's result codes onto the errors bankfeed reports
// with their own exit statuses, keeping the original as the cause.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return err
	}
	var kind error
	switch se.Code {
	case sqlite3.ErrFull:
		kind = ErrDiskFull
	case sqlite3.ErrReadonly, sqlite3.ErrCantOpen, sqlite3.ErrPerm:
		if se.Code == sqlite3.ErrCantOpen {
			return fmt.Errorf("cannot open the database file (check the path and its folder's permissions): %w", err)
		}
		kind = ErrReadOnly
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		kind = ErrLocked
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
		kind = ErrCorrupt
	default:
		return err
	}
	if errors.Is(err, kind) {
		return err
	}
	// Both wrapped: callers branch on kind, and errors.As still finds the
	// driver's sqlite3.Error (its extended code) for logs and tests.
	return fmt.Errorf("%w: %w", kind, err)
}

// TimeLayout is how the store writes every time: UTC, microseconds, one
// fixed width, so that text order is time order and an index on a time
// column serves a window. RFC3339Nano trims trailing zeros (…00Z sorts
// after …00.5Z) and did not. Output contracts format times themselves.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string { return t.UTC().Format(TimeLayout) }

// parseTime reads a stored time. RFC 3339 with any fraction parses too:
// rows written before schema version 9 used it, and a hand edit may.
func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

func parseTS(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil
	}
	return &t
}

func nullStr(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// Exec runs one statement on the writer. For maintenance and tests that
// prove the append-only triggers hold.
func (s *Store) Exec(ctx context.Context, q string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}
