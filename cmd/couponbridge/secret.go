package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
)

// redacted is what every rendering of a non-empty Secret prints.
const redacted = "<redacted>"

// Secret is a configuration value that must never reach a log, an error
// message or a dump of the configuration: a consumer secret, an SMTP password.
//
// Every way Go has of printing a value prints "<redacted>" instead of the
// secret: fmt with any verb (including %v, %+v, %#v, %s, %q, %x), slog
// (text and JSON handlers, via LogValue), encoding/json and YAML marshalling.
// The only way to the real value is Reveal, so every use is greppable.
// An empty Secret prints as "", since there is nothing to hide and an empty
// value is worth seeing when a configuration is debugged.
type Secret string

// Reveal returns the secret's value, for handing to the component that needs it.
func (s Secret) Reveal() string { return string(s) }

// String returns "<redacted>" (or "" for an empty secret).
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the %#v form, redacted like String.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format implements fmt.Formatter so that no verb, %x included, prints the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText implements encoding.TextMarshaler, used by map keys and some encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }
