package config

import (
	"strings"
	"testing"
)

// The accepted specs were cross-checked against robfig/cron's ParseStandard,
// which this package may not import.
func TestCheckSchedule(t *testing.T) {
	valid := []string{
		"0 */4 * * *", "30 */4 * * *", "15 2 * * *", "* * * * *", "0 0 ? * ?", "5/15 * * * *",
		"*/5,10-20/3 0-23 1-31 1-12 0-6", "0 9 * jan-MAR Mon-Fri", "0 0 * * sun-sat", "0 0 1 DEC *",
		"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@every 90m",
		"CRON_TZ=Europe/Paris 0 3 * * *", "TZ=UTC @daily", "  0 0 * * *  ",
	}
	for _, spec := range valid {
		if err := checkSchedule(spec); err != nil {
			t.Errorf("checkSchedule(%q) = %v, want nil", spec, err)
		}
	}
	invalid := map[string]string{
		"* * * *":                "has 4 fields",
		"0 0 * * * *":            "has 6 fields",
		"60 * * * *":             `minute field "60": "60" is not 0-59`,
		"0 24 * * *":             "hour field",
		"0 0 0 * *":              "day-of-month field",
		"0 0 1 13 *":             `month field "13": "13" is not 1-12 or jan-dec`,
		"0 0 * * 7":              `day-of-week field "7": "7" is not 0-6 or sun-sat`,
		"*/0 * * * *":            `step "0" must be a whole number of at least 1`,
		"1/2/3 * * * *":          "step",
		"5-1 * * * *":            "range 5-1 runs backwards",
		"0 0 * * sat-sun":        "runs backwards",
		"1,,2 * * * *":           `"" is not 0-59`,
		"1-2-3 * * * *":          "is not 0-59",
		"0 0 L * *":              "day-of-month field",
		"0 0 * * 1#2":            "day-of-week field",
		"@reboot":                "unknown descriptor",
		"@Daily":                 "unknown descriptor",
		"@every":                 "unknown descriptor",
		"@every soon":            "@every needs a duration",
		"@every 0s":              "@every needs a duration of at least 1s",
		"TZ=UTC":                 "no schedule after it", // robfig/cron v3.0.1 panics on this one
		"CRON_TZ=Nope/X 0 * * *": `unknown time zone "Nope/X"`,
	}
	for spec, want := range invalid {
		if err := checkSchedule(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkSchedule(%q) = %v, want an error containing %q", spec, err, want)
		}
	}
}
