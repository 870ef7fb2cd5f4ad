package wootest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestExpiryOffsetLosesItsMinutesAsWordPressReadsIt(t *testing.T) {
	_, c := newTLSStore(t)
	cases := []struct{ in, wantGMT string }{
		// iso8601_timezone_to_offset reads "+05:30" as +05:00 …
		{"2027-01-03T23:59:59+05:30", "2027-01-03T18:59:59"},
		{"2027-01-03T23:59:59+05:45", "2027-01-03T18:59:59"},
		// … and "-03:30" as -03:00: the minutes go whatever the sign.
		{"2027-01-03T12:00:00-03:30", "2027-01-03T15:00:00"},
		{"2027-01-03T12:00:00-09:30", "2027-01-03T21:00:00"},
		// Whole hours and Z are read right.
		{"2027-01-03T23:59:59+05:00", "2027-01-03T18:59:59"},
		{"2027-01-03T23:59:59Z", "2027-01-03T23:59:59"},
	}
	for i, tc := range cases {
		m := c.create(map[string]any{"code": fmt.Sprintf("tz%d", i), "date_expires": tc.in})
		if m["date_expires_gmt"] != tc.wantGMT {
			t.Errorf("date_expires %q: saved %v GMT, want %v", tc.in, m["date_expires_gmt"], tc.wantGMT)
		}
	}
}

// snapshotByCode returns the stored coupons with code.
func snapshotByCode(s *Store, code string) []CouponSnapshot {
	var out []CouponSnapshot
	for _, c := range s.Coupons() {
		if c.Code == code {
			out = append(out, c)
		}
	}
	return out
}

func TestPartialSaveKeepsTheCouponWithoutMetaAndAnswers500(t *testing.T) {
	s := NewStore()
	s.SetFaults(Faults{PartialSave: 1})
	rec := serve(t, s, t.Context(), "POST", "/coupons",
		`{"code":"half","amount":"10","email_restrictions":["bob@example.com"],"usage_limit":1,"meta_data":[{"key":"_cb","value":"x"}]}`)
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"internal_server_error"`) {
		t.Fatalf("partial save answered %d %s, want 500 internal_server_error", rec.Code, rec.Body)
	}
	got := snapshotByCode(s, "half")
	if len(got) != 1 || got[0].Status != "publish" || !slices.Equal(got[0].EmailRestrictions, []string{"bob@example.com"}) ||
		got[0].Amount != "10.00" || got[0].UsageLimit != 1 || len(got[0].Meta) != 0 {
		t.Fatalf("stored %+v, want one live coupon with its fields and no meta", got)
	}
	if s.Faults().PartialSave != 0 {
		t.Errorf("PartialSave left = %d, want 0", s.Faults().PartialSave)
	}

	// In a batch the fatal error hits one item: those before it are
	// whole, it has no meta, those after it are never reached.
	s.SetFaults(Faults{PartialSave: 1, PartialSaveItem: 1})
	rec = serve(t, s, t.Context(), "POST", "/coupons/batch", `{"create":[
		{"code":"b0","meta_data":[{"key":"_cb","value":"x"}]},
		{"code":"b1","meta_data":[{"key":"_cb","value":"x"}]},
		{"code":"b2","meta_data":[{"key":"_cb","value":"x"}]}]}`)
	if rec.Code != 500 {
		t.Fatalf("batch answered %d, want 500", rec.Code)
	}
	b0, b1, b2 := snapshotByCode(s, "b0"), snapshotByCode(s, "b1"), snapshotByCode(s, "b2")
	if len(b0) != 1 || b0[0].Meta["_cb"] != "x" || len(b1) != 1 || len(b1[0].Meta) != 0 || len(b2) != 0 {
		t.Errorf("after the fatal at item 1: b0 %+v, b1 %+v, b2 %+v; want b0 whole, b1 without meta, no b2", b0, b1, b2)
	}
}

func TestKeepsRunningAnswers504WhileTheItemsAreStillCreated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewStore()
		s.SetFaults(Faults{KeepsRunning: 1, ItemLatency: time.Second})
		start := time.Now()
		rec := serve(t, s, t.Context(), "POST", "/coupons/batch", `{"create":[{"code":"k0"},{"code":"k1"},{"code":"k2"}]}`)
		if rec.Code != 504 || time.Since(start) != 0 {
			t.Fatalf("answered %d after %v, want 504 at once", rec.Code, time.Since(start))
		}
		if n := len(s.Coupons()); n != 0 {
			t.Errorf("%d coupons at the answer, want 0 (still working)", n)
		}
		time.Sleep(1500 * time.Millisecond)
		if n := len(s.Coupons()); n != 1 {
			t.Errorf("%d coupons 1.5 s later, want 1 (one item a second)", n)
		}
		s.Wait()
		if n := len(s.Coupons()); n != 3 || time.Since(start) != 3*time.Second {
			t.Errorf("%d coupons after %v, want all 3 after 3s", n, time.Since(start))
		}
		if rec := serve(t, s, t.Context(), "POST", "/coupons", `{"code":"k3"}`); rec.Code != 201 {
			t.Errorf("next create answered %d, want 201 (one request only)", rec.Code)
		}
	})
}

func TestConcurrentCreatesOfOneNewCodeCanBothSucceedWithItemLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewStore()
		s.SetFaults(Faults{ItemLatency: 12 * time.Millisecond})
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Go(func() {
				codes[i] = serve(t, s, t.Context(), "POST", "/coupons", `{"code":"twin"}`).Code
			})
		}
		wg.Wait()
		twins := snapshotByCode(s, "twin")
		if codes[0] != 201 || codes[1] != 201 || len(twins) != 2 {
			t.Fatalf("answers %v, %d coupons; want both 201 and two coupons (check and insert are not atomic)", codes, len(twins))
		}
		// ?code= shows at most one of them: the newest.
		var list []map[string]any
		rec := serve(t, s, t.Context(), "GET", "/coupons?code=TWIN", "")
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 {
			t.Fatalf("?code= gave %s, want one coupon", rec.Body)
		}
		// A listing by search shows both.
		rec = serve(t, s, t.Context(), "GET", "/coupons?search=twin", "")
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 2 {
			t.Fatalf("?search= gave %s, want both coupons", rec.Body)
		}
		// Trashing one leaves the other live: its code is still taken.
		if rec := serve(t, s, t.Context(), "DELETE", fmt.Sprintf("/coupons/%d", twins[1].ID), ""); rec.Code != 200 {
			t.Fatalf("trash: %d %s", rec.Code, rec.Body)
		}
		if rec := serve(t, s, t.Context(), "POST", "/coupons", `{"code":"twin"}`); rec.Code != 400 {
			t.Errorf("create after trashing one twin answered %d, want 400 (the other is live)", rec.Code)
		}
		rec = serve(t, s, t.Context(), "GET", "/coupons?code=twin", "")
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 || int64(list[0]["id"].(float64)) != twins[0].ID {
			t.Errorf("?code= after trash gave %s, want the live twin %d", rec.Body, twins[0].ID)
		}
	})
}

func TestSearchSplitsTermsAsWordPressDoes(t *testing.T) {
	s := NewStore()
	for _, c := range []string{"spring-aaaa", "spring-bbbb", "summer-aaaa", "a+b"} {
		if rec := serve(t, s, t.Context(), "POST", "/coupons", `{"code":"`+c+`","description":"promo"}`); rec.Code != 201 {
			t.Fatal(rec.Body)
		}
	}
	cases := []struct {
		search string
		want   []string
	}{
		{"SPRING-", []string{"spring-aaaa", "spring-bbbb"}},                     // a substring, any case
		{"spring aaaa", []string{"spring-aaaa"}},                                // every term must match
		{"aaaa -spring", []string{"summer-aaaa"}},                               // a leading dash excludes
		{`"spring-b"`, []string{"spring-bbbb"}},                                 // a quoted phrase stays whole
		{"promo", []string{"spring-aaaa", "spring-bbbb", "summer-aaaa", "a+b"}}, // the description is searched too
		{"a+b", []string{"a+b"}},                                                // "+" splits, single letters go, and with nothing left the whole string is the term
		{"the aaaa", []string{"spring-aaaa", "summer-aaaa"}},                    // stopwords are dropped
	}
	for _, tc := range cases {
		rec := serve(t, s, t.Context(), "GET", "/coupons?orderby=id&order=asc&search="+url.QueryEscape(tc.search), "")
		var list []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			t.Fatalf("search %q: %s", tc.search, rec.Body)
		}
		var got []string
		for _, c := range list {
			got = append(got, c["code"].(string))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(tc.want))
		if !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", tc.search, got, want)
		}
	}
}

func TestListModifiedAfterInGMTOnANonUTCSite(t *testing.T) {
	kolkata := time.FixedZone("IST", 5*3600+1800)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := NewStore(WithTimezone(kolkata), WithClock(clock))
	serve(t, s, t.Context(), "POST", "/coupons", `{"code":"old"}`)
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	serve(t, s, t.Context(), "POST", "/coupons", `{"code":"new"}`)
	for q, want := range map[string]int{
		"modified_after=2026-03-01T10:30:00&dates_are_gmt=true": 1, // GMT
		"modified_after=2026-03-01T10:30:00":                    2, // site time: 05:00 GMT
		"modified_after=2026-03-01T10:30:00Z":                   1, // an explicit offset wins
		"modified_after=2026-03-01T11:00:00&dates_are_gmt=true": 0, // exclusive
		"status=any&modified_after=2026-03-01T09:00:00Z":        2,
	} {
		rec := serve(t, s, t.Context(), "GET", "/coupons?"+q, "")
		var list []map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != want {
			t.Errorf("%s: %d coupons (%s), want %d", q, len(list), rec.Body, want)
		}
	}
}
