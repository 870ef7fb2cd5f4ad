package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

// lockPollInterval is the mean time between two attempts to take the
// process lock while OpenLedgerWait waits for it. Each pause is drawn from
// half to one and a half times it, so that processes waiting together do
// not retry in step.
const lockPollInterval = 200 * time.Millisecond

// OpenLedgerWait is OpenLedger, except that when another process holds the
// ledger it waits up to wait for that process to release it, instead of
// failing at once: for runs started by cron that may overlap. It logs once,
// at info, that it is waiting and for which process.
//
// It polls the lock without blocking (every lockPollInterval, jittered)
// rather than blocking in the kernel, so that cancelling ctx ends the wait
// promptly; the error then wraps ctx's error. When wait runs out, the
// error matches ErrLedgerLocked and says how long it waited. A wait of 0
// is OpenLedger; a negative one is refused. Several processes waiting for
// the same ledger get it one after another, in no particular order.
func OpenLedgerWait(ctx context.Context, path string, logger *slog.Logger, wait time.Duration) (*Ledger, error) {
	if wait < 0 {
		return nil, fmt.Errorf("ledger %s: negative wait %s", path, wait)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l, err := OpenLedger(ctx, path, logger)
	if wait == 0 || !errors.Is(err, ErrLedgerLocked) {
		return l, err
	}
	start := time.Now()
	deadline := start.Add(wait)
	holder := lockHolder(path + ".lock")
	attrs := []any{"path", path, "max_wait", wait}
	if holder != 0 {
		attrs = append(attrs, "holder_pid", holder)
	}
	logger.Info("ledger in use by another couponbridge process; waiting for it to release the ledger", attrs...)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("%w (gave up after waiting %s)", err, wait)
		}
		pause := min(left, lockPollInterval/2+rand.N(lockPollInterval))
		if timer == nil {
			timer = time.NewTimer(pause)
		} else {
			timer.Reset(pause)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ledger %s: stopped waiting for the couponbridge process%s that holds it: %w",
				path, holderSuffix(holder), ctx.Err())
		case <-timer.C:
		}
		l, err = OpenLedger(ctx, path, logger)
		if !errors.Is(err, ErrLedgerLocked) {
			if err == nil {
				logger.Debug("ledger released by the other process", "path", path, "waited", time.Since(start).Round(time.Millisecond))
			}
			return l, err
		}
	}
}

// lockHolder returns the pid recorded in the lock file name, or 0 when it
// cannot be read (the holder may not have written it yet).
func lockHolder(name string) int {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

func holderSuffix(pid int) string {
	if pid == 0 {
		return ""
	}
	return " (pid " + strconv.Itoa(pid) + ")"
}
