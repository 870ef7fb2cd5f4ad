package woo

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// rateDecreaseFactor multiplies the rate on a 429.
	rateDecreaseFactor = 0.5
	// rateDecreaseCooldown keeps a burst of 429s for requests that were
	// already in flight from counting as many signals: the rate is lowered at
	// most once per cooldown.
	rateDecreaseCooldown = time.Second
	// rateRecoveryQuiet is how long the store must stay free of 429s before
	// the rate is raised by one step.
	rateRecoveryQuiet = 10 * time.Second
	// rateRecoverySteps is how many steps it takes to climb from the floor
	// back to the ceiling: each step adds ceiling/rateRecoverySteps.
	rateRecoverySteps = 10
	// rateFloor is the lowest rate the limiter goes down to (requests per
	// second), unless the ceiling is lower still.
	rateFloor = 0.1
)

// adaptiveLimiter throttles every HTTP attempt: a counting semaphore caps
// the number of requests in flight, and a token bucket
// (golang.org/x/time/rate) caps their rate. The rate follows AIMD: each 429
// halves it (at most once per rateDecreaseCooldown), every rateRecoveryQuiet
// without a 429 adds ceiling/rateRecoverySteps, never above the configured
// ceiling. A Retry-After from the store pauses all requests until it has
// passed.
//
// The limits can change while requests wait (setLimits, for a daemon that
// keeps one client and adjusts it on reload). So no waiter holds a
// reservation made under the old limits: each waits for the moment a slot
// or a token should be free, then checks again under the current limits,
// and is woken early when the limits change.
type adaptiveLimiter struct {
	logger *slog.Logger

	mu           sync.Mutex
	inFlight     int
	maxInFlight  int
	changed      chan struct{} // closed and replaced when a slot frees or the limits change
	lim          *rate.Limiter
	ceiling      float64
	ceilingBurst int
	floor        float64
	cur          float64
	lastDecrease time.Time
	lastChange   time.Time
	pausedUntil  time.Time
}

func newAdaptiveLimiter(rps float64, burst, concurrency int, logger *slog.Logger) *adaptiveLimiter {
	return &adaptiveLimiter{
		logger:       logger,
		maxInFlight:  concurrency,
		changed:      make(chan struct{}),
		lim:          rate.NewLimiter(rate.Limit(rps), burst),
		ceiling:      rps,
		ceilingBurst: burst,
		floor:        math.Min(rps, rateFloor),
		cur:          rps,
	}
}

// wakeLocked wakes every waiter so that it checks again.
func (l *adaptiveLimiter) wakeLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// acquire takes a concurrency slot, then waits for a token. On error nothing
// was sent and no slot is held.
func (l *adaptiveLimiter) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err // never send for a caller that has given up
	}
	for {
		l.mu.Lock()
		if l.inFlight < l.maxInFlight {
			l.inFlight++
			l.mu.Unlock()
			break
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		l.mu.Lock()
		now := time.Now()
		l.recoverLocked(now)
		wait := l.pausedUntil.Sub(now)
		if wait <= 0 {
			tokens := l.lim.TokensAt(now)
			if tokens >= 1 {
				l.lim.AllowN(now, 1)
				l.mu.Unlock()
				return nil
			}
			// Rounded up so that the timer does not fire a hair early.
			wait = time.Duration(math.Ceil((1 - tokens) / float64(l.lim.Limit()) * float64(time.Second)))
		}
		ch := l.changed
		l.mu.Unlock()
		if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
			l.release()
			// Report it as the deadline so that nobody retries.
			return fmt.Errorf("%w: the next request slot is after the deadline (in %v)", context.DeadlineExceeded, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ch:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			l.release()
			return ctx.Err()
		}
	}
}

// release frees the concurrency slot taken by acquire.
func (l *adaptiveLimiter) release() {
	l.mu.Lock()
	l.inFlight--
	l.wakeLocked()
	l.mu.Unlock()
}

// setLimits changes the ceiling, its burst and the concurrency cap. The
// rate follows a lower ceiling at once; while the limiter is backing off
// after 429s it keeps the lower of its current rate and the new ceiling,
// otherwise it moves to the new ceiling. The bucket keeps its tokens (at
// most the new burst), so a change never grants an extra burst. Requests
// in flight finish; waiting ones check again under the new limits.
func (l *adaptiveLimiter) setLimits(rps float64, burst, concurrency int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.recoverLocked(now)
	backingOff := l.cur < l.ceiling
	l.ceiling, l.ceilingBurst, l.floor = rps, burst, math.Min(rps, rateFloor)
	if backingOff {
		l.cur = math.Max(l.floor, math.Min(l.cur, rps))
	} else {
		l.cur = rps
	}
	l.maxInFlight = concurrency
	l.applyLocked(now) // wakes the waiters
}

// limits returns the ceiling, its burst and the concurrency cap.
func (l *adaptiveLimiter) limits() (rps float64, burst, concurrency int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ceiling, l.ceilingBurst, l.maxInFlight
}

// throttled records a 429 (or a 503 with a wait): it lowers the rate and,
// when the store named a wait, pauses every request until then.
func (l *adaptiveLimiter) throttled(status int, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if wait > 0 {
		if until := now.Add(wait); until.After(l.pausedUntil) {
			l.pausedUntil = until
		}
	}
	if status != 429 {
		return
	}
	l.recoverLocked(now)
	if !l.lastDecrease.IsZero() && now.Sub(l.lastDecrease) < rateDecreaseCooldown {
		return
	}
	old := l.cur
	l.cur = math.Max(l.floor, l.cur*rateDecreaseFactor)
	l.lastDecrease, l.lastChange = now, now
	l.applyLocked(now)
	if l.cur != old {
		l.logger.Warn("woo: store answered 429 Too Many Requests; lowering the request rate", "from_rps", round2(old), "to_rps", round2(l.cur))
	}
}

// recoverLocked raises the rate by one step per quiet period since the last
// change.
func (l *adaptiveLimiter) recoverLocked(now time.Time) {
	if l.cur >= l.ceiling || l.lastChange.IsZero() {
		return
	}
	steps := int(now.Sub(l.lastChange) / rateRecoveryQuiet)
	if steps <= 0 {
		return
	}
	old := l.cur
	l.cur = math.Min(l.ceiling, l.cur+float64(steps)*l.ceiling/rateRecoverySteps)
	l.lastChange = l.lastChange.Add(time.Duration(steps) * rateRecoveryQuiet)
	l.applyLocked(now)
	l.logger.Info("woo: no 429 for a while; raising the request rate", "from_rps", round2(old), "to_rps", round2(l.cur))
}

func (l *adaptiveLimiter) applyLocked(now time.Time) {
	burst := l.ceilingBurst
	if l.cur < l.ceiling {
		burst = max(1, min(l.ceilingBurst, int(l.cur)))
	}
	l.lim.SetLimitAt(now, rate.Limit(l.cur))
	l.lim.SetBurstAt(now, burst)
	l.wakeLocked()
}

// rate returns the current rate in requests per second.
func (l *adaptiveLimiter) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recoverLocked(time.Now())
	return l.cur
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
