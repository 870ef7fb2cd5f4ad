package campaign

import "strings"

// MaskCode returns code with all but its first 4 and last 2 characters
// replaced by '*', for log lines and errors: enough to tell codes apart and
// find one with `lookup`, useless at checkout. A code of 6 characters or
// fewer is masked whole.
func MaskCode(code string) string {
	r := []rune(code)
	if len(r) <= 6 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-6) + string(r[len(r)-2:])
}
