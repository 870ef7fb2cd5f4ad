package campaign

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo/wootest"
)

// TestWelcomeJobSkipsBuyersWooCommerceDoesNotCallPaying pins down what
// skip_paying means: anyone with an order the tool counts as paid
// (processing, completed, on-hold), by user id or billing email, although
// WooCommerce's is_paying_customer is false for all of them.
func TestWelcomeJobSkipsBuyersWooCommerceDoesNotCallPaying(t *testing.T) {
	store, client := jobStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	reg := func(email string) int64 {
		return store.AddCustomer(wootest.SeedCustomer{Email: email, Registered: now.Add(-time.Hour)})
	}
	order := func(o wootest.SeedOrder) {
		t.Helper()
		if _, err := store.AddOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	// A cash-on-delivery order, still processing.
	order(wootest.SeedOrder{CustomerID: reg("cod@example.com"), Status: "processing"})
	// A bank transfer awaiting payment.
	order(wootest.SeedOrder{CustomerID: reg("transfer@example.com"), Status: "on-hold"})
	// Bought as a guest a month ago, registered today.
	order(wootest.SeedOrder{Email: "Guest@Example.com", Status: "completed", Created: now.AddDate(0, -1, 0)})
	reg("guest@example.com")
	// Not buyers: a cancelled order, a pending one, and "joann" whose
	// address contains "ann@example.com" (the store's search is a substring).
	order(wootest.SeedOrder{CustomerID: reg("cancelled@example.com"), Status: "cancelled"})
	order(wootest.SeedOrder{CustomerID: reg("pending@example.com"), Status: "pending"})
	reg("ann@example.com")
	order(wootest.SeedOrder{Email: "joann@example.com", Status: "completed"})
	reg("fresh@example.com")

	l := openJobsLedger(t)
	r := &JobRunner{Ledger: l, Issue: (&jobIssueRecorder{}).issue}
	run, err := r.Run(context.Background(), Job{Name: "welcome", Campaign: jobCampaign(t, "welcome"),
		Source: &NewCustomersSource{Customers: client.Customers}, Rules: Rules{SkipPaying: true},
		Paid: &PaidCheck{Orders: client.Orders}})
	if err != nil {
		t.Fatal(err)
	}
	got := jobPlannedEmails(t, l, "welcome")
	slices.Sort(got)
	want := []string{"ann@example.com", "cancelled@example.com", "fresh@example.com", "pending@example.com"}
	if !slices.Equal(got, want) || run.Counts.Suppressed != 3 {
		t.Errorf("planned %v (counts %+v), want %v: cod, transfer and the guest buyer suppressed", got, run.Counts, want)
	}
}

func TestWebhookWelcomeSkipsAGuestBuyerWhoRegisteredLater(t *testing.T) {
	store, client := jobStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := store.AddOrder(wootest.SeedOrder{Email: "guest@example.com", Status: "processing", Created: now.AddDate(0, 0, -3)}); err != nil {
		t.Fatal(err)
	}
	l := openJobsLedger(t)
	ctx := context.Background()
	for i, e := range []string{"guest@example.com", "new@example.com"} {
		id := store.AddCustomer(wootest.SeedCustomer{Email: e})
		if _, err := l.EnqueueDelivery(ctx, Delivery{DeliveryID: strconv.Itoa(i), Topic: TopicCustomerCreated,
			Recipient: QueuedRecipient{Email: e, CustomerID: id}, Received: now}, []string{"welcome"}); err != nil {
			t.Fatal(err)
		}
	}
	r := &JobRunner{Ledger: l, Issue: (&jobIssueRecorder{}).issue}
	run, err := r.Run(ctx, Job{Name: "welcome", Campaign: jobCampaign(t, "welcome"),
		Source: &WebhookSource{Ledger: l, Job: "welcome", Customers: client.Customers}, Rules: Rules{SkipPaying: true},
		Paid: &PaidCheck{Orders: client.Orders}})
	if err != nil {
		t.Fatal(err)
	}
	if got := jobPlannedEmails(t, l, "welcome"); !slices.Equal(got, []string{"new@example.com"}) || run.Counts.Suppressed != 1 {
		t.Errorf("planned %v, counts %+v; want only new@, the guest buyer suppressed", got, run.Counts)
	}
}
