package config

import (
	"strings"
	"testing"
)

// checkSchedule is robfig/cron's ParseStandard (serve's parser) plus a
// floor on @every; every error is one line.
func TestCheckSchedule(t *testing.T) {
	valid := []string{
		"0 */4 * * *", "30 */4 * * *", "15 2 * * *", "* * * * *", "0 0 ? * ?", "5/15 * * * *",
		"*/5,10-20/3 0-23 1-31 1-12 0-6", "0 9 * jan-MAR Mon-Fri", "0 0 * * sun-sat", "0 0 1 DEC *",
		"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@every 90m", "@every 1h30m",
		"CRON_TZ=Europe/Paris 0 3 * * *", "TZ=UTC @daily", "  0 0 * * *  ",
	}
	for _, spec := range valid {
		if err := checkSchedule(spec); err != nil {
			t.Errorf("checkSchedule(%q) = %v, want nil", spec, err)
		}
	}
	invalid := map[string]string{
		"* * * *":                "expected exactly 5 fields, found 4",
		"0 0 * * * *":            "expected exactly 5 fields, found 6",
		"60 * * * *":             "above maximum (59)",
		"0 24 * * *":             "above maximum (23)",
		"0 0 0 * *":              "below minimum (1)",
		"0 0 1 13 *":             "above maximum (12)",
		"0 0 * * 7":              "above maximum (6)",
		"*/0 * * * *":            "step of range should be a positive number",
		"1/2/3 * * * *":          "too many slashes",
		"5-1 * * * *":            "beyond end of range",
		"0 0 L * *":              "failed to parse int from L",
		"@reboot":                "unrecognized descriptor",
		"@every":                 "unrecognized descriptor",
		"@every soon":            "failed to parse duration",
		"@every 0s":              "at least 1s",
		"@every -5m":             "at least 1s",
		"TZ=UTC":                 "needs a schedule after it", // cron v3.0.1 panics on this one
		"CRON_TZ=Nope/X 0 * * *": "provided bad location Nope/X",
		"":                       "empty spec string",
	}
	for spec, want := range invalid {
		err := checkSchedule(spec)
		if err == nil || !strings.Contains(err.Error(), want) || strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("checkSchedule(%q) = %v, want one line containing %q", spec, err, want)
		}
	}
}
