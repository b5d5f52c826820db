//go:build race

package plaidfake_test

// raceEnabled scales down loops whose cost is all in -race instrumentation.
const raceEnabled = true
