package woo_test

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// BenchmarkBatchThroughput measures how many coupons per second the client
// pushes through Batch into a store that answers 429 above R requests per
// second, with the client's rate ceiling set to the same R (burst 1).
//
// The target is at least 95% of the ceiling R×100 coupons per second with
// no 429s and a request rate that stays at or below R (R×T + 1 requests in
// T seconds: the limiter's burst of one). Metrics:
//
//	coupons/s         coupons created per second of wall time
//	ratio_of_ceiling  coupons/s ÷ (R×100)
//	req/s             batch requests per second (mean over the run)
//	peak_rps          most requests the store saw within one second
//	throttled         429 answers the store sent
func BenchmarkBatchThroughput(b *testing.B) {
	const (
		rps       = 20                 // R: the store's limit and the client's ceiling
		perBatch  = 100                // WooCommerce's default batch limit
		perCall   = 5 * rps * perBatch // about 5 s of requests per Batch call
		ceilingCS = rps * perBatch
	)
	store := wootest.NewStore()
	store.SetFaults(wootest.Faults{RateLimitRPS: rps, RetryAfter: true})
	srv := httptest.NewTLSServer(store)
	defer srv.Close()
	client, err := woo.NewClient(srv.URL,
		woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithHTTPClient(srv.Client()),
		woo.WithRateLimit(rps, 1),
		woo.WithBatchSize(perBatch),
	)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	seq := 0
	newBatch := func() *woo.CouponBatch {
		batch := &woo.CouponBatch{Create: make([]woo.Coupon, perCall)}
		for i := range batch.Create {
			seq++
			batch.Create[i] = woo.Coupon{Code: fmt.Sprintf("bench-%08d", seq), Amount: "5", DiscountType: "percent"}
		}
		return batch
	}
	// Warm up: one request takes the limiter's initial token and opens the
	// TLS connection, so the run measures the sustained rate.
	warm := &woo.CouponBatch{Create: []woo.Coupon{{Code: "bench-warmup", Amount: "5"}}}
	if _, err := client.Coupons.Batch(ctx, warm); err != nil {
		b.Fatal(err)
	}
	created := 0
	reqBefore := store.Stats().Requests
	start := time.Now()
	for b.Loop() {
		res, err := client.Coupons.Batch(ctx, newBatch())
		if err != nil {
			b.Fatal(err)
		}
		for i, it := range res.Create {
			if it.Err != nil {
				b.Fatalf("item %d: %v", i, it.Err)
			}
			created++
		}
	}
	// Wall time, batch building included (about a millisecond per call).
	elapsed := time.Since(start).Seconds()
	st := store.Stats()
	requests := st.Requests - reqBefore
	cps := float64(created) / elapsed
	b.ReportMetric(cps, "coupons/s")
	b.ReportMetric(cps/ceilingCS, "ratio_of_ceiling")
	b.ReportMetric(float64(requests)/elapsed, "req/s")
	b.ReportMetric(st.PeakRPS, "peak_rps")
	b.ReportMetric(float64(st.Throttled), "throttled")
	b.Logf("R=%d: %d coupons in %.2fs = %.0f coupons/s (%.1f%% of %d), %.2f req/s, peak %.0f in 1s, %d×429",
		rps, created, elapsed, cps, 100*cps/ceilingCS, ceilingCS, float64(requests)/elapsed, st.PeakRPS, st.Throttled)
	if st.Throttled > 0 {
		b.Errorf("store sent %d 429s: the client exceeded R=%d", st.Throttled, rps)
	}
	// A token bucket of burst 1 allows R×T + 1 requests in T seconds.
	if limit := rps*elapsed + 1; float64(requests) > limit {
		b.Errorf("%d requests in %.2fs: more than R×T+1 = %.1f", requests, elapsed, limit)
	}
	if r := cps / ceilingCS; r < 0.95 {
		b.Errorf("throughput %.0f coupons/s is %.1f%% of the ceiling %d, want ≥ 95%%", cps, 100*r, ceilingCS)
	}
}

// BenchmarkSettleUnclearBatch measures how many requests FindCodes needs
// to settle an unclear batch of 100 codes in a store that holds 2,000
// other coupons of earlier campaigns: the target is at most 3 (issue 9;
// one by one it was 100 lookups). Metric: requests/batch.
func BenchmarkSettleUnclearBatch(b *testing.B) {
	store := wootest.NewStore()
	srv := httptest.NewTLSServer(store)
	defer srv.Close()
	client, err := woo.NewClient(srv.URL,
		woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithHTTPClient(srv.Client()),
		woo.WithRateLimit(1000, 100),
	)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	create := func(prefix string, n int) []string {
		codes := make([]string, n)
		batch := &woo.CouponBatch{Create: make([]woo.Coupon, n)}
		for i := range n {
			codes[i] = fmt.Sprintf("%s%06d", prefix, i)
			batch.Create[i] = woo.Coupon{Code: codes[i], Amount: "5"}
		}
		res, err := client.Coupons.Batch(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, it := range res.Create {
			if it.Err != nil {
				b.Fatal(it.Err)
			}
		}
		return codes
	}
	create("winter25-", 2000)
	sent := time.Now().Add(-time.Minute)
	codes := create("spring26-", 100)
	var requests int64
	for b.Loop() {
		before := store.Stats().Requests
		found, err := client.Coupons.FindCodes(ctx, codes, &woo.FindCodesOptions{ModifiedAfter: sent})
		if err != nil {
			b.Fatal(err)
		}
		if len(found) != len(codes) {
			b.Fatalf("found %d of %d codes", len(found), len(codes))
		}
		requests += store.Stats().Requests - before
	}
	perBatch := float64(requests) / float64(b.N)
	b.ReportMetric(perBatch, "requests/batch")
	if perBatch > 3 {
		b.Errorf("%.1f requests to settle a batch of 100, want at most 3", perBatch)
	}
}
