package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// ErrReissueRefused is matched by the errors of Reissue that change
// nothing: the coupon is still live (without Force), or the row has no
// emailed code to replace (never emailed, failed, export-only).
var ErrReissueRefused = errors.New("reissue refused")

// ReissueOptions control one reissue.
type ReissueOptions struct {
	// Force replaces a coupon that is still live in the store (unused and
	// not expired, or redeemed): it is trashed first.
	Force bool
}

// ReissueResult says what Reissue did, then where the campaign stands
// after the run that created, verified and emailed the new code.
type ReissueResult struct {
	Campaign, Email string
	// OldCode and OldCouponID are the code replaced and its coupon.
	OldCode     string
	OldCouponID int64
	// StoreState is what the store had under the old code: "deleted" (gone
	// or in the trash), "expired", "redeemed" or "live".
	StoreState string
	// Trashed lists the coupons of the old code that were moved to the trash.
	Trashed []int64
	// Forced is true when Force replaced a redeemed or live coupon.
	Forced bool
	// NewCode is the recipient's code now.
	NewCode string
	// Resumed is true when the row was already reissued by an earlier
	// reissue that stopped before the new code was emailed: this one
	// finished it.
	Resumed bool
	// Row is the recipient's row after the run.
	Row Issue
	RunResult
}

// Reissue gives the recipient email of campaign c a new code when theirs
// was deleted, trashed or expired (or, with opts.Force, when it is still
// live). It is the issuing pipeline run again for one row, not a second
// pipeline:
//
//  1. the old code is looked up in the store (by the coupon id recorded and
//     by the code, every copy); a live, unexpired coupon, used or not, is
//     refused (ErrReissueRefused) unless opts.Force;
//  2. every live coupon of the recipient under the old code is trashed, and
//     the code is looked up again: if one is still live, or trashing fails,
//     Reissue stops with nothing changed in the ledger (never two live
//     coupons for one recipient);
//  3. the old code is recorded in the ledger's history (lookup finds it)
//     and the row goes back to planned with a new code;
//  4. the campaign's pipeline runs (as Run with no list): the new coupon is
//     created, read back and emailed as at issue, in an email with a
//     Message-ID of its own that refers to the first.
//
// A crash between 2 and 3 leaves the old coupon trashed and the row as it
// was: reissue again finds it deleted and goes on. A crash after 3 leaves
// the row planned: reissue again (or issue, or retry) finishes it.
func (is *Issuer) Reissue(ctx context.Context, c Campaign, email string, opts ReissueOptions) (ReissueResult, error) {
	res := ReissueResult{Campaign: c.Name}
	if c.ExportOnly {
		return res, fmt.Errorf("%w: campaign %q is export-only: reissue emails a new code, and its codes are not emailed", ErrReissueRefused, c.Name)
	}
	addr, err := NormalizeEmail(email)
	if err != nil {
		return res, fmt.Errorf("reissue: %w", err)
	}
	res.Email = addr
	r, err := is.start(ctx, c)
	if err != nil {
		return res, err
	}
	if err := is.ledger.ensureCampaignOf(ctx, c); err != nil {
		return res, err
	}
	ti, ok, err := is.ledger.Tracked(ctx, c.Name, addr)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("%w: %w: %s in campaign %q", ErrReissueRefused, ErrNoRecipient, addr, c.Name)
	}
	res.OldCode, res.OldCouponID = ti.Code, ti.CouponID
	switch ti.State {
	case StateEmailed, StateUnconfirmed, StatePruned:
	case StatePlanned, StateCreating, StateCreated, StateVerified, StateSending:
		if ti.Reissues == 0 {
			return res, fmt.Errorf("%w: %s's code was never emailed (state %s): run 'couponbridge issue --campaign %s' to finish the campaign",
				ErrReissueRefused, addr, ti.State, c.Name)
		}
		// A reissue that stopped after the new code was planned: finish it.
		res.Resumed, res.OldCode, res.OldCouponID = true, "", 0
		if prev, err := is.ledger.ReplacedCodes(ctx, ti.ID); err == nil && len(prev) > 0 {
			last := prev[len(prev)-1]
			res.OldCode, res.OldCouponID, res.StoreState, res.Trashed = last.Code, last.CouponID, last.StoreState, nil
		}
		return is.finishReissue(ctx, c, res)
	case StateFailed:
		return res, fmt.Errorf("%w: %s's row failed at %s (%s): fix the cause, then finish it with 'couponbridge retry --campaign %s --email %s'",
			ErrReissueRefused, addr, ti.FailedStage, ti.LastError, c.Name, addr)
	default:
		return res, fmt.Errorf("%w: %s's row is %s: there is no emailed code to replace", ErrReissueRefused, addr, ti.State)
	}

	ours, err := r.liveCouponsOf(ctx, ti.Issue)
	if err != nil {
		return res, fmt.Errorf("reading %s's coupon from the store: %w; nothing was changed", addr, err)
	}
	now := r.opts.Now()
	res.StoreState = "deleted"
	var why string
	usage := 0
	for _, cp := range ours {
		usage = max(usage, cp.UsageCount)
		switch exp := cp.DateExpiresGMT; {
		case cp.UsageCount > 0:
			res.StoreState = "redeemed"
			why = fmt.Sprintf("was redeemed (usage_count %d): a new code would give a second discount", cp.UsageCount)
		case exp != nil && !exp.IsZero() && !exp.After(now):
			if res.StoreState == "deleted" {
				res.StoreState = "expired"
			}
		default:
			if res.StoreState != "redeemed" {
				res.StoreState = "live"
				until := "without an expiry"
				if exp != nil && !exp.IsZero() {
					until = "until " + exp.UTC().Format(time.RFC3339)
				}
				why = "is live and unused in the store (coupon " + fmt.Sprint(cp.ID) + ", valid " + until + ")"
			}
		}
	}
	if why != "" {
		if !opts.Force {
			return res, fmt.Errorf("%w: code %s of %s %s; reissue replaces a deleted, trashed or expired coupon (use --force to trash this one and issue a new code)",
				ErrReissueRefused, ti.Code, addr, why)
		}
		res.Forced = true
	}

	// Trash before creating: the recipient never holds two live coupons.
	for _, cp := range ours {
		if _, err := is.store.Delete(ctx, cp.ID, false); err != nil && !woo.IsNotFound(err) && !isAlreadyTrashed(err) {
			return res, fmt.Errorf("trashing coupon %d (code %s) of %s: %w; nothing was changed in the ledger: run reissue again", cp.ID, ti.Code, addr, err)
		}
		res.Trashed = append(res.Trashed, cp.ID)
		r.log.Info("old coupon trashed for a reissue", "email", addr, "coupon_id", cp.ID, "code", MaskCode(ti.Code))
	}
	if len(ours) > 0 {
		left, err := r.liveCouponsOf(ctx, ti.Issue)
		if err != nil {
			return res, fmt.Errorf("checking that %s's old coupon is in the trash: %w; nothing was changed in the ledger: run reissue again", addr, err)
		}
		if len(left) > 0 {
			return res, fmt.Errorf("coupon %d (code %s) of %s is still live in the store after it was trashed; nothing was changed in the ledger: trash it by hand, then run reissue again",
				left[0].ID, ti.Code, addr)
		}
	}

	old := ReplacedCode{IssueID: ti.ID, Campaign: c.Name, Email: addr, Code: ti.Code, CouponID: ti.CouponID, State: ti.State,
		StoreState: res.StoreState, Trashed: len(res.Trashed) > 0, UsageCount: max(usage, ti.UsageCount),
		IssuedAt: ti.IssuedAt, ExpiresAt: ti.ExpiresAt, EmailedAt: ti.EmailedAt}
	reason := "reissued: the old code's coupon was " + res.StoreState
	if res.Forced {
		reason += " (forced)"
	}
	wctx, cancel := persistCtx(ctx)
	defer cancel()
	for try := 0; ; try++ {
		code, err := r.gen.Next()
		if err != nil {
			return res, err
		}
		err = is.ledger.replaceCode(wctx, old, code, reason)
		if errors.Is(err, errCodeTaken) && try < maxCodeRetries {
			continue
		}
		if err != nil {
			return res, fmt.Errorf("recording the reissue of %s: %w", addr, err)
		}
		res.NewCode = code
		break
	}
	r.log.Info("code reissued", "email", addr, "old_coupon_id", ti.CouponID, "old_code", MaskCode(ti.Code),
		"store", res.StoreState, "forced", res.Forced, "new_code", MaskCode(res.NewCode))
	return is.finishReissue(ctx, c, res)
}

// finishReissue runs the campaign's pipeline, which takes the planned row
// through create, verify and email, and reads the row back.
func (is *Issuer) finishReissue(ctx context.Context, c Campaign, res ReissueResult) (ReissueResult, error) {
	var err error
	res.RunResult, err = is.Run(ctx, c, nil)
	sctx, cancel := persistCtx(ctx)
	defer cancel()
	row, ok, rerr := is.ledger.Issue(sctx, c.Name, res.Email)
	if ok {
		res.Row, res.NewCode = row, row.Code
	}
	if err == nil {
		err = rerr
	}
	return res, err
}

// liveCouponsOf returns the live coupons in the store that are row's: the
// coupon recorded (by id, whatever its code now) and every copy under the
// row's code that is not positively someone else's.
func (r *issueRun) liveCouponsOf(ctx context.Context, row Issue) ([]woo.Coupon, error) {
	var out []woo.Coupon
	seen := map[int64]bool{}
	if row.CouponID != 0 {
		got, _, err := r.store.List(ctx, &woo.CouponListOptions{Include: []int64{row.CouponID}, ListOptions: woo.ListOptions{PerPage: woo.MaxPerPage}})
		if err != nil {
			return nil, err
		}
		for _, cp := range got {
			if cp.ID == row.CouponID && isLive(&cp) {
				out, seen[cp.ID] = append(out, cp), true
			}
		}
	}
	found, err := r.store.FindCodes(ctx, []string{row.Code}, nil)
	if err != nil {
		return nil, err
	}
	p := pendingCoupon{row: row, asked: r.askedCoupon(row)}
	for _, cp := range found[strings.ToLower(row.Code)] {
		if seen[cp.ID] || !isLive(&cp) || !strings.EqualFold(strings.TrimSpace(cp.Code), row.Code) {
			continue
		}
		if r.whoseCoupon(cp, p) == whoseForeign {
			continue
		}
		out, seen[cp.ID] = append(out, cp), true
	}
	return out, nil
}

// reissueThread gives the email of a reissued row (row.Reissues > 0) a
// Message-ID of its own per reissue, and makes it refer to the row's first
// email and to the one before it: mail systems would drop the first
// email's Message-ID as a duplicate, and show the new code in its thread.
func reissueThread(msg *mailer.Message, c Campaign, row Issue) {
	if row.Reissues <= 0 {
		return
	}
	domain := c.Mail.messageIDDomain()
	first := mailer.MessageID(c.Name, row.Email, domain)
	prev := first
	if row.Reissues > 1 {
		prev = mailer.MessageID(fmt.Sprintf("%s/reissue/%d", c.Name, row.Reissues-1), row.Email, domain)
	}
	msg.MessageID = mailer.MessageID(fmt.Sprintf("%s/reissue/%d", c.Name, row.Reissues), row.Email, domain)
	msg.InReplyTo = prev
	msg.References = []string{first}
	if prev != first {
		msg.References = append(msg.References, prev)
	}
}
