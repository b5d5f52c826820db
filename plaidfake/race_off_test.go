//go:build !race

package plaidfake_test

const raceEnabled = false
