package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// CouponBatcher sends coupon batches; *woo.CouponsService satisfies it.
type CouponBatcher interface {
	Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error)
}

// PruneStore is what prune needs of the store: read coupons by id right
// before deleting them, and delete them in batches. *woo.CouponsService
// satisfies it.
type PruneStore interface {
	CouponLister
	CouponBatcher
}

// DefaultPruneGraceDays is how long after its expiry an unused coupon is kept
// unless told otherwise: long enough for a customer's complaint about a code
// that "just expired" to be looked up in the store.
const DefaultPruneGraceDays = 30

// Pruner deletes from the store, permanently and in batches, the coupons
// that couponbridge created, that expired more than a grace period ago and
// that were never used. Many thousands of dead coupons slow a shop's admin;
// these are the ones nobody can use any more.
//
// A coupon is deleted only when all of these hold on a read of the coupon
// made right before the delete request:
//   - its ledger row holds a coupon (not pruned, not failed before creation);
//   - the store's meta tags MetaCampaign and MetaRecipient name exactly
//     that campaign and recipient (RecipientKey), and
//     the code is the row's (so a coupon someone else created, or one the
//     store reused the id of, is never touched);
//   - usage_count is 0 and the ledger saw no redemption;
//   - the store's expiry (which may have been moved by hand) passed more than
//     the grace period ago.
//
// Ledger rows keep their history: the state becomes pruned and pruned_at is
// recorded.
type Pruner struct {
	Ledger *Ledger
	Store  PruneStore
	Logger *slog.Logger
	Now    func() time.Time
}

// PruneOptions control one prune.
type PruneOptions struct {
	// GraceDays: only coupons expired more than this many days ago go.
	GraceDays int
	// Apply deletes; without it prune only says what it would delete.
	Apply bool
	// BatchSize is the number of coupons read and deleted per step (1..100,
	// default 100).
	BatchSize int
}

// PruneAction is what prune did or would do with one coupon.
type PruneAction string

// The outcomes of prune for one coupon.
const (
	// PruneWouldDelete: a dry run found the coupon deletable.
	PruneWouldDelete PruneAction = "would-delete"
	// PruneDeleted: the store deleted the coupon; the row is pruned.
	PruneDeleted PruneAction = "deleted"
	// PruneKept: the fresh read showed a reason to keep it (Reason says which).
	PruneKept PruneAction = "kept"
	// PruneGone: the coupon was already gone from the store (deleted by
	// someone else); recorded as deleted in the store, not as pruned.
	PruneGone PruneAction = "gone"
	// PruneFailed: the store refused the delete or its answer was unclear.
	PruneFailed PruneAction = "failed"
)

// PruneItem is one coupon prune looked at.
type PruneItem struct {
	Campaign  string
	Email     string
	Code      string
	CouponID  int64
	ExpiresAt time.Time
	Action    PruneAction
	Reason    string
}

// PruneResult is the outcome of pruning one campaign.
type PruneResult struct {
	Campaign string
	Cutoff   time.Time
	Applied  bool
	Items    []PruneItem
	// Batches is the number of delete requests sent.
	Batches int
}

// Count returns the number of items with action a.
func (r PruneResult) Count(a PruneAction) int {
	n := 0
	for _, it := range r.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

func (p *Pruner) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}

// pruneCandidates is the ledger's side of the rules: rows holding a coupon
// the store has as far as sync knows, never seen redeemed, whose expiry
// (the store's when sync read one) is before the cutoff.
const pruneCandidates = holdsCoupon + ` AND i.state <> 'failed' AND COALESCE(t.store_presence, 'present') = 'present'
	AND t.redeemed_at IS NULL AND COALESCE(t.store_expires_at, i.expires_at) IS NOT NULL
	AND COALESCE(t.store_expires_at, i.expires_at) < ?`

// Prune prunes one campaign.
func (p *Pruner) Prune(ctx context.Context, campaign string, opts PruneOptions) (PruneResult, error) {
	res := PruneResult{Campaign: campaign, Applied: opts.Apply}
	if p.Ledger == nil || p.Store == nil {
		return res, errors.New("prune: ledger and store are required")
	}
	if opts.GraceDays < 0 {
		return res, fmt.Errorf("prune: grace days %d: must be 0 or more", opts.GraceDays)
	}
	size := opts.BatchSize
	if size == 0 {
		size = syncPage
	}
	if size < 1 || size > syncPage {
		return res, fmt.Errorf("prune: batch size %d: must be 1..%d", size, syncPage)
	}
	exportOnly, err := p.Ledger.campaignExportOnly(ctx, campaign)
	if err != nil {
		return res, err
	}
	res.Cutoff = p.now().AddDate(0, 0, -opts.GraceDays)
	cutoff := formatTime(res.Cutoff)
	var after int64
	for {
		page, err := p.Ledger.queryTracked(ctx, `WHERE i.campaign = ? AND i.id > ? AND `+pruneCandidates+` ORDER BY i.id LIMIT ?`,
			campaign, after, cutoff, size)
		if err != nil {
			return res, err
		}
		if len(page) == 0 {
			return res, nil
		}
		after = page[len(page)-1].ID
		if err := p.pruneBatch(ctx, page, exportOnly, opts.Apply, &res); err != nil {
			return res, err
		}
		if len(page) < size {
			return res, nil
		}
	}
}

// pruneBatch re-reads the coupons of page, keeps those with a reason to
// stay, and (when apply) deletes the rest in one batch request.
func (p *Pruner) pruneBatch(ctx context.Context, page []TrackedIssue, exportOnly, apply bool, res *PruneResult) error {
	fresh, err := readCoupons(ctx, p.Store, page)
	if err != nil {
		return fmt.Errorf("prune %s: reading coupons: %w", res.Campaign, err)
	}
	var del []int64
	var delItems []int
	var gone []int64
	for _, ti := range page {
		it := PruneItem{Campaign: ti.Campaign, Email: ti.Email, Code: ti.Code, CouponID: ti.CouponID, ExpiresAt: ti.ExpiryNow()}
		c, ok := fresh[ti.CouponID]
		switch {
		case !ok || c.Status == "trash":
			it.Action, it.Reason = PruneGone, "not in the store (deleted or trashed by someone else)"
			gone = append(gone, ti.ID)
		default:
			if c.DateExpiresGMT != nil {
				it.ExpiresAt = c.DateExpiresGMT.Time
			}
			if reason := keepReason(ti, c, exportOnly, res.Cutoff); reason != "" {
				it.Action, it.Reason = PruneKept, reason
			} else if apply {
				del = append(del, ti.CouponID)
				delItems = append(delItems, len(res.Items))
			} else {
				it.Action = PruneWouldDelete
			}
		}
		res.Items = append(res.Items, it)
	}
	if len(gone) > 0 && apply { // a dry run changes nothing, not even the ledger
		if err := p.Ledger.markDeleted(ctx, gone, p.now()); err != nil {
			return err
		}
	}
	if len(del) == 0 {
		return nil
	}
	res.Batches++
	br, err := p.Store.Batch(ctx, &woo.CouponBatch{Delete: del})
	if err != nil {
		for _, i := range delItems {
			res.Items[i].Action, res.Items[i].Reason = PruneFailed, err.Error()
		}
		return fmt.Errorf("prune %s: delete batch: %w", res.Campaign, err)
	}
	var pruned []prunedRow
	var vanished []int64
	at := p.now()
	for k, i := range delItems {
		it := &res.Items[i]
		var item woo.BatchItem
		if k < len(br.Delete) {
			item = br.Delete[k]
		} else {
			item.Err = errors.New("no result for this item in the store's answer")
		}
		ti := page[indexOfCoupon(page, it.CouponID)]
		switch {
		case item.Err == nil:
			it.Action = PruneDeleted
			pruned = append(pruned, prunedRow{id: ti.ID, from: ti.State})
		case woo.IsNotFound(item.Err):
			it.Action, it.Reason = PruneGone, "deleted by someone else meanwhile"
			vanished = append(vanished, ti.ID)
		default:
			it.Action, it.Reason = PruneFailed, item.Err.Error()
			p.logger().Warn("prune: store refused a delete", "campaign", ti.Campaign, "coupon_id", ti.CouponID, "err", item.Err)
		}
	}
	if err := p.Ledger.markPruned(ctx, pruned, at); err != nil {
		return err
	}
	if len(vanished) > 0 {
		if err := p.Ledger.markDeleted(ctx, vanished, at); err != nil {
			return err
		}
	}
	p.logger().Info("prune batch", "campaign", res.Campaign, "deleted", len(pruned), "requested", len(del))
	return nil
}

func (p *Pruner) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

func indexOfCoupon(page []TrackedIssue, couponID int64) int {
	for i, ti := range page {
		if ti.CouponID == couponID {
			return i
		}
	}
	return 0
}

// keepReason says why the freshly read coupon c of row ti must stay, or ""
// when it may be deleted.
func keepReason(ti TrackedIssue, c woo.Coupon, exportOnly bool, cutoff time.Time) string {
	email := ti.Email
	if exportOnly {
		email = ""
	}
	camp, _ := c.MetaValue(MetaCampaign)
	recip, _ := c.MetaValue(MetaRecipient)
	switch {
	case !strings.EqualFold(camp, ti.Campaign) || !strings.EqualFold(recip, RecipientKey(email, ti.Code)):
		return fmt.Sprintf("meta tags (%s=%q, %s=%q) do not name this campaign and recipient: not created by couponbridge for this row",
			MetaCampaign, camp, MetaRecipient, recip)
	case CodeKey(c.Code) != CodeKey(ti.Code):
		return fmt.Sprintf("the store's coupon %d has code %q, not %q", c.ID, c.Code, ti.Code)
	case c.UsageCount > 0:
		return fmt.Sprintf("used (usage_count %d)", c.UsageCount)
	case c.DateExpiresGMT == nil || c.DateExpiresGMT.IsZero():
		return "no expiry in the store (removed by hand)"
	case !c.DateExpiresGMT.Before(cutoff):
		return "expiry in the store is " + c.DateExpiresGMT.UTC().Format(time.RFC3339) + ", within the grace period"
	}
	return ""
}
