package campaign

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// recordingStore passes calls to the store and records every delete batch.
type recordingStore struct {
	PruneStore
	mu      sync.Mutex
	batches [][]int64
}

func (r *recordingStore) Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(b.Delete))
	r.mu.Unlock()
	return r.PruneStore.Batch(ctx, b)
}

// seedPrune issues six coupons expiring 2026-03-02 and one campaign that
// expires in June, then: a is used, b's meta tag is changed by hand, c's
// expiry is moved to December by hand; d, e and f are left to expire. A
// coupon created by someone else carries couponbridge's tags but has no
// ledger row. The clock ends on 2026-03-20.
func seedPrune(t *testing.T, e *trackingEnv) (old, fresh []issued, foreign int64) {
	old = e.issue("old", false, time.Date(2026, 3, 2, 23, 59, 59, 0, time.UTC),
		"a@shop.test", "b@shop.test", "c@shop.test", "d@shop.test", "e@shop.test", "f@shop.test")
	fresh = e.issue("fresh", false, time.Date(2026, 6, 30, 23, 59, 59, 0, time.UTC), "g@shop.test", "h@shop.test")
	e.order("a@shop.test", "50.00", "completed", old[0].Code)
	if _, err := e.client.Coupons.Update(e.ctx, old[1].CouponID, &woo.CouponPatch{
		MetaData: []woo.Meta{{Key: MetaCampaign, Value: "imported-by-hand"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Coupons.Update(e.ctx, old[2].CouponID, &woo.CouponPatch{
		DateExpires: woo.NewTime(time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC))}); err != nil {
		t.Fatal(err)
	}
	f, err := e.client.Coupons.Create(e.ctx, &woo.Coupon{Code: "HANDMADE-1", Amount: "5",
		DateExpires: woo.NewTime(time.Date(2026, 3, 2, 23, 59, 59, 0, time.UTC)),
		MetaData:    []woo.Meta{{Key: MetaCampaign, Value: "old"}, {Key: MetaRecipient, Value: "z@shop.test"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC))
	return old, fresh, f.ID
}

func itemsByAction(r PruneResult) map[PruneAction][]string {
	out := map[PruneAction][]string{}
	for _, it := range r.Items {
		out[it.Action] = append(out[it.Action], it.Email)
	}
	return out
}

func TestPruneWithoutApplyListsAndDeletesNothing(t *testing.T) {
	e := newTrackingEnv(t)
	seedPrune(t, e)
	before := len(e.store.Coupons())
	rec := &recordingStore{PruneStore: e.client.Coupons}
	p := &Pruner{Ledger: e.ledger, Store: rec, Now: e.clock.Now}
	res, err := p.Prune(e.ctx, "old", PruneOptions{GraceDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	got := itemsByAction(res)
	if want := []string{"d@shop.test", "e@shop.test", "f@shop.test"}; !slices.Equal(got[PruneWouldDelete], want) {
		t.Errorf("would delete %v, want %v", got[PruneWouldDelete], want)
	}
	if want := []string{"a@shop.test", "b@shop.test", "c@shop.test"}; !slices.Equal(got[PruneKept], want) {
		t.Errorf("kept %v, want %v", got[PruneKept], want)
	}
	if len(rec.batches) != 0 || len(e.store.Coupons()) != before {
		t.Errorf("a dry run sent %d batches and left %d of %d coupons; want none sent, all left", len(rec.batches), len(e.store.Coupons()), before)
	}
	if st := e.tracked("old", "d@shop.test").State; st != StateEmailed {
		t.Errorf("d's state after a dry run = %s, want emailed", st)
	}
}

func TestPruneDeletesOnlyExpiredUnusedCouponsItCreatedInBatches(t *testing.T) {
	e := newTrackingEnv(t)
	old, fresh, foreign := seedPrune(t, e)
	rec := &recordingStore{PruneStore: e.client.Coupons}
	p := &Pruner{Ledger: e.ledger, Store: rec, Now: e.clock.Now}
	res, err := p.Prune(e.ctx, "old", PruneOptions{GraceDays: 7, Apply: true, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := itemsByAction(res)
	if want := []string{"d@shop.test", "e@shop.test", "f@shop.test"}; !slices.Equal(got[PruneDeleted], want) {
		t.Errorf("deleted %v, want %v (items %+v)", got[PruneDeleted], want, res.Items)
	}
	reasons := map[string]string{}
	for _, it := range res.Items {
		reasons[it.Email] = it.Reason
	}
	for email, want := range map[string]string{
		"a@shop.test": "used (usage_count 1)",
		"c@shop.test": "expiry in the store is 2026-12-31T23:59:59Z, within the grace period",
	} {
		if reasons[email] != want {
			t.Errorf("%s kept because %q, want %q", email, reasons[email], want)
		}
	}
	if r := reasons["b@shop.test"]; r == "" || !strings.Contains(r, "not created by couponbridge for this row") {
		t.Errorf("b kept because %q, want a meta mismatch", r)
	}
	// Pages of 2 candidates: (a, b) nothing, (c, d) → d, (e, f) → e, f.
	if want := [][]int64{{old[3].CouponID}, {old[4].CouponID, old[5].CouponID}}; !slices.EqualFunc(rec.batches, want, slices.Equal) {
		t.Errorf("delete batches %v, want %v", rec.batches, want)
	}
	left := map[int64]bool{}
	for _, c := range e.store.Coupons() {
		left[c.ID] = true
	}
	for _, c := range append(append([]issued{}, old[:3]...), fresh...) {
		if !left[c.CouponID] {
			t.Errorf("coupon of %s (%d) was deleted; it must stay", c.Email, c.CouponID)
		}
	}
	if !left[foreign] {
		t.Error("a coupon without a ledger row was deleted")
	}
	for _, c := range old[3:] {
		if left[c.CouponID] {
			t.Errorf("coupon of %s is still in the store", c.Email)
		}
		ti := e.tracked("old", c.Email)
		if ti.State != StatePruned || !ti.PrunedAt.Equal(e.clock.Now()) || ti.Code != c.Code || ti.EmailedAt.IsZero() {
			t.Errorf("%s row: state %s pruned_at %v code %s emailed %v; want pruned now with its history kept",
				c.Email, ti.State, ti.PrunedAt, ti.Code, ti.EmailedAt)
		}
	}
	// Again: nothing left to delete.
	rec.batches = nil
	res, err = p.Prune(e.ctx, "old", PruneOptions{GraceDays: 7, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(PruneDeleted) != 0 || len(rec.batches) != 0 {
		t.Errorf("second prune deleted %d in %d batches; want nothing", res.Count(PruneDeleted), len(rec.batches))
	}
	rep, err := e.ledger.BuildReport(e.ctx, e.clock.Now(), time.UTC, "old")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Campaigns[0].Pruned != 3 || rep.Campaigns[0].Issued != 6 {
		t.Errorf("report: pruned %d issued %d; want 3 and 6", rep.Campaigns[0].Pruned, rep.Campaigns[0].Issued)
	}
}

func TestPruneRespectsTheGracePeriod(t *testing.T) {
	e := newTrackingEnv(t)
	seedPrune(t, e)
	rec := &recordingStore{PruneStore: e.client.Coupons}
	p := &Pruner{Ledger: e.ledger, Store: rec, Now: e.clock.Now}
	// Expired on the 2nd, now is the 20th: 30 days of grace keep everything.
	res, err := p.Prune(e.ctx, "old", PruneOptions{GraceDays: 30, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 0 || len(rec.batches) != 0 {
		t.Errorf("with 30 days of grace: items %+v, batches %d; want none", res.Items, len(rec.batches))
	}
	res, err = p.Prune(e.ctx, "fresh", PruneOptions{GraceDays: 0, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 0 {
		t.Errorf("unexpired campaign: items %+v, want none", res.Items)
	}
}

func TestPruneRecordsCouponsDeletedBySomeoneElse(t *testing.T) {
	e := newTrackingEnv(t)
	old, _, _ := seedPrune(t, e)
	if _, err := e.client.Coupons.Delete(e.ctx, old[3].CouponID, true); err != nil {
		t.Fatal(err)
	}
	p := &Pruner{Ledger: e.ledger, Store: e.client.Coupons, Now: e.clock.Now}
	res, err := p.Prune(e.ctx, "old", PruneOptions{GraceDays: 7, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := itemsByAction(res); !slices.Equal(got[PruneGone], []string{"d@shop.test"}) || len(got[PruneDeleted]) != 2 {
		t.Errorf("items %v; want d gone, e and f deleted", got)
	}
	if ti := e.tracked("old", "d@shop.test"); ti.State == StatePruned || !ti.Deleted {
		t.Errorf("d: state %s deleted %v; want not pruned, deleted in the store", ti.State, ti.Deleted)
	}
}

func TestPruneRefusesBadOptions(t *testing.T) {
	e := newTrackingEnv(t)
	p := &Pruner{Ledger: e.ledger, Store: e.client.Coupons}
	for _, o := range []PruneOptions{{GraceDays: -1}, {BatchSize: 101}} {
		if _, err := p.Prune(e.ctx, "x", o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if _, err := p.Prune(e.ctx, "nope", PruneOptions{}); err == nil {
		t.Error("unknown campaign accepted")
	}
}

func TestPruneDeletesExpiredExportOnlyCoupons(t *testing.T) {
	e := newTrackingEnv(t)
	ex := e.issue("handouts", true, time.Date(2026, 3, 2, 23, 59, 59, 0, time.UTC), "export-0000001", "export-0000002")
	e.order("someone@shop.test", "20.00", "completed", ex[1].Code)
	e.clock.Set(time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC))
	p := &Pruner{Ledger: e.ledger, Store: e.client.Coupons, Now: e.clock.Now}
	res, err := p.Prune(e.ctx, "handouts", PruneOptions{GraceDays: DefaultPruneGraceDays, Apply: true})
	if err != nil {
		t.Fatal(err)
	}
	got := itemsByAction(res)
	if !slices.Equal(got[PruneDeleted], []string{"export-0000001"}) || !slices.Equal(got[PruneKept], []string{"export-0000002"}) {
		t.Errorf("items %v; want the unused handout deleted and the used one kept", got)
	}
}
