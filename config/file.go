package config

import (
	"fmt"
	"strings"
)

type fileValue struct {
	v    string
	line int
}

// parseFile reads the --config format: KEY=VALUE lines with the keys of
// Settings, full-line # comments, blank lines, an optional "export " (so a
// shell env file works as is) and optional matching quotes around the value.
// There are no inline comments or escapes: a value (a secret, say) may hold
// '#' or quotes. Problems name the line and never echo a value, which may be
// a secret. It appends to problems and returns them.
func parseFile(name string, data []byte, problems []string) (map[string]fileValue, []string) {
	vals := map[string]fileValue{}
	bad := func(n int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s line %d: ", name, n)+fmt.Sprintf(format, args...))
	}
	n := 0
	for line := range strings.Lines(string(data)) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		switch {
		case !ok || key == "":
			bad(n, "expected KEY=VALUE")
			continue
		case !known[key]:
			bad(n, "unknown key %q; bankfeed --help lists the settings", key)
			continue
		}
		if prev, dup := vals[key]; dup {
			bad(n, "%s is already set on line %d; keep one", key, prev.line)
			continue
		}
		val = strings.TrimSpace(val)
		if q := val[:min(len(val), 1)]; q == `"` || q == `'` {
			if len(val) < 2 || !strings.HasSuffix(val, q) {
				bad(n, "%s: the value opens a %s quote but does not end with one (no inline comments)", key, q)
				continue
			}
			val = val[1 : len(val)-1]
		}
		vals[key] = fileValue{v: val, line: n}
	}
	return vals, problems
}
