package campaign

import (
	"context"
	"fmt"
	"iter"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// generatedOrders yields n paid orders spread over customers, one page at a
// time as the store would, without holding them.
type generatedOrders struct {
	n, customers int
	now          time.Time
}

func (g generatedOrders) All(ctx context.Context, opts *woo.OrderListOptions) iter.Seq2[woo.Order, error] {
	return func(yield func(woo.Order, error) bool) {
		for i := range g.n {
			// Spread over the last 200 days, oldest first.
			at := g.now.Add(-time.Duration(float64(g.n-i) / float64(g.n) * float64(200*24*time.Hour))).Truncate(time.Second)
			if !opts.After.IsZero() && !at.After(opts.After) || !opts.Before.IsZero() && !at.Before(opts.Before) {
				continue
			}
			c := i % g.customers
			if c < g.customers/2 && at.After(g.now.AddDate(0, 0, -75)) {
				c += g.customers / 2 // the first half lapsed 75 days ago
			}
			o := woo.Order{ID: int64(i + 1), Status: "completed", DateCreatedGMT: &woo.Time{Time: at},
				Billing: woo.Address{Email: fmt.Sprintf("c%d@example.com", c), FirstName: "C"}}
			if !yield(o, nil) {
				return
			}
		}
	}
}

// BenchmarkInactiveCustomersOrderScan measures the win-back order scan. Its
// memory grows with the customers active in the window, not with the orders:
// compare the heap retained at the end of the scan (heap-MiB) for 10k and
// 100k orders over the same 2,000 customers.
func BenchmarkInactiveCustomersOrderScan(b *testing.B) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("orders=%d", n), func(b *testing.B) {
			src := &InactiveCustomersSource{Orders: generatedOrders{n: n, customers: 2000, now: now}, MinOrders: 2}
			var peak uint64
			for b.Loop() {
				found := 0
				var ms runtime.MemStats
				runtime.GC()
				for _, err := range src.Candidates(context.Background(), &SourceScan{Now: now, Logger: slog.New(slog.DiscardHandler)}) {
					if err != nil {
						b.Fatal(err)
					}
					if found == 0 {
						// What the scan holds at its end: the aggregates.
						runtime.GC()
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapInuse)
					}
					found++
				}
				if found == 0 {
					b.Fatal("no candidates")
				}
			}
			b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(n)/b.Elapsed().Seconds()*float64(b.N), "orders/s")
		})
	}
}
