package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// ReminderCampaign is a campaign with its expiry reminder, for Tracker.
type ReminderCampaign struct {
	Campaign Campaign
	Spec     ReminderSpec
}

// Tracker is the daemon's periodic tracking pass: it syncs every campaign of
// the ledger and, for campaigns with a reminder, sends the reminders that
// are due (right after that campaign's sync, so a code redeemed since the
// last pass is never reminded). Call Run on a schedule (hourly is plenty);
// each call is complete in itself and safe to repeat.
type Tracker struct {
	Syncer *Syncer
	// Reminders sends reminders; nil when no campaign has one.
	Reminders *Reminders
	// Reminded are the campaigns with a reminder, by name.
	Reminded map[string]ReminderCampaign
	Logger   *slog.Logger
}

// TrackerResult is what one pass did, per campaign.
type TrackerResult struct {
	Synced    []SyncResult
	Reminders []ReminderResult
}

// Run makes one pass. A campaign that fails does not stop the others; the
// returned error joins every failure.
func (t *Tracker) Run(ctx context.Context) (TrackerResult, error) {
	var res TrackerResult
	if t.Syncer == nil || t.Syncer.Ledger == nil {
		return res, errors.New("tracker: a syncer with a ledger is required")
	}
	infos, err := t.Syncer.Ledger.Campaigns(ctx)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, ci := range infos {
		if err := ctx.Err(); err != nil {
			return res, errors.Join(append(errs, err)...)
		}
		if rc, ok := t.Reminded[ci.Name]; ok && t.Reminders != nil {
			r, err := t.Reminders.Run(ctx, rc.Campaign, rc.Spec)
			res.Synced = append(res.Synced, r.Sync)
			res.Reminders = append(res.Reminders, r)
			if err != nil {
				errs = append(errs, fmt.Errorf("campaign %s: %w", ci.Name, err))
			}
			continue
		}
		r, err := t.Syncer.Sync(ctx, ci.Name, SyncOptions{})
		res.Synced = append(res.Synced, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("campaign %s: %w", ci.Name, err))
		}
	}
	if len(errs) > 0 && t.Logger != nil {
		t.Logger.Warn("tracking pass had failures", "err", errors.Join(errs...))
	}
	return res, errors.Join(errs...)
}
