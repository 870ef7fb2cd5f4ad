package wootest

import (
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var tagRE = regexp.MustCompile(`<[^>]*>`)

// formatCode is wc_format_coupon_code: decode HTML entities, strip tags,
// lowercase.
func formatCode(code string) string {
	code = html.UnescapeString(code)
	code = tagRE.ReplaceAllString(code, "")
	return strings.ToLower(strings.TrimSpace(code))
}

var (
	localInvalidRE  = regexp.MustCompile(`[^a-zA-Z0-9!#$%&'*+/=?^_` + "`" + `{|}~.-]`)
	periodsRE       = regexp.MustCompile(`\.{2,}`)
	subInvalidRE    = regexp.MustCompile(`[^a-zA-Z0-9-]+`)
	localValidRE    = regexp.MustCompile(`^[a-zA-Z0-9!#$%&'*+/=?^_` + "`" + `{|}~.-]+$`)
	subValidRE      = regexp.MustCompile(`^[a-zA-Z0-9-]+$`)
	phpTrimSpace    = " \t\n\r\x00\x0B"
	phpTrimDomain   = phpTrimSpace + "."
	phpTrimSubHyphe = phpTrimSpace + "-"
)

// SanitizeEmail is a port of WordPress's sanitize_email: it silently removes
// characters an address may not contain and returns "" when nothing usable
// is left. "Bob <bob@x.com>" becomes "Bobbob@x.com", "zoë@münchen.de"
// becomes "zo@mnchen.de" and "b@y" becomes "".
func SanitizeEmail(email string) string {
	if len(email) < 6 {
		return ""
	}
	at := strings.IndexByte(email, '@')
	if at < 1 {
		// PHP's strpos( $email, '@', 1 ): an '@' at position 0 does not count.
		if at == 0 {
			if j := strings.IndexByte(email[1:], '@'); j >= 0 {
				at = j + 1
			}
		}
		if at < 1 {
			return ""
		}
	}
	local, domain := email[:at], email[at+1:]
	local = localInvalidRE.ReplaceAllString(local, "")
	if local == "" {
		return ""
	}
	domain = periodsRE.ReplaceAllString(domain, "")
	if domain == "" {
		return ""
	}
	domain = strings.Trim(domain, phpTrimDomain)
	if domain == "" {
		return ""
	}
	subs := strings.Split(domain, ".")
	if len(subs) < 2 {
		return ""
	}
	var valid []string
	for _, sub := range subs {
		sub = strings.Trim(sub, phpTrimSubHyphe)
		sub = subInvalidRE.ReplaceAllString(sub, "")
		if sub != "" {
			valid = append(valid, sub)
		}
	}
	if len(valid) < 2 {
		return ""
	}
	return local + "@" + strings.Join(valid, ".")
}

// isEmail is WordPress's is_email, used by WooCommerce to reject a
// sanitized restriction that is still not an address. Wildcard entries
// ("*@example.com") are allowed.
func isEmail(email string) bool {
	if len(email) < 6 {
		return false
	}
	at := strings.IndexByte(email, '@')
	if at < 1 {
		return false
	}
	local, domain := email[:at], email[at+1:]
	if strings.Contains(local, "*") {
		local = strings.ReplaceAll(local, "*", "x")
	}
	if !localValidRE.MatchString(local) {
		return false
	}
	if strings.Contains(domain, "..") || strings.Trim(domain, phpTrimDomain) != domain {
		return false
	}
	subs := strings.Split(domain, ".")
	if len(subs) < 2 {
		return false
	}
	for _, sub := range subs {
		if strings.Trim(sub, phpTrimSubHyphe) != sub || !subValidRE.MatchString(sub) {
			return false
		}
	}
	return true
}

// parseDecimal is wc_format_decimal without rounding: everything but digits,
// '.', '-' is dropped, and what is left is read as a number (0 when
// nothing usable is left).
func parseDecimal(s string) float64 {
	s = strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return -1
	}, s)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// formatAmount renders an amount like wc_format_decimal($v, 2).
func formatAmount(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// wpDate is the REST date format: no offset.
const wpDate = "2006-01-02T15:04:05"

// isoRE is the pattern WooCommerce's set_date_prop reads directly: RFC 3339
// with seconds and a Z or ±HH:MM offset and no fractions.
var isoRE = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|([-+])(\d{2}):(\d{2}))$`)

var strtotimeLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02T15:04:05-0700",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02",
	"2006/01/02 15:04:05",
	"02 January 2006",
	"January 2, 2006",
	time.RFC1123Z,
	time.RFC1123,
}

// parseExpiry is WooCommerce's set_date_prop for a string. It returns the
// expiry instant and ok; ok false means the value is unreadable, and
// WooCommerce then stores no expiry at all.
//
// The ISO pattern (seconds, Z or offset, no fractions) is taken literally.
// Anything else goes through strtotime, whose UTC wall clock is then read as
// site-local time: a value without offset means site time (correct), while
// a value with fractions and an offset is shifted by the site's UTC offset.
func parseExpiry(v string, loc *time.Location) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if m := isoRE.FindStringSubmatch(v); m != nil {
		atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
		t := time.Date(atoi(m[1]), time.Month(atoi(m[2])), atoi(m[3]), atoi(m[4]), atoi(m[5]), atoi(m[6]), 0, time.UTC)
		if m[7] != "Z" {
			// WordPress's iso8601_timezone_to_offset expects "±hhmm":
			// (int) substr($tz, 3, 4) of "+05:30" is (int) ":30", 0. The
			// minutes are lost whatever the sign: +05:30 is read as
			// +05:00, -03:30 as -03:00.
			off := time.Duration(atoi(m[9])) * time.Hour
			if m[8] == "-" {
				off = -off
			}
			t = t.Add(-off)
		}
		return t, true
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range strtotimeLayouts {
		t, err := time.Parse(layout, v) // zone-less layouts parse as UTC, like PHP with WordPress's UTC default
		if err != nil {
			continue
		}
		w := t.UTC()
		// gmdate() of that instant, then get_gmt_from_date(): the UTC wall
		// clock is taken as site-local time.
		local := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
		return local.UTC(), true
	}
	return time.Time{}, false
}
