package campaign

import (
	"strings"
	"unicode/utf8"
)

// MaxNameRunes is how long a first or last name may be, in characters.
// Longer names are cut: a 10,000-character name made 10 kB Subject and To
// lines that mail servers refuse, and no real name comes near 100.
const MaxNameRunes = 100

// CleanName returns a person's name as it may be put in mail headers and
// bodies: every control character (C0 and C1, DEL, and the Unicode line
// and paragraph separators U+2028 and U+2029) becomes a space, a run of them
// one space, the result is trimmed and cut to MaxNameRunes characters.
// Names come from CSV rows and from the store's customers, that is from
// anyone who signs up: "Eve\r\nBcc: attacker@evil.test" must not start a
// line of its own anywhere. Invalid UTF-8 becomes U+FFFD.
//
// Every place that builds a Recipient from outside data calls it.
func CleanName(s string) string {
	clean := true
	for _, r := range s {
		if isNameControl(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean && utf8.RuneCountInString(s) <= MaxNameRunes && strings.TrimSpace(s) == s {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), MaxNameRunes*utf8.UTFMax))
	n := 0
	space := false // a control run is pending as one space
	for _, r := range strings.TrimSpace(s) {
		if isNameControl(r) {
			space = true
			continue
		}
		if space {
			if n++; n > MaxNameRunes {
				break
			}
			b.WriteByte(' ')
			space = false
		}
		if n++; n > MaxNameRunes {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

// isNameControl reports whether r must not appear in a name.
func isNameControl(r rune) bool {
	return r < 0x20 || r >= 0x7f && r <= 0x9f || r == '\u2028' || r == '\u2029'
}
