package woo

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeUnmarshalAcceptsWooCommerceForms(t *testing.T) {
	cases := map[string]time.Time{
		`"2026-03-31T21:59:59"`:           time.Date(2026, 3, 31, 21, 59, 59, 0, time.UTC),
		`"2026-03-31T23:59:59+02:00"`:     time.Date(2026, 3, 31, 21, 59, 59, 0, time.UTC),
		`"2026-03-31T21:59:59Z"`:          time.Date(2026, 3, 31, 21, 59, 59, 0, time.UTC),
		`"2026-03-31T21:59:59.5"`:         time.Date(2026, 3, 31, 21, 59, 59, 500_000_000, time.UTC),
		`"2026-03-31 21:59:59"`:           time.Date(2026, 3, 31, 21, 59, 59, 0, time.UTC),
		`"2026-03-31"`:                    time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC),
		`null`:                            {},
		`""`:                              {},
		`"0000-00-00 00:00:00"`:           {},
		` "2026-01-02T03:04:05-05:00" `:   time.Date(2026, 1, 2, 8, 4, 5, 0, time.UTC),
		`"2026-01-02T03:04:05.123+01:00"`: time.Date(2026, 1, 2, 2, 4, 5, 123_000_000, time.UTC),
	}
	for in, want := range cases {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("%s decoded to %v, want %v", in, got.Time, want)
		}
	}
	for _, bad := range []string{`"tomorrow"`, `12345`, `"2026-13-01T00:00:00"`, `true`} {
		var got Time
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s decoded to %v, want an error", bad, got.Time)
		}
	}
}

func TestTimeMarshalWritesRFC3339WithoutFractions(t *testing.T) {
	cases := map[string]Time{
		`"2026-03-31T21:59:59Z"`: {time.Date(2026, 3, 31, 23, 59, 59, 999_999_999, time.FixedZone("", 7200))},
		`"2026-03-31T23:59:59Z"`: {time.Date(2026, 3, 31, 23, 59, 59, 1, time.UTC)},
		`null`:                   {},
	}
	for want, in := range cases {
		got, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("Marshal(%v) = %s, want %s", in.Time, got, want)
		}
	}
	if _, err := json.Marshal(Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("year 10000 marshalled, want an error")
	}
}

// WordPress reads +05:30 as +05:00 (iso8601_timezone_to_offset drops the
// minutes), so an expiry written in a half- or quarter-hour zone would be
// saved 30 or 45 minutes off and every read-back would refuse the coupon.
func TestExpiryInHalfHourZoneIsSentInUTC(t *testing.T) {
	kolkata := time.FixedZone("IST", 5*3600+30*60)
	kathmandu := time.FixedZone("NPT", 5*3600+45*60)
	stJohns := time.FixedZone("NST", -(3*3600 + 30*60))
	cases := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2027, 1, 3, 23, 59, 59, 0, kolkata), `"2027-01-03T18:29:59Z"`},
		{time.Date(2027, 1, 3, 23, 59, 59, 0, kathmandu), `"2027-01-03T18:14:59Z"`},
		{time.Date(2027, 1, 3, 23, 59, 59, 0, stJohns), `"2027-01-04T03:29:59Z"`},
	}
	for _, tc := range cases {
		got, err := json.Marshal(Time{tc.in})
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("Marshal(%v) = %s, want %s (UTC with Z: WordPress drops offset minutes)", tc.in, got, tc.want)
		}
	}
	p, err := json.Marshal(CouponPatch{DateExpires: NewTime(cases[0].in)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"date_expires":"2027-01-03T18:29:59Z"}`; string(p) != want {
		t.Errorf("CouponPatch = %s, want %s", p, want)
	}
}

func TestTimeRoundTripKeepsTheInstant(t *testing.T) {
	in := Time{time.Date(2026, 6, 30, 23, 59, 59, 0, time.FixedZone("", -4*3600))}
	b, _ := json.Marshal(in)
	var out Time
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !out.Equal(in.Time) {
		t.Errorf("round trip %v → %s → %v", in.Time, b, out.Time)
	}
}
