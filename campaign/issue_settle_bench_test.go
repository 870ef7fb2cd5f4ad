package campaign

import (
	"fmt"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// BenchmarkSettleUnclearBatch measures the store requests it takes to
// settle a batch of 100 whose answer was lost, while a second batch of the
// campaign was created at the same time (two batches in flight, the
// default): 60 of its coupons exist, 40 never got created.
func BenchmarkSettleUnclearBatch(b *testing.B) {
	h := newIssHarness(b, nil)
	ctx := b.Context()
	opts := issOptions()
	opts.BatchSize = 100
	opts.UnclearHold = time.Nanosecond // the store is done: decide absent codes now
	var requests int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		c := issCampaign(fmt.Sprintf("settle%d", i))
		c.Codes.Prefix = fmt.Sprintf("S%d-", i)
		is, err := NewIssuer(h.ledger, h.client.Coupons, h.mail, opts)
		if err != nil {
			b.Fatal(err)
		}
		r, err := is.start(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		fp, _ := c.fingerprint()
		if err := h.ledger.ensureCampaign(ctx, c.Name, fp, false); err != nil {
			b.Fatal(err)
		}
		if err := r.plan(ctx, issSource(b, issCSV(200))); err != nil {
			b.Fatal(err)
		}
		unclear, last, err := r.claimBatch(ctx, 0)
		if err != nil {
			b.Fatal(err)
		}
		other, _, err := r.claimBatch(ctx, last)
		if err != nil {
			b.Fatal(err)
		}
		var coupons []woo.Coupon
		for _, p := range append(unclear[:60:60], other...) {
			coupons = append(coupons, p.asked)
		}
		if _, err := h.client.Coupons.Batch(ctx, &woo.CouponBatch{Create: coupons}); err != nil {
			b.Fatal(err)
		}
		before := h.store.Stats().Requests
		b.StartTimer()

		if err := r.settleRows(ctx, unclear, false, nil, 0); err != nil {
			b.Fatal(err)
		}

		b.StopTimer()
		requests += h.store.Stats().Requests - before
		if got := r.counts; got.Adopted != 60 || got.Requeued != 40 {
			b.Fatalf("settled %+v; want 60 adopted, 40 sent again", got)
		}
		b.StartTimer()
	}
	perBatch := float64(requests) / float64(b.N)
	b.ReportMetric(perBatch, "requests/batch")
	if perBatch > 3 {
		b.Errorf("%.1f requests to settle an unclear batch of 100; want at most 3", perBatch)
	}
}
