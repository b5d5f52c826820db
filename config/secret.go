package config

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

const redacted = "[REDACTED]"

// Secret holds a credential that cannot print itself: fmt (every verb),
// encoding/json, encoding.TextMarshaler and slog all see [REDACTED], so a
// stray log line or a dumped Config never leaks it. Reveal is the one way
// out; grep for it to audit where secrets go.
//
// The value sits behind a pointer so that even reflection-based printing of
// a struct that holds a Config in an unexported field (where fmt cannot call
// our methods) shows an address, not the text.
type Secret struct{ v *string }

// NewSecret wraps s; an empty s gives the zero Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{v: &s}
}

// Reveal returns the secret text. Pass it straight to the call that needs it.
func (s Secret) Reveal() string {
	if s.v == nil {
		return ""
	}
	return *s.v
}

// IsZero reports whether no secret is set (also honoured by json's omitzero).
func (s Secret) IsZero() bool { return s.v == nil || *s.v == "" }

// Matches compares in constant time, so that checking a bearer key does not
// leak through timing how much of it was right.
func (s Secret) Matches(candidate string) bool {
	if s.IsZero() {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(*s.v), []byte(candidate)) == 1
}

func (Secret) String() string               { return redacted }
func (Secret) GoString() string             { return redacted }
func (Secret) Format(f fmt.State, _ rune)   { f.Write([]byte(redacted)) }
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }

var (
	_ fmt.Formatter  = Secret{}
	_ fmt.GoStringer = Secret{}
	_ slog.LogValuer = Secret{}
)
