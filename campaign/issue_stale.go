package campaign

import (
	"context"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// toVerifyStale returns a verified row whose read-back is too old to the
// created state, to be read back again before its code is emailed.
func toVerifyStale(id int64) transition {
	return transition{id: id, from: StateVerified, to: StateCreated}
}

// isStale reports whether row's read-back is older than VerifyMaxAge at
// now. A verified row without a verification time is stale.
func (r *issueRun) isStale(row Issue, now time.Time) bool {
	return row.VerifiedAt.IsZero() || now.Sub(row.VerifiedAt) > r.opts.VerifyMaxAge
}

// reverify reads back again the coupons of verified rows whose
// verification is stale, right before their codes would be emailed: a
// coupon trashed or edited in the store since it was read back fails
// (never mailed), the others are verified again with a fresh time. Rows
// whose read-back fails stay created, for the verify stage of a later run.
func (r *issueRun) reverify(ctx context.Context, rows []Issue) error {
	r.log.Info("verification stale; reading the coupons back again before emailing them",
		"rows", len(rows), "max_age", r.opts.VerifyMaxAge)
	for len(rows) > 0 {
		page := rows[:min(len(rows), woo.MaxPerPage)]
		rows = rows[len(page):]
		ts := make([]transition, len(page))
		for i, row := range page {
			ts[i] = toVerifyStale(row.ID)
		}
		wctx, cancel := persistCtx(ctx)
		applied, err := r.ledger.apply(wctx, ts...)
		cancel()
		if err != nil {
			return err
		}
		moved := make([]Issue, 0, len(page))
		for i, row := range page {
			if applied[i] {
				row.State, row.VerifiedAt = StateCreated, time.Time{}
				moved = append(moved, row)
			}
		}
		if len(moved) == 0 {
			continue
		}
		if err := r.verifyPage(ctx, moved); err != nil {
			return err
		}
	}
	return nil
}
