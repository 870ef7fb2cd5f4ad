package campaign

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// CouponLister reads coupons by id; *woo.CouponsService satisfies it.
type CouponLister interface {
	List(ctx context.Context, opts *woo.CouponListOptions) ([]woo.Coupon, *woo.Response, error)
}

// OrderLister iterates over orders; *woo.OrdersService satisfies it.
type OrderLister interface {
	All(ctx context.Context, opts *woo.OrderListOptions) iter.Seq2[woo.Order, error]
}

// syncPage is how many coupons one read asks for: the most WooCommerce
// returns per page, so one request per 100 coupons.
const syncPage = 100

// orderOverlap is how far back an incremental order read starts before the
// previous one: it absorbs clock skew between this host and the store.
const orderOverlap = time.Hour

// Syncer reads a campaign's coupons and the orders that used them back from
// the store and records what it found in the ledger: redemptions (with when
// they were first seen), uses given back by a cancelled order, coupons
// deleted or changed by hand in the store, and orders, revenue and discount
// per campaign.
//
// Sync only reads from the store. It is safe to run as often as wanted: an
// order read again replaces its earlier record instead of counting twice.
type Syncer struct {
	Ledger  *Ledger
	Coupons CouponLister
	Orders  OrderLister
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// Campaigns are the campaigns as configured, by name (optional). When a
	// campaign's coupon settings are still those its coupons were issued
	// with (the ledger's fingerprint), sync also flags coupons whose amount
	// or discount type was changed by hand.
	Campaigns map[string]Campaign
}

// SyncOptions change what Sync reads.
type SyncOptions struct {
	// FullOrders reads every order since the campaign's first coupon instead
	// of those modified since the last sync.
	FullOrders bool
	// SkipOrders reads the coupons only.
	SkipOrders bool
}

// SyncResult counts what one sync of one campaign found. "New" counts are
// changes since the previous sync; the others are totals as of this sync.
type SyncResult struct {
	Campaign string
	// Checked is the number of coupons read back.
	Checked     int
	Redeemed    int
	NewRedeemed int
	// UseReturned counts codes whose use was given back by this sync.
	UseReturned int
	Expired     int
	// Deleted counts coupons missing or trashed in the store; NewDeleted
	// those first seen gone now.
	Deleted    int
	NewDeleted int
	// Changed counts coupons changed by hand in the store.
	Changed    int
	NewChanged int
	// OrdersRead is the number of orders read; OrderLines those that used a
	// code of any campaign in the ledger.
	OrdersRead int
	OrderLines int
}

func (s *Syncer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Syncer) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Sync synchronizes one campaign: its coupons, then its orders.
func (s *Syncer) Sync(ctx context.Context, campaign string, opts SyncOptions) (SyncResult, error) {
	res := SyncResult{Campaign: campaign}
	if s.Ledger == nil || s.Coupons == nil || (s.Orders == nil && !opts.SkipOrders) {
		return res, errors.New("sync: ledger, coupons and orders are required")
	}
	exportOnly, err := s.Ledger.campaignExportOnly(ctx, campaign)
	if err != nil {
		return res, err
	}
	started := s.now()
	tpl, err := s.issuedTemplate(ctx, campaign)
	if err != nil {
		return res, err
	}
	if err := s.syncCoupons(ctx, campaign, exportOnly, tpl, &res); err != nil {
		return res, fmt.Errorf("sync %s: coupons: %w", campaign, err)
	}
	var ordersAt time.Time
	if !opts.SkipOrders {
		if err := s.syncOrders(ctx, campaign, opts.FullOrders, &res); err != nil {
			return res, fmt.Errorf("sync %s: orders: %w", campaign, err)
		}
		ordersAt = started
	}
	if err := s.Ledger.setSyncWatermarks(ctx, campaign, started, ordersAt); err != nil {
		return res, err
	}
	s.logger().Info("campaign synced", "campaign", campaign, "checked", res.Checked, "redeemed", res.Redeemed,
		"new_redeemed", res.NewRedeemed, "use_returned", res.UseReturned, "expired", res.Expired,
		"deleted", res.Deleted, "changed", res.Changed, "orders_read", res.OrdersRead, "order_lines", res.OrderLines)
	return res, nil
}

// SyncAll synchronizes every campaign in the ledger, in name order. It stops
// at the first error and returns the results so far.
func (s *Syncer) SyncAll(ctx context.Context, opts SyncOptions) ([]SyncResult, error) {
	infos, err := s.Ledger.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	var out []SyncResult
	for _, ci := range infos {
		r, err := s.Sync(ctx, ci.Name, opts)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// holdsCoupon is the condition for rows whose coupon exists in the store as
// far as the ledger knows (pruned ones were deleted by prune).
const holdsCoupon = `i.coupon_id IS NOT NULL AND i.state NOT IN ('pruned', 'planned', 'creating')`

// issuedTemplate returns the coupon template the campaign's coupons were
// issued with, when s.Campaigns has it unchanged; nil otherwise.
func (s *Syncer) issuedTemplate(ctx context.Context, campaign string) (*CouponTemplate, error) {
	c, ok := s.Campaigns[campaign]
	if !ok {
		return nil, nil
	}
	fp, err := c.fingerprint()
	if err != nil {
		return nil, nil
	}
	have, err := s.Ledger.campaignFingerprint(ctx, campaign)
	if err != nil {
		return nil, err
	}
	if have != fp {
		s.logger().Info("campaign settings changed since its coupons were issued: amounts are not compared", "campaign", campaign)
		return nil, nil
	}
	return &c.Coupon, nil
}

func (s *Syncer) syncCoupons(ctx context.Context, campaign string, exportOnly bool, tpl *CouponTemplate, res *SyncResult) error {
	for page, err := range s.Ledger.trackedPages(ctx, campaign, holdsCoupon, syncPage) {
		if err != nil {
			return err
		}
		found, err := readCoupons(ctx, s.Coupons, page)
		if err != nil {
			return err
		}
		now := s.now()
		updated := make([]TrackedIssue, len(page))
		for i, ti := range page {
			var c *woo.Coupon
			if got, ok := found[ti.CouponID]; ok {
				c = &got
			}
			next, ev := observe(ti, c, exportOnly, tpl, now)
			updated[i] = next
			res.Checked++
			s.count(res, next, ev, now)
		}
		if err := s.Ledger.saveTracking(ctx, updated); err != nil {
			return err
		}
	}
	return nil
}

func (s *Syncer) count(res *SyncResult, ti TrackedIssue, ev syncEvents, now time.Time) {
	log := s.logger()
	if !ti.RedeemedAt.IsZero() {
		res.Redeemed++
	}
	if !ti.Deleted && ti.Expired(now) {
		res.Expired++
	}
	if ti.Deleted {
		res.Deleted++
	}
	if ti.Changes != "" {
		res.Changed++
	}
	if ev.redeemed {
		res.NewRedeemed++
	}
	if ev.returned {
		res.UseReturned++
		log.Info("coupon use given back", "campaign", ti.Campaign, "coupon_id", ti.CouponID, "recipient", ti.Email)
	}
	if ev.deleted {
		res.NewDeleted++
		log.Warn("coupon deleted in the store by someone else", "campaign", ti.Campaign, "coupon_id", ti.CouponID, "recipient", ti.Email)
	}
	if ev.changed {
		res.NewChanged++
		log.Warn("coupon changed in the store", "campaign", ti.Campaign, "coupon_id", ti.CouponID, "recipient", ti.Email, "changes", ti.Changes)
	}
}

// readCoupons reads the coupons of page by id in one request and returns
// them by id. A coupon missing from the answer is gone from the store (or in
// its trash, which the list leaves out).
func readCoupons(ctx context.Context, store CouponLister, page []TrackedIssue) (map[int64]woo.Coupon, error) {
	ids := make([]int64, 0, len(page))
	for _, ti := range page {
		ids = append(ids, ti.CouponID)
	}
	got, _, err := store.List(ctx, &woo.CouponListOptions{ListOptions: woo.ListOptions{PerPage: syncPage}, Include: ids})
	if err != nil {
		return nil, err
	}
	out := make(map[int64]woo.Coupon, len(got))
	for _, c := range got {
		out[c.ID] = c
	}
	return out, nil
}

// syncEvents says what changed at one observation.
type syncEvents struct {
	redeemed, returned, deleted, restored, changed bool
}

// observe folds one read of a coupon (nil: missing from the store) into the
// row's tracking as of now.
func observe(prev TrackedIssue, c *woo.Coupon, exportOnly bool, tpl *CouponTemplate, now time.Time) (TrackedIssue, syncEvents) {
	next := prev
	next.SyncedAt = now
	var ev syncEvents
	if c == nil || c.Status == "trash" {
		if !prev.Deleted {
			ev.deleted = true
			next.DeletedAt = now
		}
		next.Deleted = true
		return next, ev
	}
	if prev.Deleted {
		ev.restored = true
		next.Deleted, next.DeletedAt = false, time.Time{}
	}
	next.UsageCount = c.UsageCount
	switch {
	case c.UsageCount >= 1 && prev.RedeemedAt.IsZero():
		ev.redeemed = true
		next.RedeemedAt = now
		next.UseReturned = false
	case c.UsageCount == 0 && !prev.RedeemedAt.IsZero():
		ev.returned = true
		next.RedeemedAt = time.Time{}
		next.UseReturned = true
		next.UseReturnedAt = now
	}
	next.StoreExpiresAt = time.Time{}
	if c.DateExpiresGMT != nil {
		next.StoreExpiresAt = c.DateExpiresGMT.Time
	}
	// A failed row's coupon was never handed out (or failed its read-back
	// check already): differences from what was asked are in its failure.
	changes := ""
	if prev.State != StateFailed {
		changes = couponChanges(prev.Issue, c, exportOnly, tpl)
	}
	if changes != prev.Changes {
		next.Changes = changes
		next.ChangedAt = time.Time{}
		if changes != "" {
			ev.changed = true
			next.ChangedAt = now
		}
	}
	return next, ev
}

// couponChanges describes how the store's coupon differs from what was
// asked for the row: both usage limits 1, the recipient's address as the
// only email restriction (none for export-only campaigns) and the expiry
// issued, and, when tpl is known, the template's amount and discount type.
// "" when it is as asked.
func couponChanges(is Issue, c *woo.Coupon, exportOnly bool, tpl *CouponTemplate) string {
	var out []string
	if tpl != nil {
		if c.DiscountType != "" && c.DiscountType != tpl.DiscountType {
			out = append(out, "discount_type "+tpl.DiscountType+" → "+c.DiscountType)
		}
		want, werr := ParseMoney(tpl.Amount)
		got, gerr := ParseMoney(c.Amount)
		if werr == nil && (gerr != nil || got != want) {
			out = append(out, "amount "+want.String()+" → "+c.Amount)
		}
	}
	limit := func(name string, got *int) {
		switch {
		case got == nil:
			out = append(out, name+" 1 → unlimited")
		case *got != 1:
			out = append(out, name+" 1 → "+strconv.Itoa(*got))
		}
	}
	limit("usage_limit", c.UsageLimit)
	limit("usage_limit_per_user", c.UsageLimitPerUser)
	var want []string
	if !exportOnly {
		want = []string{strings.ToLower(is.Email)}
	}
	got := make([]string, 0, len(c.EmailRestrictions))
	for _, e := range c.EmailRestrictions {
		got = append(got, strings.ToLower(strings.TrimSpace(e)))
	}
	slices.Sort(got)
	switch {
	case slices.Equal(got, want):
	case len(got) == 0:
		out = append(out, "email restriction removed")
	default:
		out = append(out, "email restriction → "+strings.Join(got, ", "))
	}
	var exp time.Time
	if c.DateExpiresGMT != nil {
		exp = c.DateExpiresGMT.Time
	}
	const layout = "2006-01-02 15:04:05Z"
	switch {
	case is.ExpiresAt.IsZero() && exp.IsZero():
	case exp.IsZero():
		out = append(out, "expiry removed (was "+is.ExpiresAt.UTC().Format(layout)+")")
	case is.ExpiresAt.IsZero():
		out = append(out, "expiry added: "+exp.UTC().Format(layout))
	case exp.Sub(is.ExpiresAt).Abs() >= time.Second:
		out = append(out, "expiry moved "+is.ExpiresAt.UTC().Format(layout)+" → "+exp.UTC().Format(layout))
	}
	return strings.Join(out, "; ")
}

// syncOrders reads the orders created since the campaign's first coupon
// (only those modified since the previous read, unless full) and records
// every use of a code of the ledger it finds.
func (s *Syncer) syncOrders(ctx context.Context, campaign string, full bool, res *SyncResult) error {
	first, err := s.Ledger.firstIssued(ctx, campaign)
	if err != nil || first.IsZero() {
		return err
	}
	opts := &woo.OrderListOptions{ListOptions: woo.ListOptions{PerPage: 100}, After: first.Add(-time.Minute), OrderBy: "id", Order: "asc"}
	if !full {
		_, last, err := s.Ledger.syncWatermarks(ctx, campaign)
		if err != nil {
			return err
		}
		if !last.IsZero() {
			opts.ModifiedAfter = last.Add(-orderOverlap)
		}
	}
	cache := map[string]codeOwner{}
	var batch []orderLine
	flush := func() error {
		err := s.Ledger.saveOrderLines(ctx, batch)
		batch = batch[:0]
		return err
	}
	for o, err := range s.Orders.All(ctx, opts) {
		if err != nil {
			return err
		}
		res.OrdersRead++
		lines, err := s.orderLines(ctx, o, cache)
		if err != nil {
			return err
		}
		res.OrderLines += len(lines)
		batch = append(batch, lines...)
		if len(batch) >= 200 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

type codeOwner struct {
	issueID  int64
	campaign string
	ok       bool
}

// orderLines returns the lines of o whose code is in the ledger (any
// campaign), codes compared lowercased as WooCommerce does.
func (s *Syncer) orderLines(ctx context.Context, o woo.Order, cache map[string]codeOwner) ([]orderLine, error) {
	var out []orderLine
	for _, cl := range o.CouponLines {
		key := CodeKey(strings.TrimSpace(cl.Code))
		owner, seen := cache[key]
		if !seen {
			id, camp, ok, err := s.Ledger.issueByCodeKey(ctx, key)
			if err != nil {
				return nil, err
			}
			owner = codeOwner{issueID: id, campaign: camp, ok: ok}
			if len(cache) < 100_000 {
				cache[key] = owner
			}
		}
		if !owner.ok {
			continue
		}
		total, err := ParseMoney(o.Total)
		if err != nil {
			return nil, fmt.Errorf("order %d: total: %w", o.ID, err)
		}
		discount, err := ParseMoney(cl.Discount)
		if err != nil {
			return nil, fmt.Errorf("order %d: coupon line %s: discount: %w", o.ID, MaskCode(cl.Code), err)
		}
		var created time.Time
		if o.DateCreatedGMT != nil {
			created = o.DateCreatedGMT.Time
		}
		out = append(out, orderLine{
			OrderID: o.ID, CodeKey: key, Campaign: owner.campaign, IssueID: owner.issueID, Status: o.Status,
			Currency: o.Currency, Total: total.String(), Discount: discount.String(), CreatedAt: created,
		})
	}
	return out, nil
}
