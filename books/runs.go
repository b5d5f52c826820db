package books

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"bankfeed/jsonarray"
	"bankfeed/store"
)

// RunOut is a job run as `runs list --json` shows it.
type RunOut struct {
	RunID      string     `json:"run_id"`
	Job        string     `json:"job"`
	StartedAt  string     `json:"started_at"`
	FinishedAt *string    `json:"finished_at"`
	Outcome    string     `json:"outcome"` // ok, partial, failed, interrupted; running while it runs
	Tokens     int        `json:"tokens"`
	Changes    ChangesOut `json:"changes"`
	Errors     int        `json:"errors"`
}

// ChangesOut counts the transactions a run took in.
type ChangesOut struct {
	Added    int `json:"added"`
	Modified int `json:"modified"`
	Removed  int `json:"removed"`
}

// RunDetailOut is a job run as `runs show --json` shows it.
type RunDetailOut struct {
	RunOut
	DurationMS  *int64           `json:"duration_ms"`
	Pages       int              `json:"pages"`
	Error       *string          `json:"error"`
	Counts      map[string]int   `json:"counts"`
	TokenErrors []store.RunToken `json:"token_errors"`
	ReportFiles []string         `json:"report_files"`
}

const timeLayout = "2006-01-02T15:04:05Z"

func runOut(r store.JobRun) RunOut {
	o := RunOut{RunID: r.ID, Job: r.Job, StartedAt: r.StartedAt.UTC().Format(timeLayout), Outcome: r.Status,
		Tokens: r.Counts["tokens"], Errors: r.Counts["errors"],
		Changes: ChangesOut{Added: r.Counts["added"], Modified: r.Counts["modified"], Removed: r.Counts["removed"]}}
	if r.FinishedAt != nil {
		s := r.FinishedAt.UTC().Format(timeLayout)
		o.FinishedAt = &s
	}
	return o
}

// WriteRuns streams the run history, newest first: the contract's JSON
// array, or a table for people.
func WriteRuns(ctx context.Context, st *store.Store, asJSON bool, w io.Writer) error {
	if asJSON {
		arr := jsonarray.New(w)
		if err := st.EachRun(ctx, func(r store.JobRun) error { return arr.Add(runOut(r)) }); err != nil {
			return err
		}
		return arr.Close()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tJOB\tSTARTED\tDURATION\tOUTCOME\tTOKENS\tADDED\tMODIFIED\tREMOVED\tERRORS")
	n := 0
	err := st.EachRun(ctx, func(r store.JobRun) error {
		o := runOut(r)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", o.RunID, o.Job, o.StartedAt, duration(r), o.Outcome, o.Tokens,
			o.Changes.Added, o.Changes.Modified, o.Changes.Removed, o.Errors)
		if n++; n%tableFlushEvery == 0 {
			return tw.Flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func duration(r store.JobRun) string {
	if r.FinishedAt == nil {
		return "-"
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

// RunDetail is everything recorded of one run; store.ErrNotFound for an
// unknown id.
func RunDetail(ctx context.Context, st *store.Store, id string) (RunDetailOut, error) {
	r, files, err := st.Run(ctx, id)
	if err != nil {
		return RunDetailOut{}, err
	}
	o := RunDetailOut{RunOut: runOut(r), Pages: r.Counts["pages"], Counts: r.Counts, TokenErrors: r.Detail.Tokens, ReportFiles: files}
	if o.Counts == nil {
		o.Counts = map[string]int{}
	}
	if o.TokenErrors == nil {
		o.TokenErrors = []store.RunToken{}
	}
	if o.ReportFiles == nil {
		o.ReportFiles = []string{}
	}
	if r.FinishedAt != nil {
		ms := r.FinishedAt.Sub(r.StartedAt).Milliseconds()
		o.DurationMS = &ms
	}
	if r.Error != "" {
		o.Error = &r.Error
	}
	return o, nil
}

// WriteRunDetail writes one run for people.
func WriteRunDetail(o RunDetailOut, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fin, dur := "-", "-"
	if o.FinishedAt != nil {
		fin = *o.FinishedAt
	}
	if o.DurationMS != nil {
		dur = (time.Duration(*o.DurationMS) * time.Millisecond).String()
	}
	fmt.Fprintf(tw, "run\t%s\njob\t%s\noutcome\t%s\nstarted\t%s\nfinished\t%s\nduration\t%s\ntokens\t%d\npages\t%d\n",
		o.RunID, o.Job, o.Outcome, o.StartedAt, fin, dur, o.Tokens, o.Pages)
	fmt.Fprintf(tw, "changes\t%d added, %d modified, %d removed\nerrors\t%d\n", o.Changes.Added, o.Changes.Modified, o.Changes.Removed, o.Errors)
	if o.Error != nil {
		fmt.Fprintf(tw, "error\t%s\n", oneLine(*o.Error))
	}
	var keys []string
	for k := range o.Counts {
		switch k {
		case "tokens", "pages", "added", "modified", "removed", "errors":
		default:
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, o.Counts[k]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(tw, "counts\t%s\n", strings.Join(parts, " "))
	}
	for _, f := range o.ReportFiles {
		fmt.Fprintf(tw, "report\t%s\n", f)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(o.TokenErrors) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\ntokens that failed or were flagged:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BUSINESS\tTOKEN\tOUTCOME\tCODE\tERROR")
	for _, t := range o.TokenErrors {
		tok := "…" + t.TokenHint
		if t.ItemID != "" {
			tok = "item " + t.ItemID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.BusinessID, tok, t.Outcome, dash(t.ErrorCode), oneLine(dash(t.Error)))
	}
	return tw.Flush()
}
