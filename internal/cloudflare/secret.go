package cloudflare

import "fmt"

// Secret holds a credential or token value. It prints as "[redacted]" in every fmt verb, in JSON and in
// logs, so a value can only leave through Reveal, which the code that writes the Secret calls.
type Secret struct{ value string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the value. Call it only to hand the value to Cloudflare or to write it into a Secret.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no value is held.
func (s Secret) IsZero() bool { return s.value == "" }

func (s Secret) String() string   { return "[redacted]" }
func (s Secret) GoString() string { return "cloudflare.Secret([redacted])" }

// Format covers %v, %+v, %#v, %s, %q and the rest.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = fmt.Fprint(f, "[redacted]") }

// MarshalJSON keeps the value out of structured logs.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// MarshalText keeps the value out of text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
