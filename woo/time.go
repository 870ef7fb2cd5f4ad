package woo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Time is a timestamp in WooCommerce's wire format.
//
// It is written in UTC as RFC 3339 with seconds and "Z" and never with
// fractional seconds: WooCommerce parses a value with fractions through
// another function that shifts it by the site's UTC offset, and WordPress's
// iso8601_timezone_to_offset drops the minutes of an offset such as +05:30
// or +05:45, so any zone but UTC can move the instant. It is read from
// RFC 3339 (with or without fractions), from WooCommerce's offset-less form
// "2006-01-02T15:04:05" and from MySQL's "2006-01-02 15:04:05"; a value
// without an offset is taken as UTC, which is right for the *_gmt fields and
// gives the site's wall clock for the others. null, "" and MySQL's zero date
// decode to the zero Time.
type Time struct {
	time.Time
}

// NewTime returns a *Time for t, handy for the pointer fields of Coupon.
func NewTime(t time.Time) *Time { return &Time{t} }

// MarshalJSON writes t in UTC as RFC 3339 with seconds and "Z"
// (2027-01-03T18:29:59Z), or null when t is zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("woo: time %v: year outside 0..9999", t.Time)
	}
	return []byte(`"` + u.Format(wireLayout) + `"`), nil
}

// wireLayout is how every date the client writes looks: UTC, seconds, no
// fractions. The Z is literal because the value is always UTC.
const wireLayout = "2006-01-02T15:04:05Z"

var timeLayoutsNoOffset = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// UnmarshalJSON accepts the forms described on Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("woo: time: want a string, got %.40s", b)
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// ParseTime parses a WooCommerce timestamp as described on Time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, "0000-00-00") {
		return time.Time{}, nil
	}
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return v, nil
	}
	for _, layout := range timeLayoutsNoOffset {
		if v, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return v, nil
		}
	}
	return time.Time{}, fmt.Errorf("woo: cannot parse time %q", s)
}
