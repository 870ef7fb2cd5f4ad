package campaign

import "time"

// HumanTimeLayout is how every command shows a time to people (status,
// report, jobs): to the minute, in the store's time zone, with the zone's
// name so that nobody has to guess. Machine formats (JSON, CSV) use RFC 3339.
const HumanTimeLayout = "2006-01-02 15:04 MST"

// HumanTime formats t with HumanTimeLayout in loc (nil: UTC); "never" for
// the zero time.
func HumanTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(HumanTimeLayout)
}
