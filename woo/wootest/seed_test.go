package wootest

import (
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSeedDemoIsDeterministicAndSeedsOnlyAnEmptyStore(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	read := func(seed int64) ([]map[string]any, []map[string]any, DemoSeed) {
		s, c := newTLSStore(t, WithClock(func() time.Time { return now }))
		sum, seeded, err := s.SeedDemo(now, seed)
		if err != nil || !seeded {
			t.Fatalf("SeedDemo: seeded %v, %v", seeded, err)
		}
		if _, again, err := s.SeedDemo(now, seed); again || err != nil {
			t.Errorf("second SeedDemo on a seeded store: seeded %v, %v; want it left alone", again, err)
		}
		// _links carry the test server's port: not part of the content.
		strip := func(l []map[string]any) []map[string]any {
			for _, m := range l {
				delete(m, "_links")
			}
			return l
		}
		return strip(c.do("GET", "/customers?per_page=100&orderby=id&order=asc", nil).list(t)),
			strip(c.do("GET", "/orders?per_page=100&orderby=id&order=asc", nil).list(t)), sum
	}
	cust1, ord1, sum := read(7)
	cust2, ord2, _ := read(7)
	if !reflect.DeepEqual(cust1, cust2) || !reflect.DeepEqual(ord1, ord2) {
		t.Error("two stores seeded with the same seed and time differ")
	}
	cust3, _, _ := read(8)
	if reflect.DeepEqual(cust1, cust3) {
		t.Error("another seed gave the same customers")
	}
	if sum.NewSignups < 10 || sum.NewBuyers < 3 || sum.Lapsed < 15 || sum.Recent < 5 || sum.Guests < 5 {
		t.Errorf("seed = %+v, want customers of every kind", sum)
	}
	if len(cust1) != sum.NewSignups+sum.NewBuyers+sum.Lapsed+sum.Recent || len(ord1) == 0 {
		t.Errorf("%d customers, %d orders listed; seed says %+v", len(cust1), len(ord1), sum)
	}
	for _, c := range cust1 {
		e := c["email"].(string)
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || strings.ContainsFunc(e, func(r rune) bool { return r > 127 }) {
			t.Errorf("seeded email %q is not a plain address: %v", e, err)
		}
	}
}
