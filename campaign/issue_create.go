package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// pendingCoupon is a row on its way to the store with the coupon asked for it.
type pendingCoupon struct {
	row   Issue
	asked woo.Coupon
	// sentAt is when the row was marked creating, on the wall clock the
	// store's dates are compared with: its coupon cannot have been
	// modified before.
	sentAt time.Time
	// resent: the row is sent again after an unclear outcome found its
	// code absent; once created, its code is checked for a second copy.
	resent bool
}

// pendingFromLedger is a row found creating in the ledger, sent when it was
// marked (its last update).
func (r *issueRun) pendingFromLedger(row Issue) pendingCoupon {
	return pendingCoupon{row: row, asked: r.askedCoupon(row), sentAt: row.UpdatedAt}
}

// askedCoupon rebuilds exactly the coupon asked for row: from the template,
// the row's code and recipient, and the issue instant and expiry recorded
// when it was first sent (so a rerun, even with another time zone setting or
// on another day, asks for and verifies the same coupon).
func (r *issueRun) askedCoupon(row Issue) woo.Coupon {
	email := row.Email
	if r.c.ExportOnly {
		email = ""
	}
	c := r.c.Coupon.Build(CouponParams{Campaign: r.c.Name, Code: row.Code, Email: email, Issued: row.IssuedAt, Loc: r.loc})
	if !row.ExpiresAt.IsZero() {
		// In UTC ("Z"): WordPress reads an offset's hours only, so
		// +05:30 would be saved as +05:00, half an hour off.
		c.DateExpires = &woo.Time{Time: row.ExpiresAt.UTC()}
	}
	return c
}

// createStage creates the coupons of every planned row. Each pass first
// settles rows left in creating (by a killed run, or by lookups that
// failed), then sends the planned rows in batches. Rows sent back to planned
// (their outcome was unclear and the store did not have them, or their code
// was someone else's) are sent again in the next pass, after a pause.
func (r *issueRun) createStage(ctx context.Context) error {
	planned, err := r.ledger.countState(ctx, r.c.Name, StatePlanned)
	if err != nil {
		return err
	}
	creating, err := r.ledger.countState(ctx, r.c.Name, StateCreating)
	if err != nil {
		return err
	}
	total := planned + creating
	if total == 0 {
		return nil
	}
	var done atomic.Int64
	r.log.Info("creating coupons", "rows", planned, "left creating by an earlier run", creating)
	for pass := 0; ; pass++ {
		if err := r.reconcileCreating(ctx, &done, total); err != nil {
			return err
		}
		if wait := r.holdWait(); wait > 0 {
			if n, err := r.ledger.countState(ctx, r.c.Name, StatePlanned); err != nil {
				return err
			} else if n == 0 {
				// Only rows the store may still be creating are left:
				// wait for their hold to end. That is no pass.
				r.log.Info("waiting before sending codes again: the store may still be creating them", "wait", wait.Round(time.Second))
				if !sleep(ctx, wait) {
					return ctx.Err()
				}
				pass--
				continue
			}
		}
		left, err := r.ledger.countState(ctx, r.c.Name, StatePlanned)
		if err != nil {
			return err
		}
		unsettled, err := r.ledger.countState(ctx, r.c.Name, StateCreating)
		if err != nil {
			return err
		}
		if left == 0 && unsettled == 0 {
			break
		}
		if pass == r.opts.CreatePasses {
			r.log.Warn("coupons left for a later run: the store did not take them, or could not be asked about them, after several passes",
				"planned", left, "outcome unknown", unsettled)
			break
		}
		if pass > 0 {
			r.log.Info("retrying coupons the store did not take", "planned", left, "outcome unknown", unsettled, "pass", pass+1)
			if !sleep(ctx, r.opts.RetryWait) {
				return ctx.Err()
			}
		}
		if left > 0 {
			if err := r.createPass(ctx, &done, total); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// createPass sends every planned row once, in id order, up to Concurrency
// batches at a time. A batch's rows are marked creating in one transaction
// before it is sent, so no code is ever in two requests at once and a crash
// leaves a trace to settle.
func (r *issueRun) createPass(ctx context.Context, done *atomic.Int64, total int) error {
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
		after    int64
	)
	setErr := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
	}
	failed := func() bool {
		errMu.Lock()
		defer errMu.Unlock()
		return firstErr != nil
	}
	sem := make(chan struct{}, r.opts.Concurrency)
loop:
	for !failed() {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		if ctx.Err() != nil || failed() {
			<-sem
			break
		}
		batch, last, err := r.claimBatch(ctx, after)
		if err != nil || last == 0 {
			<-sem
			if err != nil && ctx.Err() == nil {
				setErr(err)
			}
			break
		}
		after = last
		if len(batch) == 0 { // every row moved meanwhile
			<-sem
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.sendBatch(ctx, batch, done, total); err != nil {
				setErr(err)
			}
		})
	}
	wg.Wait()
	return firstErr
}

// claimBatch marks the next planned rows after id `after` creating, with
// their issue instant and expiry, and returns them with the coupons to ask
// for, and the last id looked at (0 when there are no more rows).
func (r *issueRun) claimBatch(ctx context.Context, after int64) ([]pendingCoupon, int64, error) {
	rows, err := r.ledger.nextIssues(ctx, r.c.Name, StatePlanned, after, r.opts.BatchSize)
	if err != nil || len(rows) == 0 {
		return nil, 0, err
	}
	now := time.Unix(r.opts.Now().Unix(), 0) // the wire format has whole seconds
	sentAt := time.Now()
	ts := make([]transition, len(rows))
	for i := range rows {
		row := &rows[i]
		if row.IssuedAt.IsZero() { // a row sent again keeps its first instant
			row.IssuedAt = now
			row.ExpiresAt = r.c.Coupon.ExpiresAt(now, r.loc)
		}
		ts[i] = toCreating(*row, row.IssuedAt, row.ExpiresAt)
	}
	applied, err := r.ledger.apply(ctx, ts...)
	if err != nil {
		return nil, 0, err
	}
	batch := make([]pendingCoupon, 0, len(rows))
	for i, row := range rows {
		if applied[i] {
			row.State = StateCreating
			batch = append(batch, pendingCoupon{row: row, asked: r.askedCoupon(row), sentAt: sentAt,
				resent: row.LastError == reasonUnclearAbsent})
		}
	}
	return batch, rows[len(rows)-1].ID, nil
}

// sendBatch sends one batch and records every item's outcome. The request
// runs to its end even when ctx is cancelled: a batch in flight is
// finished and recorded.
func (r *issueRun) sendBatch(ctx context.Context, batch []pendingCoupon, done *atomic.Int64, total int) error {
	ictx := context.WithoutCancel(ctx)
	coupons := make([]woo.Coupon, len(batch))
	for i, p := range batch {
		coupons[i] = p.asked
	}
	res, err := r.store.Batch(ictx, &woo.CouponBatch{Create: coupons})
	if err == nil && (res == nil || len(res.Create) != len(batch)) {
		err = fmt.Errorf("store answered %d results for %d coupons", lenCreate(res), len(batch))
		// The request was sent: treat every item as unclear.
		return r.settleUnclear(ctx, batch, err, done, total)
	}
	if err != nil && woo.IsUnreachable(err) {
		return r.unreachable(ctx, batch, err, done, total)
	}
	if err != nil {
		// Nothing was sent. Find the item at fault by sending them one by one.
		if len(batch) > 1 {
			for _, p := range batch {
				if err := r.sendBatch(ctx, []pendingCoupon{p}, done, total); err != nil {
					return err
				}
			}
			return nil
		}
		return r.record(ctx, done, total, toFailed(batch[0].row.ID, StateCreating, StageCreate, "not sent: "+errString(err)))
	}
	var (
		ts         []transition
		exists     []pendingCoupon
		unclear    []pendingCoupon
		resent     []pendingCoupon
		resentIDs  []int64
		authErr    error
		lastErr    error
		unreachErr error
		storeErr   error // the first request failure, for status
	)
	for i, item := range res.Create {
		p := batch[i]
		var ie *woo.ItemError
		if item.Err != nil && !woo.IsCodeExists(item.Err) && !errors.As(item.Err, &ie) && storeErr == nil {
			storeErr = item.Err
		}
		switch {
		case item.Err == nil && item.Coupon != nil && item.Coupon.ID > 0 && p.resent:
			resent, resentIDs = append(resent, p), append(resentIDs, item.Coupon.ID)
		case item.Err == nil && item.Coupon != nil && item.Coupon.ID > 0:
			ts = append(ts, toCreated(p.row.ID, item.Coupon.ID))
			r.count(func(c *IssueCounts) { c.Created++ })
		case item.Err == nil:
			unclear = append(unclear, p) // a success without a coupon: look it up
		case woo.IsCodeExists(item.Err):
			exists = append(exists, p)
		case errors.Is(item.Err, woo.ErrOutcomeUnknown):
			unclear, lastErr = append(unclear, p), item.Err
		case woo.IsAuth(item.Err):
			authErr = item.Err
		case woo.IsUnreachable(item.Err):
			// Nothing reached the store: the row goes back to planned,
			// and the stage stops instead of trying every batch.
			ts = append(ts, toRequeued(p.row.ID, "", "not sent (store unreachable), will retry: "+errString(item.Err)))
			unreachErr = item.Err
		case errors.As(item.Err, &ie) && ie.Status >= 400 && ie.Status < 500:
			ts = append(ts, toFailed(p.row.ID, StateCreating, StageCreate, "store refused the coupon: "+errString(item.Err)))
			r.count(func(c *IssueCounts) { c.Failed++ })
		default:
			// Not applied (a 429 or 5xx after the client's retries, an
			// item error of the store's own): send again later, same code.
			// Were it applied after all, the code would answer "already
			// exists" and be looked up.
			ts = append(ts, toRequeued(p.row.ID, "", "not created, will retry: "+errString(item.Err)))
			r.count(func(c *IssueCounts) { c.Requeued++ })
		}
	}
	if err := r.record(ctx, done, total, ts...); err != nil {
		return err
	}
	if storeErr != nil {
		r.noteError(StageCreate, storeErr)
	}
	if len(resent) > 0 {
		if err := r.checkResent(ctx, resent, resentIDs, done, total); err != nil {
			return err
		}
	}
	if authErr != nil {
		// The rows stay creating: the next run looks them up first.
		return fmt.Errorf("store refused the credentials: %w", authErr)
	}
	if len(exists) > 0 {
		if err := r.settleRows(ctx, exists, true, done, total); err != nil {
			return err
		}
	}
	if len(unclear) > 0 {
		if err := r.settleUnclear(ctx, unclear, lastErr, done, total); err != nil {
			return err
		}
	}
	if unreachErr != nil {
		return unreachableErr(unreachErr)
	}
	return nil
}

// unreachable puts a batch that could not be sent at all back to planned
// and stops the stage with the cause.
func (r *issueRun) unreachable(ctx context.Context, batch []pendingCoupon, cause error, done *atomic.Int64, total int) error {
	r.noteError(StageCreate, cause)
	ts := make([]transition, len(batch))
	for i, p := range batch {
		ts[i] = toRequeued(p.row.ID, "", "not sent (store unreachable), will retry: "+errString(cause))
	}
	if err := r.record(ctx, done, total, ts...); err != nil {
		return err
	}
	return unreachableErr(cause)
}

func lenCreate(res *woo.CouponBatchResult) int {
	if res == nil {
		return 0
	}
	return len(res.Create)
}

// settleUnclear handles rows whose batch may or may not have been applied.
// The store may still be creating them (PHP goes on after a timeout or a
// 504), so each is held back for UnclearHold from now; after a short pause
// their codes are looked up: coupons found are adopted at once, codes still
// absent wait for a later pass, and are only sent again once their hold is
// over. When the run is being cancelled the rows stay creating; the next
// run settles them before sending anything.
func (r *issueRun) settleUnclear(ctx context.Context, ps []pendingCoupon, cause error, done *atomic.Int64, total int) error {
	reason := "no answer"
	if cause != nil {
		reason = errString(cause)
	}
	r.log.Warn("store outcome unclear; looking the codes up before sending anything again", "coupons", len(ps), "error", reason)
	until := time.Now().Add(r.opts.UnclearHold)
	for _, p := range ps {
		r.holdUntil(p.row.ID, until)
	}
	if !sleep(ctx, r.opts.RetryWait) {
		return nil
	}
	return r.settleRows(ctx, ps, false, done, total)
}

// reconcileCreating settles every row of the campaign in creating, 100 at
// a time from a listing of the store. It runs before each create pass, when
// no batch of this run is in flight, so the rows it finds were left by a
// killed run, by lookups that failed, or are held. It stops on
// cancellation; each group's outcomes are recorded as soon as known.
func (r *issueRun) reconcileCreating(ctx context.Context, done *atomic.Int64, total int) error {
	var after int64
	for ctx.Err() == nil {
		rows, err := r.ledger.nextIssues(ctx, r.c.Name, StateCreating, after, woo.MaxPerPage)
		if err != nil || len(rows) == 0 {
			return err
		}
		after = rows[len(rows)-1].ID
		r.log.Info("settling coupons whose creation outcome is not known", "rows", len(rows))
		ps := make([]pendingCoupon, len(rows))
		for i, row := range rows {
			ps[i] = r.pendingFromLedger(row)
		}
		if err := r.settleRows(ctx, ps, false, done, total); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// recode gives row a new code, one the ledger does not know, and plans it
// again.
func (r *issueRun) recode(ctx context.Context, row Issue) error {
	wctx, cancel := persistCtx(ctx)
	defer cancel()
	for try := 0; ; try++ {
		code, err := r.gen.Next()
		if err != nil {
			return err
		}
		_, err = r.ledger.apply(wctx, toRequeued(row.ID, code,
			fmt.Sprintf("code %s was taken by another coupon in the store; new code chosen", row.Code)))
		if errors.Is(err, errCodeTaken) && try < maxCodeRetries {
			continue
		}
		if err == nil {
			r.count(func(c *IssueCounts) { c.Recoded++ })
		}
		return err
	}
}

// record writes transitions that record what already happened in the
// store; it uses a context that survives cancellation.
func (r *issueRun) record(ctx context.Context, done *atomic.Int64, total int, ts ...transition) error {
	if len(ts) == 0 {
		return nil
	}
	wctx, cancel := persistCtx(ctx)
	defer cancel()
	applied, err := r.ledger.apply(wctx, ts...)
	if err != nil {
		return err
	}
	n := 0
	for i, t := range ts {
		if applied[i] && (t.to == StateCreated || t.to == StateFailed) {
			n++
		}
	}
	if done != nil && n > 0 {
		r.progress(StageCreate, int(done.Add(int64(n))), total)
	}
	return nil
}
