package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/couponbridge/couponbridge/woo"
)

// RetryFilter selects the failed rows RetryFailed takes back. The zero value
// selects every failed row of the campaign.
type RetryFilter struct {
	// Emails, when set, limits the retry to these recipients (any case).
	Emails []string
	// Stage, when set, limits the retry to rows that failed at this stage
	// (create, verify or email).
	Stage Stage
}

// RetryAction says what RetryFailed did with one failed row.
type RetryAction string

// The actions of RetryFailed.
const (
	// RetryCreate: the code is not in the store; the row is planned again
	// with the same code.
	RetryCreate RetryAction = "create again"
	// RetryNewCode: the coupon is gone from the store, or its code belongs to
	// someone else's coupon; the row is planned again with a new code.
	RetryNewCode RetryAction = "new code"
	// RetryAdopt: a coupon of this recipient with the row's code was found
	// in the store; it is read back before anything is emailed.
	RetryAdopt RetryAction = "adopt"
	// RetryReadBack: the coupon is in the store; it is read back again and
	// emailed if it is now as asked.
	RetryReadBack RetryAction = "read back again"
	// RetryEmail: the coupon is in the store as asked; the email is sent
	// again, with a new count of attempts.
	RetryEmail RetryAction = "email again"
	// RetryLeft: the row was left as it is (see the note).
	RetryLeft RetryAction = "left as it is"
)

// RetriedRow is what RetryFailed did with one row.
type RetriedRow struct {
	Email string
	// Code is the row's code; NewCode the one chosen instead, if any.
	Code, NewCode string
	// Stage and Reason are the failure the row had ("" when it was not
	// failed: an address asked for by the filter).
	Stage  Stage
	Reason string
	Action RetryAction
	// Note says why a row was left as it is.
	Note string
}

// RetryResult is the outcome of RetryFailed: what was done with each failed
// row, then the run that carried them on.
type RetryResult struct {
	Rows []RetriedRow
	RunResult
}

// RetryFailed takes the failed rows of campaign c selected by f back to the
// stage they failed in, then runs the campaign's pipeline (as Run with no
// list) to finish them, and whatever else is pending.
//
// Where a row goes depends on what the store has now, never on a guess:
//
//   - failed at create (no coupon recorded): the code is looked up; not in
//     the store → planned with the same code; a coupon of this recipient and
//     campaign → adopted (created, then read back); someone else's coupon →
//     planned with a new code;
//   - a coupon recorded (failed at verify or email): it is read back by id;
//     gone (deleted or trashed) → the code is looked up as above, and with no
//     coupon of ours a new code is planned (the old one is not reused);
//     present → created, to be read back again (failed at verify), or
//     verified with a new count of mail attempts if it reads back as asked
//     (failed at email);
//   - anything the store cannot answer now is left failed with a note, as is
//     a coupon that expired before it could be emailed.
//
// A row is only moved when the store answered: a coupon that might exist is
// never created again. Rows of campaigns whose settings changed are refused
// (ErrCampaignChanged), as by Run.
func (is *Issuer) RetryFailed(ctx context.Context, c Campaign, f RetryFilter) (RetryResult, error) {
	var res RetryResult
	r, err := is.start(ctx, c)
	if err != nil {
		return res, err
	}
	if err := is.ledger.ensureCampaignOf(ctx, c); err != nil {
		return res, err
	}
	switch f.Stage {
	case "", StageCreate, StageVerify, StageEmail:
	default:
		return res, fmt.Errorf("retry: stage %q is not one of create, verify, email", f.Stage)
	}
	want := map[string]bool{}
	for _, e := range f.Emails {
		addr, err := NormalizeEmail(e)
		if err != nil {
			return res, fmt.Errorf("retry: %w", err)
		}
		want[addr] = true
	}
	if res.Rows, err = r.reopenFailed(ctx, f.Stage, want); err != nil {
		return res, err
	}
	res.RunResult, err = is.Run(ctx, c, nil)
	return res, err
}

// reopenFailed moves the selected failed rows back, page by page.
func (r *issueRun) reopenFailed(ctx context.Context, stage Stage, want map[string]bool) ([]RetriedRow, error) {
	var out []RetriedRow
	seen := map[string]bool{}
	var after int64
	for {
		rows, err := r.ledger.nextIssues(ctx, r.c.Name, StateFailed, after, woo.MaxPerPage)
		if err != nil {
			return out, err
		}
		if len(rows) == 0 {
			break
		}
		after = rows[len(rows)-1].ID
		var page []Issue
		for _, row := range rows {
			if len(want) > 0 && !want[row.Email] {
				continue
			}
			seen[row.Email] = true
			if stage != "" && row.FailedStage != stage {
				continue
			}
			page = append(page, row)
		}
		done, err := r.reopenPage(ctx, page)
		out = append(out, done...)
		if err != nil {
			return out, err
		}
	}
	// Addresses asked for that have no failed row: say why.
	var missing []string
	for e := range want {
		if !seen[e] {
			missing = append(missing, e)
		}
	}
	slices.Sort(missing)
	for _, e := range missing {
		row, ok, err := r.ledger.Issue(ctx, r.c.Name, e)
		switch {
		case err != nil:
			return out, err
		case !ok:
			out = append(out, RetriedRow{Email: e, Action: RetryLeft, Note: "no such recipient in the campaign"})
		default:
			out = append(out, RetriedRow{Email: e, Code: row.Code, Action: RetryLeft,
				Note: fmt.Sprintf("not failed (state %s): nothing to retry", row.State)})
		}
	}
	return out, nil
}

// reopenPage decides and records the fate of up to one page of failed rows.
func (r *issueRun) reopenPage(ctx context.Context, rows []Issue) ([]RetriedRow, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]RetriedRow, len(rows))
	for i, row := range rows {
		out[i] = RetriedRow{Email: row.Email, Code: row.Code, Stage: row.FailedStage, Reason: row.LastError}
	}
	// Read back, in one request, the coupons the ledger records.
	var ids []int64
	for _, row := range rows {
		if row.CouponID != 0 {
			ids = append(ids, row.CouponID)
		}
	}
	byID := map[int64]*woo.Coupon{}
	var readErr error
	if len(ids) > 0 {
		got, _, err := r.store.List(ctx, &woo.CouponListOptions{Include: ids, ListOptions: woo.ListOptions{PerPage: woo.MaxPerPage}})
		if err != nil {
			readErr = err
		}
		for i := range got {
			byID[got[i].ID] = &got[i]
		}
	}
	now := r.opts.Now()
	for i, row := range rows {
		o := &out[i]
		reason := "retried; it had failed at " + string(row.FailedStage) + ": " + row.LastError
		var t transition
		switch {
		case row.FailedStage != StageCreate && row.FailedStage != StageVerify && row.FailedStage != StageEmail:
			o.Action, o.Note = RetryLeft, fmt.Sprintf("failed at %q, which retry does not take back", row.FailedStage)
			continue
		case row.CouponID != 0 && readErr != nil:
			o.Action, o.Note = RetryLeft, "could not read the coupon back from the store: "+errString(readErr)
			continue
		case row.CouponID != 0 && isLive(byID[row.CouponID]):
			got := byID[row.CouponID]
			if row.FailedStage == StageEmail && !r.c.ExportOnly {
				if !row.ExpiresAt.IsZero() && !row.ExpiresAt.After(now) {
					o.Action, o.Note = RetryLeft, "the coupon has expired: there is nothing worth emailing"
					continue
				}
				if VerifyCoupon(r.askedCoupon(row), *got) == nil {
					o.Action, t = RetryEmail, toRemailed(row.ID, reason)
					break
				}
			}
			o.Action, t = RetryReadBack, toReread(row.ID, 0, reason)
		default:
			// No coupon recorded, or the recorded one is gone: what has the
			// store under the code?
			got, err := r.store.GetByCode(ctx, row.Code)
			switch {
			case err == nil && r.whoseCoupon(*got, pendingCoupon{row: row, asked: r.askedCoupon(row)}) != whoseForeign:
				o.Action, t = RetryAdopt, toReread(row.ID, got.ID, reason)
			case err == nil, woo.IsNotFound(err) && row.CouponID != 0:
				// Someone else's coupon, or ours is gone: a new code, a new
				// coupon, a new expiry.
				code, err := r.replanWithNewCode(ctx, row.ID, reason)
				if err != nil {
					return out, err
				}
				o.Action, o.NewCode = RetryNewCode, code
				continue
			case woo.IsNotFound(err):
				o.Action, t = RetryCreate, toReplanned(row.ID, "", reason)
			default:
				o.Action, o.Note = RetryLeft, "could not look the code up in the store: "+errString(err)
				continue
			}
		}
		wctx, cancel := persistCtx(ctx)
		applied, err := r.ledger.apply(wctx, t)
		cancel()
		if err != nil {
			return out, err
		}
		if !applied[0] {
			o.Action, o.Note = RetryLeft, "the row changed meanwhile"
		}
	}
	for _, o := range out {
		r.log.Info("failed row retried", "email", o.Email, "failed_stage", o.Stage, "action", o.Action, "note", o.Note)
	}
	return out, nil
}

// isLive reports whether a coupon read back is there to be used: present
// and not in the trash.
func isLive(c *woo.Coupon) bool {
	return c != nil && c.Status != "trash"
}

// replanWithNewCode plans a failed row again with a new code, one the
// ledger does not know.
func (r *issueRun) replanWithNewCode(ctx context.Context, id int64, reason string) (string, error) {
	wctx, cancel := persistCtx(ctx)
	defer cancel()
	for try := 0; ; try++ {
		code, err := r.gen.Next()
		if err != nil {
			return "", err
		}
		_, err = r.ledger.apply(wctx, toReplanned(id, code, reason))
		if errors.Is(err, errCodeTaken) && try < maxCodeRetries {
			continue
		}
		return code, err
	}
}

// The transitions of a retry: a failed row back to the stage it failed in.
// last_error keeps the failure it is retried after, until the row moves on.

// toReplanned: back to planned, with newCode when set; the coupon, issue
// instant and expiry are forgotten (there is no coupon to match them).
func toReplanned(id int64, newCode, reason string) transition {
	return transition{id: id, from: StateFailed, to: StatePlanned, code: newCode, reason: reason}
}

// toReread: back to created, to be read back; couponID, when set, is the
// coupon adopted.
func toReread(id, couponID int64, reason string) transition {
	return transition{id: id, from: StateFailed, to: StateCreated, couponID: couponID, reason: reason}
}

// toRemailed: back to verified (the coupon was just read back as asked),
// with a new count of mail attempts.
func toRemailed(id int64, reason string) transition {
	return transition{id: id, from: StateFailed, to: StateVerified, reason: reason}
}

// reopenSet adds to an UPDATE's SET list what a transition out of failed
// changes besides the state (see transition.statement).
func (t transition) reopenSet(set []string, args []any, at string) ([]string, []any, error) {
	reason := t.reason
	if len(reason) > 500 {
		reason = reason[:500] + "…"
	}
	set = append(set, "failed_stage = ''", "last_error = ?")
	args = append(args, reason)
	switch t.to {
	case StatePlanned:
		set = append(set, "coupon_id = NULL", "issued_at = NULL", "expires_at = NULL", "created_at = NULL", "verified_at = NULL")
		if t.code != "" {
			set = append(set, "code = ?", "code_key = ?")
			args = append(args, t.code, CodeKey(t.code))
		}
	case StateCreated:
		if t.couponID != 0 {
			set = append(set, "coupon_id = ?", "created_at = COALESCE(created_at, ?)")
			args = append(args, t.couponID, at)
		}
	case StateVerified:
		set = append(set, "mail_attempts = 0", "verified_at = ?")
		args = append(args, at)
	default:
		return nil, nil, fmt.Errorf("ledger: no transition from %s to %s", t.from, t.to)
	}
	return set, args, nil
}
