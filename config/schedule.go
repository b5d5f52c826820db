package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// checkSchedule catches the specs that robfig/cron's ParseStandard (which the
// jobs package uses) would reject, so that a typo fails at start-up with the
// variable's name instead of at the first tick. It follows that parser's
// rules: 5 fields, an optional CRON_TZ=/TZ= prefix, or a descriptor.
func checkSchedule(spec string) error {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		_, after, _ := strings.Cut(spec, "=")
		name, rest, ok := strings.Cut(after, " ")
		if !ok {
			return errors.New("has a time zone prefix but no schedule after it")
		}
		if _, err := time.LoadLocation(name); err != nil {
			return fmt.Errorf("unknown time zone %q in its prefix", name)
		}
		spec = strings.TrimSpace(rest)
	}
	if strings.HasPrefix(spec, "@") {
		return checkDescriptor(spec)
	}
	fields := strings.Fields(spec)
	if len(fields) != 5 {
		return fmt.Errorf("has %d fields, want 5 (minute hour day-of-month month day-of-week) or a descriptor such as @daily", len(fields))
	}
	for i, f := range fields {
		for part := range strings.SplitSeq(f, ",") {
			if err := cronFields[i].check(part); err != nil {
				return fmt.Errorf("%s field %q: %w", cronFields[i].name, f, err)
			}
		}
	}
	return nil
}

func checkDescriptor(spec string) error {
	switch spec {
	case "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly":
		return nil
	}
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		// cron would accept a negative or tiny interval and silently run every
		// second; that is never what anyone meant.
		if n, err := time.ParseDuration(strings.TrimSpace(d)); err != nil || n < time.Second {
			return fmt.Errorf("@every needs a duration of at least 1s, such as @every 4h (got %q)", strings.TrimSpace(d))
		}
		return nil
	}
	return errors.New("unknown descriptor; use @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually or @every <duration>")
}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
}

var cronFields = [5]cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day-of-month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{name: "day-of-week", min: 0, max: 6, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// check validates one comma-separated part: *, ?, N, N-M, each with an
// optional /STEP (N/STEP means N to the field's maximum, as in robfig/cron).
func (f cronField) check(part string) error {
	span, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		if n, err := strconv.Atoi(step); err != nil || n < 1 {
			return fmt.Errorf("step %q must be a whole number of at least 1", step)
		}
	}
	if span == "*" || span == "?" {
		return nil
	}
	lo, hi, isRange := strings.Cut(span, "-")
	a, err := f.value(lo)
	if err != nil || !isRange {
		return err
	}
	b, err := f.value(hi)
	if err != nil {
		return err
	}
	if a > b {
		return fmt.Errorf("range %s runs backwards", span)
	}
	return nil
}

func (f cronField) value(s string) (int, error) {
	for i, n := range f.names {
		if strings.EqualFold(s, n) {
			return f.min + i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < f.min || n > f.max {
		if f.names != nil {
			return 0, fmt.Errorf("%q is not %d-%d or %s-%s", s, f.min, f.max, f.names[0], f.names[len(f.names)-1])
		}
		return 0, fmt.Errorf("%q is not %d-%d", s, f.min, f.max)
	}
	return n, nil
}
