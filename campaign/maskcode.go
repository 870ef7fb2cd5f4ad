package campaign

import (
	"strings"
	"unicode/utf8"
)

// maskKeepMin is the shortest code MaskCode shows any part of: below it,
// the 6 characters kept would leave too few hidden to protect the code.
const maskKeepMin = 10

// MaskCode returns code with all but its first 4 and last 2 characters
// replaced by '*', for log lines: enough to tell codes apart and find the
// row, not enough to redeem the coupon. A code shorter than 10 characters
// is masked entirely; the length is always kept.
func MaskCode(code string) string {
	n := utf8.RuneCountInString(code)
	if n < maskKeepMin {
		return strings.Repeat("*", n)
	}
	runes := []rune(code)
	return string(runes[:4]) + strings.Repeat("*", n-6) + string(runes[n-2:])
}
