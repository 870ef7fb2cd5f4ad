package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

// cronLedgerWait is how long the commands that system cron runs (run-job,
// sync, report --sync) wait for the ledger when --wait is not given. Jobs
// scheduled at the same minute, or a run outlasting its interval, only
// need to take turns; failing at once would make cron mail an error for
// nothing. It is shorter than the usual shortest cron interval (15 min),
// so that waiting runs of one job do not pile up, and a run that gives up
// still fails (exit 1) while its error means something.
//
// Commands a person types (issue, prune, resend, lookup) keep failing at
// once: whoever runs them sees the message and decides, and scripts that
// relied on that keep working. The daemon never waits: a second daemon
// must not start behind the first.
const cronLedgerWait = 10 * time.Minute

// ledgerWait returns how long a command that writes the ledger waits for
// another process to release it: --wait when given, otherwise def.
func (env *cliEnv) ledgerWait(def time.Duration) (time.Duration, error) {
	g := env.global
	if g == nil || !g.changed("wait") {
		return def, nil
	}
	if g.Wait < 0 {
		return 0, usageErrorf("--wait must be 0 (fail at once) or more, got %s", g.Wait)
	}
	return g.Wait, nil
}

// openLedgerForWrite opens the ledger at path, waiting up to wait for
// another process to release it. When it fails at once because --wait was
// not given, the message says how to wait.
func openLedgerForWrite(ctx context.Context, env *cliEnv, path string, logger *slog.Logger, wait time.Duration) (*campaign.Ledger, error) {
	l, err := campaign.OpenLedgerWait(ctx, path, logger, wait)
	if errors.Is(err, campaign.ErrLedgerLocked) && wait == 0 && (env.global == nil || !env.global.changed("wait")) {
		return nil, fmt.Errorf("%w; or give --wait DURATION to wait for it", err)
	}
	return l, err
}
