package campaign

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// Settling: deciding what became of rows whose coupon may or may not exist
// in the store (their request had no clear answer, a run was killed while
// they were in flight, or the store said their code already exists).
//
// WooCommerce makes this harder than a lookup by code:
//   - a coupon is saved in steps (post, fields, meta); a PHP fatal error in
//     between leaves our coupon without our meta tags;
//   - behind nginx/PHP-FPM a timeout or a 504 does not stop PHP, which goes
//     on creating the batch's coupons for a while;
//   - its duplicate check is a SELECT before the INSERT, so a code sent
//     again while the first request still runs can give two coupons, and
//     ?code= shows only one of them.
//
// So rows are settled from listings that show every coupon with the code,
// a coupon restricted to exactly the recipient is taken for ours even
// without our tags (and its tags are repaired), extra live copies are
// trashed, and a code is only sent again once the store cannot still be
// working on the first request (IssueOptions.UnclearHold).

const (
	// reasonUnclearAbsent is the retry reason of a row sent again because
	// the store did not have its code after an unclear outcome. A row
	// claimed with it has its code checked for a second copy once created.
	reasonUnclearAbsent = "not in the store after an unclear outcome; sent again"

	// lookupSkew is taken off the instant a row was sent when a listing is
	// bounded by modification date: store dates have whole seconds, and
	// the store's clock may be a little behind. A coupon missed through a
	// larger skew is not duplicated: the store refuses its code as taken,
	// and the row is then looked up by its code alone.
	lookupSkew = 2 * time.Second
)

// settleKind is what becomes of one row.
type settleKind int

const (
	settleHeld   settleKind = iota // absent, but the store may still be creating it: ask again later
	settleAbsent                   // absent for good: send the same code again
	settleAdopt                    // ours: record it (repair its tags, trash extra copies)
	settleRecode                   // someone else's: trash our copies, choose a new code
)

// settlement is the decision for one row.
type settlement struct {
	kind   settleKind
	keep   woo.Coupon   // settleAdopt: the coupon recorded
	repair bool         // settleAdopt: keep lacks our meta tags
	extras []woo.Coupon // our other live copies, to trash
}

// whose says whose a live coupon carrying a row's code is.
type whose int

const (
	whoseOurs     whose = iota // our meta tags name this campaign and recipient
	whoseUntagged              // no tags of ours, restricted to exactly this recipient: a partial save
	whoseForeign               // positive evidence that it is someone else's
)

// whoseCoupon judges a live coupon found under p's code. Only positive
// evidence makes it someone else's: our tags naming another campaign or
// recipient, or an email restriction other than exactly the recipient.
// A coupon of an export-only campaign has no address to go by, so without
// tags it is ours only if it is exactly as asked.
func (r *issueRun) whoseCoupon(got woo.Coupon, p pendingCoupon) whose {
	camp, hasCamp := got.MetaValue(MetaCampaign)
	rcpt, hasRcpt := got.MetaValue(MetaRecipient)
	if hasCamp || hasRcpt {
		wantCamp, _ := p.asked.MetaValue(MetaCampaign)
		wantRcpt, _ := p.asked.MetaValue(MetaRecipient)
		if strings.EqualFold(camp, wantCamp) && strings.EqualFold(rcpt, wantRcpt) {
			return whoseOurs
		}
		return whoseForeign
	}
	if r.c.ExportOnly {
		if len(got.EmailRestrictions) == 0 && VerifyCoupon(p.asked, got) == nil {
			return whoseUntagged
		}
		return whoseForeign
	}
	if len(got.EmailRestrictions) == 1 && strings.EqualFold(strings.TrimSpace(got.EmailRestrictions[0]), p.row.Email) {
		return whoseUntagged
	}
	return whoseForeign
}

// decide settles one row from the coupons the store has under its code.
// prefer, when set, is the id to keep among our copies (the one the store
// just answered with). held says whether the store may still be creating
// the row's coupon.
func (r *issueRun) decide(p pendingCoupon, found []woo.Coupon, prefer int64, held bool) settlement {
	var mine []woo.Coupon
	var tagged = map[int64]bool{}
	foreign := false
	for _, c := range found {
		if (c.Status != "" && c.Status != "publish") || CodeKey(strings.TrimSpace(c.Code)) != CodeKey(p.row.Code) {
			continue // trashed, draft or private coupons are not live and do not hold the code
		}
		switch r.whoseCoupon(c, p) {
		case whoseOurs:
			mine = append(mine, c)
			tagged[c.ID] = true
		case whoseUntagged:
			mine = append(mine, c)
		default:
			foreign = true
		}
	}
	switch {
	case foreign:
		// The code is someone else's: any copy of ours with it must go,
		// or the recipient would keep a coupon we do not record.
		return settlement{kind: settleRecode, extras: mine}
	case len(mine) == 0 && held:
		return settlement{kind: settleHeld}
	case len(mine) == 0:
		return settlement{kind: settleAbsent}
	}
	// Keep the copy the store answered with, else a tagged one, else the
	// oldest.
	rank := func(c woo.Coupon) int {
		switch {
		case c.ID == prefer:
			return 0
		case tagged[c.ID]:
			return 1
		}
		return 2
	}
	slices.SortFunc(mine, func(a, b woo.Coupon) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.ID, b.ID))
	})
	return settlement{kind: settleAdopt, keep: mine[0], repair: !tagged[mine[0].ID], extras: mine[1:]}
}

// holdUntil records that the store may go on creating row id's coupon
// until t.
func (r *issueRun) holdUntil(id int64, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.held == nil {
		r.held = map[int64]time.Time{}
	}
	if t.After(r.held[id]) {
		r.held[id] = t
	}
}

// heldUntil is the instant after which p's code, if absent, is absent for
// good: the hold set when its unclear answer came back, or for a row a
// killed run left creating, the hold from when it was marked.
func (r *issueRun) heldUntil(p pendingCoupon) time.Time {
	r.mu.Lock()
	t, ok := r.held[p.row.ID]
	r.mu.Unlock()
	if ok {
		return t
	}
	return p.sentAt.Add(r.opts.UnclearHold)
}

// release forgets the hold of a settled row.
func (r *issueRun) release(id int64) {
	r.mu.Lock()
	delete(r.held, id)
	r.mu.Unlock()
}

// holdWait is how long until the first held row may be decided.
func (r *issueRun) holdWait() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first time.Time
	for _, t := range r.held {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	if first.IsZero() {
		return 0
	}
	return max(0, time.Until(first))
}

// settleRows settles rows in groups of up to 100, each group from one
// listing (a few requests), and records each group's outcomes as soon as
// they are known. alone looks each code up by itself and without a date
// bound, for the few rows the store said exist: their outcome was clear,
// so they are never held. On cancellation it stops between requests; rows
// not settled stay creating for the next pass or run.
func (r *issueRun) settleRows(ctx context.Context, ps []pendingCoupon, alone bool, done *atomic.Int64, total int) error {
	for len(ps) > 0 && ctx.Err() == nil {
		n := min(len(ps), woo.MaxPerPage)
		if alone {
			n = 1
		}
		if err := r.settleGroup(ctx, ps[:n], alone, done, total); err != nil {
			return err
		}
		ps = ps[n:]
	}
	return nil
}

func (r *issueRun) settleGroup(ctx context.Context, group []pendingCoupon, alone bool, done *atomic.Int64, total int) error {
	codes := make([]string, len(group))
	var since time.Time
	for i, p := range group {
		codes[i] = p.row.Code
		if since.IsZero() || p.sentAt.Before(since) {
			since = p.sentAt
		}
	}
	opts := woo.FindCodesOptions{Statuses: "any"}
	if !alone && !since.IsZero() {
		opts.ModifiedAfter = since.Add(-lookupSkew)
	}
	found, err := r.findCodes(ctx, codes, opts)
	if err != nil {
		return r.lookupFailed(ctx, err, len(group))
	}
	now := time.Now()
	var quick []transition
	type slow struct {
		p pendingCoupon
		s settlement
	}
	var slows []slow
	for _, p := range group {
		s := r.decide(p, found[CodeKey(p.row.Code)], 0, !alone && now.Before(r.heldUntil(p)))
		switch {
		case s.kind == settleHeld:
			r.holdUntil(p.row.ID, r.heldUntil(p))
			continue
		case s.kind == settleAbsent && alone:
			quick = append(quick, toRequeued(p.row.ID, "", "the store said the code exists but has no live coupon with it; sent again"))
			r.count(func(c *IssueCounts) { c.Requeued++ })
		case s.kind == settleAbsent:
			quick = append(quick, toRequeued(p.row.ID, "", reasonUnclearAbsent))
			r.count(func(c *IssueCounts) { c.Requeued++ })
		case s.kind == settleAdopt && !s.repair && len(s.extras) == 0:
			quick = append(quick, toCreated(p.row.ID, s.keep.ID))
			r.count(func(c *IssueCounts) { c.Adopted++ })
			r.log.Info("coupon found in the store and adopted", "email", p.row.Email, "coupon_id", s.keep.ID)
		default:
			slows = append(slows, slow{p, s})
		}
		r.release(p.row.ID)
	}
	if err := r.record(ctx, done, total, quick...); err != nil {
		return err
	}
	for _, sl := range slows {
		if err := r.carryOut(ctx, sl.p, sl.s, done, total); err != nil {
			return err
		}
	}
	return nil
}

// carryOut carries out a settlement that needs the store: repair the kept
// coupon's tags, trash extra copies, or give up a taken code. Each row is
// recorded as soon as its requests are done. A request that fails leaves
// the row creating, to be settled again.
func (r *issueRun) carryOut(ctx context.Context, p pendingCoupon, s settlement, done *atomic.Int64, total int) error {
	for _, x := range s.extras {
		if _, err := r.store.Delete(ctx, x.ID, false); err != nil && !woo.IsNotFound(err) && !isAlreadyTrashed(err) {
			return r.lookupFailed(ctx, fmt.Errorf("trashing a second coupon %d with code of row %d: %w", x.ID, p.row.ID, err), 1)
		}
		r.log.Warn("second live coupon with one code found and trashed", "email", p.row.Email,
			"coupon_id", x.ID, "kept", s.keep.ID, "code", MaskCode(p.row.Code))
	}
	switch s.kind {
	case settleRecode:
		r.log.Warn("code already used by a coupon that is not this recipient's; choosing a new code", "email", p.row.Email)
		return r.recode(ctx, p.row)
	case settleAdopt:
		if s.repair {
			if _, err := r.store.Update(ctx, s.keep.ID, &woo.CouponPatch{MetaData: p.asked.MetaData}); err != nil {
				return r.lookupFailed(ctx, fmt.Errorf("repairing the tags of coupon %d: %w", s.keep.ID, err), 1)
			}
			r.log.Warn("coupon saved without its tags (the store failed mid-save) adopted and its tags repaired",
				"email", p.row.Email, "coupon_id", s.keep.ID)
		} else {
			r.log.Info("coupon found in the store and adopted", "email", p.row.Email, "coupon_id", s.keep.ID)
		}
		r.count(func(c *IssueCounts) { c.Adopted++ })
		return r.record(ctx, done, total, toCreated(p.row.ID, s.keep.ID))
	}
	return nil
}

// lookupFailed handles a failed settling request: the rows stay creating.
// Cancellation is no failure. An unreachable store stops the stage.
func (r *issueRun) lookupFailed(ctx context.Context, err error, rows int) error {
	if ctx.Err() != nil {
		return nil
	}
	r.noteError(StageCreate, err)
	if woo.IsUnreachable(err) {
		return unreachableErr(err)
	}
	if !r.storeAnswered.Load() {
		return fmt.Errorf("%w: %w", errStoreFailing, err)
	}
	r.log.Warn("looking codes up in the store failed; they will be settled later", "rows", rows, "error", err)
	return nil
}

// checkResent looks for a second copy of codes sent again after an unclear
// outcome: had the first request still been running, the store's duplicate
// check (no unique index) may have let both through. The copy the store
// answered with is kept and recorded, ours others are trashed. It runs to
// its end even when ctx is cancelled: it finishes a batch in flight.
func (r *issueRun) checkResent(ctx context.Context, ps []pendingCoupon, ids []int64, done *atomic.Int64, total int) error {
	ictx := context.WithoutCancel(ctx)
	codes := make([]string, len(ps))
	var since time.Time
	for i, p := range ps {
		codes[i] = p.row.Code
		if since.IsZero() || p.row.IssuedAt.Before(since) {
			since = p.row.IssuedAt
		}
	}
	found, err := r.findCodes(ictx, codes, woo.FindCodesOptions{Statuses: "any", ModifiedAfter: since.Add(-lookupSkew)})
	if err != nil {
		r.noteError(StageCreate, err)
		r.log.Warn("could not check codes sent again for a second copy in the store", "rows", len(ps), "error", err)
	}
	var ts []transition
	for i, p := range ps {
		ts = append(ts, toCreated(p.row.ID, ids[i]))
		r.count(func(c *IssueCounts) { c.Created++ })
		if err != nil {
			continue
		}
		s := r.decide(p, found[CodeKey(p.row.Code)], ids[i], false)
		if s.kind == settleRecode {
			r.log.Warn("a code sent again is also on a coupon that is not this recipient's", "email", p.row.Email, "coupon_id", ids[i])
			continue
		}
		for _, x := range s.extras {
			if _, err := r.store.Delete(ictx, x.ID, false); err != nil && !woo.IsNotFound(err) && !isAlreadyTrashed(err) {
				r.noteError(StageCreate, err)
				r.log.Error("a second coupon with one code could not be trashed; trash it by hand", "email", p.row.Email,
					"coupon_id", x.ID, "kept", ids[i], "error", err)
				continue
			}
			r.log.Warn("second live coupon with one code found and trashed", "email", p.row.Email,
				"coupon_id", x.ID, "kept", ids[i], "code", MaskCode(p.row.Code))
		}
	}
	return r.record(ctx, done, total, ts...)
}

// isAlreadyTrashed reports the 410 of trashing a coupon twice.
func isAlreadyTrashed(err error) bool {
	var ae *woo.APIError
	return errors.As(err, &ae) && ae.Code == "woocommerce_rest_already_trashed"
}

// unreachableErr is the error that stops a stage when the store could not
// be reached; it wraps the cause and says "store unreachable" once.
func unreachableErr(err error) error {
	if woo.IsUnreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", woo.ErrUnreachable, err)
}

// findCodes returns the store's coupons with these codes, by lowercased
// code, from a listing that shows several coupons per code.
func (r *issueRun) findCodes(ctx context.Context, codes []string, opts woo.FindCodesOptions) (map[string][]woo.Coupon, error) {
	return r.store.FindCodes(ctx, codes, &opts)
}
