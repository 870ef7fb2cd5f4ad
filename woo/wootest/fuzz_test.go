package wootest

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzCouponWrite sends arbitrary bodies to the coupon routes: the store
// must always answer with JSON, never panic, and keep codes unique among
// published coupons.
func FuzzCouponWrite(f *testing.F) {
	for _, seed := range []string{
		`{"code":"a","amount":"10"}`,
		`{"code":"A","amount":10,"email_restrictions":["x@y.com","b@y","Bob <bob@x.com>"]}`,
		`{"code":"&lt;b&gt;","date_expires":"2026-12-31T23:59:59.5+01:00","usage_limit":-3}`,
		`{"create":[{"code":"q","individual_use":"yes"},{"code":"Q"}],"delete":[1,"2",null]}`,
		`{"code":null,"meta_data":[{"key":"k","value":{"x":[1,2]}},{"id":"7","key":"k","value":null}]}`,
		`[1,2,3]`, `{"code":{"x":1}}`, `{"email_restrictions":{"0":"a@b.com","5":"c@d.com"},"code":"e"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := NewStore()
		for _, path := range []string{"/coupons", "/coupons/batch", "/coupons/101"} {
			for _, method := range []string{"POST", "PUT"} {
				rec := serve(t, s, t.Context(), method, path, body)
				if !json.Valid(rec.Body.Bytes()) {
					t.Fatalf("%s %s %q: answer is not JSON: %q", method, path, body, rec.Body)
				}
			}
		}
		seen := map[string]bool{}
		for _, c := range s.Coupons() {
			if c.Status != "publish" {
				continue
			}
			k := strings.ToLower(c.Code)
			if seen[k] {
				t.Fatalf("two published coupons with code %q", k)
			}
			seen[k] = true
		}
	})
}
