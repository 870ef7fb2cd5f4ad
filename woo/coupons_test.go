package woo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestCouponDecodesRecordedResponse(t *testing.T) {
	var c Coupon
	if err := json.Unmarshal(readTestdata(t, "coupon.json"), &c); err != nil {
		t.Fatal(err)
	}
	one := 1
	if c.ID != 4821 || c.Code != "spring-7hq2-k9xm" || c.Amount != "10.00" || c.DiscountType != "percent" {
		t.Errorf("decoded %+v", c)
	}
	if !reflect.DeepEqual(c.UsageLimit, &one) || !reflect.DeepEqual(c.UsageLimitPerUser, &one) || c.LimitUsageToXItems != nil {
		t.Errorf("limits = %v %v %v, want 1 1 nil", c.UsageLimit, c.UsageLimitPerUser, c.LimitUsageToXItems)
	}
	if want := time.Date(2026, 3, 31, 21, 59, 59, 0, time.UTC); !c.DateExpiresGMT.Equal(want) || c.DateExpiresGMT.Location() != time.UTC {
		t.Errorf("DateExpiresGMT = %v, want %v UTC", c.DateExpiresGMT, want)
	}
	if want := time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC); !c.DateExpires.Equal(want) {
		t.Errorf("DateExpires = %v, want the site wall clock %v", c.DateExpires, want)
	}
	if !reflect.DeepEqual(c.EmailRestrictions, EmailList{"anna@example.com"}) {
		t.Errorf("EmailRestrictions = %v", c.EmailRestrictions)
	}
	if v, ok := c.MetaValue("_couponbridge_recipient"); !ok || v != "anna@example.com" {
		t.Errorf("MetaValue = %q, %v", v, ok)
	}
	if _, ok := c.MetaValue("missing"); ok {
		t.Error("MetaValue(missing) found something")
	}
	if !c.IndividualUse || !c.ExcludeSaleItems || c.FreeShipping || c.Status != "publish" {
		t.Errorf("flags = %+v", c)
	}
}

func TestCouponDecodesEmailRestrictionsObjectAndNumericUsedBy(t *testing.T) {
	var c Coupon
	if err := json.Unmarshal(readTestdata(t, "coupon_email_object.json"), &c); err != nil {
		t.Fatal(err)
	}
	if want := (EmailList{"a@x.com", "c@z.com", "k@z.com"}); !reflect.DeepEqual(c.EmailRestrictions, want) {
		t.Errorf("EmailRestrictions = %q, want %q (numeric key order)", c.EmailRestrictions, want)
	}
	if want := []string{"2", "guest@example.org"}; !reflect.DeepEqual(c.UsedBy, want) {
		t.Errorf("UsedBy = %q, want %q", c.UsedBy, want)
	}
	if c.UsageLimit != nil || c.DateExpires != nil && !c.DateExpires.IsZero() {
		t.Errorf("null fields decoded as %v, %v", c.UsageLimit, c.DateExpires)
	}
	if !reflect.DeepEqual(c.ProductIDs, []int64{12, 15}) || c.UsageCount != 2 {
		t.Errorf("ProductIDs %v UsageCount %d", c.ProductIDs, c.UsageCount)
	}
}

func TestEmailListDecodesEveryShape(t *testing.T) {
	cases := map[string]EmailList{
		`null`:                          nil,
		`[]`:                            {},
		`["a@x.com",null,"b@y.com"]`:    {"a@x.com", "b@y.com"},
		`{}`:                            {},
		`{"1":"b@y.com","0":"a@x.com"}`: {"a@x.com", "b@y.com"},
		`{"10":"c","9":"b","x":"d"}`:    {"b", "c", "d"},
	}
	for in, want := range cases {
		var got EmailList
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s decoded to %#v, want %#v", in, got, want)
		}
	}
	for _, bad := range []string{`"a@x.com"`, `[1]`, `{"0":1}`, `true`} {
		var got EmailList
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s decoded to %q, want an error", bad, got)
		}
	}
}

func TestCouponAcceptsNumbersWhereWooSendsStrings(t *testing.T) {
	var c Coupon
	in := `{"id":"12","code":"x","amount":10.5,"minimum_amount":0,"usage_limit":"1","usage_limit_per_user":"","usage_count":"3","used_by":[1,"2"]}`
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != 12 || c.Amount != "10.5" || c.MinimumAmount != "0" || *c.UsageLimit != 1 || c.UsageLimitPerUser != nil || c.UsageCount != 3 {
		t.Errorf("decoded %+v", c)
	}
}

func TestCouponEncodesWireFormat(t *testing.T) {
	loc := time.FixedZone("CEST", 2*3600)
	one := 1
	c := Coupon{
		Code: "abc-1", Amount: "10", DiscountType: "percent",
		DateExpires:       NewTime(time.Date(2026, 3, 31, 23, 59, 59, 999_000_000, loc)),
		UsageLimit:        &one,
		UsageLimitPerUser: &one,
		EmailRestrictions: EmailList{"a@x.com"},
		MetaData:          []Meta{{Key: "_couponbridge_campaign", Value: "spring"}},
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if got := m["date_expires"]; got != "2026-03-31T21:59:59Z" {
		t.Errorf("date_expires = %v, want 2026-03-31T21:59:59Z (UTC, seconds, no fraction)", got)
	}
	if got := m["amount"]; got != "10" {
		t.Errorf("amount = %#v, want the string \"10\"", got)
	}
	if got, ok := m["limit_usage_to_x_items"]; !ok || got != nil {
		t.Errorf("limit_usage_to_x_items = %#v, want null", got)
	}
	for _, k := range []string{"id", "date_expires_gmt", "used_by", "usage_count", "date_created_gmt"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s sent on create", k)
		}
	}
	utc := Coupon{Code: "x", DateExpires: NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}
	b, _ = json.Marshal(utc)
	if !strings.Contains(string(b), `"date_expires":"2026-01-02T03:04:05Z"`) {
		t.Errorf("UTC expiry encoded as %s", b)
	}
}

func TestCouponPatchSendsOnlySetFields(t *testing.T) {
	amount, zero := "5", 0
	p := CouponPatch{Amount: &amount, UsageLimit: &zero, EmailRestrictions: []string{}, DateExpires: &Time{}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"amount":"5","date_expires":"","email_restrictions":[],"usage_limit":0}`; string(b) != want {
		t.Errorf("patch = %s, want %s", b, want)
	}
}

func TestCreateValidatesBeforeSending(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	for _, bad := range []Coupon{
		{Code: ""},
		{Code: "a", Amount: "ten"},
		{Code: "a", Amount: "150", DiscountType: "percent"},
		{Code: "a", DiscountType: "bogus"},
		{Code: "a", MinimumAmount: "-1"},
	} {
		if _, err := c.Coupons.Create(context.Background(), &bad); err == nil {
			t.Errorf("Create(%+v) succeeded, want a validation error", bad)
		}
	}
	if n := mock.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests sent for invalid coupons", n)
	}
}

func TestCreateSendsCouponAndDecodesAnswer(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", rec.wrap(jsonResponder(201, string(readTestdata(t, "coupon.json")))))
	c := newTestClient(t, mock)
	got, err := c.Coupons.Create(context.Background(), &Coupon{Code: "SPRING-7HQ2-K9XM", Amount: "10"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 4821 {
		t.Errorf("ID = %d", got.ID)
	}
	_, body := rec.request(0)
	var sent map[string]any
	json.Unmarshal(body, &sent)
	if sent["code"] != "SPRING-7HQ2-K9XM" || sent["amount"] != "10" {
		t.Errorf("sent %s", body)
	}
}

func TestListSendsOptionsAsQuery(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", rec.wrap(withHeader(withHeader(jsonResponder(200, string(readTestdata(t, "coupons_page.json"))), "X-WP-Total", "2"), "X-WP-TotalPages", "1")))
	c := newTestClient(t, mock)
	list, resp, err := c.Coupons.List(context.Background(), &CouponListOptions{
		ListOptions: ListOptions{Page: 2, PerPage: 50}, Include: []int64{1, 2, 3}, Status: "publish",
		ModifiedAfter: time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("", 3600)), OrderBy: "id", Order: "asc", Search: "wb",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || resp.Total != 2 || resp.TotalPages != 1 || resp.StatusCode != 200 {
		t.Errorf("List = %d items, %+v", len(list), resp)
	}
	req, _ := rec.request(0)
	want := map[string]string{"page": "2", "per_page": "50", "include": "1,2,3", "status": "publish", "modified_after": "2026-01-01T00:00:00Z", "orderby": "id", "order": "asc", "search": "wb", "dates_are_gmt": "true"}
	for k, v := range want {
		if got := req.URL.Query().Get(k); got != v {
			t.Errorf("query %s = %q, want %q", k, got, v)
		}
	}
	if _, _, err := c.Coupons.List(context.Background(), &CouponListOptions{ListOptions: ListOptions{PerPage: 101}}); err == nil {
		t.Error("per_page 101 accepted, want an error")
	}
}

func TestAllPagesWithTotalPagesNotLink(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	pages := map[string]string{"1": `[{"id":1,"code":"a"},{"id":2,"code":"b"}]`, "2": `[{"id":3,"code":"c"},{"id":4,"code":"d"}]`, "3": `[{"id":5,"code":"e"}]`}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", rec.wrap(func(req *http.Request) (*http.Response, error) {
		p := req.URL.Query().Get("page")
		resp, _ := jsonResponder(200, pages[p])(req)
		resp.Header.Set("X-WP-TotalPages", "3")
		resp.Header.Set("X-WP-Total", "5")
		// A proxy's wrong scheme: following it would fail.
		resp.Header.Set("Link", `<http://internal:8080/wp-json/wc/v3/coupons?page=9>; rel="next"`)
		return resp, nil
	}))
	c := newTestClient(t, mock)
	var ids []int64
	for cp, err := range c.Coupons.All(context.Background(), &CouponListOptions{ListOptions: ListOptions{PerPage: 2}}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cp.ID)
	}
	if !reflect.DeepEqual(ids, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("ids = %v, want 1..5", ids)
	}
	if rec.count() != 3 {
		t.Errorf("%d page requests, want 3", rec.count())
	}
	for i := range rec.count() {
		req, _ := rec.request(i)
		if got := req.URL.Query().Get("page"); got != strconv.Itoa(i+1) {
			t.Errorf("request %d page = %q, want %d", i, got, i+1)
		}
	}
}

func TestAllStopsWhenTheConsumerStops(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", withHeader(jsonResponder(200, `[{"id":1,"code":"a"},{"id":2,"code":"b"}]`), "X-WP-TotalPages", "50"))
	c := newTestClient(t, mock)
	for range c.Coupons.All(context.Background(), nil) {
		break
	}
	if n := mock.GetTotalCallCount(); n != 1 {
		t.Errorf("%d requests after break, want 1", n)
	}
}

func TestAllYieldsTheErrorAndStops(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons",
		withHeader(jsonResponder(200, `[{"id":1,"code":"a"}]`), "X-WP-TotalPages", "3").Then(jsonResponder(400, `{"code":"rest_invalid_param","message":"bad","data":{"status":400}}`)))
	c := newTestClient(t, mock)
	var n int
	var last error
	for _, err := range c.Coupons.All(context.Background(), nil) {
		n++
		last = err
	}
	if n != 2 || last == nil {
		t.Errorf("got %d yields ending with %v, want a coupon then the error", n, last)
	}
}

func TestGetByCodeMatchesCaseInsensitively(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons", rec.wrap(func(req *http.Request) (*http.Response, error) {
		if strings.EqualFold(req.URL.Query().Get("code"), "ABC-1") {
			return jsonResponder(200, `[{"id":7,"code":"abc-1","status":"publish"}]`)(req)
		}
		return jsonResponder(200, `[]`)(req)
	}))
	c := newTestClient(t, mock)
	got, err := c.Coupons.GetByCode(context.Background(), "ABC-1")
	if err != nil || got.ID != 7 {
		t.Fatalf("GetByCode = %v, %v", got, err)
	}
	req, _ := rec.request(0)
	if req.URL.Query().Get("status") != "publish" {
		t.Errorf("query %q lacks status=publish", req.URL.RawQuery)
	}
	_, err = c.Coupons.GetByCode(context.Background(), "nope")
	if !IsNotFound(err) || !errors.Is(err, ErrNotFound) {
		t.Errorf("GetByCode(nope) err = %v, want not found", err)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	mock := httpmock.NewMockTransport()
	rec := &recorder{}
	mock.RegisterResponder("PUT", testStore+"/wp-json/wc/v3/coupons/7", rec.wrap(jsonResponder(200, `{"id":7,"code":"a","amount":"5.00"}`)))
	mock.RegisterResponder("DELETE", testStore+"/wp-json/wc/v3/coupons/7", rec.wrap(jsonResponder(200, `{"id":7,"code":"a"}`)))
	mock.RegisterResponder("DELETE", testStore+"/wp-json/wc/v3/coupons/8", jsonResponder(404, `{"code":"woocommerce_rest_shop_coupon_invalid_id","message":"Invalid ID.","data":{"status":404}}`))
	c := newTestClient(t, mock)
	amount := "5"
	if got, err := c.Coupons.Update(context.Background(), 7, &CouponPatch{Amount: &amount}); err != nil || got.Amount != "5.00" {
		t.Fatalf("Update = %v, %v", got, err)
	}
	if _, body := rec.request(0); string(body) != `{"amount":"5"}` {
		t.Errorf("update body = %s", body)
	}
	if _, err := c.Coupons.Delete(context.Background(), 7, true); err != nil {
		t.Fatal(err)
	}
	if req, _ := rec.request(1); req.URL.Query().Get("force") != "true" {
		t.Errorf("delete query = %q, want force=true", req.URL.RawQuery)
	}
	if _, err := c.Coupons.Delete(context.Background(), 8, true); !IsNotFound(err) {
		t.Errorf("Delete(8) err = %v, want not found", err)
	}
}

// batchStore answers batch requests like WooCommerce: 413 above limit,
// otherwise one result per item, in order; codes listed in taken fail.
type batchStore struct {
	mu     sync.Mutex
	limit  int
	taken  map[string]bool
	sizes  []int
	nextID int64
}

func (s *batchStore) responder(req *http.Request) (*http.Response, error) {
	var in struct {
		Create []Coupon `json:"create"`
		Update []Coupon `json:"update"`
		Delete []int64  `json:"delete"`
	}
	if err := json.NewDecoder(req.Body).Decode(&in); err != nil {
		return jsonResponder(400, `{"code":"rest_invalid_json","message":"bad","data":{"status":400}}`)(req)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(in.Create) + len(in.Update) + len(in.Delete)
	s.sizes = append(s.sizes, n)
	if n > s.limit {
		return jsonResponder(413, fmt.Sprintf(`{"code":"woocommerce_rest_request_entity_too_large","message":"Unable to accept more than %d items for this request.","data":{"status":413}}`, s.limit))(req)
	}
	out := map[string][]any{}
	for _, c := range in.Create {
		if s.taken[strings.ToLower(c.Code)] {
			out["create"] = append(out["create"], map[string]any{"id": 0, "error": map[string]any{"code": "woocommerce_rest_coupon_code_already_exists", "message": "The coupon code already exists", "data": map[string]any{"status": 400}}})
			continue
		}
		s.nextID++
		out["create"] = append(out["create"], map[string]any{"id": s.nextID, "code": strings.ToLower(c.Code)})
	}
	for _, c := range in.Update {
		out["update"] = append(out["update"], map[string]any{"id": c.ID, "code": c.Code})
	}
	for _, id := range in.Delete {
		out["delete"] = append(out["delete"], map[string]any{"id": id, "code": "deleted"})
	}
	b, _ := json.Marshal(out)
	return jsonResponder(200, string(b))(req)
}

func TestBatchSplitsIntoChunksAndKeepsOrder(t *testing.T) {
	store := &batchStore{limit: 100, taken: map[string]bool{"code-0042": true, "code-0170": true}}
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch", store.responder)
	c := newTestClient(t, mock)
	b := &CouponBatch{Update: []Coupon{{ID: 900, Code: "u"}}, Delete: []int64{901, 902}}
	for i := range 247 {
		b.Create = append(b.Create, Coupon{Code: fmt.Sprintf("CODE-%04d", i)})
	}
	res, err := c.Coupons.Batch(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if len(store.sizes) != 3 {
		t.Errorf("chunk sizes %v, want 3 chunks", store.sizes)
	}
	for _, n := range store.sizes {
		if n > 100 {
			t.Errorf("chunk of %d items, want at most 100", n)
		}
	}
	if len(res.Create) != 247 || len(res.Update) != 1 || len(res.Delete) != 2 {
		t.Fatalf("result lengths %d %d %d", len(res.Create), len(res.Update), len(res.Delete))
	}
	for i, it := range res.Create {
		code := fmt.Sprintf("code-%04d", i)
		if code == "code-0042" || code == "code-0170" {
			var ie *ItemError
			if !errors.As(it.Err, &ie) || !IsCodeExists(it.Err) || ie.Status != 400 {
				t.Errorf("item %d: err = %v, want a code-exists *ItemError", i, it.Err)
			}
			continue
		}
		if it.Err != nil || it.Coupon == nil || it.Coupon.Code != code {
			t.Errorf("item %d = %+v, want coupon %s", i, it, code)
		}
	}
	if res.Update[0].Coupon == nil || res.Update[0].Coupon.ID != 900 || res.Delete[1].Coupon == nil || res.Delete[1].Coupon.ID != 902 {
		t.Errorf("update/delete results %+v %+v", res.Update, res.Delete)
	}
}

func TestBatchHalvesOn413AndRemembersTheLimit(t *testing.T) {
	store := &batchStore{limit: 30, taken: map[string]bool{}}
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch", store.responder)
	c := newTestClient(t, mock, WithMaxConcurrency(1))
	b := &CouponBatch{}
	for i := range 100 {
		b.Create = append(b.Create, Coupon{Code: fmt.Sprintf("c%03d", i)})
	}
	res, err := c.Coupons.Batch(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range res.Create {
		if it.Err != nil || it.Coupon.Code != fmt.Sprintf("c%03d", i) {
			t.Fatalf("item %d = %+v, %v", i, it.Coupon, it.Err)
		}
	}
	if got := c.batchLimit(); got != 25 {
		t.Errorf("learned batch limit %d, want 25 (100 → 50 → 25)", got)
	}
	if c.Stats().BatchSplits == 0 {
		t.Error("Stats().BatchSplits = 0")
	}
	store.sizes = nil
	if _, err := c.Coupons.Batch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for _, n := range store.sizes {
		if n > 25 {
			t.Errorf("second batch sent a chunk of %d after learning 25 (sizes %v)", n, store.sizes)
		}
	}
}

func TestBatchDecodesRecordedItemErrors(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch", jsonResponder(200, string(readTestdata(t, "batch_response.json"))))
	c := newTestClient(t, mock)
	res, err := c.Coupons.Batch(context.Background(), &CouponBatch{Create: []Coupon{{Code: "b-0001"}, {Code: "b-0002"}, {Code: "b-0003"}}, Delete: []int64{77}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Create[0].Coupon.ID != 5001 || res.Create[2].Coupon.ID != 5003 {
		t.Errorf("creates %+v", res.Create)
	}
	if !IsCodeExists(res.Create[1].Err) {
		t.Errorf("create[1].Err = %v, want code exists", res.Create[1].Err)
	}
	if !IsNotFound(res.Delete[0].Err) {
		t.Errorf("delete[0].Err = %v, want not found", res.Delete[0].Err)
	}
}

func TestBatchAnswerWithMissingResultsMarksCreatesUnknown(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch", jsonResponder(200, `{"create":[{"id":1,"code":"a"}]}`))
	c := newTestClient(t, mock)
	res, err := c.Coupons.Batch(context.Background(), &CouponBatch{Create: []Coupon{{Code: "a"}, {Code: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Create[0].Err != nil || !errors.Is(res.Create[1].Err, ErrOutcomeUnknown) {
		t.Errorf("results %+v, want the second unknown", res.Create)
	}
}

func TestBatchRefusesInvalidItemsBeforeSending(t *testing.T) {
	mock := httpmock.NewMockTransport()
	c := newTestClient(t, mock)
	for _, b := range []*CouponBatch{nil, {Update: []Coupon{{Code: "no-id"}}}, {Create: []Coupon{{Code: ""}}}, {Delete: []int64{0}}} {
		if _, err := c.Coupons.Batch(context.Background(), b); err == nil {
			t.Errorf("Batch(%+v) succeeded, want an error", b)
		}
	}
	if n := mock.GetTotalCallCount(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestBatchSendsChunksConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &batchStore{limit: 10, taken: map[string]bool{}}
		var mu sync.Mutex
		inFlight, peak := 0, 0
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch", func(req *http.Request) (*http.Response, error) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			return store.responder(req)
		})
		c := newTestClient(t, mock, WithBatchSize(10), WithMaxConcurrency(3))
		b := &CouponBatch{}
		for i := range 60 {
			b.Create = append(b.Create, Coupon{Code: fmt.Sprintf("k%02d", i)})
		}
		res, err := c.Coupons.Batch(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		for i, it := range res.Create {
			if it.Err != nil {
				t.Fatalf("item %d: %v", i, it.Err)
			}
		}
		if peak != 3 {
			t.Errorf("peak concurrent chunks = %d, want 3", peak)
		}
	})
}
