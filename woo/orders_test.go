package woo

import (
	"context"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestOrdersListSendsFiltersAndDecodesCouponLines(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/orders", rec.wrap(jsonResponder(200, string(readTestdata(t, "orders.json")))))
	c := newTestClient(t, mock)
	cet := time.FixedZone("CET", 3600)
	list, _, err := c.Orders.List(context.Background(), &OrderListOptions{
		After: time.Date(2026, 3, 1, 1, 0, 0, 0, cet), Before: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
		Status: []string{"processing", "completed"}, Customer: 31, ListOptions: ListOptions{PerPage: 100},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := rec.request(0)
	want := map[string]string{"after": "2026-03-01T00:00:00Z", "before": "2026-04-01T00:00:00Z", "dates_are_gmt": "true", "status": "processing,completed", "customer": "31", "per_page": "100"}
	for k, v := range want {
		if got := req.URL.Query().Get(k); got != v {
			t.Errorf("query %s = %q, want %q", k, got, v)
		}
	}
	if len(list) != 2 {
		t.Fatalf("%d orders", len(list))
	}
	o := list[0]
	if o.ID != 727 || o.CustomerID != 0 || o.Billing.Email != "gus@example.org" || o.Total != "40.50" || o.DiscountTotal != "4.50" || o.Currency != "EUR" {
		t.Errorf("order %+v", o)
	}
	if len(o.CouponLines) != 1 || o.CouponLines[0].Code != "spring-7hq2-k9xm" || o.CouponLines[0].Discount != "4.50" || o.CouponLines[0].ID != 88 {
		t.Errorf("coupon lines %+v", o.CouponLines)
	}
	if list[1].DatePaidGMT != nil && !list[1].DatePaidGMT.IsZero() {
		t.Errorf("null date_paid_gmt decoded as %v", list[1].DatePaidGMT)
	}
}

func TestOrdersAllPages(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/orders",
		withHeader(jsonResponder(200, `[{"id":3,"total":1.5},{"id":2}]`), "X-WP-TotalPages", "2").Then(withHeader(jsonResponder(200, `[{"id":1}]`), "X-WP-TotalPages", "2")))
	c := newTestClient(t, mock)
	var n int
	for o, err := range c.Orders.All(context.Background(), &OrderListOptions{ListOptions: ListOptions{PerPage: 2}}) {
		if err != nil {
			t.Fatal(err)
		}
		if o.ID == 3 && o.Total != "1.5" {
			t.Errorf("numeric total decoded as %q", o.Total)
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d orders, want 3", n)
	}
}
