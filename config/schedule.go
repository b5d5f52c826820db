package config

import (
	"errors"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// checkSchedule validates a spec with the very parser serve schedules it
// with (robfig/cron's ParseStandard: 5 fields, an optional CRON_TZ=/TZ=
// prefix, or a descriptor, @every included), so that a typo fails at
// start-up with the setting's name instead of at the first tick.
func checkSchedule(spec string) (err error) {
	// cron v3.0.1 panics on a time zone prefix with nothing after it.
	defer func() {
		if recover() != nil {
			err = errors.New("a time zone prefix needs a schedule after it, such as CRON_TZ=Europe/Paris 0 3 * * *")
		}
	}()
	if _, err := cron.ParseStandard(spec); err != nil {
		return err
	}
	// cron silently runs an @every under a second (or negative) every
	// second; that is never what anyone meant.
	if d, ok := strings.CutPrefix(strings.TrimSpace(spec), "@every "); ok {
		if n, err := time.ParseDuration(strings.TrimSpace(d)); err != nil || n < time.Second {
			return errors.New("@every needs a duration of at least 1s, such as @every 4h")
		}
	}
	return nil
}
