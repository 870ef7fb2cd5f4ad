package campaign

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/adhocore/gronx"
)

// Schedule says when a job runs: either a cron expression read on the wall
// clock of the store's time zone, or a fixed interval of real time.
//
// Cron schedules follow the wall clock across daylight saving changes the way
// a shop owner expects from cron:
//   - every wall-clock slot runs once: a slot that occurs twice when the
//     clocks go back (02:30 on the last Sunday of October in Europe/Berlin)
//     runs at its first occurrence only;
//   - a slot that does not exist because the clocks jump forward (02:30 on
//     the last Sunday of March) runs at the instant of the jump, so a daily
//     job still runs once that day.
//
// Interval schedules ("every: 1h") measure real elapsed time and ignore the
// time zone.
type Schedule struct {
	cron  string
	every time.Duration
	loc   *time.Location
}

// minEvery is the shortest interval accepted: a job run talks to the store
// and the mail server; running it more often than this only adds load.
const minEvery = time.Minute

// ParseSchedule returns the schedule for a job: exactly one of cron (a 5- or
// 6-field cron expression, or a gronx tag such as "@daily") and every (> 0)
// must be set. loc is the store's time zone; nil means UTC.
func ParseSchedule(cron string, every time.Duration, loc *time.Location) (Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	cron = strings.TrimSpace(cron)
	switch {
	case cron != "" && every != 0:
		return Schedule{}, errors.New("set either schedule or every, not both")
	case cron == "" && every == 0:
		return Schedule{}, errors.New("set schedule (a cron expression) or every (an interval such as 1h)")
	case every < 0:
		return Schedule{}, fmt.Errorf("every %s: must be positive", every)
	case every != 0 && every < minEvery:
		return Schedule{}, fmt.Errorf("every %s: must be at least %s", every, minEvery)
	case every != 0:
		return Schedule{every: every, loc: loc}, nil
	}
	if !gronx.IsValid(cron) {
		return Schedule{}, fmt.Errorf("schedule %q: not a valid cron expression (minute hour day-of-month month day-of-week)", cron)
	}
	s := Schedule{cron: cron, loc: loc}
	// Reject expressions that never fire (e.g. "0 0 31 2 *"): a job that
	// silently never runs is worse than an error at start-up.
	if _, err := s.nextWall(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return Schedule{}, fmt.Errorf("schedule %q: %w", cron, err)
	}
	return s, nil
}

// String returns the schedule as it was configured.
func (s Schedule) String() string {
	if s.every != 0 {
		return "every " + s.every.String()
	}
	return s.cron + " (" + s.loc.String() + ")"
}

// IsZero reports whether s is the zero Schedule (never parsed).
func (s Schedule) IsZero() bool { return s.cron == "" && s.every == 0 }

// Next returns the first instant strictly after after at which the job is
// due. For an interval schedule that is after + every.
func (s Schedule) Next(after time.Time) time.Time {
	if s.every != 0 {
		return after.Add(s.every)
	}
	if s.cron == "" {
		return time.Time{}
	}
	loc := s.loc
	if loc == nil {
		loc = time.UTC
	}
	// Work on the wall clock: gronx walks fields, and in a zone with DST its
	// arithmetic skips or repeats slots around a transition. A floating
	// wall-clock time (the local fields written as UTC) has no transitions.
	wall := floating(after.In(loc))
	// A repeated period is at most an hour or so: a per-second expression
	// needs at most a few thousand steps to leave it.
	for range 4000 {
		next, err := s.nextWall(wall)
		if err != nil {
			return time.Time{}
		}
		t := s.instant(next, loc)
		if t.After(after) {
			return t
		}
		// The wall slot maps to an instant not after after: after lies in
		// the second pass of a repeated hour and this slot already had its
		// turn in the first pass.
		wall = next
	}
	return time.Time{}
}

// nextWall returns the first wall-clock slot strictly after wall (floating).
func (s Schedule) nextWall(wall time.Time) (time.Time, error) {
	next, err := gronx.NextTickAfter(s.cron, wall, false)
	if err != nil {
		return time.Time{}, fmt.Errorf("no next run found: %w", err)
	}
	if !next.After(wall) {
		return time.Time{}, errors.New("no next run found")
	}
	return next, nil
}

// floating returns t's wall-clock fields as a UTC time.
func floating(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

// instant maps a floating wall-clock time to the instant it denotes in loc:
// the first occurrence when the wall time occurs twice, the instant of the
// jump when it does not occur at all.
func (s Schedule) instant(wall time.Time, loc *time.Location) time.Time {
	t := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
	if !floating(t).Equal(wall) {
		// In a gap: time.Date normalized it past the jump. The jump is the
		// start of t's zone period.
		start, _ := t.ZoneBounds()
		if !start.IsZero() {
			return start
		}
		return t
	}
	// An earlier instant with the same wall clock exists when t lies in the
	// hour repeated by a backward change.
	start, _ := t.ZoneBounds()
	if !start.IsZero() {
		_, before := start.Add(-time.Nanosecond).Zone()
		_, now := t.Zone()
		if shift := time.Duration(before-now) * time.Second; shift > 0 {
			if earlier := t.Add(-shift); floating(earlier.In(loc)).Equal(wall) {
				return earlier
			}
		}
	}
	return t
}

// Due reports whether a run is owed at now given the start of the last
// recorded run (zero if the job never ran), and when the next run is due
// otherwise.
//
// Catch-up: when one or more slots passed since lastRun (the daemon was
// down), the job is owed exactly one run now, not one per missed slot. A job
// that never ran is owed nothing for the past: an interval job runs at once,
// a cron job waits for its next slot.
func (s Schedule) Due(lastRun, now time.Time) (due bool, next time.Time) {
	if lastRun.IsZero() {
		if s.every != 0 {
			return true, now
		}
		return false, s.Next(now)
	}
	n := s.Next(lastRun)
	if n.IsZero() {
		return false, time.Time{}
	}
	if !n.After(now) {
		return true, now
	}
	return false, n
}
