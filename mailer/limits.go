package mailer

import (
	"errors"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the pacing and the caps of an SMTPSender that can change while
// it runs: the fields of SMTPConfig with the same names and meanings.
type Limits struct {
	// RatePerSecond caps messages handed to the server per second, across
	// all connections and retries (0: no limit).
	RatePerSecond float64
	// PerHour and PerDay cap messages the server accepted (or may have) in
	// any rolling hour and day (0: no cap).
	PerHour, PerDay int
	// CapWait is the longest a message waits for a cap slot (0: do not wait).
	CapWait time.Duration
}

func (l Limits) validate() error {
	if l.RatePerSecond < 0 || math.IsNaN(l.RatePerSecond) || math.IsInf(l.RatePerSecond, 0) ||
		l.PerHour < 0 || l.PerDay < 0 || l.CapWait < 0 {
		return errors.New("mailer: smtp rate, per-hour cap, per-day cap and cap wait must be finite and not negative")
	}
	return nil
}

func (l Limits) rateLimit() rate.Limit {
	if l.RatePerSecond == 0 {
		return rate.Inf
	}
	return rate.Limit(l.RatePerSecond)
}

// SetLimits changes the pacing and the caps of s in place, for messages not
// yet started (one waiting for the rate keeps the turn it was given): a
// daemon keeps one sender per process and adjusts it on a configuration
// reload, so that the rate ceiling holds across the reload. The rolling
// hour and day keep every send they counted: lowering a cap below what was
// sent in the last hour stops sending until the window has room. A negative
// value is an error and changes nothing.
func (s *SMTPSender) SetLimits(l Limits) error {
	if err := l.validate(); err != nil {
		return err
	}
	s.limiter.SetLimit(l.rateLimit())
	s.caps.setLimits(l.PerHour, l.PerDay, l.CapWait)
	s.opts.logger.Debug("smtp limits changed", "rate", l.RatePerSecond, "per_hour", l.PerHour,
		"per_day", l.PerDay, "cap_wait", l.CapWait)
	return nil
}

// RecordPastSends counts messages sent before this sender existed or by
// another process (read from the ledger) into the rolling hour and day of
// the caps, so that PerHour and PerDay hold across restarts and between the
// daemon and a run-job under cron. Instants older than a day are ignored;
// instants in the future count as now. Pass only sends this sender did not
// make itself: it counts its own already.
func (s *SMTPSender) RecordPastSends(at []time.Time) {
	s.caps.recordPast(time.Now(), at)
}
