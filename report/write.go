package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"bankfeed/ledger"
)

// FileNames returns the paths WriteFiles writes for a date, in order.
func FileNames(dir, date string) []string {
	base := filepath.Join(dir, "reconciliation-"+date)
	return []string{base + ".json", base + ".csv", base + ".html"}
}

// Files is a report rendered: the bytes of its JSON, CSV and HTML files.
type Files struct {
	Date            string
	JSON, CSV, HTML []byte
}

// Render renders the three files of r. encoded, when not nil, returns what
// Marshal(r) returns (it may still be encoding when Render starts): the
// JSON file is then indented from those bytes instead of encoding the
// whole report again. The HTML, the costliest of the three, is rendered
// beside the other two.
func Render(r Report, encoded func() ([]byte, error)) (Files, error) {
	if !ledger.ValidDate(r.Date) {
		return Files{}, fmt.Errorf("report date %q is not YYYY-MM-DD", r.Date)
	}
	r.normalize() // before the HTML goroutine reads r, never beside it
	f := Files{Date: r.Date}
	var htmlErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.HTML, htmlErr = HTML(r)
	}()
	var err error
	f.CSV, err = CSV(r)
	if err != nil {
		<-done
		return Files{}, fmt.Errorf("report csv: %w", err)
	}
	if encoded != nil {
		var compact []byte
		if compact, err = encoded(); err == nil {
			f.JSON = indent(compact)
		}
	} else {
		f.JSON, err = encodeJSON(r)
	}
	<-done
	if err != nil {
		return Files{}, fmt.Errorf("report json: %w", err)
	}
	if htmlErr != nil {
		return Files{}, fmt.Errorf("report html: %w", htmlErr)
	}
	return f, nil
}

// RenderStaged renders r's three files and stages them in dir as Stage
// does, each file written out as soon as it is rendered, beside the
// rendering of the others. encoded is as for Render.
func RenderStaged(r Report, encoded func() ([]byte, error), dir string) (*Staged, error) {
	if !ledger.ValidDate(r.Date) {
		return nil, fmt.Errorf("report date %q is not YYYY-MM-DD", r.Date)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report folder: %w", err)
	}
	r.normalize() // before the goroutines read r, never beside them
	s := &Staged{dir: dir, names: FileNames(dir, r.Date), tmp: make([]string, 3)}
	render := [3]func() ([]byte, error){
		func() ([]byte, error) {
			if encoded == nil {
				return encodeJSON(r)
			}
			return encoded() // indented on its way to the file
		},
		func() ([]byte, error) { return CSV(r) },
		func() ([]byte, error) { return HTML(r) },
	}
	what := [3]string{"report json", "report csv", "report html"}
	var errs [3]error
	var wg sync.WaitGroup
	for i := range render {
		wg.Go(func() {
			b, err := render[i]()
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", what[i], err)
				return
			}
			write := func(w io.Writer) error { _, err := w.Write(b); return err }
			if i == 0 && encoded != nil {
				write = func(w io.Writer) error { return indentTo(w, b) }
			}
			s.tmp[i], errs[i] = writeTempWith(s.names[i], write)
		})
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		for _, t := range s.tmp {
			if t != "" {
				os.Remove(t)
			}
		}
		return nil, err
	}
	return s, nil
}

// WriteFiles writes reconciliation-<date>.json, .csv and .html into dir
// (created if needed). Each file is written atomically: a temporary file in
// the same folder, fsynced, then renamed over the old one, so a reader sees
// the old file or the new one, never half of either; a rerun for the same
// date overwrites.
func WriteFiles(dir string, r Report) (paths []string, err error) {
	f, err := Render(r, nil)
	if err != nil {
		return nil, err
	}
	return f.Write(dir)
}

// Write writes the rendered files into dir as WriteFiles does.
func (f Files) Write(dir string) (paths []string, err error) {
	s, err := f.Stage(dir)
	if err != nil {
		return nil, err
	}
	return s.Commit()
}

// Staged is a report's files written in full and fsynced beside their
// names, not yet in their place.
type Staged struct {
	dir        string
	tmp, names []string
}

// Stage writes each file to a temporary file in dir (created if needed)
// and fsyncs it; Commit puts them in place. Nothing of the report is
// visible in dir until then.
func (f Files) Stage(dir string) (*Staged, error) {
	if !ledger.ValidDate(f.Date) {
		return nil, fmt.Errorf("report date %q is not YYYY-MM-DD", f.Date)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report folder: %w", err)
	}
	s := &Staged{dir: dir, names: FileNames(dir, f.Date)}
	for i, b := range [][]byte{f.JSON, f.CSV, f.HTML} {
		tmp, err := writeTemp(s.names[i], b)
		if err != nil {
			s.Abort()
			return nil, err
		}
		s.tmp = append(s.tmp, tmp)
	}
	return s, nil
}

// Commit renames the staged files over their names, in order, and makes
// the renames durable. It returns the paths in place.
func (s *Staged) Commit() (paths []string, err error) {
	for i, tmp := range s.tmp {
		if err := os.Rename(tmp, s.names[i]); err != nil {
			for _, t := range s.tmp[i:] {
				os.Remove(t)
			}
			return paths, fmt.Errorf("write %s: %w", s.names[i], err)
		}
		paths = append(paths, s.names[i])
	}
	s.tmp = nil
	return paths, syncDir(s.dir)
}

// Abort removes the staged files; nil or committed, it does nothing.
func (s *Staged) Abort() {
	if s == nil {
		return
	}
	for _, t := range s.tmp {
		os.Remove(t)
	}
	s.tmp = nil
}

// writeTemp writes b to a new temporary file beside path and fsyncs it.
func writeTemp(path string, b []byte) (string, error) {
	return writeTempWith(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// writeTempWith is writeTemp with the content written by write.
func writeTempWith(path string, write func(io.Writer) error) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return f.Name(), nil
}

// syncDir makes the renames durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// CSVHeader is the header row of the CSV file.
var CSVHeader = []string{"date", "business_id", "account_id", "name", "mask", "currency", "opening_balance", "ledger_balance",
	"reported_current", "difference", "pending_total", "pending_count", "status", "reported_at", "candidates",
	"first_candidate", "oldest_pending"}

// CSV renders one row per account, RFC 4180 (encoding/csv, CRLF).
//
// Formula injection: spreadsheet programs run a cell that starts with
// = + - @ (or a tab or carriage return, which some strip first) as a
// formula. Every text cell — names, merchants, ids, anything that came from
// a bank or a person — that starts with one of those gets a leading
// apostrophe, which spreadsheets display but do not evaluate. Amount cells
// are bankfeed's own exact decimals (ledger.Format) and are left as they are
// so that "-12.50" stays a negative number; an amount cell that is not a
// plain decimal is treated as text.
func CSV(r Report) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if err := w.Write(CSVHeader); err != nil {
		return nil, err
	}
	for _, a := range r.Accounts {
		first, oldest := "", ""
		if len(a.Candidates) > 0 {
			first = describe(a.Candidates[0].MerchantName, a.Candidates[0].Name)
		}
		if len(a.Pending) > 0 {
			oldest = describe(a.Pending[0].MerchantName, a.Pending[0].Name)
		}
		row := []string{
			Text(r.Date), Text(a.BusinessID), Text(a.AccountID), Text(a.Name), Text(a.Mask), Text(a.Currency),
			Amount(a.OpeningBalance), Amount(a.LedgerBalance), Amount(deref(a.ReportedCurrent)), Amount(deref(a.Difference)),
			Amount(a.PendingTotal), strconv.Itoa(a.PendingCount), Text(string(a.Status)), Text(deref(a.ReportedAt)),
			strconv.Itoa(len(a.Candidates)), Text(first), Text(oldest),
		}
		if err := w.Write(row); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

func describe(merchant, name string) string {
	if merchant != "" {
		return merchant
	}
	return name
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Text neutralises a text cell for spreadsheets (see CSV).
func Text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

var plainDecimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// Amount passes an exact decimal through unchanged and neutralises
// anything else as text.
func Amount(s string) string {
	if s == "" || plainDecimal.MatchString(s) {
		return s
	}
	return Text(s)
}
