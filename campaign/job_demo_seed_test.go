package campaign

import (
	"context"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo/wootest"
)

// TestSeededSandboxGivesWelcomeAndWinbackJobsPeople pins down what
// `sandbox --seed-demo` is for: the default welcome and win-back jobs find
// people in it, and leave out the ones they should.
func TestSeededSandboxGivesWelcomeAndWinbackJobsPeople(t *testing.T) {
	for _, analytics := range []bool{true, false} {
		store, client := jobStore(t, wootest.WithAnalytics(analytics))
		now := time.Now().UTC()
		sum, seeded, err := store.SeedDemo(now, 1)
		if err != nil || !seeded {
			t.Fatalf("SeedDemo: %v, %v", seeded, err)
		}
		l := openJobsLedger(t)
		r := &JobRunner{Ledger: l, Issue: (&jobIssueRecorder{}).issue, Now: func() time.Time { return now }}
		ctx := context.Background()
		welcome, err := r.Run(ctx, Job{Name: "welcome", Campaign: jobCampaign(t, "welcome"),
			Source: &NewCustomersSource{Customers: client.Customers, Lookback: 7 * 24 * time.Hour},
			Rules:  Rules{SkipPaying: true}, Paid: &PaidCheck{Orders: client.Orders}})
		if err != nil {
			t.Fatal(err)
		}
		if welcome.Counts.Planned != sum.NewSignups || welcome.Counts.Suppressed != sum.NewBuyers {
			t.Errorf("analytics %v: welcome counts %+v, want the %d new sign-ups planned and the %d new buyers suppressed",
				analytics, welcome.Counts, sum.NewSignups, sum.NewBuyers)
		}
		winback, err := r.Run(ctx, Job{Name: "winback", Campaign: jobCampaign(t, "winback"),
			Source: &InactiveCustomersSource{Orders: client.Orders, Report: client.Reports}, Rules: Rules{RecentDays: DefaultMinDays}})
		if err != nil {
			t.Fatal(err)
		}
		if winback.Counts.Planned < 5 {
			t.Errorf("analytics %v: winback counts %+v, want at least the 5 lapsed customers of the default 60–90 day window",
				analytics, winback.Counts)
		}
		wide, err := r.Run(ctx, Job{Name: "winback-year", Campaign: jobCampaign(t, "winback-year"),
			Source: &InactiveCustomersSource{Orders: client.Orders, Report: client.Reports, MinDays: 60, MaxDays: 365},
			Rules:  Rules{RecentDays: 60}})
		if err != nil {
			t.Fatal(err)
		}
		if wide.Counts.Planned < sum.Lapsed {
			t.Errorf("analytics %v: a 60–365 day win-back planned %d, want at least the %d lapsed customers (guests too)",
				analytics, wide.Counts.Planned, sum.Lapsed)
		}
	}
}
