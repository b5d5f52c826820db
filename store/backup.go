package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"
)

// ErrBackupExists means the backup destination is already taken; a backup
// never overwrites anything.
var ErrBackupExists = errors.New("backup destination exists")

// Backup writes a consistent copy of the database to dest with SQLite's
// online backup API, while runs may keep writing. A plain file copy is not
// safe: in WAL mode the newest pages live in the -wal file, and a copy taken
// mid-write mixes two states. The copy is written beside dest and linked
// into place only when complete, so dest is either absent or whole.
func (s *Store) Backup(ctx context.Context, dest string) error {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("%w: %s exists; remove it or pick another name", ErrBackupExists, dest)
	}
	if st, err := os.Stat(filepath.Dir(dest)); errors.Is(err, fs.ErrNotExist) || (err == nil && !st.IsDir()) {
		return fmt.Errorf("%w: %s (create it first, or pick a DEST in an existing folder)", ErrNoFolder, filepath.Dir(dest))
	}
	tmp, err := reserveTemp(dest)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	defer removeDB(tmp) // a no-op once the copy is linked into place
	if err := s.backupTo(ctx, tmp); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	return publish(tmp, dest)
}

// reserveTemp claims a unique name in dest's folder, so the final step is a
// link within one filesystem. The empty file it leaves is a valid empty
// SQLite database for the backup to fill. 0600: the copy holds tokens.
func reserveTemp(dest string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dest), filepath.Base(dest)+".*.partial")
	if err != nil {
		return "", err
	}
	name := f.Name()
	return name, f.Close()
}

func (s *Store) backupTo(ctx context.Context, path string) error {
	ddb, err := sql.Open("sqlite3", fileURI(path)+"?_journal_mode=DELETE&_synchronous=FULL")
	if err != nil {
		return err
	}
	defer ddb.Close()
	dconn, err := ddb.Conn(ctx)
	if err != nil {
		return Classify(err)
	}
	defer dconn.Close()
	sconn, err := s.rdb.Conn(ctx)
	if err != nil {
		return Classify(err)
	}
	defer sconn.Close()
	return dconn.Raw(func(d any) error {
		return sconn.Raw(func(src any) error {
			return copyAll(d.(*sqlite3.SQLiteConn), src.(*sqlite3.SQLiteConn))
		})
	})
}

// copyAll copies every page in one step. One step holds a single read
// transaction on the source for the whole copy, which in WAL mode gives a
// consistent snapshot without blocking writers; copying in chunks would
// restart every time a run commits in between, and might never finish.
func copyAll(dest, src *sqlite3.SQLiteConn) error {
	b, err := dest.Backup("main", src, "main")
	if err != nil {
		return Classify(err)
	}
	done, err := b.Step(-1)
	if err != nil {
		b.Finish()
		return Classify(err)
	}
	if !done {
		b.Finish()
		return errors.New("backup stopped before the last page")
	}
	return Classify(b.Finish())
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// publish moves the finished copy to dest without ever replacing a file
// that appeared there meanwhile: a hard link fails when dest exists, where
// a rename would silently overwrite it.
func publish(tmp, dest string) error {
	err := os.Link(tmp, dest)
	switch {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: %s exists; remove it or pick another name", ErrBackupExists, dest)
	case err != nil:
		// Some filesystems have no hard links; re-check, then rename.
		if _, serr := os.Lstat(dest); serr == nil {
			return fmt.Errorf("%w: %s exists; remove it or pick another name", ErrBackupExists, dest)
		}
		if err := os.Rename(tmp, dest); err != nil {
			return fmt.Errorf("backup to %s: %w", dest, err)
		}
	}
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup to %s: %w", dest, err)
	}
	return syncDir(filepath.Dir(dest))
}

// syncDir makes the new name durable, not only the bytes behind it.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func removeDB(path string) {
	for _, p := range []string{path, path + "-journal", path + "-wal", path + "-shm"} {
		_ = os.Remove(p)
	}
}
