package woo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// The contract suite runs the same scenarios against the sandbox store
// (always, over httptest, both with Basic over TLS and OAuth 1.0a over plain
// HTTP) and against a real WooCommerce store when WOO_URL, WOO_KEY and
// WOO_SECRET are set. WOO_AUTH (basic, query, oauth1) picks the real
// store's auth mode; the default is basic for https and oauth1 for http.
//
// Against a real store every coupon carries a unique per-run prefix and is
// deleted permanently in t.Cleanup.

// contractTarget is one store the suite runs against.
type contractTarget struct {
	client *woo.Client
	store  *wootest.Store // nil for a real store
	prefix string         // unique per run, lower case

	mu      sync.Mutex
	created []int64
}

// code returns a unique code for this run.
func (tg *contractTarget) code(name string) string { return tg.prefix + name }

// track remembers a coupon for deletion at the end of the test.
func (tg *contractTarget) track(c *woo.Coupon) {
	if c == nil || c.ID == 0 {
		return
	}
	tg.mu.Lock()
	tg.created = append(tg.created, c.ID)
	tg.mu.Unlock()
}

// cleanup force-deletes everything the scenarios created.
func (tg *contractTarget) cleanup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tg.mu.Lock()
	ids := tg.created
	tg.created = nil
	tg.mu.Unlock()
	for len(ids) > 0 {
		n := min(len(ids), woo.MaxBatchSize)
		res, err := tg.client.Coupons.Batch(ctx, &woo.CouponBatch{Delete: ids[:n]})
		if err != nil {
			t.Errorf("cleanup: deleting %d coupons: %v", n, err)
		} else {
			for i, it := range res.Delete {
				if it.Err != nil && !woo.IsNotFound(it.Err) {
					t.Errorf("cleanup: deleting coupon %d: %v", ids[i], it.Err)
				}
			}
		}
		ids = ids[n:]
	}
}

func runPrefix(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "cbct-" + hex.EncodeToString(b[:]) + "-"
}

// sandboxBatchLimit is lower than the client's batch size so that the
// over-limit scenario exercises the 413 handling on the sandbox.
const sandboxBatchLimit = 25

func sandboxTarget(t *testing.T, tls bool, opts ...wootest.StoreOption) *contractTarget {
	store := wootest.NewStore(append([]wootest.StoreOption{wootest.WithBatchLimit(sandboxBatchLimit)}, opts...)...)
	var srv *httptest.Server
	mode := woo.AuthBasic
	if tls {
		srv = httptest.NewTLSServer(store)
	} else {
		srv = httptest.NewServer(store)
		mode = woo.AuthOAuth1
	}
	t.Cleanup(srv.Close)
	c, err := woo.NewClient(srv.URL,
		woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithAuthMode(mode),
		woo.WithHTTPClient(srv.Client()),
		woo.WithRateLimit(1000, 100),
		woo.WithRetry(2, time.Millisecond, 10*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	return &contractTarget{client: c, store: store, prefix: runPrefix(t)}
}

func realTarget(t *testing.T) *contractTarget {
	u, key, secret := os.Getenv("WOO_URL"), os.Getenv("WOO_KEY"), os.Getenv("WOO_SECRET")
	if u == "" || key == "" || secret == "" {
		t.Skip("WOO_URL, WOO_KEY and WOO_SECRET are not all set: skipping the contract suite against a real WooCommerce store " +
			"(set them, and optionally WOO_AUTH=basic|query|oauth1, to run it; it creates coupons with a unique cbct- prefix and deletes them)")
	}
	mode := woo.AuthBasic
	if strings.HasPrefix(strings.ToLower(u), "http://") {
		mode = woo.AuthOAuth1
	}
	if v := os.Getenv("WOO_AUTH"); v != "" {
		m, err := woo.ParseAuthMode(v)
		if err != nil {
			t.Fatalf("WOO_AUTH: %v", err)
		}
		mode = m
	}
	c, err := woo.NewClient(u, woo.WithCredentials(key, secret), woo.WithAuthMode(mode), woo.WithRateLimit(2, 2))
	if err != nil {
		t.Fatal(err)
	}
	return &contractTarget{client: c, prefix: runPrefix(t)}
}

func TestContract(t *testing.T) {
	targets := []struct {
		name string
		new  func(*testing.T) *contractTarget
	}{
		{"sandbox-basic-tls", func(t *testing.T) *contractTarget { return sandboxTarget(t, true) }},
		{"sandbox-oauth1-http", func(t *testing.T) *contractTarget { return sandboxTarget(t, false) }},
		// Stores whose zone has an offset with minutes, where WordPress
		// drops the minutes of any offset it is sent.
		{"sandbox-kolkata", func(t *testing.T) *contractTarget {
			return sandboxTarget(t, true, wootest.WithTimezone(zoneKolkata))
		}},
		{"sandbox-kathmandu", func(t *testing.T) *contractTarget {
			return sandboxTarget(t, false, wootest.WithTimezone(zoneKathmandu))
		}},
		{"real-store", realTarget},
	}
	scenarios := []struct {
		name string
		run  func(*testing.T, *contractTarget)
	}{
		{"CreateAndReadBack", scenarioCreateAndReadBack},
		{"DuplicateCodeInAnyCase", scenarioDuplicateCode},
		{"GetByCodeIsCaseInsensitive", scenarioGetByCode},
		{"BatchWithABadItem", scenarioBatchBadItem},
		{"BatchOverTheLimit", scenarioBatchOverLimit},
		{"EmailRestrictionSanitization", scenarioEmailSanitization},
		{"ExpiryRoundTrip", scenarioExpiryRoundTrip},
		{"ExpiryInZonesWithMinuteOffsets", scenarioExpiryMinuteOffsets},
		{"TrashVersusForce", scenarioTrashVersusForce},
		{"ListPagination", scenarioListPagination},
		{"FindCodesAfterABatch", scenarioFindCodes},
		{"UpdateRepairsMetaData", scenarioRepairMeta},
		{"WhatTheStoreSaysAboutItself", scenarioStoreSettings},
	}
	for _, tgt := range targets {
		t.Run(tgt.name, func(t *testing.T) {
			tg := tgt.new(t)
			t.Cleanup(func() { tg.cleanup(t) })
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.run(t, tg) })
			}
		})
	}
}

func intp(n int) *int { return &n }

func (tg *contractTarget) create(t *testing.T, c woo.Coupon) *woo.Coupon {
	t.Helper()
	got, err := tg.client.Coupons.Create(t.Context(), &c)
	tg.track(got)
	if err != nil {
		t.Fatalf("Create %q: %v", c.Code, err)
	}
	return got
}

func scenarioCreateAndReadBack(t *testing.T, tg *contractTarget) {
	expires := time.Date(2031, 12, 31, 23, 59, 59, 0, time.UTC)
	code := strings.ToUpper(tg.code("read-back"))
	created := tg.create(t, woo.Coupon{
		Code: code, Amount: "10", DiscountType: "percent", Description: "contract test",
		UsageLimit: intp(1), UsageLimitPerUser: intp(1), IndividualUse: true,
		EmailRestrictions: woo.EmailList{"ann@example.com"},
		DateExpires:       woo.NewTime(expires),
		MetaData:          []woo.Meta{{Key: "_couponbridge_campaign", Value: "contract"}},
	})
	got, err := tg.client.Coupons.Get(t.Context(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != strings.ToLower(code) {
		t.Errorf("code = %q, want %q (lowercased)", got.Code, strings.ToLower(code))
	}
	if got.Amount != "10.00" || got.DiscountType != "percent" || !got.IndividualUse || got.Status != "publish" {
		t.Errorf("amount/type/individual/status = %q/%q/%v/%q, want 10.00/percent/true/publish", got.Amount, got.DiscountType, got.IndividualUse, got.Status)
	}
	if got.UsageLimit == nil || *got.UsageLimit != 1 || got.UsageLimitPerUser == nil || *got.UsageLimitPerUser != 1 {
		t.Errorf("usage limits = %v/%v, want 1/1", got.UsageLimit, got.UsageLimitPerUser)
	}
	if got.LimitUsageToXItems != nil {
		t.Errorf("limit_usage_to_x_items = %v, want null", *got.LimitUsageToXItems)
	}
	if len(got.EmailRestrictions) != 1 || got.EmailRestrictions[0] != "ann@example.com" {
		t.Errorf("email_restrictions = %v, want [ann@example.com]", got.EmailRestrictions)
	}
	if got.DateExpiresGMT == nil || !got.DateExpiresGMT.Equal(expires) {
		t.Errorf("date_expires_gmt = %v, want %v", got.DateExpiresGMT, expires)
	}
	if v, ok := got.MetaValue("_couponbridge_campaign"); !ok || v != "contract" {
		t.Errorf("meta _couponbridge_campaign = %q %v, want contract", v, ok)
	}
	for _, m := range got.MetaData {
		if m.ID == 0 {
			t.Errorf("meta %q has no id", m.Key)
		}
	}
}

func scenarioDuplicateCode(t *testing.T, tg *contractTarget) {
	code := tg.code("dup")
	tg.create(t, woo.Coupon{Code: code, Amount: "5"})
	got, err := tg.client.Coupons.Create(t.Context(), &woo.Coupon{Code: strings.ToUpper(code), Amount: "5"})
	tg.track(got)
	if !woo.IsCodeExists(err) {
		t.Fatalf("second create in other case: err = %v, want IsCodeExists", err)
	}
	var ae *woo.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
		t.Errorf("err = %#v, want *woo.APIError with status 400", err)
	}
}

func scenarioGetByCode(t *testing.T, tg *contractTarget) {
	c := tg.create(t, woo.Coupon{Code: tg.code("lookup"), Amount: "5"})
	tg.create(t, woo.Coupon{Code: tg.code("lookup-longer"), Amount: "5"})
	got, err := tg.client.Coupons.GetByCode(t.Context(), strings.ToUpper(tg.code("lookup")))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != c.ID {
		t.Errorf("GetByCode found %d (%s), want %d", got.ID, got.Code, c.ID)
	}
	_, err = tg.client.Coupons.GetByCode(t.Context(), tg.code("absent"))
	if !woo.IsNotFound(err) {
		t.Errorf("GetByCode of a missing code: err = %v, want IsNotFound", err)
	}
}

func scenarioBatchBadItem(t *testing.T, tg *contractTarget) {
	res, err := tg.client.Coupons.Batch(t.Context(), &woo.CouponBatch{Create: []woo.Coupon{
		{Code: tg.code("batch-a"), Amount: "5"},
		{Code: strings.ToUpper(tg.code("batch-a")), Amount: "5"},
		{Code: tg.code("batch-b"), Amount: "5"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Create {
		tg.track(it.Coupon)
	}
	if len(res.Create) != 3 {
		t.Fatalf("got %d results, want 3", len(res.Create))
	}
	if it := res.Create[0]; it.Err != nil || it.Coupon == nil || it.Coupon.Code != tg.code("batch-a") {
		t.Errorf("item 0 = %+v, want batch-a created", it)
	}
	var ie *woo.ItemError
	if it := res.Create[1]; it.Coupon != nil || !errors.As(it.Err, &ie) || !woo.IsCodeExists(it.Err) {
		t.Errorf("item 1 = %+v, want an *ItemError for which IsCodeExists", it)
	}
	if it := res.Create[2]; it.Err != nil || it.Coupon == nil || it.Coupon.Code != tg.code("batch-b") {
		t.Errorf("item 2 = %+v, want batch-b created (results keep request order)", it)
	}
}

func scenarioBatchOverLimit(t *testing.T, tg *contractTarget) {
	// Over the sandbox's limit (25) and over WooCommerce's default (100)
	// for a real store: the client must chunk or shrink after a 413.
	n := 60
	if tg.store == nil {
		n = woo.MaxBatchSize + 10
	}
	before := 0
	if tg.store != nil {
		before = tg.store.CouponCreateCalls()
	}
	batch := &woo.CouponBatch{}
	for i := range n {
		batch.Create = append(batch.Create, woo.Coupon{Code: tg.code(fmt.Sprintf("bulk-%03d", i)), Amount: "1"})
	}
	res, err := tg.client.Coupons.Batch(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[int64]bool{}
	for i, it := range res.Create {
		tg.track(it.Coupon)
		if it.Err != nil || it.Coupon == nil {
			t.Errorf("item %d: %v", i, it.Err)
			continue
		}
		if it.Coupon.Code != batch.Create[i].Code {
			t.Errorf("item %d is %q, want %q (request order)", i, it.Coupon.Code, batch.Create[i].Code)
		}
		ids[it.Coupon.ID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct coupons, want %d", len(ids), n)
	}
	if tg.store != nil {
		if calls := tg.store.CouponCreateCalls() - before; calls != n {
			t.Errorf("store saw %d create attempts, want exactly %d (a 413 applies nothing)", calls, n)
		}
	}
}

func scenarioEmailSanitization(t *testing.T, tg *contractTarget) {
	c := tg.create(t, woo.Coupon{Code: tg.code("emails"), Amount: "5",
		EmailRestrictions: woo.EmailList{"Ann@Example.COM", "b@y", "Bob <bob@x.com>", "zoë@münchen.de"}})
	got, err := tg.client.Coupons.Get(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ann@example.com", "bobbob@x.com", "zo@mnchen.de"}
	if strings.Join(got.EmailRestrictions, ",") != strings.Join(want, ",") {
		t.Errorf("email_restrictions read back = %q, want %q (sanitized, lowercased, b@y dropped)", got.EmailRestrictions, want)
	}
}

func scenarioExpiryRoundTrip(t *testing.T, tg *contractTarget) {
	for i, exp := range []time.Time{
		time.Date(2032, 1, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2032, 7, 31, 23, 59, 59, 0, time.FixedZone("IST", 5*3600+1800)),
		time.Date(2032, 3, 1, 0, 0, 0, 0, time.FixedZone("NYC", -5*3600)),
	} {
		c := tg.create(t, woo.Coupon{Code: tg.code(fmt.Sprintf("exp-%d", i)), Amount: "5", DateExpires: woo.NewTime(exp)})
		got, err := tg.client.Coupons.Get(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.DateExpiresGMT == nil || !got.DateExpiresGMT.Equal(exp) {
			t.Errorf("expiry %v read back as %v (gmt), want the same instant", exp, got.DateExpiresGMT)
		}
	}
}

// Fixed zones rather than time.LoadLocation: the offsets are what matters,
// and the test must not depend on the machine's zoneinfo.
var (
	zoneKolkata   = time.FixedZone("Asia/Kolkata", 5*3600+30*60)
	zoneKathmandu = time.FixedZone("Asia/Kathmandu", 5*3600+45*60)
)

// scenarioExpiryMinuteOffsets: "valid through the 3rd" in a +05:30 and a
// +05:45 zone reads back as the same instant, whatever the store's zone.
// WordPress reads +05:30 as +05:00, so this fails against a real store
// when the client sends the store's offset instead of UTC.
func scenarioExpiryMinuteOffsets(t *testing.T, tg *contractTarget) {
	for _, loc := range []*time.Location{zoneKolkata, zoneKathmandu} {
		exp := time.Date(2033, 1, 3, 23, 59, 59, 0, loc)
		c := tg.create(t, woo.Coupon{Code: tg.code("exp-" + strings.ToLower(strings.ReplaceAll(loc.String(), "/", "-"))), Amount: "5", DateExpires: woo.NewTime(exp)})
		for _, got := range []*woo.Coupon{c, tg.get(t, c.ID)} {
			if got.DateExpiresGMT == nil || !got.DateExpiresGMT.Equal(exp) {
				t.Errorf("expiry %v read back as %v (gmt), want %v", exp, got.DateExpiresGMT, exp.UTC())
			}
		}
	}
}

func (tg *contractTarget) get(t *testing.T, id int64) *woo.Coupon {
	t.Helper()
	got, err := tg.client.Coupons.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get %d: %v", id, err)
	}
	return got
}

func scenarioTrashVersusForce(t *testing.T, tg *contractTarget) {
	code := tg.code("trash")
	c := tg.create(t, woo.Coupon{Code: code, Amount: "5"})
	if _, err := tg.client.Coupons.Delete(t.Context(), c.ID, false); err != nil {
		t.Fatalf("trash: %v", err)
	}
	got, err := tg.client.Coupons.Get(t.Context(), c.ID)
	if err != nil || got.Status != "trash" {
		t.Fatalf("Get after trash = %+v, %v; want status trash", got, err)
	}
	_, err = tg.client.Coupons.Delete(t.Context(), c.ID, false)
	var ae *woo.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusGone || ae.Code != "woocommerce_rest_already_trashed" {
		t.Errorf("second trash: err = %v, want 410 woocommerce_rest_already_trashed", err)
	}
	if _, err := tg.client.Coupons.GetByCode(t.Context(), code); !woo.IsNotFound(err) {
		t.Errorf("GetByCode of a trashed coupon: err = %v, want IsNotFound", err)
	}
	again := tg.create(t, woo.Coupon{Code: code, Amount: "5"}) // trash frees the code
	if again.ID == c.ID {
		t.Errorf("recreated coupon has the trashed id %d", c.ID)
	}
	if _, err := tg.client.Coupons.Delete(t.Context(), c.ID, true); err != nil {
		t.Fatalf("force delete: %v", err)
	}
	if _, err := tg.client.Coupons.Get(t.Context(), c.ID); !woo.IsNotFound(err) {
		t.Errorf("Get after force delete: err = %v, want IsNotFound", err)
	}
}

func scenarioListPagination(t *testing.T, tg *contractTarget) {
	const n = 7
	batch := &woo.CouponBatch{}
	for i := range n {
		batch.Create = append(batch.Create, woo.Coupon{Code: tg.code(fmt.Sprintf("page-%d", i)), Amount: "1"})
	}
	res, err := tg.client.Coupons.Batch(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Create {
		tg.track(it.Coupon)
		if it.Err != nil {
			t.Fatal(it.Err)
		}
	}
	opts := &woo.CouponListOptions{Search: tg.code("page-"), ListOptions: woo.ListOptions{PerPage: 3}}
	list, resp, err := tg.client.Coupons.List(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || resp.Total != n || resp.TotalPages != 3 {
		t.Errorf("first page: %d items, total %d, pages %d; want 3, %d, 3", len(list), resp.Total, resp.TotalPages, n)
	}
	seen := map[int64]bool{}
	for c, err := range tg.client.Coupons.All(t.Context(), opts) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[c.ID] {
			t.Errorf("All returned coupon %d twice", c.ID)
		}
		seen[c.ID] = true
	}
	if len(seen) != n {
		t.Errorf("All returned %d coupons, want %d", len(seen), n)
	}
}

// scenarioFindCodes settles a batch the way the pipeline does after an
// unclear create: one listing by code prefix and modification time finds
// every code of the batch, and a trashed coupon is not among them.
func scenarioFindCodes(t *testing.T, tg *contractTarget) {
	sent := time.Now().Add(-2 * time.Minute) // margin for the store's clock
	batch := &woo.CouponBatch{}
	var codes []string
	for i := range 5 {
		code := tg.code(fmt.Sprintf("find-%d", i))
		codes = append(codes, strings.ToUpper(code))
		batch.Create = append(batch.Create, woo.Coupon{Code: code, Amount: "1"})
	}
	res, err := tg.client.Coupons.Batch(t.Context(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Create {
		tg.track(it.Coupon)
		if it.Err != nil {
			t.Fatal(it.Err)
		}
	}
	trashed := res.Create[4].Coupon
	if _, err := tg.client.Coupons.Delete(t.Context(), trashed.ID, false); err != nil {
		t.Fatalf("trash: %v", err)
	}
	found, err := tg.client.Coupons.FindCodes(t.Context(), append(codes, strings.ToUpper(tg.code("find-absent"))), &woo.FindCodesOptions{ModifiedAfter: sent})
	if err != nil {
		t.Fatal(err)
	}
	for i, code := range codes[:4] {
		if got := found[strings.ToLower(code)]; len(got) != 1 || got[0].ID != res.Create[i].Coupon.ID {
			t.Errorf("found[%s] = %+v, want coupon %d", strings.ToLower(code), got, res.Create[i].Coupon.ID)
		}
	}
	if got, ok := found[strings.ToLower(codes[4])]; ok {
		t.Errorf("the trashed coupon was found with status any: %+v", got)
	}
	if len(found) != 4 {
		t.Errorf("found %d codes, want 4", len(found))
	}
}

// scenarioRepairMeta: a coupon saved without our meta (a partial save) is
// repaired with an update, which keeps its code and restriction.
func scenarioRepairMeta(t *testing.T, tg *contractTarget) {
	c := tg.create(t, woo.Coupon{Code: tg.code("repair"), Amount: "5", EmailRestrictions: woo.EmailList{"ann@example.com"}})
	got, err := tg.client.Coupons.Update(t.Context(), c.ID, &woo.CouponPatch{MetaData: []woo.Meta{
		{Key: "_couponbridge_campaign", Value: "contract"},
		{Key: "_couponbridge_recipient", Value: "ann@example.com"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, read := range []*woo.Coupon{got, tg.get(t, c.ID)} {
		if v, _ := read.MetaValue("_couponbridge_campaign"); v != "contract" {
			t.Errorf("meta _couponbridge_campaign = %q, want contract", v)
		}
		if v, _ := read.MetaValue("_couponbridge_recipient"); v != "ann@example.com" {
			t.Errorf("meta _couponbridge_recipient = %q, want ann@example.com", v)
		}
		if read.Code != tg.code("repair") || len(read.EmailRestrictions) != 1 {
			t.Errorf("update changed the coupon: %+v", read)
		}
	}
	// Setting a key again replaces its value rather than adding a second.
	if _, err := tg.client.Coupons.Update(t.Context(), c.ID, &woo.CouponPatch{MetaData: []woo.Meta{{Key: "_couponbridge_campaign", Value: "contract-2"}}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range tg.get(t, c.ID).MetaData {
		if m.Key == "_couponbridge_campaign" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d _couponbridge_campaign entries after updating it, want 1", n)
	}
}
