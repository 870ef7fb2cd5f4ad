package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s not available: %v", name, err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestExpiresAtEndsTheDayInTheStoreTimezone(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	newYork := mustLoc(t, "America/New_York")
	saoPaulo := time.FixedZone("-03", -3*3600)
	tests := []struct {
		name   string
		expiry ExpirySpec
		issued string
		loc    *time.Location
		want   string // instant, RFC 3339 in UTC
		wall   string // wall clock in loc
	}{
		{"days in UTC", ExpirySpec{Days: 30}, "2026-03-01T10:00:00Z", time.UTC, "2026-03-31T23:59:59Z", "2026-03-31T23:59:59Z"},
		{"nil location is UTC", ExpirySpec{Days: 1}, "2026-03-01T23:59:59Z", nil, "2026-03-02T23:59:59Z", "2026-03-02T23:59:59Z"},
		{"days across month and year end", ExpirySpec{Days: 3}, "2026-12-30T08:00:00Z", time.UTC, "2027-01-02T23:59:59Z", "2027-01-02T23:59:59Z"},
		// Berlin leaves summer time on the last Sunday of October (25 Oct 2026, 03:00 CEST → 02:00 CET).
		{"Berlin into winter time", ExpirySpec{Days: 1}, "2026-10-24T12:00:00+02:00", berlin, "2026-10-25T22:59:59Z", "2026-10-25T23:59:59+01:00"},
		{"Berlin issued on the fall-back night", ExpirySpec{Days: 2}, "2026-10-24T22:30:00Z", berlin, "2026-10-27T22:59:59Z", "2026-10-27T23:59:59+01:00"},
		{"Berlin issued in the repeated hour", ExpirySpec{Days: 1}, "2026-10-25T00:30:00Z", berlin, "2026-10-26T22:59:59Z", "2026-10-26T23:59:59+01:00"},
		// Berlin enters summer time on the last Sunday of March (29 Mar 2026, 02:00 CET → 03:00 CEST).
		{"Berlin into summer time", ExpirySpec{Days: 1}, "2026-03-28T12:00:00+01:00", berlin, "2026-03-29T21:59:59Z", "2026-03-29T23:59:59+02:00"},
		{"Berlin issued after the spring-forward gap", ExpirySpec{Days: 1}, "2026-03-29T01:30:00Z", berlin, "2026-03-30T21:59:59Z", "2026-03-30T23:59:59+02:00"},
		// The issue day is the store's: 22:30 UTC on 30 June is 1 July in Berlin.
		{"issue day taken in store time, east", ExpirySpec{Days: 1}, "2026-06-30T22:30:00Z", berlin, "2026-07-02T21:59:59Z", "2026-07-02T23:59:59+02:00"},
		// 02:00 UTC on 10 March is still 9 March in New York (EDT, -04:00).
		{"issue day taken in store time, west", ExpirySpec{Days: 1}, "2026-03-10T02:00:00Z", newYork, "2026-03-11T03:59:59Z", "2026-03-10T23:59:59-04:00"},
		{"New York across its spring-forward", ExpirySpec{Days: 2}, "2026-03-07T15:00:00Z", newYork, "2026-03-10T03:59:59Z", "2026-03-09T23:59:59-04:00"},
		{"fixed date, negative offset", ExpirySpec{Date: "2026-12-31"}, "2026-06-01T00:00:00Z", saoPaulo, "2027-01-01T02:59:59Z", "2026-12-31T23:59:59-03:00"},
		{"fixed date, Berlin winter", ExpirySpec{Date: "2026-12-31"}, "2026-06-01T00:00:00Z", berlin, "2026-12-31T22:59:59Z", "2026-12-31T23:59:59+01:00"},
		{"fixed date on the fall-back day", ExpirySpec{Date: "2026-10-25"}, "2026-06-01T00:00:00Z", berlin, "2026-10-25T22:59:59Z", "2026-10-25T23:59:59+01:00"},
		{"fixed date on the spring-forward day", ExpirySpec{Date: "2026-03-29"}, "2026-01-01T00:00:00Z", berlin, "2026-03-29T21:59:59Z", "2026-03-29T23:59:59+02:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := CouponTemplate{Expiry: tt.expiry}
			got := tpl.ExpiresAt(mustTime(t, tt.issued), tt.loc)
			if want := mustTime(t, tt.want); !got.Equal(want) {
				t.Errorf("ExpiresAt = %s (%s), want %s", got.Format(time.RFC3339), got.UTC().Format(time.RFC3339), tt.want)
			}
			if gotWall := got.Format(time.RFC3339); gotWall != tt.wall {
				t.Errorf("ExpiresAt wall clock = %s, want %s", gotWall, tt.wall)
			}
		})
	}
}

func validTemplate() CouponTemplate {
	return CouponTemplate{DiscountType: "percent", Amount: "15", Expiry: ExpirySpec{Days: 30}}
}

func TestCouponTemplateValidate(t *testing.T) {
	no := false
	tests := []struct {
		name   string
		change func(*CouponTemplate)
		want   string // "" = valid
	}{
		{"minimal", func(*CouponTemplate) {}, ""},
		{"full", func(c *CouponTemplate) {
			*c = CouponTemplate{DiscountType: "fixed_cart", Amount: "10.50", Expiry: ExpirySpec{Date: "2026-12-31"},
				MinimumAmount: "50", MaximumAmount: "500.00", IndividualUse: &no, ExcludeSaleItems: true, FreeShipping: true,
				ProductIDs: []int64{1, 2}, ExcludedProductIDs: []int64{3}, ProductCategories: []int64{9}, ExcludedProductCategories: []int64{10},
				Description: "Welcome"}
		}, ""},
		{"percent 100", func(c *CouponTemplate) { c.Amount = "100" }, ""},
		{"fixed product large", func(c *CouponTemplate) { c.DiscountType = "fixed_product"; c.Amount = "1000" }, ""},
		{"maximum 0 means none", func(c *CouponTemplate) { c.MinimumAmount = "20"; c.MaximumAmount = "0" }, ""},
		{"no discount type", func(c *CouponTemplate) { c.DiscountType = "" }, "coupon.discount_type: required"},
		{"bad discount type", func(c *CouponTemplate) { c.DiscountType = "fixed" }, `coupon.discount_type: "fixed" is not one of`},
		{"no amount", func(c *CouponTemplate) { c.Amount = "" }, "coupon.amount: required"},
		{"zero amount", func(c *CouponTemplate) { c.Amount = "0.00" }, "coupon.amount: must be more than 0"},
		{"negative amount", func(c *CouponTemplate) { c.Amount = "-5" }, `coupon.amount: "-5": must not be negative`},
		{"three decimals", func(c *CouponTemplate) { c.Amount = "10.555" }, "more than two decimals"},
		{"decimal comma", func(c *CouponTemplate) { c.Amount = "10,5" }, "use '.' as the decimal separator"},
		{"letters", func(c *CouponTemplate) { c.Amount = "ten" }, "not a decimal number"},
		{"spaces", func(c *CouponTemplate) { c.Amount = " 10" }, "spaces around it"},
		{"trailing dot", func(c *CouponTemplate) { c.Amount = "10." }, "not a decimal number"},
		{"leading dot", func(c *CouponTemplate) { c.Amount = ".5" }, "not a decimal number"},
		{"exponent", func(c *CouponTemplate) { c.Amount = "1e3" }, "not a decimal number"},
		{"huge", func(c *CouponTemplate) { c.Amount = "1234567890123" }, "too large"},
		{"percent over 100", func(c *CouponTemplate) { c.Amount = "100.01" }, "coupon.amount: 100.01% is more than 100%"},
		{"bad minimum", func(c *CouponTemplate) { c.MinimumAmount = "5,00" }, "coupon.minimum_amount"},
		{"bad maximum", func(c *CouponTemplate) { c.MaximumAmount = "x" }, "coupon.maximum_amount"},
		{"minimum above maximum", func(c *CouponTemplate) { c.MinimumAmount = "100"; c.MaximumAmount = "99.99" }, "coupon.maximum_amount: 99.99 is less than minimum_amount 100"},
		{"no expiry", func(c *CouponTemplate) { c.Expiry = ExpirySpec{} }, "coupon.expiry: required"},
		{"both expiries", func(c *CouponTemplate) { c.Expiry = ExpirySpec{Days: 3, Date: "2026-12-31"} }, "set either days or date"},
		{"negative days", func(c *CouponTemplate) { c.Expiry = ExpirySpec{Days: -1} }, "coupon.expiry.days: -1 is out of range"},
		{"too many days", func(c *CouponTemplate) { c.Expiry = ExpirySpec{Days: 3651} }, "coupon.expiry.days: 3651 is out of range 1..3650"},
		{"date format", func(c *CouponTemplate) { c.Expiry = ExpirySpec{Date: "31.12.2026"} }, `coupon.expiry.date: "31.12.2026" is not a date`},
		{"impossible date", func(c *CouponTemplate) { c.Expiry = ExpirySpec{Date: "2026-02-30"} }, "coupon.expiry.date"},
		{"zero product id", func(c *CouponTemplate) { c.ProductIDs = []int64{5, 0} }, "coupon.product_ids: 0 is not a valid id"},
		{"negative category", func(c *CouponTemplate) { c.ExcludedProductCategories = []int64{-2} }, "coupon.excluded_product_categories: -2"},
		{"product both in and out", func(c *CouponTemplate) { c.ProductIDs = []int64{7}; c.ExcludedProductIDs = []int64{7} }, "coupon.excluded_product_ids: 7 is also in product_ids"},
		{"category both in and out", func(c *CouponTemplate) { c.ProductCategories = []int64{4}; c.ExcludedProductCategories = []int64{4} }, "coupon.excluded_product_categories: 4 is also in product_categories"},
		{"long description", func(c *CouponTemplate) { c.Description = strings.Repeat("é", 1001) }, "coupon.description: 1001 characters, at most 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl := validTemplate()
			tt.change(&tpl)
			err := tpl.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "coupon.") {
				t.Errorf("Validate() error %v is not a *FieldError under coupon.", err)
			}
		})
	}
}

func TestCouponTemplateValidateReportsEveryField(t *testing.T) {
	err := CouponTemplate{DiscountType: "gift", Amount: "x", MinimumAmount: "y"}.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		if errors.As(e, &fe) {
			fields = append(fields, fe.Field)
		}
	}
	want := []string{"coupon.discount_type", "coupon.amount", "coupon.minimum_amount", "coupon.expiry"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("fields in error = %q, want %q", fields, want)
	}
}

func TestCouponTemplateValidateAtRefusesPastDate(t *testing.T) {
	tpl := validTemplate()
	tpl.Expiry = ExpirySpec{Date: "2026-03-01"}
	berlin := mustLoc(t, "Europe/Berlin")
	// 22:59:59 UTC on 1 March is 23:59:59 in Berlin: still valid for a second.
	if err := tpl.ValidateAt(mustTime(t, "2026-03-01T22:59:58Z"), berlin); err != nil {
		t.Errorf("ValidateAt one second before the end = %v, want nil", err)
	}
	err := tpl.ValidateAt(mustTime(t, "2026-03-01T23:00:00Z"), berlin)
	if err == nil || !strings.Contains(err.Error(), "coupon.expiry.date: 2026-03-01 has passed") {
		t.Errorf("ValidateAt after the end = %v, want a has-passed error", err)
	}
	if err := (CouponTemplate{}).ValidateAt(time.Now(), nil); err == nil {
		t.Error("ValidateAt of an empty template = nil, want the Validate errors")
	}
}

func TestTemplateCanonicalAmount(t *testing.T) {
	for in, want := range map[string]string{"010.50": "10.5", "10.00": "10", "0.05": "0.05", "7": "7", "": "", "12.3": "12.3", "bad": "bad"} {
		if got := canonicalAmount(in); got != want {
			t.Errorf("canonicalAmount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTemplateBuildMakesAOneTimePersonalCoupon(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	tpl := CouponTemplate{DiscountType: "fixed_cart", Amount: "05.50", Expiry: ExpirySpec{Days: 1},
		MinimumAmount: "20.00", FreeShipping: true, ExcludeSaleItems: true,
		ProductIDs: []int64{11}, ExcludedProductIDs: []int64{12}, ProductCategories: []int64{13}, ExcludedProductCategories: []int64{14}}
	got := tpl.Build(CouponParams{Campaign: "welcome", Code: "WELCOME-AB2C", Email: "Ann@Example.com",
		Issued: mustTime(t, "2026-10-24T12:00:00Z"), Loc: berlin})

	one := 1
	want := woo.Coupon{
		Code: "WELCOME-AB2C", Amount: "5.5", DiscountType: "fixed_cart", Description: "couponbridge campaign welcome",
		DateExpires:   &woo.Time{Time: time.Date(2026, 10, 25, 23, 59, 59, 0, berlin)},
		IndividualUse: true, ProductIDs: []int64{11}, ExcludedProductIDs: []int64{12},
		UsageLimit: &one, UsageLimitPerUser: &one, FreeShipping: true,
		ProductCategories: []int64{13}, ExcludedProductCategories: []int64{14}, ExcludeSaleItems: true,
		MinimumAmount: "20", EmailRestrictions: woo.EmailList{"ann@example.com"},
		MetaData: []woo.Meta{{Key: MetaCampaign, Value: "welcome"}, {Key: MetaRecipient, Value: "ann@example.com"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Build =\n%+v\nwant\n%+v", got, want)
	}

	// On the wire: the expiry instant in UTC with Z and whole seconds
	// (WordPress drops the minutes of an offset such as +05:30), the end of
	// the day in store time.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var wire map[string]any
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"date_expires": "2026-10-25T22:59:59Z", "usage_limit": 1.0, "usage_limit_per_user": 1.0,
		"amount": "5.5", "minimum_amount": "20", "individual_use": true,
	} {
		if wire[key] != want {
			t.Errorf("JSON %s = %#v, want %#v (body %s)", key, wire[key], want, b)
		}
	}
	if got := wire["email_restrictions"]; !reflect.DeepEqual(got, []any{"ann@example.com"}) {
		t.Errorf("JSON email_restrictions = %#v, want [ann@example.com]", got)
	}

	// Build copies the id lists: changing the coupon leaves the template alone.
	got.ProductIDs[0] = 99
	if tpl.ProductIDs[0] != 11 {
		t.Error("Build shares ProductIDs with the template")
	}
}

func TestTemplateBuildExportOnlyKeepsUsageLimits(t *testing.T) {
	no := false
	tpl := CouponTemplate{DiscountType: "percent", Amount: "20", Expiry: ExpirySpec{Date: "2026-12-31"}, IndividualUse: &no, Description: "Influencer handout"}
	got := tpl.Build(CouponParams{Campaign: "influencers", Code: "VIP-AB2C", Issued: mustTime(t, "2026-06-01T00:00:00Z")})
	if len(got.EmailRestrictions) != 0 || got.EmailRestrictions == nil {
		t.Errorf("EmailRestrictions = %#v, want an empty, non-nil list (sent as [])", got.EmailRestrictions)
	}
	if got.UsageLimit == nil || *got.UsageLimit != 1 || got.UsageLimitPerUser == nil || *got.UsageLimitPerUser != 1 {
		t.Errorf("usage limits = %v, %v; want 1, 1", got.UsageLimit, got.UsageLimitPerUser)
	}
	if got.IndividualUse {
		t.Error("IndividualUse = true, want the template's false")
	}
	if got.Description != "Influencer handout" {
		t.Errorf("Description = %q", got.Description)
	}
	if v, _ := got.MetaValue(MetaRecipient); v != "export:vip-ab2c" {
		t.Errorf("meta %s = %q, want export:vip-ab2c", MetaRecipient, v)
	}
	if !got.DateExpires.Equal(mustTime(t, "2026-12-31T23:59:59Z")) {
		t.Errorf("DateExpires = %v, want end of 2026-12-31 UTC", got.DateExpires)
	}
}

func TestRecipientKey(t *testing.T) {
	if got := RecipientKey("Ann@Example.com", "X-1"); got != "ann@example.com" {
		t.Errorf("RecipientKey with email = %q", got)
	}
	if got := RecipientKey("", "VIP-AbC"); got != "export:vip-abc" {
		t.Errorf("RecipientKey export-only = %q", got)
	}
}

// storeCopy returns what a WooCommerce store sends back for asked: code
// lowercased, amounts formatted, expiry as site-local and GMT wall clocks
// without offsets, meta with ids, status publish.
func storeCopy(t *testing.T, asked woo.Coupon) woo.Coupon {
	t.Helper()
	exp := asked.DateExpires.Time
	body := map[string]any{
		"id": 123, "code": strings.ToLower(asked.Code), "amount": asked.Amount + ".00", "discount_type": asked.DiscountType,
		"date_expires":     exp.Format("2006-01-02T15:04:05"),
		"date_expires_gmt": exp.UTC().Format("2006-01-02T15:04:05"),
		"usage_limit":      1, "usage_limit_per_user": 1, "individual_use": true,
		"email_restrictions": asked.EmailRestrictions, "status": "publish",
		"meta_data": []map[string]any{
			{"id": 1, "key": MetaCampaign, "value": asked.MetaData[0].Value},
			{"id": 2, "key": MetaRecipient, "value": asked.MetaData[1].Value},
		},
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var got woo.Coupon
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestVerifyCouponAcceptsTheStoresReadBack(t *testing.T) {
	asked := validTemplate().Build(CouponParams{Campaign: "welcome", Code: "WELCOME-AB2C", Email: "ann@example.com",
		Issued: mustTime(t, "2026-10-24T12:00:00Z"), Loc: mustLoc(t, "Europe/Berlin")})
	got := storeCopy(t, asked)
	if err := VerifyCoupon(asked, got); err != nil {
		t.Errorf("VerifyCoupon = %v, want nil", err)
	}
	got.EmailRestrictions = woo.EmailList{"Ann@Example.COM"}
	if err := VerifyCoupon(asked, got); err != nil {
		t.Errorf("VerifyCoupon with a differently cased email = %v, want nil", err)
	}
	full := CouponTemplate{DiscountType: "fixed_cart", Amount: "5", Expiry: ExpirySpec{Days: 7}, MinimumAmount: "20", MaximumAmount: "200.5",
		FreeShipping: true, ExcludeSaleItems: true, ProductIDs: []int64{3, 1}, ExcludedProductCategories: []int64{9}}
	askedFull := full.Build(CouponParams{Campaign: "welcome", Code: "W-2", Email: "ann@example.com", Issued: mustTime(t, "2026-10-24T12:00:00Z")})
	gotFull := storeCopy(t, askedFull)
	gotFull.MinimumAmount, gotFull.MaximumAmount = "20.00", "200.50"
	gotFull.FreeShipping, gotFull.ExcludeSaleItems = true, true
	gotFull.ProductIDs, gotFull.ExcludedProductCategories = []int64{1, 3}, []int64{9}
	if err := VerifyCoupon(askedFull, gotFull); err != nil {
		t.Errorf("VerifyCoupon with every term set = %v, want nil", err)
	}
	export := validTemplate().Build(CouponParams{Campaign: "vip", Code: "VIP-1", Issued: mustTime(t, "2026-10-24T12:00:00Z")})
	if err := VerifyCoupon(export, storeCopy(t, export)); err != nil {
		t.Errorf("VerifyCoupon export-only = %v, want nil", err)
	}
}

func TestVerifyCouponFindsEveryMismatch(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	asked := validTemplate().Build(CouponParams{Campaign: "welcome", Code: "WELCOME-AB2C", Email: "bob@x.com",
		Issued: mustTime(t, "2026-10-24T12:00:00Z"), Loc: berlin})
	two := 2
	tests := []struct {
		name   string
		change func(*woo.Coupon)
		want   string
	}{
		{"email rewritten", func(c *woo.Coupon) { c.EmailRestrictions = woo.EmailList{"bobbob@x.com"} }, "email_restrictions: asked [bob@x.com], store has [bobbob@x.com]"},
		{"email dropped", func(c *woo.Coupon) { c.EmailRestrictions = nil }, "email_restrictions: asked [bob@x.com], store has []"},
		{"extra email", func(c *woo.Coupon) { c.EmailRestrictions = woo.EmailList{"bob@x.com", "eve@x.com"} }, "email_restrictions: asked [bob@x.com], store has [bob@x.com, eve@x.com]"},
		{"usage limit gone", func(c *woo.Coupon) { c.UsageLimit = nil }, "usage_limit: want 1, store has none"},
		{"per-user limit 2", func(c *woo.Coupon) { c.UsageLimitPerUser = &two }, "usage_limit_per_user: want 1, store has 2"},
		{"expiry dropped", func(c *woo.Coupon) { c.DateExpires, c.DateExpiresGMT = nil, nil }, "expiry: store dropped the expiry (asked 2026-11-23T23:59:59+01:00)"},
		{"expiry without gmt", func(c *woo.Coupon) { c.DateExpiresGMT = nil }, "expiry: store sent no date_expires_gmt to check the instant against (asked 2026-11-23T23:59:59+01:00)"},
		{"expiry shifted by the offset", func(c *woo.Coupon) { c.DateExpiresGMT = &woo.Time{Time: mustTime(t, "2026-11-23T23:59:59Z")} },
			"expiry: asked 2026-11-23T23:59:59+01:00 (2026-11-23T22:59:59Z), store has 2026-11-23T23:59:59Z"},
		{"amount", func(c *woo.Coupon) { c.Amount = "15.01" }, `amount: asked "15", store has "15.01"`},
		{"discount type", func(c *woo.Coupon) { c.DiscountType = "fixed_cart" }, `discount_type: asked "percent", store has "fixed_cart"`},
		{"code", func(c *woo.Coupon) { c.Code = "welcome-ab2d" }, `code: asked "WELCOME-AB2C", store has "welcome-ab2d"`},
		{"campaign meta", func(c *woo.Coupon) { c.MetaData[0].Value = "winback" }, `meta _couponbridge_campaign: asked "welcome", store has "winback"`},
		{"recipient meta missing", func(c *woo.Coupon) { c.MetaData = c.MetaData[:1] }, `meta _couponbridge_recipient: asked "bob@x.com", store has none`},
		{"trashed", func(c *woo.Coupon) { c.Status = "trash" }, `status: store has "trash", want publish`},
		{"minimum amount added", func(c *woo.Coupon) { c.MinimumAmount = "50.00" }, `minimum_amount: asked "", store has "50.00"`},
		{"individual use dropped", func(c *woo.Coupon) { c.IndividualUse = false }, "individual_use: asked true, store has false"},
		{"free shipping added", func(c *woo.Coupon) { c.FreeShipping = true }, "free_shipping: asked false, store has true"},
		{"products added", func(c *woo.Coupon) { c.ProductIDs = []int64{5} }, "product_ids: asked [], store has [5]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := storeCopy(t, asked)
			tt.change(&got)
			err := VerifyCoupon(asked, got)
			var me *CouponMismatchError
			if !errors.As(err, &me) {
				t.Fatalf("VerifyCoupon = %v, want a *CouponMismatchError", err)
			}
			if len(me.Mismatches) != 1 || me.Mismatches[0] != tt.want {
				t.Errorf("mismatches = %q, want exactly [%q]", me.Mismatches, tt.want)
			}
		})
	}

	// Several at once: all are listed, in one error.
	got := storeCopy(t, asked)
	got.EmailRestrictions = woo.EmailList{"bx.com"}
	got.UsageLimit = nil
	got.DateExpires, got.DateExpiresGMT = nil, nil
	err := VerifyCoupon(asked, got)
	want := "coupon WELCOME-AB2C in the store differs from what was asked: email_restrictions: asked [bob@x.com], store has [bx.com]; " +
		"usage_limit: want 1, store has none; expiry: store dropped the expiry (asked 2026-11-23T23:59:59+01:00)"
	if err == nil || err.Error() != want {
		t.Errorf("VerifyCoupon =\n%v\nwant\n%s", err, want)
	}

	// An asked coupon without expiry is itself wrong.
	noExp := asked
	noExp.DateExpires = nil
	if err := VerifyCoupon(noExp, storeCopy(t, asked)); err == nil || !strings.Contains(err.Error(), "asked coupon has no expiry") {
		t.Errorf("VerifyCoupon with no asked expiry = %v", err)
	}
}

func TestVerifyCouponOnAWooCommerceResponse(t *testing.T) {
	// As a store sends it: site-local and GMT expiry without offsets,
	// formatted amount, lowercased code, meta with ids.
	const body = `{"id":812,"code":"welcome-ab2c","amount":"15.00","discount_type":"percent","status":"publish",
		"date_expires":"2026-11-23T23:59:59","date_expires_gmt":"2026-11-23T22:59:59",
		"individual_use":true,"usage_limit":1,"usage_limit_per_user":1,
		"email_restrictions":%s,
		"meta_data":[{"id":4501,"key":"_couponbridge_campaign","value":"welcome"},{"id":4502,"key":"_couponbridge_recipient","value":"bob@x.com"}]}`
	asked := validTemplate().Build(CouponParams{Campaign: "welcome", Code: "WELCOME-AB2C", Email: "bob@x.com",
		Issued: mustTime(t, "2026-10-24T12:00:00Z"), Loc: mustLoc(t, "Europe/Berlin")})
	tests := []struct {
		emails string
		want   string // "" = matches
	}{
		{`["bob@x.com"]`, ""},
		{`{"0":"bob@x.com"}`, ""},
		// The sanitizer dropped a display-name entry before the real one.
		{`{"1":"bob@x.com","2":"eve@x.com"}`, "email_restrictions: asked [bob@x.com], store has [bob@x.com, eve@x.com]"},
		{`[]`, "email_restrictions: asked [bob@x.com], store has []"},
	}
	for _, tt := range tests {
		var got woo.Coupon
		if err := json.Unmarshal([]byte(strings.Replace(body, "%s", tt.emails, 1)), &got); err != nil {
			t.Fatalf("decoding %s: %v", tt.emails, err)
		}
		err := VerifyCoupon(asked, got)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("email_restrictions %s: VerifyCoupon = %v, want nil", tt.emails, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("email_restrictions %s: VerifyCoupon = %v, want %q", tt.emails, err, tt.want)
		}
	}
}

// TestTemplateCouponRoundTripsThroughTheSandboxStore creates Build's coupons
// in the WooCommerce-compatible sandbox, in stores east and west of UTC, and
// checks that VerifyCoupon accepts what comes back, and refuses it when the
// store's timezone is not the one the coupon was built for (the classic
// off-by-the-offset expiry).
func TestTemplateCouponRoundTripsThroughTheSandboxStore(t *testing.T) {
	no := false
	tpl := CouponTemplate{DiscountType: "fixed_cart", Amount: "12.50", Expiry: ExpirySpec{Days: 30},
		MinimumAmount: "40", MaximumAmount: "400", IndividualUse: &no, FreeShipping: true, ExcludeSaleItems: true,
		ProductIDs: []int64{21, 7}, ExcludedProductCategories: []int64{3}, Description: "Welcome, new customer"}
	issued := mustTime(t, "2026-10-24T21:30:00Z") // the 24th in New York, the 24th→25th night in Berlin
	for _, zone := range []string{"Europe/Berlin", "America/New_York"} {
		t.Run(zone, func(t *testing.T) {
			loc := mustLoc(t, zone)
			store := wootest.NewStore(wootest.WithTimezone(loc))
			srv := httptest.NewServer(store)
			defer srv.Close()
			client, err := woo.NewClient(srv.URL, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
				woo.WithAuthMode(woo.AuthOAuth1), woo.WithHTTPClient(srv.Client()))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for _, email := range []string{"Ann@Example.com", ""} {
				asked := tpl.Build(CouponParams{Campaign: "welcome", Code: "WELCOME-" + zone[:4] + strings.ToUpper(email[:min(3, len(email))]),
					Email: email, Issued: issued, Loc: loc})
				created, err := client.Coupons.Create(ctx, &asked)
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				got, err := client.Coupons.Get(ctx, created.ID)
				if err != nil {
					t.Fatalf("Get: %v", err)
				}
				if err := VerifyCoupon(asked, *got); err != nil {
					t.Errorf("email %q: VerifyCoupon of the store's copy = %v, want nil", email, err)
				}
			}

			// The right wall clock in the wrong zone (23:59:59 UTC instead
			// of store time), as a store that ignored the offset would
			// save it, must be caught.
			asked := tpl.Build(CouponParams{Campaign: "welcome", Code: "WELCOME-SHIFT", Email: "bob@example.com", Issued: issued, Loc: loc})
			shifted := asked
			wall := asked.DateExpires.Time
			shifted.DateExpires = &woo.Time{Time: time.Date(wall.Year(), wall.Month(), wall.Day(), 23, 59, 59, 0, time.UTC)}
			created, err := client.Coupons.Create(ctx, &shifted)
			if err != nil {
				t.Fatal(err)
			}
			err = VerifyCoupon(asked, *created)
			if err == nil || !strings.Contains(err.Error(), "expiry: asked") {
				t.Errorf("VerifyCoupon of an expiry shifted by the UTC offset = %v, want an expiry mismatch", err)
			}
		})
	}
}
