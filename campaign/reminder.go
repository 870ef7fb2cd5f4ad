package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
)

// ReminderTemplateSource makes src the reminder: what it leaves empty
// (subject, text, HTML) is the built-in "reminder" email of mailer, in
// src.Locale (the mailer's built-in first email has its own purpose).
func ReminderTemplateSource(src mailer.TemplateSource) mailer.TemplateSource {
	src.Purpose = "reminder"
	return src
}

// ReminderSpec is a campaign's optional expiry reminder.
type ReminderSpec struct {
	// DaysBeforeExpiry: holders of an unredeemed code are reminded once the
	// code expires within this many days (1..365).
	DaysBeforeExpiry int
	// Templates renders the reminder (see ReminderTemplateSource); it sees
	// the same data as the first email.
	Templates *mailer.Templates
}

// Validate checks the spec.
func (s ReminderSpec) Validate() error {
	var errs []error
	if s.DaysBeforeExpiry < 1 || s.DaysBeforeExpiry > 365 {
		errs = append(errs, fmt.Errorf("reminder: days_before_expiry %d: must be 1..365", s.DaysBeforeExpiry))
	}
	if s.Templates == nil {
		errs = append(errs, errors.New("reminder: no templates"))
	}
	return errors.Join(errs...)
}

// Reminders emails each holder of an unredeemed, unexpired code once when
// the code is about to expire. It syncs the campaign first, in the same
// call, and reads each batch of candidates from the store again right
// before mailing, so a redeemed code is never reminded.
//
// Once: a row is marked "sending" in the ledger right before the mail
// server sees its reminder (Message.Prepare: one write per message, so a
// crash leaves in doubt only the reminders really in flight), "sent" when it
// accepted it. A row that left the not-reminded state is never picked
// again, so a crash between the two, or an answer lost after the message
// was handed over (mailer.OutcomeUnknown), leaves it "sending": at most one
// reminder lost, never two sent. A temporary refusal puts the row back to
// be tried on the next run (also while the sender waits to retry it:
// Message.Released); a permanent one marks it failed.
type Reminders struct {
	Syncer *Syncer
	Mail   MailSender
	// Location is the store's time zone (dates in the email); default UTC.
	Location *time.Location
	// Chunk is the number of reminders read back and handed to the mail
	// sender at once (default 50).
	Chunk  int
	Logger *slog.Logger
}

// ReminderResult counts what one run did.
type ReminderResult struct {
	Campaign string
	Sync     SyncResult
	// Due counts codes in the reminder window that were never reminded.
	Due int
	// Sent counts reminders the mail server accepted.
	Sent int
	// Skipped counts due codes found redeemed, expired or gone on the read
	// right before mailing.
	Skipped int
	// Deferred counts temporary refusals (tried again next run); Failed
	// permanent ones.
	Deferred int
	Failed   int
	// Unconfirmed counts reminders handed over whose outcome is unknown (no
	// answer after the data, or no result at all); they are not sent again.
	Unconfirmed int
}

func (r *Reminders) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// remindable selects the emailed rows whose coupon is in the store, unused,
// never reminded, and expiring in (now, due], of recipients not on the
// suppression list.
const remindable = `i.state = 'emailed' AND i.coupon_id IS NOT NULL AND t.synced_at IS NOT NULL
	AND t.store_presence = 'present' AND t.redeemed_at IS NULL AND t.usage_count = 0 AND t.reminder_state = ''
	AND COALESCE(t.store_expires_at, i.expires_at) > ? AND COALESCE(t.store_expires_at, i.expires_at) <= ?
	AND ` + notSuppressed

// Run syncs campaign c (coupons and orders) and reminds the holders whose
// codes are due. It is what the daemon calls periodically for campaigns
// with a reminder; calling it again is harmless.
func (r *Reminders) Run(ctx context.Context, c Campaign, spec ReminderSpec) (ReminderResult, error) {
	res := ReminderResult{Campaign: c.Name}
	if r.Syncer == nil || r.Syncer.Ledger == nil || r.Mail == nil {
		return res, errors.New("reminders: syncer with a ledger, and mail are required")
	}
	if err := spec.Validate(); err != nil {
		return res, fmt.Errorf("campaign %q: %w", c.Name, err)
	}
	if c.ExportOnly {
		return res, fmt.Errorf("campaign %q is export-only: its holders are not known", c.Name)
	}
	sync, err := r.Syncer.Sync(ctx, c.Name, SyncOptions{})
	res.Sync = sync
	if err != nil {
		return res, fmt.Errorf("reminders need a fresh sync first: %w", err)
	}
	chunk := r.Chunk
	if chunk <= 0 || chunk > syncPage {
		chunk = 50
	}
	rc := c
	rc.Mail.Templates = spec.Templates
	l := r.Syncer.Ledger
	var after int64
	for {
		now := r.Syncer.now()
		due := now.AddDate(0, 0, spec.DaysBeforeExpiry)
		page, err := l.queryTracked(ctx, `WHERE i.campaign = ? AND i.id > ? AND `+remindable+` ORDER BY i.id LIMIT ?`,
			c.Name, after, formatTime(now), formatTime(due), chunk)
		if err != nil {
			return res, err
		}
		if len(page) == 0 {
			break
		}
		after = page[len(page)-1].ID
		res.Due += len(page)
		if err := r.remindPage(ctx, rc, page, now, &res); err != nil {
			return res, err
		}
		if len(page) < chunk {
			break
		}
	}
	r.logger().Info("reminders", "campaign", c.Name, "due", res.Due, "sent", res.Sent, "skipped", res.Skipped,
		"deferred", res.Deferred, "failed", res.Failed)
	return res, nil
}

func (r *Reminders) remindPage(ctx context.Context, c Campaign, page []TrackedIssue, now time.Time, res *ReminderResult) error {
	l := r.Syncer.Ledger
	fresh, err := readCoupons(ctx, r.Syncer.Coupons, page)
	if err != nil {
		return fmt.Errorf("reading coupons before reminding: %w", err)
	}
	var msgs []mailer.Message
	byKey := map[string]TrackedIssue{}
	// claimed holds the keys whose reminder Prepare marked sending (and
	// Released has not put back); the sender's connections write it.
	var claimedMu sync.Mutex
	claimed := map[string]bool{}
	for _, ti := range page {
		live, ok := fresh[ti.CouponID]
		if !ok || live.Status == "trash" || live.UsageCount > 0 ||
			(live.DateExpiresGMT != nil && !live.DateExpiresGMT.IsZero() && !live.DateExpiresGMT.After(now)) {
			res.Skipped++
			continue
		}
		row := ti.Issue
		if live.DateExpiresGMT != nil && !live.DateExpiresGMT.IsZero() {
			row.ExpiresAt = live.DateExpiresGMT.Time // the expiry that holds, if moved by hand
		}
		msg, err := ComposeEmail(c, row, r.Location, now)
		if err != nil {
			if ok, err := l.claimReminder(ctx, ti.ID); err != nil || !ok {
				if err != nil {
					return err
				}
				res.Skipped++
				continue
			}
			pctx, cancel := persistCtx(ctx)
			ferr := l.finishReminder(pctx, ti.ID, "failed", time.Time{}, "composing: "+err.Error())
			cancel()
			if ferr != nil {
				return ferr
			}
			res.Failed++
			continue
		}
		msg.MessageID = mailer.MessageID(c.Name+"/reminder", row.Email, c.Mail.messageIDDomain())
		msg.Key = strconv.FormatInt(ti.ID, 10)
		id, key := ti.ID, msg.Key
		// One durable ledger write right before each hand-over: a crash can
		// leave in doubt only the reminders really in flight, never a chunk.
		msg.Prepare = func() error {
			pctx, cancel := persistCtx(ctx)
			defer cancel()
			ok, err := l.claimReminder(pctx, id)
			if err != nil {
				return fmt.Errorf("recording the hand-over in the ledger: %w", err)
			}
			if !ok {
				return errRowMoved
			}
			claimedMu.Lock()
			claimed[key] = true
			claimedMu.Unlock()
			return nil
		}
		msg.Released = func() {
			pctx, cancel := persistCtx(ctx)
			defer cancel()
			if err := l.releaseReminder(pctx, id); err != nil {
				r.logger().Warn("recording a released reminder in the ledger failed", "issue_id", id, "error", err)
				return
			}
			claimedMu.Lock()
			claimed[key] = false
			claimedMu.Unlock()
		}
		msgs = append(msgs, msg)
		byKey[msg.Key] = ti
	}
	if len(msgs) == 0 {
		return nil
	}
	var recErr error
	report := func(o mailer.Result) {
		ti, ok := byKey[o.Key]
		if !ok || recErr != nil {
			return
		}
		delete(byKey, o.Key)
		claimedMu.Lock()
		sent := claimed[o.Key]
		claimedMu.Unlock()
		pctx, cancel := persistCtx(ctx)
		defer cancel()
		if !sent && o.Status == mailer.TempFailure {
			// Never handed over (a cap, a stopped run, claimed elsewhere):
			// nothing to undo; the next run tries again.
			if errors.Is(o.Err, errRowMoved) {
				res.Skipped++
			} else {
				res.Deferred++
			}
			return
		}
		if !sent {
			// A sender that does not call Prepare: claim now, so the
			// outcome below applies.
			ok, err := l.claimReminder(pctx, ti.ID)
			if err != nil {
				recErr = err
				return
			}
			if !ok {
				res.Skipped++
				return
			}
		}
		var err error
		switch o.Status {
		case mailer.Delivered:
			res.Sent++
			err = l.finishReminder(pctx, ti.ID, "sent", r.Syncer.now(), "")
		case mailer.PermFailure:
			res.Failed++
			r.logger().Warn("reminder refused permanently", "campaign", c.Name, "email", ti.Email, "reply", mailReply(o))
			err = l.finishReminder(pctx, ti.ID, "failed", time.Time{}, mailReply(o))
		case mailer.OutcomeUnknown:
			// Handed over, no answer: it stays "sending" and is never
			// tried again (at most one reminder lost, never two sent).
			res.Unconfirmed++
			r.logger().Warn("UNCONFIRMED: reminder handed over but unanswered; not resent", "campaign", c.Name,
				"email", ti.Email, "coupon_id", ti.CouponID, "code", MaskCode(ti.Code), "error", mailReply(o))
		default:
			res.Deferred++
			r.logger().Warn("reminder refused temporarily; the next run tries again", "campaign", c.Name,
				"email", ti.Email, "reply", mailReply(o))
			err = l.releaseReminder(pctx, ti.ID)
		}
		if err != nil {
			recErr = err
		}
	}
	// The chunk in flight is finished even when ctx is cancelled.
	sendErr := r.Mail.Send(context.WithoutCancel(ctx), msgs, report)
	// A message without a result may or may not have been accepted if it
	// was handed over: it stays "sending" and is never tried again.
	for key := range byKey {
		claimedMu.Lock()
		sent := claimed[key]
		claimedMu.Unlock()
		if sent {
			res.Unconfirmed++
		}
	}
	if recErr != nil {
		return fmt.Errorf("recording reminder outcome: %w", recErr)
	}
	if sendErr != nil {
		return fmt.Errorf("sending reminders: %w", sendErr)
	}
	return nil
}
