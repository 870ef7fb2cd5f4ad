package woo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestCustomersAnalyticsSendsFiltersAndDecodesRows(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc-analytics/reports/customers", rec.wrap(withHeader(jsonResponder(200, string(readTestdata(t, "analytics_customers.json"))), "X-WP-TotalPages", "1")))
	c := newTestClient(t, mock)
	var rows []AnalyticsCustomer
	opts := &AnalyticsCustomersOptions{LastOrderBefore: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), LastOrderAfter: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), OrdersCountMin: 2}
	for a, err := range c.Reports.CustomersAnalytics(context.Background(), opts) {
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, a)
	}
	req, _ := rec.request(0)
	want := map[string]string{"last_order_before": "2026-03-31T00:00:00", "last_order_after": "2026-01-01T00:00:00", "orders_count_min": "1", "per_page": "100", "page": "1"}
	for k, v := range want {
		if got := req.URL.Query().Get(k); got != v {
			t.Errorf("query %s = %q, want %q", k, got, v)
		}
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1 (the guest with one order is below the minimum of 2)", len(rows))
	}
	a := rows[0]
	if a.ID != 7 || a.UserID != 31 || a.Email != "dora@example.com" || a.Name != "Dora Marsh" || a.OrdersCount != 3 || a.TotalSpend != 120.5 {
		t.Errorf("row %+v", a)
	}
	if want := time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC); a.DateLastOrder == nil || !a.DateLastOrder.Equal(want) {
		t.Errorf("DateLastOrder = %v, want %v", a.DateLastOrder, want)
	}
}

func TestCustomersAnalyticsDecodesGuests(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc-analytics/reports/customers", jsonResponder(200, string(readTestdata(t, "analytics_customers.json"))))
	c := newTestClient(t, mock)
	var guest *AnalyticsCustomer
	for a, err := range c.Reports.CustomersAnalytics(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		if a.UserID == 0 {
			guest = &a
		}
	}
	if guest == nil || guest.Email != "gus@example.org" || guest.TotalSpend != 40.5 || guest.DateRegisteredGMT != nil {
		t.Errorf("guest row %+v", guest)
	}
}

func TestCustomersAnalyticsWithoutRouteIsErrNoAnalytics(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc-analytics/reports/customers", jsonResponder(404, string(readTestdata(t, "error_no_route.json"))))
	c := newTestClient(t, mock)
	var got error
	for _, err := range c.Reports.CustomersAnalytics(context.Background(), nil) {
		got = err
	}
	if !errors.Is(got, ErrNoAnalytics) {
		t.Errorf("err = %v, want ErrNoAnalytics", got)
	}
	var ae *APIError
	if !errors.As(got, &ae) || ae.Code != "rest_no_route" {
		t.Errorf("err = %v, want the *APIError kept in the chain", got)
	}
}

func TestLastOrderAtReadsTheWallClockInTheStoreZone(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	a := AnalyticsCustomer{DateLastOrder: NewTime(time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC))}
	if got, want := a.LastOrderAt(berlin), time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("LastOrderAt = %v, want %v", got, want)
	}
	a.DateLastOrderGMT = NewTime(time.Date(2026, 3, 11, 8, 0, 0, 0, time.UTC))
	if got := a.LastOrderAt(berlin); !got.Equal(a.DateLastOrderGMT.Time) {
		t.Errorf("LastOrderAt with a GMT field = %v, want %v", got, a.DateLastOrderGMT.Time)
	}
	if !(AnalyticsCustomer{}).LastOrderAt(nil).IsZero() {
		t.Error("LastOrderAt without an order is not zero")
	}
}
