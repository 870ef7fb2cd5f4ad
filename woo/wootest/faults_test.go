package wootest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// serve calls the handler directly (no socket), as tests inside synctest
// bubbles must.
func serve(t *testing.T, s *Store, ctx context.Context, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequestWithContext(ctx, method, "https://shop.test/wp-json/wc/v3"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequestWithContext(ctx, method, "https://shop.test/wp-json/wc/v3"+path, nil)
	}
	req.SetBasicAuth(DefaultKey, DefaultSecret)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestRateLimitAnswers429AboveTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewStore()
		s.SetFaults(Faults{RateLimitRPS: 5, RetryAfter: true})
		codes := map[int]int{}
		for range 8 {
			rec := serve(t, s, t.Context(), "GET", "/coupons", "")
			codes[rec.Code]++
			if rec.Code == 429 && rec.Header().Get("Retry-After") == "" {
				t.Error("429 without Retry-After although RetryAfter is set")
			}
		}
		if codes[200] != 5 || codes[429] != 3 {
			t.Errorf("answers = %v, want 5×200 and 3×429 (burst of one second)", codes)
		}
		time.Sleep(time.Second)
		for range 5 {
			if rec := serve(t, s, t.Context(), "GET", "/coupons", ""); rec.Code != 200 {
				t.Errorf("after 1 s: %d, want 200", rec.Code)
			}
		}
		st := s.Stats()
		if st.Requests != 13 || st.Throttled != 3 {
			t.Errorf("Stats = %+v, want 13 requests, 3 throttled", st)
		}
		if st.PeakRPS != 8 {
			t.Errorf("PeakRPS = %v, want 8", st.PeakRPS)
		}
		s.SetFaults(Faults{RateLimitRPS: 1})
		serve(t, s, t.Context(), "GET", "/coupons", "")
		if rec := serve(t, s, t.Context(), "GET", "/coupons", ""); rec.Code != 429 || rec.Header().Get("Retry-After") != "" {
			t.Errorf("without RetryAfter: %d Retry-After %q, want 429 and none", rec.Code, rec.Header().Get("Retry-After"))
		}
	})
}

func TestErrorRatioAnswers5xxAndAppliesNothing(t *testing.T) {
	s := NewStore()
	s.SetFaults(Faults{ErrorRatio: 1, Seed: 7})
	seen := map[int]bool{}
	for i := range 30 {
		rec := serve(t, s, t.Context(), "POST", "/coupons", fmt.Sprintf(`{"code":"c%d"}`, i))
		if rec.Code != 502 && rec.Code != 503 && rec.Code != 504 {
			t.Fatalf("status %d, want 502/503/504", rec.Code)
		}
		seen[rec.Code] = true
	}
	if len(seen) != 3 {
		t.Errorf("statuses seen %v, want all of 502, 503, 504", seen)
	}
	if n := len(s.Coupons()); n != 0 {
		t.Errorf("%d coupons created behind injected errors, want 0", n)
	}
}

func TestRandomFaultsAreDeterministicForASeed(t *testing.T) {
	run := func(seed int64) []int {
		s := NewStore()
		s.SetFaults(Faults{ErrorRatio: 0.3, HTMLErrorRatio: 0.3, Seed: seed})
		var out []int
		for range 40 {
			out = append(out, serve(t, s, t.Context(), "GET", "/coupons", "").Code)
		}
		return out
	}
	a, b := run(42), run(42)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("same seed gave different sequences:\n%v\n%v", a, b)
	}
	if c := run(43); reflect.DeepEqual(a, c) {
		t.Errorf("seeds 42 and 43 gave the same sequence %v", a)
	}
}

func TestHTMLErrorPages(t *testing.T) {
	s := NewStore()
	s.SetFaults(Faults{HTMLErrorRatio: 1, Seed: 1})
	seen := map[int]bool{}
	for range 20 {
		rec := serve(t, s, t.Context(), "GET", "/coupons", "")
		if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "<html>") {
			t.Fatalf("HTML fault gave %q %q", rec.Header().Get("Content-Type"), rec.Body.String())
		}
		seen[rec.Code] = true
	}
	if !seen[200] || !seen[503] || len(seen) != 2 {
		t.Errorf("statuses %v, want 200 and 503", seen)
	}
}

func TestLatencyAndItemLatencyUseTheRequestClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewStore()
		s.SetFaults(Faults{Latency: 3 * time.Second, ItemLatency: 100 * time.Millisecond})
		start := time.Now()
		serve(t, s, t.Context(), "GET", "/coupons", "")
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("GET took %v, want 3s", d)
		}
		start = time.Now()
		rec := serve(t, s, t.Context(), "POST", "/coupons/batch", `{"create":[{"code":"a"},{"code":"b"},{"code":"c"},{"code":"d"}]}`)
		if rec.Code != 200 {
			t.Fatalf("batch: %d %s", rec.Code, rec.Body)
		}
		if d := time.Since(start); d != 3*time.Second+400*time.Millisecond {
			t.Errorf("batch of 4 took %v, want 3.4s", d)
		}
	})
}

func TestCancelledRequestDuringLatencyAppliesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewStore()
		s.SetFaults(Faults{Latency: time.Minute})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		serve(t, s, ctx, "POST", "/coupons", `{"code":"late"}`)
		if d := time.Since(start); d != time.Second {
			t.Errorf("handler returned after %v, want 1s (the client's deadline)", d)
		}
		if n := len(s.Coupons()); n != 0 {
			t.Errorf("%d coupons, want 0", n)
		}
	})
}

func TestBatchKeepsGoingWhenTheClientGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewStore()
		s.SetFaults(Faults{ItemLatency: time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
		defer cancel()
		serve(t, s, ctx, "POST", "/coupons/batch", `{"create":[{"code":"a"},{"code":"b"},{"code":"c"}]}`)
		if n := len(s.Coupons()); n != 3 {
			t.Errorf("%d coupons after the client gave up, want 3 (PHP finishes the batch)", n)
		}
	})
}

func TestCommitThenFailGatewayTimeout(t *testing.T) {
	s := NewStore()
	s.SetFaults(Faults{CommitThenFail: 2})
	rec := serve(t, s, t.Context(), "POST", "/coupons", `{"code":"one"}`)
	if rec.Code != 504 {
		t.Fatalf("status %d, want 504", rec.Code)
	}
	rec = serve(t, s, t.Context(), "POST", "/coupons/batch", `{"create":[{"code":"two"},{"code":"three"}]}`)
	if rec.Code != 504 {
		t.Fatalf("batch status %d, want 504", rec.Code)
	}
	if got := s.Faults().CommitThenFail; got != 0 {
		t.Errorf("CommitThenFail left = %d, want 0", got)
	}
	if rec := serve(t, s, t.Context(), "GET", "/coupons", ""); rec.Code != 200 {
		t.Errorf("GET after faults: %d", rec.Code)
	}
	if rec := serve(t, s, t.Context(), "POST", "/coupons", `{"code":"four"}`); rec.Code != 201 {
		t.Errorf("create after faults: %d", rec.Code)
	}
	var codes []string
	for _, c := range s.Coupons() {
		codes = append(codes, c.Code)
	}
	if !reflect.DeepEqual(codes, []string{"one", "two", "three", "four"}) {
		t.Errorf("coupons = %v, want all four committed", codes)
	}
}

func TestCommitThenFailDropsTheConnection(t *testing.T) {
	s, c := newTLSStore(t)
	s.SetFaults(Faults{CommitThenFail: 1, FailMode: FailDropConnection})
	req := c.newReq("POST", c.url("/coupons"), map[string]any{"code": "dropped"})
	req.SetBasicAuth(c.key, c.secret)
	resp, err := c.hc.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want a dropped connection", resp.StatusCode)
	}
	if snaps := s.Coupons(); len(snaps) != 1 || snaps[0].Code != "dropped" {
		t.Errorf("coupons = %+v, want the committed coupon", snaps)
	}
}

func TestCommitThenFailDropWithoutHijackAborts(t *testing.T) {
	s := NewStore()
	s.SetFaults(Faults{CommitThenFail: 1, FailMode: FailDropConnection})
	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", r)
		}
		if n := len(s.Coupons()); n != 1 {
			t.Errorf("%d coupons, want 1", n)
		}
	}()
	serve(t, s, t.Context(), "POST", "/coupons", `{"code":"x"}`)
}

func TestStripAuthorizationLeavesQueryCredentials(t *testing.T) {
	s, c := newTLSStore(t)
	s.SetFaults(Faults{StripAuthorization: true})
	c.do("GET", "/coupons", nil).wantError(t, 401, "woocommerce_rest_cannot_view")
	c.noCreds = true
	if r := c.do("GET", c.srv.URL+"/wp-json/wc/v3/coupons?consumer_key="+DefaultKey+"&consumer_secret="+DefaultSecret, nil); r.status != 200 {
		t.Errorf("query credentials with stripped header: %d %s", r.status, r.body)
	}
}
