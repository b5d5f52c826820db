// Package jsonarray writes a JSON array one element at a time, laid out as
// encoding/json's two-space indent lays out the whole array: the list
// commands stream their rows instead of holding them all.
package jsonarray

import (
	"encoding/json"
	"io"
)

// Writer writes one array. Close ends it, empty or not.
type Writer struct {
	w io.Writer
	n int
}

// New starts an array on w; nothing is written before the first Add.
func New(w io.Writer) *Writer { return &Writer{w: w} }

// Add writes v as the array's next element.
func (a *Writer) Add(v any) error {
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		return err
	}
	sep := ",\n  "
	if a.n == 0 {
		sep = "[\n  "
	}
	a.n++
	if _, err := io.WriteString(a.w, sep); err != nil {
		return err
	}
	_, err = a.w.Write(b)
	return err
}

// Close ends the array ("[]" when nothing was added).
func (a *Writer) Close() error {
	end := "\n]\n"
	if a.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(a.w, end)
	return err
}
