package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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

// Render renders the three files of r.
func Render(r Report) (Files, error) {
	if !ledger.ValidDate(r.Date) {
		return Files{}, fmt.Errorf("report date %q is not YYYY-MM-DD", r.Date)
	}
	d := r.Document() // the text all three files show
	f := Files{Date: r.Date}
	var err error
	if f.JSON, err = jsonOf(d); err != nil {
		return Files{}, fmt.Errorf("report json: %w", err)
	}
	if f.CSV, err = csvOf(d); err != nil {
		return Files{}, fmt.Errorf("report csv: %w", err)
	}
	if f.HTML, err = htmlOf(r, d); err != nil {
		return Files{}, fmt.Errorf("report html: %w", err)
	}
	return f, nil
}

// WriteFiles writes reconciliation-<date>.json, .csv and .html into dir
// (created if needed). Each file is written atomically: a temporary file in
// the same folder, fsynced, then renamed over the old one, so a reader sees
// the old file or the new one, never half of either; a rerun for the same
// date overwrites.
func WriteFiles(dir string, r Report) ([]string, error) {
	f, err := Render(r)
	if err != nil {
		return nil, err
	}
	return f.Write(dir)
}

// Write writes the rendered files into dir as WriteFiles does: all three
// are written in full before the first is put in place.
func (f Files) Write(dir string) (paths []string, err error) {
	if !ledger.ValidDate(f.Date) {
		return nil, fmt.Errorf("report date %q is not YYYY-MM-DD", f.Date)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report folder: %w", err)
	}
	names := FileNames(dir, f.Date)
	var tmps []string
	defer func() {
		for _, t := range tmps {
			os.Remove(t) // only those not renamed are left
		}
	}()
	for i, b := range [][]byte{f.JSON, f.CSV, f.HTML} {
		tmp, err := writeTemp(names[i], b)
		if err != nil {
			return nil, err
		}
		tmps = append(tmps, tmp)
	}
	for i := range names {
		if err := os.Rename(tmps[i], names[i]); err != nil {
			tmps = tmps[i:]
			return paths, fmt.Errorf("write %s: %w", names[i], err)
		}
		paths = append(paths, names[i])
	}
	tmps = nil
	return paths, syncDir(dir)
}

// writeTemp writes b to a new temporary file beside path and fsyncs it.
func writeTemp(path string, b []byte) (name string, err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if _, err = f.Write(b); err != nil {
		return "", err
	}
	if err = f.Chmod(0o644); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
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
	"first_candidate", "oldest_pending", "oldest_pending_age_business_days"}

// CSV renders one row per account, RFC 4180 (encoding/csv, CRLF).
//
// Formula injection: spreadsheet programs run a cell that starts with
// = + - @ (or a tab or carriage return, which some strip first) as a
// formula. Every text cell — names, merchants, ids, anything that came from
// a bank or a person — that starts with one of those gets a leading
// apostrophe, which spreadsheets display but do not evaluate. Amount cells
// are formatted from minor units by bankfeed itself and are left as they
// are, so that "-12.50" stays a negative number.
func CSV(r Report) ([]byte, error) { return csvOf(r.Document()) }

func csvOf(d Document) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if err := w.Write(CSVHeader); err != nil {
		return nil, err
	}
	for _, a := range d.Accounts {
		first, oldest, age := "", "", ""
		if len(a.Candidates) > 0 {
			first = describe(a.Candidates[0].MerchantName, a.Candidates[0].Name)
		}
		// Pending items come oldest first: the date a person sorts and
		// filters on, and its age in the business days that make it aged.
		if len(a.Pending) > 0 {
			oldest, age = a.Pending[0].Date, strconv.Itoa(a.Pending[0].AgeBusinessDays)
		}
		row := []string{
			Text(d.Date), Text(a.BusinessID), Text(a.AccountID), Text(a.Name), Text(a.Mask), Text(a.Currency),
			a.OpeningBalance, a.LedgerBalance, deref(a.ReportedCurrent), deref(a.Difference),
			a.PendingTotal, strconv.Itoa(a.PendingCount), Text(string(a.Status)), Text(deref(a.ReportedAt)),
			strconv.Itoa(len(a.Candidates)), Text(first), Text(oldest), age,
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

// Text neutralises a text cell for spreadsheets (see CSV).
func Text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
