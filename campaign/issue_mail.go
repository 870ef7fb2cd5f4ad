package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/couponbridge/couponbridge/mailer"
)

// errRowMoved is Prepare's answer for a row that is no longer verified
// (another pass or process moved it): its message must not be sent.
var errRowMoved = errors.New("the row is no longer waiting to be emailed")

// emailStage emails every verified row of the campaign, MailChunk at a
// time. A row is marked sending (durably) by its message's Prepare hook,
// which the sender calls right before it hands that message over, after
// every wait for a rate, a cap or a connection: so a crash can leave in
// doubt (unconfirmed) only the messages really in flight, at most one per
// connection, never a whole chunk. Each outcome is recorded as soon as it
// is reported. Accepted → emailed; refused temporarily → verified again, to
// be sent in a later pass or run (failed after MaxMailAttempts); refused
// permanently → failed with the server's reply; handed over but unanswered
// (mailer.OutcomeUnknown) → unconfirmed, never sent again automatically;
// never handed over (a cap, a stopped run) → still verified, no attempt
// counted. While the sender waits to retry a message it released (a 4xx,
// a connection lost before the data was complete), its row is verified,
// not sending: a crash during the wait leaves nothing in doubt.
//
// A row whose read-back is older than VerifyMaxAge is read back again
// before its message is composed (see reverify).
func (r *issueRun) emailStage(ctx context.Context) error {
	total, err := r.ledger.countState(ctx, r.c.Name, StateVerified)
	if err != nil || total == 0 {
		return err
	}
	r.log.Info("emailing codes", "rows", total)
	done := 0
	for pass := 0; pass < r.opts.MailPasses; pass++ {
		if pass > 0 {
			left, err := r.ledger.countState(ctx, r.c.Name, StateVerified)
			if err != nil || left == 0 {
				return err
			}
			r.log.Info("sending again messages refused temporarily", "rows", left, "pass", pass+1)
			if !sleep(ctx, r.opts.RetryWait) {
				return ctx.Err()
			}
		}
		deferred, err := r.mailPass(ctx, &done, total)
		if err != nil {
			return err
		}
		if deferred == 0 {
			return ctx.Err()
		}
	}
	if left, err := r.ledger.countState(ctx, r.c.Name, StateVerified); err == nil && left > 0 {
		r.log.Warn("messages left for a later run: refused temporarily in every pass", "rows", left)
	}
	return ctx.Err()
}

// mailPass sends every verified row once, in id order; it returns how many
// were refused temporarily.
func (r *issueRun) mailPass(ctx context.Context, done *int, total int) (int, error) {
	deferred := 0
	var after int64
	// reverified holds the rows read back again in this pass: each at most
	// once, however short VerifyMaxAge is.
	reverified := map[int64]bool{}
	for ctx.Err() == nil {
		rows, err := r.ledger.nextIssues(ctx, r.c.Name, StateVerified, after, r.opts.MailChunk)
		if err != nil || len(rows) == 0 {
			return deferred, err
		}
		var stale []Issue
		for _, row := range rows {
			if !reverified[row.ID] && r.isStale(row, r.opts.Now()) {
				stale = append(stale, row)
				reverified[row.ID] = true
			}
		}
		if len(stale) > 0 {
			// Read them back, then take the chunk again from the same
			// place: what is still verified is fresh now.
			if err := r.reverify(ctx, stale); err != nil {
				return deferred, err
			}
			continue
		}
		after = rows[len(rows)-1].ID
		msgs := make([]mailer.Message, 0, len(rows))
		byKey := make(map[string]Issue, len(rows))
		var bad []transition
		// handedOver holds the keys whose row Prepare marked sending (and
		// Released has not put back); attempts counts the hand-overs of
		// each. Both are written from the sender's connection goroutines.
		var handedOverMu sync.Mutex
		handedOver := make(map[string]bool, len(rows))
		attempts := make(map[string]int, len(rows))
		now := r.opts.Now()
		for _, row := range rows {
			if !row.ExpiresAt.IsZero() && !row.ExpiresAt.After(now) {
				bad = append(bad, toFailed(row.ID, StateVerified, StageEmail, "the coupon expired before it could be emailed"))
				continue
			}
			msg, err := r.compose(row)
			if err != nil {
				bad = append(bad, toFailed(row.ID, StateVerified, StageEmail, "message cannot be composed: "+errString(err)))
				continue
			}
			id, key := row.ID, msg.Key
			msg.Prepare = func() error {
				wctx, cancel := persistCtx(ctx)
				defer cancel()
				applied, err := r.ledger.apply(wctx, toSending(id))
				if err != nil {
					return fmt.Errorf("recording the hand-over in the ledger: %w", err)
				}
				if !applied[0] {
					return errRowMoved
				}
				handedOverMu.Lock()
				handedOver[key] = true
				attempts[key]++
				handedOverMu.Unlock()
				return nil
			}
			msg.Released = func() {
				wctx, cancel := persistCtx(ctx)
				defer cancel()
				applied, err := r.ledger.apply(wctx, toReleased(id, "mail refused temporarily; the sender tries again"))
				if err != nil {
					// The row stays sending: the next Prepare finds it
					// moved and the message is not sent twice.
					r.log.Warn("recording a released message in the ledger failed", "email", row.Email, "error", err)
					return
				}
				if applied[0] {
					handedOverMu.Lock()
					handedOver[key] = false
					attempts[key]--
					handedOverMu.Unlock()
				}
			}
			msgs = append(msgs, msg)
			byKey[msg.Key] = row
		}
		if err := r.record(ctx, nil, 0, bad...); err != nil {
			return deferred, err
		}
		r.count(func(c *IssueCounts) { c.Failed += len(bad) })
		if len(msgs) == 0 {
			continue
		}
		var recErr error
		report := func(res mailer.Result) {
			row, ok := byKey[res.Key]
			if !ok || recErr != nil {
				return
			}
			delete(byKey, res.Key)
			handedOverMu.Lock()
			sent := handedOver[res.Key]
			row.MailAttempts += max(attempts[res.Key]-1, 0) // outcome adds the last one
			handedOverMu.Unlock()
			if !sent && res.Status == mailer.TempFailure {
				// Never handed over: the row is still verified (or was
				// moved on by someone else); a later pass or run sends it.
				switch {
				case errors.Is(res.Err, errRowMoved):
				case errors.Is(res.Err, mailer.ErrCapReached):
					// A cap is the owner's setting, not a failure: the
					// rest waits for a later run.
					deferred++
					r.count(func(c *IssueCounts) { c.Deferred++; c.Capped++ })
				default:
					deferred++
					r.count(func(c *IssueCounts) { c.Deferred++ })
					if ctx.Err() == nil {
						r.noteError(StageEmail, mailCause(res))
					}
				}
				return
			}
			if !sent {
				// A sender that does not call Prepare: record the hand-over
				// now, so the outcome below applies.
				if err := r.record(ctx, nil, 0, toSending(row.ID)); err != nil {
					recErr = err
					return
				}
			}
			t := r.outcome(row, res)
			if t.to == StateVerified {
				deferred++
				r.noteError(StageEmail, mailCause(res))
			}
			if err := r.record(ctx, nil, 0, t); err != nil {
				recErr = err
				return
			}
			*done++
			r.progress(StageEmail, *done, total)
		}
		// The chunk in flight is finished even when ctx is cancelled.
		sendErr := r.mail.Send(context.WithoutCancel(ctx), msgs, report)
		for _, m := range msgs { // a sender that broke its contract: retry later
			if _, ok := byKey[m.Key]; ok {
				report(mailer.Result{Key: m.Key, Status: mailer.TempFailure, Reply: "mail sender reported no outcome"})
			}
		}
		if recErr != nil {
			return deferred, fmt.Errorf("recording mail outcome: %w", recErr)
		}
		if sendErr != nil {
			r.noteError(StageEmail, sendErr)
			return deferred, fmt.Errorf("sending mail: %w", sendErr)
		}
	}
	return deferred, ctx.Err()
}

// mailCause is the error a temporary failure says about the mail server:
// the network error when it could not be reached, else its reply.
func mailCause(res mailer.Result) error {
	if isNetError(res.Err) {
		return stageCause(StageEmail, res.Err)
	}
	reply := strings.TrimSpace(res.Reply)
	if reply == "" && res.Err != nil {
		reply = errString(res.Err)
	}
	return fmt.Errorf("mail server refused: %s", reply)
}

// outcome is the transition for one delivery result.
func (r *issueRun) outcome(row Issue, res mailer.Result) transition {
	reply := strings.TrimSpace(res.Reply)
	if reply == "" && res.Err != nil {
		reply = errString(res.Err)
	}
	switch res.Status {
	case mailer.Delivered:
		r.count(func(c *IssueCounts) { c.Emailed++ })
		return toEmailed(row.ID, r.opts.Now())
	case mailer.PermFailure:
		r.count(func(c *IssueCounts) { c.Failed++ })
		r.log.Warn("message refused permanently", "email", row.Email, "reply", reply)
		return toFailed(row.ID, StateSending, StageEmail, "mail refused: "+reply)
	case mailer.OutcomeUnknown:
		// Handed over, no answer: the server may have queued it. Sending
		// again could email the code twice; the owner decides.
		r.count(func(c *IssueCounts) { c.Unconfirmed++ })
		r.log.Warn("UNCONFIRMED: the connection broke after the message was handed over; not resent automatically, check and resend by hand if needed",
			"email", row.Email, "coupon_id", row.CouponID, "code", MaskCode(row.Code), "error", reply)
		return toUnconfirmed(row.ID, "the mail server got the whole message but its answer never came: it may or may not have accepted it ("+reply+")")
	default:
		attempts := row.MailAttempts + 1
		if attempts >= r.opts.MaxMailAttempts {
			r.count(func(c *IssueCounts) { c.Failed++ })
			return toFailed(row.ID, StateSending, StageEmail,
				fmt.Sprintf("mail refused temporarily %d times; last: %s", attempts, reply))
		}
		r.count(func(c *IssueCounts) { c.Deferred++ })
		r.log.Warn("message refused temporarily; will retry", "email", row.Email, "reply", reply, "attempts", attempts)
		return toMailDeferred(row.ID, "mail deferred: "+reply)
	}
}

// compose builds the message for a verified row.
func (r *issueRun) compose(row Issue) (mailer.Message, error) {
	return ComposeEmail(r.c, row, r.loc, r.opts.Now())
}
