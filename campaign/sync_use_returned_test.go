package campaign

import (
	"testing"
	"time"
)

// TestReportCountsAUseGivenBackBetweenTwoSyncs: a code redeemed and its
// order cancelled between two syncs is never seen used; the cancelled order
// in the ledger still makes it a use given back.
func TestReportCountsAUseGivenBackBetweenTwoSyncs(t *testing.T) {
	e := newTrackingEnv(t)
	t0 := e.clock.Now()
	codes := e.issue("spring", false, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "a@shop.test", "b@shop.test")
	if _, err := e.syncer().Sync(e.ctx, "spring", SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(24 * hour))
	id := e.order("a@shop.test", "40.00", "processing", codes[0].Code)
	e.clock.Set(t0.Add(26 * hour))
	if err := e.store.SetOrderStatus(id, "cancelled"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(t0.Add(48 * hour))
	if _, err := e.syncer().Sync(e.ctx, "spring", SyncOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.ledger.BuildReport(e.ctx, e.clock.Now(), time.UTC, "spring")
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Campaigns[0]
	if r.UseReturned != 1 || r.Redeemed != 0 || r.Orders != 0 {
		t.Errorf("report: use returned %d, redeemed %d, orders %d; want 1, 0, 0", r.UseReturned, r.Redeemed, r.Orders)
	}
}
