package mailer

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"
)

// sendCaps enforces the per-hour and per-day caps exactly: at most limit
// messages in any rolling period. A token bucket (x/time/rate) would allow
// up to twice the cap across a window boundary, which is what a shared host
// counting "50 an hour" punishes; the message rate itself is paced by
// x/time/rate in SMTPSender.
//
// Both windows record every send, even with no cap set, so that a cap set
// later by SetLimits sees what was sent before it.
type sendCaps struct {
	mu      sync.Mutex
	hour    capWindow
	day     capWindow
	capWait time.Duration
	lastID  int64 // reservation ids
}

// capWindow is a rolling window of the times messages were sent.
type capWindow struct {
	name   string
	limit  int // 0: no cap
	period time.Duration
	sent   []capEntry // oldest first
}

type capEntry struct {
	at time.Time
	id int64
}

// capSlot identifies one reservation, so a message the server did not take
// gives its slot back.
type capSlot struct{ id int64 }

// capError reports a reached cap; it wraps ErrCapReached.
type capError struct {
	name  string
	limit int
	wait  time.Duration
}

func (e *capError) Error() string {
	return fmt.Sprintf("%s cap reached (%d messages per rolling %s; next slot in %s)", e.name, e.limit,
		map[string]string{"hourly": "hour", "daily": "day"}[e.name], e.wait.Round(time.Second))
}

func (e *capError) Is(target error) bool { return target == ErrCapReached }

func newSendCaps(perHour, perDay int, capWait time.Duration) *sendCaps {
	return &sendCaps{
		hour:    capWindow{name: "hourly", limit: perHour, period: time.Hour},
		day:     capWindow{name: "daily", limit: perDay, period: 24 * time.Hour},
		capWait: capWait,
	}
}

// setLimits changes the caps; the windows keep their history.
func (c *sendCaps) setLimits(perHour, perDay int, capWait time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hour.limit, c.day.limit, c.capWait = perHour, perDay, capWait
}

// maxWait returns how long a message may wait for a slot.
func (c *sendCaps) maxWait() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.capWait
}

// recordPast counts sends made at the instants at (by another process or
// before this one) into both windows; they are never released.
func (c *sendCaps) recordPast(now time.Time, at []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range []*capWindow{&c.hour, &c.day} {
		added := false
		for _, t := range at {
			if t.After(now) {
				t = now
			}
			if t.Add(w.period).After(now) {
				w.sent = append(w.sent, capEntry{at: t})
				added = true
			}
		}
		if added {
			slices.SortStableFunc(w.sent, func(a, b capEntry) int { return cmp.Compare(a.at.UnixNano(), b.at.UnixNano()) })
		}
	}
}

// reserve takes a slot in both windows at now, or returns how long until
// one frees and a *capError.
func (c *sendCaps) reserve(now time.Time) (capSlot, time.Duration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wait time.Duration
	var err error
	for _, w := range []*capWindow{&c.hour, &c.day} {
		if d := w.full(now); d > 0 && d > wait {
			wait = d
			err = &capError{name: w.name, limit: w.limit, wait: d}
		}
	}
	if err != nil {
		return capSlot{}, wait, err
	}
	c.lastID++
	for _, w := range []*capWindow{&c.hour, &c.day} {
		w.sent = append(w.sent, capEntry{at: now, id: c.lastID})
	}
	return capSlot{id: c.lastID}, 0, nil
}

// release gives back a slot taken by reserve; releasing the zero slot or a
// slot already gone is a no-op.
func (c *sendCaps) release(s capSlot) {
	if s.id == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range []*capWindow{&c.hour, &c.day} {
		for i := len(w.sent) - 1; i >= 0; i-- {
			if w.sent[i].id == s.id {
				w.sent = append(w.sent[:i], w.sent[i+1:]...)
				break
			}
		}
	}
}

// full drops entries older than the period and returns 0 when a slot is
// free at now, or how long until the oldest entry leaves the window.
func (w *capWindow) full(now time.Time) time.Duration {
	cut := 0
	for cut < len(w.sent) && !w.sent[cut].at.Add(w.period).After(now) {
		cut++
	}
	if cut > 0 {
		w.sent = append(w.sent[:0], w.sent[cut:]...)
	}
	if w.limit <= 0 || len(w.sent) < w.limit {
		return 0
	}
	return w.sent[len(w.sent)-w.limit].at.Add(w.period).Sub(now)
}
