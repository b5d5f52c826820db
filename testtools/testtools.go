// Package testtools finds the programs outside Go that some tests drive:
// Chromium for the pages, bean-check for the beancount export. Where one is
// missing the test skips, unless CI says it must run (.ci/run installs both
// and sets BANKFEED_REQUIRE_BROWSER and BANKFEED_REQUIRE_BEANCHECK). For
// tests only.
package testtools

import (
	"os"
	"os/exec"
	"testing"
)

// Chromium returns the path of a Chromium (or Chrome) to drive.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	return missing(t, "BANKFEED_REQUIRE_BROWSER", "Chromium", "chromium", "the page tests")
}

// BeanCheck returns the path of beancount's bean-check.
func BeanCheck(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("bean-check"); err == nil {
		return p
	}
	return missing(t, "BANKFEED_REQUIRE_BEANCHECK", "bean-check", "beancount", "the beancount tests")
}

func missing(t testing.TB, require, what, pkg, tests string) string {
	t.Helper()
	if os.Getenv(require) == "1" {
		t.Fatalf("no %s found; .ci/run installs it (apt-get install -y %s)", what, pkg)
	}
	t.Skipf("no %s: %s run in .ci/run, which installs it", what, tests)
	return ""
}
