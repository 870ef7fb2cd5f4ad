package woo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// Create a coupon and reconcile an unclear outcome by code instead of
// sending the same code again.
func Example() {
	client, err := woo.NewClient("https://shop.example.com",
		woo.WithCredentials(os.Getenv("WOO_KEY"), os.Getenv("WOO_SECRET")),
		woo.WithRateLimit(5, 5),
		woo.WithLogger(slog.Default()),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	one := 1
	want := &woo.Coupon{
		Code: "spring-7hq2-k9xm", Amount: "10", DiscountType: "percent",
		DateExpires:       woo.NewTime(time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC)),
		UsageLimit:        &one,
		UsageLimitPerUser: &one,
		EmailRestrictions: woo.EmailList{"anna@example.com"},
	}
	got, err := client.Coupons.Create(ctx, want)
	switch {
	case errors.Is(err, woo.ErrOutcomeUnknown):
		// The store may have created it: look it up before anything else.
		got, err = client.Coupons.GetByCode(ctx, want.Code)
	case woo.IsCodeExists(err):
		// Taken: adopt it if it is ours, else pick a new code.
	case woo.IsAuth(err):
		log.Fatal(woo.AuthHint(err))
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.ID)
}

// Iterate over every coupon of the store, page by page.
func ExampleCouponsService_All() {
	client, err := woo.NewClient("https://shop.example.com", woo.WithCredentials("ck_…", "cs_…"))
	if err != nil {
		log.Fatal(err)
	}
	for c, err := range client.Coupons.All(context.Background(), &woo.CouponListOptions{Status: "publish"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c.Code, c.UsageCount)
	}
}
