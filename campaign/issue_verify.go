package campaign

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/couponbridge/couponbridge/woo"
)

// verifyStage reads back every created coupon of the campaign, 100 per
// request, and checks it against what was asked (VerifyCoupon: email
// restriction, both usage limits, expiry instant, amount, code). A match
// becomes verified (exported in an export-only campaign); a mismatch, or a
// coupon no longer in the store, becomes failed with the reason, and that
// code is never emailed.
//
// A coupon missing from the store is not recreated: someone deleted or
// trashed it by hand, and creating it again would overrule them. The row is
// listed as failed for the owner to review.
func (r *issueRun) verifyStage(ctx context.Context) error {
	total, err := r.ledger.countState(ctx, r.c.Name, StateCreated)
	if err != nil || total == 0 {
		return err
	}
	r.log.Info("reading back created coupons", "rows", total)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     int
		after    int64
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	sem := make(chan struct{}, r.opts.Concurrency)
	for ctx.Err() == nil && !failed() {
		// Reading needs no claim: each page of rows goes to one worker, and
		// the cursor never hands a row out twice.
		rows, err := r.ledger.nextIssues(ctx, r.c.Name, StateCreated, after, woo.MaxPerPage)
		if err != nil || len(rows) == 0 {
			if err != nil && ctx.Err() == nil {
				mu.Lock()
				firstErr = cmp.Or(firstErr, err)
				mu.Unlock()
			}
			break
		}
		after = rows[len(rows)-1].ID
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := r.verifyPage(ctx, rows)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if ctx.Err() == nil {
					firstErr = cmp.Or(firstErr, err)
				}
				return
			}
			done += len(rows)
			r.progress(StageVerify, done, total)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// verifyPage reads back one page of created rows and records each verdict.
func (r *issueRun) verifyPage(ctx context.Context, rows []Issue) error {
	ids := make([]int64, len(rows))
	for i, row := range rows {
		ids[i] = row.CouponID
	}
	got, _, err := r.store.List(ctx, &woo.CouponListOptions{Include: ids, ListOptions: woo.ListOptions{PerPage: woo.MaxPerPage}})
	if err != nil {
		if ctx.Err() == nil {
			r.noteError(StageVerify, err)
		}
		if woo.IsUnreachable(err) {
			return unreachableErr(err)
		}
		return fmt.Errorf("reading back coupons: %w", err)
	}
	byID := make(map[int64]*woo.Coupon, len(got))
	for i := range got {
		byID[got[i].ID] = &got[i]
	}
	ts := make([]transition, 0, len(rows))
	for _, row := range rows {
		ts = append(ts, r.check(row, byID[row.CouponID]))
	}
	return r.record(ctx, nil, 0, ts...)
}

// check decides one created row's fate from its coupon as read back.
func (r *issueRun) check(row Issue, got *woo.Coupon) transition {
	fail := func(reason string) transition {
		r.count(func(c *IssueCounts) { c.Failed++ })
		r.log.Warn("coupon does not match what was asked; it will not be emailed", "email", row.Email,
			"coupon_id", row.CouponID, "reason", reason)
		return toFailed(row.ID, StateCreated, StageVerify, reason)
	}
	switch {
	// Reasons name no row, so that status can group them.
	case got == nil:
		return fail("deleted in store: the coupon was not found when read back")
	case got.Status != "" && got.Status != "publish":
		return fail(fmt.Sprintf("the coupon has status %q in the store (trashed or unpublished)", got.Status))
	}
	if err := VerifyCoupon(r.askedCoupon(row), *got); err != nil {
		var me *CouponMismatchError
		if errors.As(err, &me) {
			return fail("read back differs from what was asked: " + strings.Join(me.Mismatches, "; "))
		}
		return fail("read back differs from what was asked: " + errString(err))
	}
	r.count(func(c *IssueCounts) { c.Verified++ })
	if r.c.ExportOnly {
		return toExported(row.ID)
	}
	t := toVerified(row.ID)
	t.at = r.opts.Now() // the run's clock: what VerifyMaxAge is measured on
	return t
}
