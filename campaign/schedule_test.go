package campaign

import (
	"strings"
	"testing"
	"time"
)

func jobsBerlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	return loc
}

// ticks returns the first n instants of s after start.
func scheduleTicks(s Schedule, start time.Time, n int) []time.Time {
	var out []time.Time
	at := start
	for range n {
		at = s.Next(at)
		out = append(out, at)
	}
	return out
}

func TestScheduleDailyCronFollowsStoreWallClockAcrossDST(t *testing.T) {
	loc := jobsBerlin(t)
	s, err := ParseSchedule("0 9 * * *", 0, loc)
	if err != nil {
		t.Fatal(err)
	}
	// Spring forward: 2026-03-29 02:00 CET → 03:00 CEST.
	got := scheduleTicks(s, time.Date(2026, 3, 27, 12, 0, 0, 0, loc), 4)
	want := []string{"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z", "2026-03-31T07:00:00Z"}
	assertScheduleInstants(t, got, want)

	// Fall back: 2026-10-25 03:00 CEST → 02:00 CET.
	got = scheduleTicks(s, time.Date(2026, 10, 23, 12, 0, 0, 0, loc), 4)
	want = []string{"2026-10-24T07:00:00Z", "2026-10-25T08:00:00Z", "2026-10-26T08:00:00Z", "2026-10-27T08:00:00Z"}
	assertScheduleInstants(t, got, want)
}

func TestScheduleSlotInSpringForwardGapRunsAtTheJump(t *testing.T) {
	loc := jobsBerlin(t)
	s, err := ParseSchedule("30 2 * * *", 0, loc)
	if err != nil {
		t.Fatal(err)
	}
	got := scheduleTicks(s, time.Date(2026, 3, 28, 12, 0, 0, 0, loc), 3)
	// 02:30 does not exist on 29 March: the run happens at the jump, 03:00 CEST = 01:00Z.
	want := []string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"}
	assertScheduleInstants(t, got, want)
}

func TestScheduleSlotInRepeatedHourRunsOnce(t *testing.T) {
	loc := jobsBerlin(t)
	s, err := ParseSchedule("30 2 * * *", 0, loc)
	if err != nil {
		t.Fatal(err)
	}
	got := scheduleTicks(s, time.Date(2026, 10, 24, 12, 0, 0, 0, loc), 3)
	// 02:30 happens twice on 25 October; the job runs at the first (CEST, 00:30Z) only.
	want := []string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"}
	assertScheduleInstants(t, got, want)

	// A daemon that starts during the second pass of the repeated hour does
	// not run the slot again.
	secondPass := time.Date(2026, 10, 25, 1, 10, 0, 0, time.UTC) // 02:10 CET
	if n := s.Next(secondPass); !n.Equal(time.Date(2026, 10, 26, 1, 30, 0, 0, time.UTC)) {
		t.Errorf("Next(%s) = %s, want 2026-10-26T01:30:00Z", secondPass, n.UTC())
	}
}

func TestScheduleHourlyCronAcrossDSTNeverRepeatsAWallSlot(t *testing.T) {
	loc := jobsBerlin(t)
	s, err := ParseSchedule("0 * * * *", 0, loc)
	if err != nil {
		t.Fatal(err)
	}
	got := scheduleTicks(s, time.Date(2026, 10, 25, 0, 30, 0, 0, loc), 4)
	// 01:00 CEST, 02:00 CEST (first pass), 03:00 CET, 04:00 CET.
	want := []string{"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"}
	assertScheduleInstants(t, got, want)

	got = scheduleTicks(s, time.Date(2026, 3, 29, 0, 30, 0, 0, loc), 3)
	// 01:00 CET, (02:00 missing → the jump at 03:00 CEST), 04:00 CEST.
	want = []string{"2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z"}
	assertScheduleInstants(t, got, want)
}

func TestScheduleEveryIsRealElapsedTime(t *testing.T) {
	loc := jobsBerlin(t)
	s, err := ParseSchedule("", time.Hour, loc)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)
	got := scheduleTicks(s, start, 3)
	want := []string{"2026-10-25T01:30:00Z", "2026-10-25T02:30:00Z", "2026-10-25T03:30:00Z"}
	assertScheduleInstants(t, got, want)
}

func TestScheduleDueCatchesUpOnceAfterDowntime(t *testing.T) {
	s, err := ParseSchedule("0 * * * *", 0, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	last := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	now := time.Date(2026, 1, 1, 14, 20, 0, 0, time.UTC) // six slots missed
	due, next := s.Due(last, now)
	if !due || !next.Equal(now) {
		t.Fatalf("Due(last 08:00, now 14:20) = %v, %s; want true, now", due, next)
	}
	// After the catch-up run (recorded at now), nothing more is owed until 15:00.
	due, next = s.Due(now, now.Add(time.Minute))
	if due || !next.Equal(time.Date(2026, 1, 1, 15, 0, 0, 0, time.UTC)) {
		t.Fatalf("Due after catch-up = %v, %s; want false, 15:00", due, next)
	}
}

func TestScheduleDueForJobThatNeverRan(t *testing.T) {
	now := time.Date(2026, 1, 1, 14, 20, 0, 0, time.UTC)
	cron, _ := ParseSchedule("0 9 * * *", 0, time.UTC)
	if due, next := cron.Due(time.Time{}, now); due || !next.Equal(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("cron never ran: Due = %v, %s; want false, next 09:00", due, next)
	}
	every, _ := ParseSchedule("", 30*time.Minute, time.UTC)
	if due, next := every.Due(time.Time{}, now); !due || !next.Equal(now) {
		t.Errorf("every never ran: Due = %v, %s; want true, now", due, next)
	}
}

func TestParseScheduleRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		cron  string
		every time.Duration
		want  string
	}{
		{"", 0, "set schedule"},
		{"0 9 * * *", time.Hour, "not both"},
		{"61 * * * *", 0, "not a valid cron"},
		{"every day", 0, "not a valid cron"},
		{"", -time.Hour, "positive"},
		{"", time.Second, "at least"},
		{"0 0 31 2 *", 0, "no next run"},
	} {
		_, err := ParseSchedule(c.cron, c.every, time.UTC)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSchedule(%q, %s) error = %v, want containing %q", c.cron, c.every, err, c.want)
		}
	}
}

func assertScheduleInstants(t *testing.T, got []time.Time, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d instants, want %d", len(got), len(want))
	}
	for i := range want {
		if g := got[i].UTC().Format(time.RFC3339); g != want[i] {
			t.Errorf("tick %d = %s (%s local), want %s", i, g, got[i].Format(time.RFC3339), want[i])
		}
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"0 9 * * *", "*/15 * * * *", "30 2 * * 0", "0 0 31 2 *", "@daily", "0 10 * * MON-FRI", "5,35 */2 1-15 * *", "* * * * * *"} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Skip(err)
	}
	f.Fuzz(func(t *testing.T, cron string) {
		s, err := ParseSchedule(cron, 0, loc)
		if err != nil {
			return
		}
		after := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
		for range 3 {
			next := s.Next(after)
			if next.IsZero() {
				return // an expression with no run in reach: ParseSchedule checked one exists from 2000
			}
			if !next.After(after) {
				t.Fatalf("%q: Next(%s) = %s, not after", cron, after, next)
			}
			after = next
		}
	})
}
