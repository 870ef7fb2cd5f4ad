package wootest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCreateCouponAnswers201WithLocationAndLowercasedCode(t *testing.T) {
	s, c := newTLSStore(t)
	r := c.do("POST", "/coupons", map[string]any{"code": "WELCOME-ABC", "amount": "10", "discount_type": "percent"})
	if r.status != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", r.status, r.body)
	}
	m := r.obj(t)
	if m["code"] != "welcome-abc" {
		t.Errorf("code = %v, want welcome-abc", m["code"])
	}
	want := c.srv.URL + "/wp-json/wc/v3/coupons/" + strconv.FormatInt(idOf(m), 10)
	if got := r.header.Get("Location"); got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if m["status"] != "publish" || m["amount"] != "10.00" || m["discount_type"] != "percent" {
		t.Errorf("status/amount/type = %v/%v/%v, want publish/10.00/percent", m["status"], m["amount"], m["discount_type"])
	}
	if snaps := s.Coupons(); len(snaps) != 1 || snaps[0].Code != "welcome-abc" {
		t.Errorf("Coupons() = %+v, want one welcome-abc", snaps)
	}
	if n := s.CouponCreateCalls(); n != 1 {
		t.Errorf("CouponCreateCalls = %d, want 1", n)
	}
}

func TestCreateCouponResponseHasWooCommerceFields(t *testing.T) {
	_, c := newTLSStore(t)
	m := c.create(map[string]any{"code": "f1"})
	for _, f := range []string{"id", "code", "amount", "status", "date_created", "date_created_gmt", "date_modified",
		"date_modified_gmt", "discount_type", "description", "date_expires", "date_expires_gmt", "usage_count",
		"individual_use", "product_ids", "excluded_product_ids", "usage_limit", "usage_limit_per_user",
		"limit_usage_to_x_items", "free_shipping", "product_categories", "excluded_product_categories",
		"exclude_sale_items", "minimum_amount", "maximum_amount", "email_restrictions", "used_by", "meta_data"} {
		if _, ok := m[f]; !ok {
			t.Errorf("response lacks %q", f)
		}
	}
	if m["discount_type"] != "fixed_cart" || m["minimum_amount"] != "0.00" || m["date_expires"] != nil {
		t.Errorf("defaults: discount_type %v minimum_amount %v date_expires %v, want fixed_cart 0.00 null",
			m["discount_type"], m["minimum_amount"], m["date_expires"])
	}
}

func TestCreateCouponDecodesEntitiesAndStripsTags(t *testing.T) {
	_, c := newTLSStore(t)
	m := c.create(map[string]any{"code": "<b>Summer</b>&amp;Sun"})
	if m["code"] != "summer&sun" {
		t.Errorf("code = %q, want %q", m["code"], "summer&sun")
	}
}

func TestDuplicateCodeInAnyCaseIsRejected(t *testing.T) {
	_, c := newTLSStore(t)
	c.create(map[string]any{"code": "abc-1"})
	r := c.do("POST", "/coupons", map[string]any{"code": "ABC-1"})
	m := r.wantError(t, 400, "woocommerce_rest_coupon_code_already_exists")
	if m["message"] != "The coupon code already exists" {
		t.Errorf("message = %q", m["message"])
	}
}

func TestTrashFreesTheCodeButForceIsPermanent(t *testing.T) {
	s, c := newTLSStore(t)
	first := c.create(map[string]any{"code": "free-me"})
	id := idOf(first)
	r := c.do("DELETE", fmt.Sprintf("/coupons/%d", id), nil)
	if r.status != 200 {
		t.Fatalf("trash: status %d body %s", r.status, r.body)
	}
	if got := r.obj(t)["status"]; got != "publish" {
		t.Errorf("trash response status = %v, want publish (the object before trashing)", got)
	}
	c.do("DELETE", fmt.Sprintf("/coupons/%d", id), nil).wantError(t, 410, "woocommerce_rest_already_trashed")
	if got := c.do("GET", fmt.Sprintf("/coupons/%d", id), nil).obj(t)["status"]; got != "trash" {
		t.Errorf("GET trashed status = %v, want trash", got)
	}
	second := c.create(map[string]any{"code": "FREE-ME"})
	if idOf(second) == id {
		t.Fatal("new coupon reused the trashed id")
	}
	if l := c.do("GET", "/coupons?code=free-me", nil).list(t); len(l) != 1 || idOf(l[0]) != idOf(second) {
		t.Errorf("code lookup after trash = %v, want only the published coupon %d", l, idOf(second))
	}
	r = c.do("DELETE", fmt.Sprintf("/coupons/%d?force=true", id), nil)
	if r.status != 200 {
		t.Fatalf("force delete: %d %s", r.status, r.body)
	}
	c.do("GET", fmt.Sprintf("/coupons/%d", id), nil).wantError(t, 404, "woocommerce_rest_shop_coupon_invalid_id")
	c.do("DELETE", fmt.Sprintf("/coupons/%d?force=true", id), nil).wantError(t, 404, "woocommerce_rest_shop_coupon_invalid_id")
	if n := len(s.Coupons()); n != 1 {
		t.Errorf("coupons left = %d, want 1", n)
	}
}

func TestMissingAndEmptyCode(t *testing.T) {
	_, c := newTLSStore(t)
	c.do("POST", "/coupons", map[string]any{"amount": "5"}).wantError(t, 400, "rest_missing_callback_param")
	c.do("POST", "/coupons", map[string]any{"code": "<i></i>"}).wantError(t, 400, "woocommerce_rest_empty_coupon_code")
}

func TestAmountsAcceptStringsAndNumbersAndComeBackFormatted(t *testing.T) {
	_, c := newTLSStore(t)
	a := c.create(map[string]any{"code": "n1", "amount": 12.5, "minimum_amount": "20", "maximum_amount": 100})
	if a["amount"] != "12.50" || a["minimum_amount"] != "20.00" || a["maximum_amount"] != "100.00" {
		t.Errorf("amounts = %v %v %v, want 12.50 20.00 100.00", a["amount"], a["minimum_amount"], a["maximum_amount"])
	}
}

func TestUsageLimitZeroIsNullAndNullWritesAreSkipped(t *testing.T) {
	_, c := newTLSStore(t)
	m := c.create(map[string]any{"code": "lim", "usage_limit": 1, "usage_limit_per_user": 0, "amount": "5"})
	if m["usage_limit"] != float64(1) || m["usage_limit_per_user"] != nil || m["limit_usage_to_x_items"] != nil {
		t.Errorf("limits = %v %v %v, want 1 null null", m["usage_limit"], m["usage_limit_per_user"], m["limit_usage_to_x_items"])
	}
	r := c.do("PUT", fmt.Sprintf("/coupons/%d", idOf(m)), map[string]any{"usage_limit": nil, "amount": nil, "description": "x"})
	u := r.obj(t)
	if u["usage_limit"] != float64(1) || u["amount"] != "5.00" || u["description"] != "x" {
		t.Errorf("after null write: usage_limit %v amount %v description %v, want 1 5.00 x", u["usage_limit"], u["amount"], u["description"])
	}
	r = c.do("PUT", fmt.Sprintf("/coupons/%d", idOf(m)), map[string]any{"usage_limit": 0})
	if got := r.obj(t)["usage_limit"]; got != nil {
		t.Errorf("usage_limit after writing 0 = %v, want null", got)
	}
}

func TestSingleRouteValidatesTypes(t *testing.T) {
	_, c := newTLSStore(t)
	c.do("POST", "/coupons", map[string]any{"code": "t1", "individual_use": "yes"}).wantError(t, 400, "rest_invalid_param")
	c.do("POST", "/coupons", map[string]any{"code": "t2", "discount_type": "bogus"}).wantError(t, 400, "rest_invalid_param")
	c.do("POST", "/coupons", map[string]any{"code": "t3", "usage_limit": "many"}).wantError(t, 400, "rest_invalid_param")
}

func TestUpdateViaPutPostAndMethodOverride(t *testing.T) {
	_, c := newTLSStore(t)
	m := c.create(map[string]any{"code": "u1"})
	path := fmt.Sprintf("/coupons/%d", idOf(m))
	if got := c.do("POST", path, map[string]any{"amount": "3"}).obj(t)["amount"]; got != "3.00" {
		t.Errorf("POST update amount = %v, want 3.00", got)
	}
	if got := c.do("PUT", path, map[string]any{"code": "U2"}).obj(t)["code"]; got != "u2" {
		t.Errorf("PUT update code = %v, want u2", got)
	}
	c.create(map[string]any{"code": "taken"})
	c.do("PUT", path, map[string]any{"code": "TAKEN"}).wantError(t, 400, "woocommerce_rest_coupon_code_already_exists")
	c.do("PUT", "/coupons/999999", map[string]any{"amount": "1"}).wantError(t, 400, "woocommerce_rest_shop_coupon_invalid_id")

	req := c.newReq("POST", c.url(path+"?force=true"), nil)
	req.Header.Set("X-HTTP-Method-Override", "DELETE")
	req.SetBasicAuth(c.key, c.secret)
	if r := c.send(req); r.status != 200 {
		t.Fatalf("override DELETE: %d %s", r.status, r.body)
	}
	c.do("GET", path, nil).wantError(t, 404, "woocommerce_rest_shop_coupon_invalid_id")
}

func TestMetaDataGetsIDsAndUpdatesByKey(t *testing.T) {
	s, c := newTLSStore(t)
	m := c.create(map[string]any{"code": "meta", "meta_data": []map[string]any{{"key": "_couponbridge_campaign", "value": "spring"}, {"key": "n", "value": 3}}})
	meta := m["meta_data"].([]any)
	if len(meta) != 2 {
		t.Fatalf("meta_data = %v, want 2 entries", meta)
	}
	first := meta[0].(map[string]any)
	if first["id"].(float64) <= 0 || first["key"] != "_couponbridge_campaign" || first["value"] != "spring" {
		t.Errorf("meta[0] = %v", first)
	}
	u := c.do("PUT", fmt.Sprintf("/coupons/%d", idOf(m)), map[string]any{"meta_data": []map[string]any{{"key": "_couponbridge_campaign", "value": "autumn"}}}).obj(t)
	um := u["meta_data"].([]any)
	if len(um) != 2 || um[0].(map[string]any)["value"] != "autumn" || um[0].(map[string]any)["id"] != first["id"] {
		t.Errorf("after update meta = %v, want same id with value autumn", um)
	}
	if got := s.Coupons()[0].Meta; got["_couponbridge_campaign"] != "autumn" || got["n"] != "3" {
		t.Errorf("snapshot meta = %v", got)
	}
}

func TestListByCodeIsExactAndCaseInsensitive(t *testing.T) {
	_, c := newTLSStore(t)
	a := c.create(map[string]any{"code": "abc"})
	c.create(map[string]any{"code": "abcd"})
	l := c.do("GET", "/coupons?code=ABC", nil).list(t)
	if len(l) != 1 || idOf(l[0]) != idOf(a) {
		t.Errorf("code=ABC found %d coupons, want only abc", len(l))
	}
	if l := c.do("GET", "/coupons?code=nope", nil).list(t); len(l) != 0 {
		t.Errorf("code=nope found %v, want []", l)
	}
	if l := c.do("GET", "/coupons?search=bc", nil).list(t); len(l) != 2 {
		t.Errorf("search=bc found %d, want 2", len(l))
	}
	if l := c.do("GET", fmt.Sprintf("/coupons?include=%d", idOf(a)), nil).list(t); len(l) != 1 || idOf(l[0]) != idOf(a) {
		t.Errorf("include found %v", l)
	}
}

func TestListStatusAndOrdering(t *testing.T) {
	_, c := newTLSStore(t)
	var ids []int64
	for i := range 3 {
		ids = append(ids, idOf(c.create(map[string]any{"code": fmt.Sprintf("o%d", i)})))
	}
	c.do("DELETE", fmt.Sprintf("/coupons/%d", ids[1]), nil)
	if l := c.do("GET", "/coupons", nil).list(t); len(l) != 2 {
		t.Errorf("default list = %d coupons, want 2 (trash excluded)", len(l))
	}
	if l := c.do("GET", "/coupons?status=trash", nil).list(t); len(l) != 1 || idOf(l[0]) != ids[1] {
		t.Errorf("status=trash = %v", l)
	}
	l := c.do("GET", "/coupons?orderby=id&order=asc&status=any", nil).list(t)
	if len(l) != 2 || idOf(l[0]) != ids[0] || idOf(l[1]) != ids[2] {
		t.Errorf("orderby=id asc = %v", l)
	}
	c.do("GET", "/coupons?orderby=bogus", nil).wantError(t, 400, "rest_invalid_param")
}

func TestListModifiedAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	_, c := newTLSStore(t, WithClock(clock))
	c.create(map[string]any{"code": "old"})
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	c.create(map[string]any{"code": "new"})
	l := c.do("GET", "/coupons?modified_after=2026-03-01T10:30:00Z", nil).list(t)
	if len(l) != 1 || l[0]["code"] != "new" {
		t.Errorf("modified_after = %v, want only new", l)
	}
}

func TestListPaginationHeadersAndPerPageBounds(t *testing.T) {
	_, c := newTLSStore(t)
	for i := range 25 {
		c.create(map[string]any{"code": fmt.Sprintf("p%02d", i)})
	}
	r := c.do("GET", "/coupons?per_page=10&page=2", nil)
	if r.header.Get("X-WP-Total") != "25" || r.header.Get("X-WP-TotalPages") != "3" {
		t.Errorf("X-WP-Total/TotalPages = %s/%s, want 25/3", r.header.Get("X-WP-Total"), r.header.Get("X-WP-TotalPages"))
	}
	if n := len(r.list(t)); n != 10 {
		t.Errorf("page 2 has %d items, want 10", n)
	}
	link := r.header.Get("Link")
	if !strings.Contains(link, `coupons?page=1&per_page=10>; rel="prev"`) || !strings.Contains(link, `coupons?page=3&per_page=10>; rel="next"`) {
		t.Errorf("Link = %q, want prev page=1 and next page=3", link)
	}
	r = c.do("GET", "/coupons?per_page=10&page=3", nil)
	if n := len(r.list(t)); n != 5 || strings.Contains(r.header.Get("Link"), "next") {
		t.Errorf("last page: %d items, Link %q; want 5 and no next", n, r.header.Get("Link"))
	}
	if l := c.do("GET", "/coupons?per_page=10&page=9", nil).list(t); len(l) != 0 {
		t.Errorf("page past the end = %d items, want 0", len(l))
	}
	seen := map[string]bool{}
	for p := 1; p <= 3; p++ {
		for _, m := range c.do("GET", fmt.Sprintf("/coupons?per_page=10&page=%d", p), nil).list(t) {
			seen[m["code"].(string)] = true
		}
	}
	if len(seen) != 25 {
		t.Errorf("paging saw %d distinct coupons, want 25", len(seen))
	}
	if n := len(c.do("GET", "/coupons", nil).list(t)); n != 10 {
		t.Errorf("default per_page gave %d, want 10", n)
	}
	for _, pp := range []string{"0", "101", "x"} {
		m := c.do("GET", "/coupons?per_page="+pp, nil).wantError(t, 400, "rest_invalid_param")
		if m["message"] != "Invalid parameter(s): per_page" {
			t.Errorf("per_page=%s message = %q", pp, m["message"])
		}
	}
	c.do("GET", "/coupons?page=0", nil).wantError(t, 400, "rest_invalid_param")
}

func TestBatchOverLimitIs413AndCreatesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []StoreOption
		items int
	}{{"default limit 100", nil, 101}, {"configured limit 5", []StoreOption{WithBatchLimit(5)}, 6}} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newTLSStore(t, tc.opts...)
			var create []map[string]any
			for i := range tc.items {
				create = append(create, map[string]any{"code": fmt.Sprintf("b%d", i)})
			}
			m := c.do("POST", "/coupons/batch", map[string]any{"create": create}).wantError(t, 413, "woocommerce_rest_request_entity_too_large")
			if want := fmt.Sprintf("Unable to accept more than %d items for this request.", tc.items-1); m["message"] != want {
				t.Errorf("message = %q, want %q", m["message"], want)
			}
			if n := len(s.Coupons()); n != 0 {
				t.Errorf("%d coupons created, want 0", n)
			}
			// Exactly at the limit works.
			r := c.do("POST", "/coupons/batch", map[string]any{"create": create[:tc.items-1]})
			if r.status != 200 || len(s.Coupons()) != tc.items-1 {
				t.Errorf("at the limit: status %d, %d coupons; want 200, %d", r.status, len(s.Coupons()), tc.items-1)
			}
		})
	}
}

func TestBatchLimitCountsCreateUpdateAndDeleteTogether(t *testing.T) {
	_, c := newTLSStore(t, WithBatchLimit(3))
	c.do("POST", "/coupons/batch", map[string]any{
		"create": []map[string]any{{"code": "a"}, {"code": "b"}},
		"update": []map[string]any{{"id": 1, "amount": "1"}},
		"delete": []int{5},
	}).wantError(t, 413, "woocommerce_rest_request_entity_too_large")
}

func TestBatchPerItemResultsInRequestOrder(t *testing.T) {
	s, c := newTLSStore(t)
	existing := c.create(map[string]any{"code": "exists"})
	r := c.do("POST", "/coupons/batch", map[string]any{"create": []map[string]any{
		{"code": "ONE", "amount": "5", "individual_use": "yes"},
		{"code": "one"},
		{"code": "two", "discount_type": "bogus"},
		{"amount": "5"},
		{"code": "EXISTS"},
		{"code": "three", "amount": 7},
	}})
	if r.status != 200 {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	var res struct {
		Create []map[string]any `json:"create"`
	}
	r.json(t, &res)
	wantCodes := []string{"", "woocommerce_rest_coupon_code_already_exists", "coupon_invalid_discount_type",
		"woocommerce_rest_empty_coupon_code", "woocommerce_rest_coupon_code_already_exists", ""}
	if len(res.Create) != len(wantCodes) {
		t.Fatalf("got %d results, want %d", len(res.Create), len(wantCodes))
	}
	for i, item := range res.Create {
		if wantCodes[i] == "" {
			if item["error"] != nil || item["id"].(float64) == 0 {
				t.Errorf("item %d = %v, want a coupon", i, item)
			}
			continue
		}
		e, _ := item["error"].(map[string]any)
		if item["id"] != float64(0) || e == nil || e["code"] != wantCodes[i] {
			t.Errorf("item %d = %v, want id 0 and error %s", i, item, wantCodes[i])
			continue
		}
		if d := e["data"].(map[string]any); d["status"] != float64(400) {
			t.Errorf("item %d error data = %v, want status 400", i, d)
		}
	}
	if res.Create[0]["individual_use"] != true {
		t.Errorf(`"individual_use":"yes" in a batch gave %v, want true`, res.Create[0]["individual_use"])
	}
	if got := len(s.Coupons()); got != 3 {
		t.Errorf("coupons = %d, want 3 (exists, one, three)", got)
	}
	if n := s.CouponCreateCalls(); n != 7 {
		t.Errorf("CouponCreateCalls = %d, want 7 (1 single + 6 batch items)", n)
	}
	_ = existing
}

func TestBatchUpdateAndPermanentDelete(t *testing.T) {
	s, c := newTLSStore(t)
	a := c.create(map[string]any{"code": "a"})
	b := c.create(map[string]any{"code": "b"})
	r := c.do("POST", "/coupons/batch", map[string]any{
		"update": []map[string]any{{"id": idOf(a), "amount": "9"}, {"id": 424242, "amount": "1"}},
		"delete": []int64{idOf(b), 535353},
	})
	var res struct{ Update, Delete []map[string]any }
	r.json(t, &res)
	if res.Update[0]["amount"] != "9.00" {
		t.Errorf("update[0] = %v", res.Update[0])
	}
	if res.Update[1]["id"] != float64(424242) || res.Update[1]["error"].(map[string]any)["code"] != "woocommerce_rest_shop_coupon_invalid_id" {
		t.Errorf("update[1] = %v, want invalid id error with the item's id", res.Update[1])
	}
	if idOf(res.Delete[0]) != idOf(b) || res.Delete[1]["error"].(map[string]any)["code"] != "woocommerce_rest_shop_coupon_invalid_id" {
		t.Errorf("delete results = %v", res.Delete)
	}
	for _, snap := range s.Coupons() {
		if snap.ID == idOf(b) {
			t.Errorf("batch-deleted coupon still stored (status %s); batch deletes are permanent", snap.Status)
		}
	}
}

func TestEmailRestrictionsAreSanitizedAndLowercased(t *testing.T) {
	s, c := newTLSStore(t)
	m := c.create(map[string]any{"code": "e1", "email_restrictions": []string{"Ann@Example.COM", "Bob <bob@x.com>", "zoë@münchen.de"}})
	want := []any{"ann@example.com", "bobbob@x.com", "zo@mnchen.de"}
	if !reflect.DeepEqual(m["email_restrictions"], want) {
		t.Errorf("email_restrictions = %#v, want %#v", m["email_restrictions"], want)
	}
	if got := s.Coupons()[0].EmailRestrictions; !reflect.DeepEqual(got, []string{"ann@example.com", "bobbob@x.com", "zo@mnchen.de"}) {
		t.Errorf("snapshot = %v", got)
	}
}

func TestEmailRestrictionsBecomeAnObjectWhenAnEarlierEntryIsDropped(t *testing.T) {
	_, c := newTLSStore(t)
	m := c.create(map[string]any{"code": "e2", "email_restrictions": []string{"a@x.com", "b@y", "c@z.com"}})
	want := map[string]any{"0": "a@x.com", "2": "c@z.com"}
	if !reflect.DeepEqual(m["email_restrictions"], want) {
		t.Errorf("create response email_restrictions = %s, want object %v", mustJSON(m["email_restrictions"]), want)
	}
	got := c.do("GET", fmt.Sprintf("/coupons/%d", idOf(m)), nil).obj(t)
	if !reflect.DeepEqual(got["email_restrictions"], want) {
		t.Errorf("later read email_restrictions = %s, want object %v", mustJSON(got["email_restrictions"]), want)
	}
	// A trailing drop keeps a list.
	m = c.create(map[string]any{"code": "e3", "email_restrictions": []string{"a@x.com", "b@y"}})
	if !reflect.DeepEqual(m["email_restrictions"], []any{"a@x.com"}) {
		t.Errorf("trailing drop = %s, want [\"a@x.com\"]", mustJSON(m["email_restrictions"]))
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestExpiryParsingLikeWooCommerce(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	_, c := newTLSStore(t, WithTimezone(berlin))
	cases := []struct {
		in               string
		wantLocal, wantG any // nil: no expiry
	}{
		{"2026-12-31T23:59:59Z", "2027-01-01T00:59:59", "2026-12-31T23:59:59"},
		{"2026-12-31T23:59:59+01:00", "2026-12-31T23:59:59", "2026-12-31T22:59:59"},
		{"2026-07-31T23:59:59-04:00", "2026-08-01T05:59:59", "2026-08-01T03:59:59"},
		// No offset: site time.
		{"2026-12-31T23:59:59", "2026-12-31T23:59:59", "2026-12-31T22:59:59"},
		{"2026-12-31", "2026-12-31T00:00:00", "2026-12-30T23:00:00"},
		// Fractions: the UTC wall clock is read as site time, shifted by the offset.
		{"2026-12-31T23:59:59.000Z", "2026-12-31T23:59:59", "2026-12-31T22:59:59"},
		{"2026-12-31T23:59:59.5+01:00", "2026-12-31T22:59:59", "2026-12-31T21:59:59"},
		// Unparseable: silently no expiry.
		{"next tuesday-ish", nil, nil},
		{"31/12/2026", nil, nil},
	}
	for i, tc := range cases {
		m := c.create(map[string]any{"code": fmt.Sprintf("x%d", i), "date_expires": tc.in, "date_expires_gmt": "2000-01-01T00:00:00"})
		if m["date_expires"] != tc.wantLocal || m["date_expires_gmt"] != tc.wantG {
			t.Errorf("date_expires %q: got %v / gmt %v, want %v / %v", tc.in, m["date_expires"], m["date_expires_gmt"], tc.wantLocal, tc.wantG)
		}
	}
}

func TestUnparseableExpiryOnUpdateClearsTheExpiry(t *testing.T) {
	s, c := newTLSStore(t)
	m := c.create(map[string]any{"code": "exp", "date_expires": "2026-12-31T23:59:59Z"})
	if m["date_expires_gmt"] != "2026-12-31T23:59:59" {
		t.Fatalf("date_expires_gmt = %v", m["date_expires_gmt"])
	}
	u := c.do("PUT", fmt.Sprintf("/coupons/%d", idOf(m)), map[string]any{"date_expires": "soon"}).obj(t)
	if u["date_expires"] != nil || u["date_expires_gmt"] != nil {
		t.Errorf("after unparseable update: %v / %v, want null / null", u["date_expires"], u["date_expires_gmt"])
	}
	if !s.Coupons()[0].DateExpiresGMT.IsZero() {
		t.Errorf("snapshot DateExpiresGMT = %v, want zero", s.Coupons()[0].DateExpiresGMT)
	}
	// date_expires_gmt alone is ignored.
	u = c.do("PUT", fmt.Sprintf("/coupons/%d", idOf(m)), map[string]any{"date_expires_gmt": "2027-01-01T00:00:00"}).obj(t)
	if u["date_expires_gmt"] != nil {
		t.Errorf("date_expires_gmt write was applied: %v", u["date_expires_gmt"])
	}
}

func TestConcurrentCreatesOfOneCodeYieldOneCoupon(t *testing.T) {
	s, c := newTLSStore(t)
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			req := c.newReq("POST", c.url("/coupons"), map[string]any{"code": "RACE"})
			req.SetBasicAuth(c.key, c.secret)
			resp, err := c.hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	created := 0
	for _, st := range statuses {
		if st == 201 {
			created++
		}
	}
	if created != 1 || len(s.Coupons()) != 1 {
		t.Errorf("created %d (statuses %v), stored %d; want exactly 1", created, statuses, len(s.Coupons()))
	}
}

func TestUnknownRouteIsRestNoRoute(t *testing.T) {
	_, c := newTLSStore(t)
	m := c.do("GET", "/products", nil).wantError(t, 404, "rest_no_route")
	if m["message"] != "No route was found matching the URL and request method." {
		t.Errorf("message = %q", m["message"])
	}
	c.do("PATCH", "/coupons", nil).wantError(t, 404, "rest_no_route")
	c.do("GET", c.srv.URL+"/wp-json/wc/v2/unknown", nil).wantError(t, 404, "rest_no_route")
}

func TestEmailRestrictionThatStaysInvalidIsRefused(t *testing.T) {
	_, c := newTLSStore(t)
	// sanitize_email leaves "ann@-x.com" (a sub-domain starting with a hyphen),
	// which is_email then rejects.
	c.do("POST", "/coupons", map[string]any{"code": "bad-mail", "email_restrictions": []string{"ann@é-x.com"}}).
		wantError(t, 400, "coupon_invalid_email_address")
}
