package woo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
)

// couponsPage answers a list request with coupons and X-WP-TotalPages.
func couponsPage(t *testing.T, coupons []Coupon, totalPages int) httpmock.Responder {
	t.Helper()
	b, err := json.Marshal(coupons)
	if err != nil {
		t.Fatal(err)
	}
	r := withHeader(jsonResponder(200, string(b)), "X-WP-TotalPages", strconv.Itoa(totalPages))
	// A Link header with the wrong scheme, as behind a TLS proxy: never used.
	return withHeader(r, "Link", `<http://shop.example.com/wp-json/wc/v3/coupons?page=2>; rel="next"`)
}

func batchCodes(n int) []string {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("SPRING26-%04d", i)
	}
	return codes
}

func TestFindCodesSettlesABatchOf100WithOneRequest(t *testing.T) {
	codes := batchCodes(100)
	var coupons []Coupon
	for i, code := range codes {
		coupons = append(coupons, Coupon{ID: int64(i + 1), Code: code}) // upper case: a plugin kept it
	}
	coupons = append(coupons, Coupon{ID: 500, Code: "spring26-0001x"}) // matched by search, not by code
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", rec.wrap(couponsPage(t, coupons, 1)))
	c := newTestClient(t, mock)
	sent := time.Date(2026, 12, 3, 20, 0, 0, 0, time.FixedZone("IST", 5*3600+1800))
	found, err := c.Coupons.FindCodes(context.Background(), codes, &FindCodesOptions{ModifiedAfter: sent})
	if err != nil {
		t.Fatal(err)
	}
	if n := rec.count(); n != 1 {
		t.Errorf("%d list requests for 100 codes on one page, want 1", n)
	}
	req, _ := rec.request(0)
	q := req.URL.Query()
	for k, want := range map[string]string{
		"search": "spring26-00", "per_page": "100", "page": "1", "status": "any",
		"modified_after": "2026-12-03T14:30:00Z", "dates_are_gmt": "true", "orderby": "id", "order": "asc",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("query %s = %q, want %q", k, got, want)
		}
	}
	if len(found) != 100 {
		t.Errorf("found %d codes, want 100", len(found))
	}
	if got := found["spring26-0042"]; len(got) != 1 || got[0].ID != 43 {
		t.Errorf("found[spring26-0042] = %+v, want coupon 43 (keys are lowercased)", got)
	}
	if _, ok := found["spring26-0001x"]; ok {
		t.Error("a coupon whose code only contains a wanted code was returned")
	}
}

func TestFindCodesPagesByTotalPagesAndReturnsEveryDuplicate(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	pages := map[string]httpmock.Responder{
		"1": couponsPage(t, []Coupon{{ID: 1, Code: "abc-1"}, {ID: 2, Code: "abc-9"}}, 3),
		"2": couponsPage(t, []Coupon{{ID: 3, Code: "ABC-1"}}, 3),
		"3": couponsPage(t, []Coupon{{ID: 4, Code: "abc-2"}}, 3),
	}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", rec.wrap(func(req *http.Request) (*http.Response, error) {
		r, ok := pages[req.URL.Query().Get("page")]
		if !ok {
			return httpmock.NewStringResponse(400, `{"code":"rest_invalid_param","message":"bad page"}`), nil
		}
		return r(req)
	}))
	c := newTestClient(t, mock)
	found, err := c.Coupons.FindCodes(context.Background(), []string{"abc-1", "ABC-2", "abc-3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := rec.count(); n != 3 {
		t.Errorf("%d requests, want 3 (X-WP-TotalPages is 3)", n)
	}
	if got := found["abc-1"]; len(got) != 2 || got[0].ID != 1 || got[1].ID != 3 {
		t.Errorf("found[abc-1] = %+v, want both duplicates 1 and 3", got)
	}
	if got := found["abc-2"]; len(got) != 1 || got[0].ID != 4 {
		t.Errorf("found[abc-2] = %+v, want coupon 4", got)
	}
	if _, ok := found["abc-3"]; ok || len(found) != 2 {
		t.Errorf("found = %+v, want abc-1 and abc-2 only", found)
	}
	for i := range rec.count() {
		if req, _ := rec.request(i); req.URL.Scheme != "https" {
			t.Errorf("request %d went to %s: the Link header was followed", i, req.URL)
		}
	}
}

func TestFindCodesStopsBetweenPagesWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mock := httpmock.NewMockTransport()
	page := couponsPage(t, []Coupon{{ID: 1, Code: "abc-1"}}, 5)
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", func(req *http.Request) (*http.Response, error) {
		cancel() // SIGTERM arrives while the first page is read
		return page(req)
	})
	c := newTestClient(t, mock)
	_, err := c.Coupons.FindCodes(ctx, []string{"abc-1", "abc-2"}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := mock.GetTotalCallCount(); n != 1 {
		t.Errorf("%d requests, want 1 (none after the cancel)", n)
	}
}

func TestFindCodesSearchPrefixIsOneLiteralWordPressTerm(t *testing.T) {
	cases := []struct {
		codes []string
		want  string
	}{
		{[]string{"spring-0001", "spring-0002"}, "spring-000"},
		{[]string{"ab1", "ab2"}, ""},                // too short
		{[]string{"abc", "xyz"}, ""},                // nothing in common
		{[]string{"-abcd1", "-abcd2"}, ""},          // a leading - excludes
		{[]string{"big sale1", "big sale2"}, "big"}, // cut at the space
		{[]string{"summer sale1", "summer sale2"}, "summer"},
		{[]string{"a+bcd1", "a+bcd2"}, ""},
		{[]string{"x_y%41z1", "x_y%41z2"}, "x_y"},
		{[]string{"only-one"}, "only-one"},
	}
	for _, tc := range cases {
		if got := searchPrefix(tc.codes); got != tc.want {
			t.Errorf("searchPrefix(%q) = %q, want %q", tc.codes, got, tc.want)
		}
	}
}

func TestFindCodesRefusesAnEmptyCodeAndSendsNothingForNoCodes(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	if _, err := c.Coupons.FindCodes(context.Background(), []string{"abc", " "}, nil); err == nil {
		t.Error("an empty code was accepted")
	}
	found, err := c.Coupons.FindCodes(context.Background(), nil, nil)
	if err != nil || len(found) != 0 || mock.GetTotalCallCount() != 0 {
		t.Errorf("no codes: %v, %v, %d requests; want an empty map and no request", found, err, mock.GetTotalCallCount())
	}
}
