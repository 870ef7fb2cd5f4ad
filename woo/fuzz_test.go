package woo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func addTestdataSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeErrorBody(f *testing.F) {
	addTestdataSeeds(f)
	f.Add([]byte(`<html><body>502 Bad Gateway</body></html>`))
	f.Add([]byte(`{"code":"x","message":"&lt;b&gt;","data":null}`))
	f.Add([]byte(`{"code":1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w, ok := decodeErrorBody(body)
		if ok && w.Code == "" {
			t.Fatalf("decodeErrorBody(%q) ok with an empty code", body)
		}
		_ = w.status()
		q := quoteBody(body)
		if len(q) > quoteBodyBytes+len("…") {
			t.Fatalf("quoteBody returned %d bytes", len(q))
		}
	})
}

func FuzzCouponUnmarshal(f *testing.F) {
	addTestdataSeeds(f)
	f.Add([]byte(`{"code":"a","email_restrictions":{"3":"x","1":"y"},"used_by":[1,"a"],"usage_limit":"2"}`))
	f.Add([]byte(`{"code":"a","date_expires":"2026-01-01 00:00:00","amount":1e3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var c Coupon
		if err := json.Unmarshal(body, &c); err != nil {
			return
		}
		// What decoded must encode, and encoding must decode to the same
		// writable fields.
		b, err := json.Marshal(c)
		if err != nil {
			// Only an out-of-range date may refuse to encode.
			for _, tm := range []*Time{c.DateExpires, c.DateExpiresGMT, c.DateCreatedGMT, c.DateModifiedGMT} {
				if tm != nil && (tm.Year() < 0 || tm.Year() > 9999) {
					return
				}
			}
			t.Fatalf("Marshal(%+v): %v", c, err)
		}
		var back Coupon
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if back.Code != c.Code || back.Amount != c.Amount || len(back.EmailRestrictions) != len(c.EmailRestrictions) || len(back.UsedBy) != len(c.UsedBy) {
			t.Fatalf("round trip changed the coupon:\n%+v\n%+v", c, back)
		}
		if (c.UsageLimit == nil) != (back.UsageLimit == nil) || (c.UsageLimit != nil && *c.UsageLimit != *back.UsageLimit) {
			t.Fatalf("usage_limit %v became %v", c.UsageLimit, back.UsageLimit)
		}
		if c.DateExpires != nil && back.DateExpires != nil && !c.DateExpires.Truncate(1e9).Equal(back.DateExpires.Time) {
			t.Fatalf("date_expires %v became %v", c.DateExpires.Time, back.DateExpires.Time)
		}
	})
}

func FuzzEmailListUnmarshal(f *testing.F) {
	f.Add([]byte(`{"0":"a@x.com","2":"c@z.com"}`))
	f.Add([]byte(`["a","b"]`))
	f.Add([]byte(`{"x":"a","01":"b","1":"c"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var l EmailList
		if err := json.Unmarshal(body, &l); err != nil {
			return
		}
		var generic any
		if json.Unmarshal(body, &generic) != nil {
			t.Fatalf("EmailList accepted invalid JSON %q", body)
		}
		if m, ok := generic.(map[string]any); ok && len(l) > len(m) {
			t.Fatalf("object with %d keys gave %d entries", len(m), len(l))
		}
	})
}
