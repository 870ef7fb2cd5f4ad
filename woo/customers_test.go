package woo

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestCustomersListDecodesAndSendsFilters(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/customers", rec.wrap(jsonResponder(200, string(readTestdata(t, "customers.json")))))
	c := newTestClient(t, mock)
	list, _, err := c.Customers.List(context.Background(), &CustomerListOptions{Role: "all", Email: "dora@example.com", Search: "do", OrderBy: "id", Order: "asc"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Email != "dora@example.com" || list[0].Billing.Postcode != "LS1 1AA" || !list[0].IsPayingCustomer {
		t.Errorf("decoded %+v", list)
	}
	if want := time.Date(2026, 3, 10, 13, 2, 11, 0, time.UTC); !list[0].DateCreatedGMT.Equal(want) {
		t.Errorf("DateCreatedGMT = %v, want %v", list[0].DateCreatedGMT, want)
	}
	req, _ := rec.request(0)
	for k, v := range map[string]string{"role": "all", "email": "dora@example.com", "search": "do", "orderby": "id", "order": "asc"} {
		if got := req.URL.Query().Get(k); got != v {
			t.Errorf("query %s = %q, want %q", k, got, v)
		}
	}
}

func TestCustomersAllRegisteredAfterStopsPagingEarly(t *testing.T) {
	pages := map[string]string{
		"1": `[{"id":5,"email":"e@x.com","date_created_gmt":"2026-03-05T00:00:00"},{"id":4,"email":"d@x.com","date_created_gmt":"2026-03-04T00:00:00"}]`,
		"2": `[{"id":3,"email":"c@x.com","date_created_gmt":"2026-03-03T00:00:00"},{"id":2,"email":"b@x.com","date_created_gmt":"2026-03-02T00:00:00"}]`,
		"3": `[{"id":1,"email":"a@x.com","date_created_gmt":"2026-03-01T00:00:00"}]`,
	}
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/customers", rec.wrap(func(req *http.Request) (*http.Response, error) {
		resp, _ := jsonResponder(200, pages[req.URL.Query().Get("page")])(req)
		resp.Header.Set("X-WP-TotalPages", "3")
		return resp, nil
	}))
	c := newTestClient(t, mock)
	var ids []int64
	for cu, err := range c.Customers.All(context.Background(), &CustomerListOptions{ListOptions: ListOptions{PerPage: 2}, RegisteredAfter: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cu.ID)
	}
	if !reflect.DeepEqual(ids, []int64{5, 4, 3}) {
		t.Errorf("ids = %v, want 5 4 3", ids)
	}
	if rec.count() != 2 {
		t.Errorf("%d pages fetched, want 2 (stop at the first older customer)", rec.count())
	}
	req, _ := rec.request(0)
	if req.URL.Query().Get("orderby") != "registered_date" || req.URL.Query().Get("order") != "desc" {
		t.Errorf("query %q, want orderby=registered_date&order=desc", req.URL.RawQuery)
	}
}

func TestCustomersRegisteredAfterWithOtherOrderFiltersWithoutStopping(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/customers", jsonResponder(200, `[{"id":1,"date_created_gmt":"2026-01-01T00:00:00"},{"id":2,"date_created_gmt":"2026-05-01T00:00:00"}]`))
	c := newTestClient(t, mock)
	var ids []int64
	for cu, err := range c.Customers.All(context.Background(), &CustomerListOptions{OrderBy: "name", RegisteredAfter: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cu.ID)
	}
	if !reflect.DeepEqual(ids, []int64{2}) {
		t.Errorf("ids = %v, want [2]", ids)
	}
}
