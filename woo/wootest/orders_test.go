package wootest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func couponByCode(t *testing.T, s *Store, code string) CouponSnapshot {
	t.Helper()
	for _, c := range s.Coupons() {
		if c.Code == code && c.Status == "publish" {
			return c
		}
	}
	t.Fatalf("no coupon %q", code)
	return CouponSnapshot{}
}

func TestOrderCountsUsageAndCancelGivesItBack(t *testing.T) {
	s, c := newTLSStore(t)
	c.create(map[string]any{"code": "once", "amount": "10", "usage_limit": 1, "usage_limit_per_user": 1})
	cust := s.AddCustomer(SeedCustomer{Email: "ann@example.com", FirstName: "Ann"})
	r := c.do("POST", "/orders", map[string]any{"customer_id": cust, "status": "processing",
		"line_items": []map[string]any{{"name": "Tea", "quantity": 2, "total": "30.00"}}, "coupon_lines": []map[string]any{{"code": "ONCE"}}})
	if r.status != 201 {
		t.Fatalf("create order: %d %s", r.status, r.body)
	}
	o := r.obj(t)
	if o["discount_total"] != "10.00" || o["total"] != "20.00" {
		t.Errorf("discount/total = %v/%v, want 10.00/20.00", o["discount_total"], o["total"])
	}
	got := couponByCode(t, s, "once")
	if got.UsageCount != 1 || !reflect.DeepEqual(got.UsedBy, []string{fmt.Sprint(cust)}) {
		t.Errorf("after order: usage %d used_by %v, want 1 [%d]", got.UsageCount, got.UsedBy, cust)
	}
	cm := c.do("GET", fmt.Sprintf("/coupons/%d", got.ID), nil).obj(t)
	if cm["usage_count"] != float64(1) || !reflect.DeepEqual(cm["used_by"], []any{fmt.Sprint(cust)}) {
		t.Errorf("coupon JSON usage_count %v used_by %v", cm["usage_count"], cm["used_by"])
	}
	// The limit is reached: a second order is refused.
	c.do("POST", "/orders", map[string]any{"billing": map[string]any{"email": "bob@example.com"}, "coupon_lines": []map[string]any{{"code": "once"}}}).
		wantError(t, 400, "woocommerce_rest_invalid_coupon")
	r = c.do("PUT", fmt.Sprintf("/orders/%d", idOf(o)), map[string]any{"status": "cancelled"})
	if r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if got := couponByCode(t, s, "once"); got.UsageCount != 0 || len(got.UsedBy) != 0 {
		t.Errorf("after cancel: usage %d used_by %v, want 0 []", got.UsageCount, got.UsedBy)
	}
}

func TestGuestUsageIsRecordedByBillingEmailAndRefundKeepsIt(t *testing.T) {
	s2, cl := newTLSStore(t)
	cl.create(map[string]any{"code": "g1", "amount": "5"})
	id, err := s2.AddOrder(SeedOrder{Email: "Guest@Example.com", Coupons: []string{"G1"}, Status: "completed"})
	if err != nil {
		t.Fatal(err)
	}
	got := couponByCode(t, s2, "g1")
	if got.UsageCount != 1 || !reflect.DeepEqual(got.UsedBy, []string{"guest@example.com"}) {
		t.Errorf("guest use: %d %v, want 1 [guest@example.com]", got.UsageCount, got.UsedBy)
	}
	for _, status := range []string{"refunded", "failed"} {
		if err := s2.SetOrderStatus(id, status); err != nil {
			t.Fatal(err)
		}
		if got := couponByCode(t, s2, "g1"); got.UsageCount != 1 {
			t.Errorf("after %s: usage %d, want 1 (only cancellation gives it back)", status, got.UsageCount)
		}
	}
	if err := s2.SetOrderStatus(id, "cancelled"); err != nil {
		t.Fatal(err)
	}
	if err := s2.SetOrderStatus(id, "cancelled"); err != nil {
		t.Fatal(err)
	}
	if got := couponByCode(t, s2, "g1"); got.UsageCount != 0 {
		t.Errorf("after cancelling twice: usage %d, want 0", got.UsageCount)
	}
	if err := s2.SetOrderStatus(id, "processing"); err != nil {
		t.Fatal(err)
	}
	if got := couponByCode(t, s2, "g1"); got.UsageCount != 1 {
		t.Errorf("after reopening: usage %d, want 1", got.UsageCount)
	}
	if err := s2.SetOrderStatus(id, "nonsense"); err == nil {
		t.Error("SetOrderStatus accepted an unknown status")
	}
}

func TestFailedOrderDoesNotCountUsage(t *testing.T) {
	s, c := newTLSStore(t)
	c.create(map[string]any{"code": "f1"})
	if _, err := s.AddOrder(SeedOrder{Email: "x@example.com", Coupons: []string{"f1"}, Status: "failed"}); err != nil {
		t.Fatal(err)
	}
	if got := couponByCode(t, s, "f1"); got.UsageCount != 0 {
		t.Errorf("usage %d, want 0", got.UsageCount)
	}
}

func TestOrderCouponChecks(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	s, c := newTLSStore(t, WithClock(func() time.Time { return now }))
	c.create(map[string]any{"code": "expired", "date_expires": "2026-05-31T23:59:59Z"})
	c.create(map[string]any{"code": "mine", "email_restrictions": []string{"ann@example.com"}})
	c.create(map[string]any{"code": "pu", "usage_limit_per_user": 1})
	for _, tc := range []struct {
		name string
		o    SeedOrder
	}{
		{"unknown", SeedOrder{Email: "a@example.com", Coupons: []string{"nope"}}},
		{"expired", SeedOrder{Email: "a@example.com", Coupons: []string{"expired"}}},
		{"not yours", SeedOrder{Email: "bob@example.com", Coupons: []string{"mine"}}},
	} {
		if _, err := s.AddOrder(tc.o); err == nil {
			t.Errorf("%s: order accepted, want woocommerce_rest_invalid_coupon", tc.name)
		}
	}
	if _, err := s.AddOrder(SeedOrder{Email: "ANN@example.com", Coupons: []string{"mine"}}); err != nil {
		t.Errorf("matching billing email refused: %v", err)
	}
	if _, err := s.AddOrder(SeedOrder{Email: "p@example.com", Coupons: []string{"pu"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOrder(SeedOrder{Email: "p@example.com", Coupons: []string{"pu"}}); err == nil {
		t.Error("second use by the same guest accepted despite usage_limit_per_user 1")
	}
	if _, err := s.AddOrder(SeedOrder{CustomerID: 999}); err == nil {
		t.Error("order for an unknown customer accepted")
	}
	m := c.do("POST", "/orders", map[string]any{"coupon_lines": []map[string]any{{"code": "ghost"}}}).wantError(t, 400, "woocommerce_rest_invalid_coupon")
	if m["message"] != `Coupon "ghost" does not exist!` {
		t.Errorf("message = %q", m["message"])
	}
}

func TestOrdersListFilters(t *testing.T) {
	s, c := newTLSStore(t)
	ann := s.AddCustomer(SeedCustomer{Email: "ann@example.com"})
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []int64
	for i, st := range []string{"completed", "processing", "cancelled", "completed"} {
		cust := int64(0)
		if i%2 == 0 {
			cust = ann
		}
		id, err := s.AddOrder(SeedOrder{CustomerID: cust, Email: fmt.Sprintf("g%d@example.com", i), Status: st, Created: base.AddDate(0, i, 0)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	count := func(q string) int { return len(c.do("GET", "/orders"+q, nil).list(t)) }
	if n := count(""); n != 4 {
		t.Errorf("all = %d, want 4", n)
	}
	if n := count("?status=completed"); n != 2 {
		t.Errorf("status=completed = %d, want 2", n)
	}
	if n := count("?status=completed,cancelled"); n != 3 {
		t.Errorf("status=completed,cancelled = %d, want 3", n)
	}
	if n := count(fmt.Sprintf("?customer=%d", ann)); n != 2 {
		t.Errorf("customer = %d, want 2", n)
	}
	if n := count("?customer=0"); n != 2 {
		t.Errorf("customer=0 (guests) = %d, want 2", n)
	}
	if n := count("?after=2026-01-15T00:00:00Z&before=2026-03-15T00:00:00Z"); n != 2 {
		t.Errorf("after/before = %d, want 2", n)
	}
	r := c.do("GET", "/orders?per_page=3&page=2", nil)
	if l := r.list(t); len(l) != 1 || r.header.Get("X-WP-TotalPages") != "2" || idOf(l[0]) != ids[0] {
		t.Errorf("page 2 = %v pages %s, want the oldest order alone on page 2 of 2", l, r.header.Get("X-WP-TotalPages"))
	}
	o := c.do("GET", fmt.Sprintf("/orders/%d", ids[0]), nil).obj(t)
	if o["customer_id"] != float64(ann) || o["billing"].(map[string]any)["email"] != "g0@example.com" || o["date_created_gmt"] != "2026-01-01T00:00:00" {
		t.Errorf("order = %v", o)
	}
	c.do("GET", "/orders/1", nil).wantError(t, 404, "woocommerce_rest_shop_order_invalid_id")
	c.do("GET", "/orders?status=bogus", nil).wantError(t, 400, "rest_invalid_param")
}

func TestCustomersListAndCreate(t *testing.T) {
	s, c := newTLSStore(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.AddCustomer(SeedCustomer{Email: "zed@example.com", FirstName: "Zed", Registered: base})
	s.AddCustomer(SeedCustomer{Email: "amy@example.com", FirstName: "Amy", Registered: base.Add(48 * time.Hour)})
	s.AddCustomer(SeedCustomer{Email: "boss@example.com", FirstName: "Boss", Role: "shop_manager", Registered: base.Add(time.Hour)})
	if again := s.AddCustomer(SeedCustomer{Email: "AMY@example.com"}); again != 3 {
		t.Errorf("AddCustomer of an existing email = %d, want the existing id 3", again)
	}
	names := func(q string) []string {
		var out []string
		for _, m := range c.do("GET", "/customers"+q, nil).list(t) {
			out = append(out, m["first_name"].(string))
		}
		return out
	}
	if got := names(""); !reflect.DeepEqual(got, []string{"Amy", "Zed"}) {
		t.Errorf("default (role customer, orderby name asc) = %v", got)
	}
	if got := names("?role=all&orderby=registered_date&order=desc"); !reflect.DeepEqual(got, []string{"Amy", "Boss", "Zed"}) {
		t.Errorf("role=all by registered_date desc = %v", got)
	}
	if got := names("?email=ZED@example.com"); !reflect.DeepEqual(got, []string{"Zed"}) {
		t.Errorf("email = %v", got)
	}
	if got := names("?search=amy"); !reflect.DeepEqual(got, []string{"Amy"}) {
		t.Errorf("search = %v", got)
	}
	if got := names("?orderby=id&per_page=1&page=2"); !reflect.DeepEqual(got, []string{"Amy"}) {
		t.Errorf("orderby=id page 2 = %v", got)
	}
	r := c.do("POST", "/customers", map[string]any{"email": "new@example.com", "first_name": "New"})
	if r.status != 201 || r.obj(t)["role"] != "customer" {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	m := c.do("POST", "/customers", map[string]any{"email": "NEW@example.com"}).wantError(t, 400, "registration-error-email-exists")
	if m["message"] == "" {
		t.Error("empty message")
	}
	c.do("GET", "/customers?role=king", nil).wantError(t, 400, "rest_invalid_param")
	c.do("GET", "/customers/424242", nil).wantError(t, 404, "woocommerce_rest_invalid_id")
}

func TestAnalyticsCustomersIncludesGuestsAndFilters(t *testing.T) {
	s, c := newTLSStore(t)
	ann := s.AddCustomer(SeedCustomer{Email: "ann@example.com", FirstName: "Ann", Registered: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	s.AddCustomer(SeedCustomer{Email: "never@example.com", FirstName: "Never"})
	mustOrder := func(o SeedOrder) {
		if _, err := s.AddOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	mustOrder(SeedOrder{CustomerID: ann, Status: "completed", Subtotal: "30", Created: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)})
	mustOrder(SeedOrder{CustomerID: ann, Status: "completed", Subtotal: "10", Created: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)})
	mustOrder(SeedOrder{Email: "guest@example.com", FirstName: "Gus", Status: "processing", Created: time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)})
	mustOrder(SeedOrder{Email: "gone@example.com", Status: "cancelled", Created: time.Date(2025, 2, 1, 10, 0, 0, 0, time.UTC)})

	get := func(q string) []map[string]any {
		return c.do("GET", c.srv.URL+"/wp-json/wc-analytics/reports/customers"+q, nil).list(t)
	}
	all := get("?per_page=100")
	if len(all) != 4 {
		t.Fatalf("rows = %d, want 4 (ann, never, guest, gone)", len(all))
	}
	emails := func(rows []map[string]any) map[string]map[string]any {
		m := map[string]map[string]any{}
		for _, r := range rows {
			m[r["email"].(string)] = r
		}
		return m
	}
	byEmail := emails(all)
	a := byEmail["ann@example.com"]
	if a["orders_count"] != float64(2) || a["total_spend"] != float64(40) || a["date_last_order"] != "2025-06-01 10:00:00" || a["user_id"] != float64(ann) {
		t.Errorf("ann row = %v", a)
	}
	if g := byEmail["guest@example.com"]; g["user_id"] != nil || g["orders_count"] != float64(1) {
		t.Errorf("guest row = %v", g)
	}
	// orders_count_min alone is strict in WooCommerce: "more than 0".
	if got := emails(get("?orders_count_min=0")); len(got) != 2 {
		t.Errorf("orders_count_min=0 = %v, want ann and guest", got)
	}
	if got := emails(get("?orders_count_min=1")); len(got) != 1 || got["guest@example.com"] != nil {
		t.Errorf("orders_count_min=1 = %v, want only ann (2 orders): the bound is strict", got)
	}
	if got := emails(get("?orders_count_min=1&orders_count_max=1")); len(got) != 1 || got["guest@example.com"] == nil {
		t.Errorf("orders_count_min=1&orders_count_max=1 = %v, want only the guest: with both bounds they include", got)
	}
	if got := emails(get("?last_order_before=2025-04-01T00:00:00&orders_count_min=0")); len(got) != 1 || got["guest@example.com"] == nil {
		t.Errorf("last_order_before = %v, want only guest", got)
	}
	if got := emails(get("?last_order_after=2025-04-01T00:00:00")); len(got) != 1 || got["ann@example.com"] == nil {
		t.Errorf("last_order_after = %v, want only ann", got)
	}
	r := c.do("GET", c.srv.URL+"/wp-json/wc-analytics/reports/customers?per_page=3", nil)
	if r.header.Get("X-WP-Total") != "4" || r.header.Get("X-WP-TotalPages") != "2" {
		t.Errorf("paging headers %s/%s, want 4/2", r.header.Get("X-WP-Total"), r.header.Get("X-WP-TotalPages"))
	}

	_, off := newTLSStore(t, WithAnalytics(false))
	off.do("GET", off.srv.URL+"/wp-json/wc-analytics/reports/customers", nil).wantError(t, 404, "rest_no_route")
}

func TestDataFilePersistsAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.json")
	s, c := newTLSStore(t, WithDataFile(path))
	a := c.create(map[string]any{"code": "keep", "amount": "7", "email_restrictions": []string{"a@x.com", "b@y", "c@z.com"},
		"date_expires": "2026-12-31T23:59:59Z", "meta_data": []map[string]any{{"key": "k", "value": "v"}}})
	cust := s.AddCustomer(SeedCustomer{Email: "A@X.com"})
	if _, err := s.AddOrder(SeedOrder{CustomerID: cust, Coupons: []string{"keep"}}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("data dir holds %d files, want only the data file (no temp leftovers)", len(entries))
	}

	s2, c2 := newTLSStore(t, WithDataFile(path))
	if err := s2.LoadError(); err != nil {
		t.Fatal(err)
	}
	got := c2.do("GET", fmt.Sprintf("/coupons/%d", idOf(a)), nil).obj(t)
	for _, f := range []string{"code", "amount", "email_restrictions", "date_expires_gmt", "usage_count", "used_by", "meta_data"} {
		if !reflect.DeepEqual(got[f], func() any {
			if f == "usage_count" {
				return float64(1)
			}
			if f == "used_by" {
				return []any{fmt.Sprint(cust)}
			}
			return a[f]
		}()) {
			t.Errorf("%s after restart = %v (before: %v)", f, got[f], a[f])
		}
	}
	b := c2.create(map[string]any{"code": "next"})
	if idOf(b) <= idOf(a) {
		t.Errorf("id after restart %d, want > %d", idOf(b), idOf(a))
	}
	c2.do("POST", "/coupons", map[string]any{"code": "KEEP"}).wantError(t, 400, "woocommerce_rest_coupon_code_already_exists")
	if n := len(c2.do("GET", "/customers", nil).list(t)); n != 1 {
		t.Errorf("customers after restart = %d, want 1", n)
	}
	if err := s2.Save(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s3 := NewStore(WithDataFile(path)); s3.LoadError() == nil {
		t.Error("a broken data file loaded without error")
	}
}
