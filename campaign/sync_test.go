package campaign

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

const hour = time.Hour

// seedRedemptions issues campaign spring to five recipients and vip to two,
// then, at known instants: a and b use their codes (processing, completed),
// c uses hers and the order is cancelled after a sync saw it, vip's f uses
// his on-hold, g (vip) places a pending order. It returns the spring coupons.
func seedRedemptions(t *testing.T, e *trackingEnv) (spring, vip []issued) {
	t0 := e.clock.Now()
	expires := time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC)
	spring = e.issue("spring", false, expires, "a@shop.test", "b@shop.test", "c@shop.test", "d@shop.test", "e@shop.test")
	vip = e.issue("vip", false, expires, "f@shop.test", "g@shop.test")
	e.clock.Set(t0.Add(48 * hour))
	e.order("a@shop.test", "50.00", "processing", spring[0].Code)
	e.clock.Set(t0.Add(72 * hour))
	e.order("b@shop.test", "30.00", "completed", strings.ToLower(spring[1].Code))
	e.order("f@shop.test", "80.00", "on-hold", vip[0].Code)
	e.order("g@shop.test", "20.00", "pending", vip[1].Code)
	e.clock.Set(t0.Add(96 * hour))
	cancelled := e.order("c@shop.test", "40.00", "processing", spring[2].Code)
	e.clock.Set(t0.Add(100 * hour))
	if _, err := e.syncer().SyncAll(e.ctx, SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(120 * hour))
	if err := e.store.SetOrderStatus(cancelled, "cancelled"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(144 * hour))
	return spring, vip
}

func TestSyncAttributesRedemptionsOrdersRevenueExactly(t *testing.T) {
	e := newTrackingEnv(t)
	spring, _ := seedRedemptions(t, e)
	res, err := e.syncer().Sync(e.ctx, "spring", SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked != 5 || res.Redeemed != 2 || res.UseReturned != 1 || res.NewRedeemed != 0 {
		t.Errorf("sync result = %+v; want checked 5, redeemed 2, use returned 1, nothing newly redeemed", res)
	}
	a := e.tracked("spring", spring[0].Email)
	if a.RedeemedAt.IsZero() || a.UsageCount != 1 {
		t.Errorf("a: redeemed %v usage %d; want redeemed, usage 1", a.RedeemedAt, a.UsageCount)
	}
	// First seen at +100h, dated back to the order at +48h.
	if want := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC); !a.RedeemedAt.Equal(want) {
		t.Errorf("a redeemed at %v, want the order's date %v", a.RedeemedAt, want)
	}
	c := e.tracked("spring", spring[2].Email)
	if !c.RedeemedAt.IsZero() || !c.UseReturned || c.UsageCount != 0 {
		t.Errorf("c after cancellation: redeemed %v, use returned %v, usage %d; want unredeemed, returned, 0", c.RedeemedAt, c.UseReturned, c.UsageCount)
	}

	rep, err := e.ledger.BuildReport(e.ctx, e.clock.Now(), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Campaigns) != 2 {
		t.Fatalf("report campaigns = %d, want 2", len(rep.Campaigns))
	}
	sp := rep.Campaigns[0]
	// a: 50 - 5 = 45.00 (processing); b: 30 - 5 = 25.00 (completed); c's order cancelled.
	checks := []struct {
		name      string
		got, want any
	}{
		{"issued", sp.Issued, 5}, {"emailed", sp.Emailed, 5}, {"failed", sp.Failed, 0}, {"redeemed", sp.Redeemed, 2},
		{"rate", sp.RedemptionRate, 0.4}, {"orders", sp.Orders, 2}, {"revenue", sp.Revenue.String(), "70.00"},
		{"discount", sp.DiscountCost.String(), "10.00"}, {"currency", sp.Currency, "EUR"},
		{"use returned", sp.UseReturned, 1}, {"median days (2, 3)", *sp.MedianDaysToRedeem, 2.5},
		{"daily", sp.Daily, []DayCount{{"2026-03-01", 5, 0}, {"2026-03-02", 0, 0}, {"2026-03-03", 0, 1}, {"2026-03-04", 0, 1}}},
	}
	vp := rep.Campaigns[1]
	checks = append(checks, []struct {
		name      string
		got, want any
	}{
		// f on-hold counts; g's pending order holds the use but brings no revenue yet.
		{"vip redeemed", vp.Redeemed, 2}, {"vip orders", vp.Orders, 1}, {"vip revenue", vp.Revenue.String(), "75.00"},
		{"vip discount", vp.DiscountCost.String(), "5.00"},
	}...)
	for _, c := range checks {
		if gs, ws := strings.TrimSpace(sprint(c.got)), strings.TrimSpace(sprint(c.want)); gs != ws {
			t.Errorf("%s = %s, want %s", c.name, gs, ws)
		}
	}
}

func TestSyncAgainCountsEveryOrderOnce(t *testing.T) {
	e := newTrackingEnv(t)
	seedRedemptions(t, e)
	s := e.syncer()
	for i := range 3 {
		if _, err := s.Sync(e.ctx, "spring", SyncOptions{FullOrders: i == 2}); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(hour)
	}
	rep, err := e.ledger.BuildReport(e.ctx, e.clock.Now(), time.UTC, "spring")
	if err != nil {
		t.Fatal(err)
	}
	if sp := rep.Campaigns[0]; sp.Orders != 2 || sp.Revenue.String() != "70.00" || sp.DiscountCost.String() != "10.00" {
		t.Errorf("after three syncs: orders %d revenue %s discount %s; want 2, 70.00, 10.00", sp.Orders, sp.Revenue, sp.DiscountCost)
	}
	var n int
	if err := e.ledger.db.QueryRow(`SELECT count(*) FROM coupon_orders WHERE campaign = 'spring'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("order lines stored = %d, want 3 (a, b, and c's cancelled one)", n)
	}
}

func TestSyncIncrementalReadsOrdersChangedSinceLastSync(t *testing.T) {
	e := newTrackingEnv(t)
	spring := e.issue("spring", false, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "a@shop.test", "b@shop.test")
	s := e.syncer()
	if _, err := s.Sync(e.ctx, "spring", SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(48 * hour)
	id := e.order("a@shop.test", "50.00", "processing", spring[0].Code)
	e.clock.Add(hour)
	res, err := s.Sync(e.ctx, "spring", SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OrdersRead != 1 || res.OrderLines != 1 || res.NewRedeemed != 1 {
		t.Errorf("second sync: %+v; want 1 order read, 1 line, 1 newly redeemed", res)
	}
	e.clock.Add(48 * hour)
	e.order("b@shop.test", "10.00", "processing") // an unrelated order, no coupon
	e.clock.Add(hour)
	res, err = s.Sync(e.ctx, "spring", SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OrdersRead != 1 || res.OrderLines != 0 {
		t.Errorf("third sync read %d orders (%d lines); want only the new order, without lines", res.OrdersRead, res.OrderLines)
	}
	e.clock.Add(hour)
	if err := e.store.SetOrderStatus(id, "cancelled"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(hour)
	if res, err = s.Sync(e.ctx, "spring", SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	if res.UseReturned != 1 || res.OrderLines != 1 {
		t.Errorf("after cancellation: %+v; want the use returned and the order re-read", res)
	}
	rep, _ := e.ledger.BuildReport(e.ctx, e.clock.Now(), time.UTC)
	if sp := rep.Campaigns[0]; sp.Orders != 0 || sp.Revenue != 0 || sp.Redeemed != 0 {
		t.Errorf("report after cancellation: orders %d revenue %s redeemed %d; want 0", sp.Orders, sp.Revenue, sp.Redeemed)
	}
}

func TestSyncFlagsCouponsChangedOrDeletedInTheStore(t *testing.T) {
	e := newTrackingEnv(t)
	exp := time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC)
	cs := e.issue("spring", false, exp, "a@shop.test", "b@shop.test", "c@shop.test", "d@shop.test", "e@shop.test")
	zero := 0
	two := 2
	later := woo.NewTime(exp.Add(30 * 24 * hour))
	for _, p := range []struct {
		id    int64
		patch woo.CouponPatch
	}{
		{cs[0].CouponID, woo.CouponPatch{UsageLimit: &zero, EmailRestrictions: []string{}}},
		{cs[1].CouponID, woo.CouponPatch{DateExpires: later}},
		{cs[2].CouponID, woo.CouponPatch{UsageLimitPerUser: &two, EmailRestrictions: []string{"someone@else.test"}}},
	} {
		if _, err := e.client.Coupons.Update(e.ctx, p.id, &p.patch); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.client.Coupons.Delete(e.ctx, cs[3].CouponID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Coupons.Delete(e.ctx, cs[4].CouponID, false); err != nil { // trash
		t.Fatal(err)
	}
	e.clock.Add(hour)
	res, err := e.syncer().Sync(e.ctx, "spring", SyncOptions{SkipOrders: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 3 || res.NewChanged != 3 || res.Deleted != 2 || res.NewDeleted != 2 {
		t.Errorf("sync result %+v; want 3 changed, 2 deleted, all new", res)
	}
	for i, want := range []string{
		"usage_limit 1 → unlimited; email restriction removed",
		"expiry moved 2026-03-31 23:59:59Z → 2026-04-30 23:59:59Z",
		"usage_limit_per_user 1 → 2; email restriction → someone@else.test",
	} {
		if got := e.tracked("spring", cs[i].Email); got.Changes != want {
			t.Errorf("%s: changes %q, want %q", cs[i].Email, got.Changes, want)
		}
	}
	for _, i := range []int{3, 4} {
		if got := e.tracked("spring", cs[i].Email); !got.Deleted || got.DeletedAt.IsZero() {
			t.Errorf("%s: deleted %v at %v; want deleted", cs[i].Email, got.Deleted, got.DeletedAt)
		}
	}
	b := e.tracked("spring", cs[1].Email)
	if !b.StoreExpiresAt.Equal(later.Time) {
		t.Errorf("store expiry %v, want %v", b.StoreExpiresAt, later.Time)
	}
	// A second sync reports them again but not as new.
	res, err = e.syncer().Sync(e.ctx, "spring", SyncOptions{SkipOrders: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed != 3 || res.NewChanged != 0 || res.Deleted != 2 || res.NewDeleted != 0 {
		t.Errorf("second sync %+v; want 3 changed, 2 deleted, none new", res)
	}
}

func TestSyncCountsExpiredUnusedCoupons(t *testing.T) {
	e := newTrackingEnv(t)
	cs := e.issue("short", false, time.Date(2026, 3, 2, 23, 59, 59, 0, time.UTC), "a@shop.test", "b@shop.test")
	e.order("a@shop.test", "20.00", "completed", cs[0].Code)
	e.clock.Set(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
	res, err := e.syncer().Sync(e.ctx, "short", SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Expired != 1 || res.Redeemed != 1 {
		t.Errorf("result %+v; want 1 expired (b) and 1 redeemed (a)", res)
	}
}

func TestSyncOfUnknownCampaignFails(t *testing.T) {
	e := newTrackingEnv(t)
	if _, err := e.syncer().Sync(e.ctx, "nope", SyncOptions{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("err = %v, want one naming the unknown campaign", err)
	}
}

func TestCouponChangesOfExportOnlyCampaignIgnoreMissingEmail(t *testing.T) {
	one := 1
	exp := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	c := &woo.Coupon{UsageLimit: &one, UsageLimitPerUser: &one, DateExpiresGMT: woo.NewTime(exp)}
	if got := couponChanges(Issue{Email: "export-0000001", ExpiresAt: exp}, c, true, nil); got != "" {
		t.Errorf("export-only coupon as asked: changes %q, want none", got)
	}
	c.DateExpiresGMT = nil
	if got := couponChanges(Issue{Email: "x@y.test", ExpiresAt: exp}, c, false, nil); got != "email restriction removed; expiry removed (was 2026-03-31 00:00:00Z)" {
		t.Errorf("changes %q", got)
	}
}

func sprint(v any) string { return fmt.Sprint(v) }

func TestObserveTracksUseButNotChangesOfFailedRows(t *testing.T) {
	now := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	c := &woo.Coupon{ID: 7, UsageCount: 1} // no limits, no restriction, no expiry
	failed := TrackedIssue{Issue: Issue{State: StateFailed, Email: "a@shop.test", ExpiresAt: now}}
	got, ev := observe(failed, c, false, nil, now)
	if got.Changes != "" || ev.changed || !ev.redeemed || got.RedeemedAt != now {
		t.Errorf("failed row: changes %q redeemed %v; want no changes, redeemed now", got.Changes, got.RedeemedAt)
	}
	emailed := failed
	emailed.State = StateEmailed
	if got, _ := observe(emailed, c, false, nil, now); got.Changes == "" {
		t.Error("emailed row with loosened coupon: no changes flagged")
	}
}

func TestSyncFlagsAmountChangedByHandWhenTheCampaignIsKnown(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome") // 5.00 fixed_cart
	e.issueWithPipeline(c, mail, "ann@shop.test", "bob@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	fifty := "50"
	if _, err := e.client.Coupons.Update(e.ctx, ann.CouponID, &woo.CouponPatch{Amount: &fifty}); err != nil {
		t.Fatal(err)
	}
	s := e.syncer()
	s.Campaigns = map[string]Campaign{"welcome": c}
	res, err := s.Sync(e.ctx, "welcome", SyncOptions{SkipOrders: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.tracked("welcome", "ann@shop.test").Changes; res.Changed != 1 || got != "amount 5.00 → 50.00" {
		t.Errorf("changed %d, ann's changes %q; want 1, amount 5.00 → 50.00", res.Changed, got)
	}
	// Settings edited since the coupons were issued: amounts are not compared.
	edited := c
	edited.Coupon.Amount = "7"
	s.Campaigns = map[string]Campaign{"welcome": edited}
	if res, err = s.Sync(e.ctx, "welcome", SyncOptions{SkipOrders: true}); err != nil || res.Changed != 0 {
		t.Errorf("with edited settings: changed %d, %v; want 0", res.Changed, err)
	}
}
