package woo

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

var (
	dialRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	connReset   = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
)

func TestSafeRequestsAreRetried(t *testing.T) {
	ok := jsonResponder(200, `{"id":1,"code":"a"}`)
	cases := map[string]httpmock.Responder{
		"429":                jsonResponder(429, `{}`),
		"502":                jsonResponder(502, `bad gateway`),
		"503":                jsonResponder(503, string(readTestdata(t, "host_error.html"))),
		"504":                jsonResponder(504, ``),
		"200 with HTML body": jsonResponder(200, `<html><body>Please wait…</body></html>`),
		"empty 200":          jsonResponder(200, ``),
		"connection refused": httpmock.NewErrorResponder(dialRefused),
		"connection reset":   httpmock.NewErrorResponder(connReset),
		"unexpected EOF":     httpmock.NewErrorResponder(io.ErrUnexpectedEOF),
	}
	for name, first := range cases {
		for _, call := range []struct {
			method, path string
			do           func(c *Client) error
		}{
			{"GET", "/coupons/1", func(c *Client) error { _, err := c.Coupons.Get(context.Background(), 1); return err }},
			{"DELETE", "/coupons/1", func(c *Client) error { _, err := c.Coupons.Delete(context.Background(), 1, true); return err }},
			{"POST", "/coupons/batch", func(c *Client) error {
				res, err := c.Coupons.Batch(context.Background(), &CouponBatch{Delete: []int64{1}})
				if err == nil {
					err = res.Delete[0].Err
				}
				return err
			}},
		} {
			mock := httpmock.NewMockTransport()
			second := ok
			if call.path == "/coupons/batch" {
				second = jsonResponder(200, `{"delete":[{"id":1,"code":"a"}]}`)
			}
			mock.RegisterResponder(call.method, testStore+"/wp-json/wc/v3"+call.path, first.Then(second))
			c := newTestClient(t, mock)
			if err := call.do(c); err != nil {
				t.Errorf("%s %s after %s: %v, want success after a retry", call.method, call.path, name, err)
			}
			if n := mock.GetTotalCallCount(); n != 2 {
				t.Errorf("%s %s after %s: %d attempts, want 2", call.method, call.path, name, n)
			}
		}
	}
}

func TestConnectionErrorsAreReportedWithTheAttemptCount(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", httpmock.NewErrorResponder(connReset))
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/2", jsonResponder(200, `{"id":2,"code":"b"}`))
	c := newTestClient(t, mock, WithRetry(2, time.Millisecond, time.Millisecond))
	if _, err := c.Coupons.Get(context.Background(), 2); err != nil { // the store has answered once
		t.Fatal(err)
	}
	_, err := c.Coupons.Get(context.Background(), 1)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("err = %v, want it to wrap ECONNRESET", err)
	}
	if want := "woo: GET " + testStore + "/wp-json/wc/v3/coupons/1: store unreachable: read tcp: connection reset by peer (gave up after 3 attempts)"; err == nil || err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

func TestSafeRequestsAreNotRetriedOnDefiniteAnswers(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 500} {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(status, `{"code":"x","message":"m","data":{"status":1}}`))
		c := newTestClient(t, mock)
		_, err := c.Coupons.Get(context.Background(), 1)
		var ae *APIError
		if !errors.As(err, &ae) || ae.StatusCode != status {
			t.Errorf("status %d: err = %v, want *APIError with that status", status, err)
		}
		if n := mock.GetTotalCallCount(); n != 1 {
			t.Errorf("status %d: %d attempts, want 1", status, n)
		}
	}
}

func TestSafeRequestGivesUpAfterMaxRetries(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(503, `<html>down</html>`))
	c := newTestClient(t, mock, WithRetry(2, time.Millisecond, time.Millisecond))
	_, err := c.Coupons.Get(context.Background(), 1)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 || ae.Body != "<html>down</html>" {
		t.Fatalf("err = %#v, want *APIError 503 quoting the body", err)
	}
	if n := mock.GetTotalCallCount(); n != 3 {
		t.Errorf("%d attempts, want 3 (1 + 2 retries)", n)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Error("a GET must not report ErrOutcomeUnknown")
	}
}

func TestCreateIsNotRetriedWhenTheOutcomeIsUnclear(t *testing.T) {
	cases := map[string]httpmock.Responder{
		"502":                jsonResponder(502, `bad gateway`),
		"503":                jsonResponder(503, `<html>busy</html>`),
		"504":                jsonResponder(504, ``),
		"500":                jsonResponder(500, `{"code":"internal_server_error","message":"critical error","data":{"status":500}}`),
		"connection reset":   httpmock.NewErrorResponder(connReset),
		"unexpected EOF":     httpmock.NewErrorResponder(io.ErrUnexpectedEOF),
		"201 with HTML body": jsonResponder(201, `<html>cached page</html>`),
		"201 cut short":      jsonResponder(201, `{"id":12,"code":"ab`),
	}
	for name, r := range cases {
		for _, kind := range []string{"create", "batch"} {
			mock := httpmock.NewMockTransport()
			mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", r.Then(jsonResponder(201, `{"id":1,"code":"abc"}`)))
			mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch", r.Then(jsonResponder(200, `{"create":[{"id":1,"code":"abc"}]}`)))
			c := newTestClient(t, mock)
			var err error
			if kind == "create" {
				_, err = c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
			} else {
				var res *CouponBatchResult
				res, err = c.Coupons.Batch(context.Background(), &CouponBatch{Create: []Coupon{{Code: "abc"}}})
				if err != nil {
					t.Fatalf("Batch: %v", err)
				}
				err = res.Create[0].Err
			}
			if !errors.Is(err, ErrOutcomeUnknown) {
				t.Errorf("%s after %s: err = %v, want ErrOutcomeUnknown", kind, name, err)
			}
			if n := mock.GetTotalCallCount(); n != 1 {
				t.Errorf("%s after %s: %d attempts, want 1", kind, name, n)
			}
			if got := c.Stats().OutcomeUnknown; got != 1 {
				t.Errorf("%s after %s: Stats().OutcomeUnknown = %d, want 1", kind, name, got)
			}
		}
	}
}

func TestBatchUpdateIsNotRetriedOn504(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch", jsonResponder(504, ``))
	c := newTestClient(t, mock)
	res, err := c.Coupons.Batch(context.Background(), &CouponBatch{Update: []Coupon{{ID: 5, Code: "a"}}, Delete: []int64{6}})
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range []BatchItem{res.Update[0], res.Delete[0]} {
		if !errors.Is(it.Err, ErrOutcomeUnknown) {
			t.Errorf("item %d: err = %v, want ErrOutcomeUnknown", i, it.Err)
		}
	}
	if n := mock.GetTotalCallCount(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestCreateIsRetriedWhenNothingWasApplied(t *testing.T) {
	cases := map[string]httpmock.Responder{
		"429":                jsonResponder(429, `<html>slow down</html>`),
		"connection refused": httpmock.NewErrorResponder(dialRefused),
		"DNS failure":        httpmock.NewErrorResponder(&net.DNSError{Err: "no such host", Name: "shop.example.com", IsTemporary: true}),
	}
	for name, r := range cases {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", r.Then(jsonResponder(201, `{"id":9,"code":"abc"}`)))
		c := newTestClient(t, mock)
		got, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
		if err != nil || got.ID != 9 {
			t.Errorf("after %s: %v, %v; want the coupon after a retry", name, got, err)
		}
		if n := mock.GetTotalCallCount(); n != 2 {
			t.Errorf("after %s: %d attempts, want 2", name, n)
		}
	}
}

func TestCreateDefiniteRefusalIsNotOutcomeUnknown(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", jsonResponder(400, string(readTestdata(t, "error_code_exists.json"))))
	c := newTestClient(t, mock)
	_, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
	if !IsCodeExists(err) {
		t.Errorf("IsCodeExists(%v) = false, want true", err)
	}
	if errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v matches ErrOutcomeUnknown, want a definite refusal", err)
	}
}

func TestCreateTimeoutIsOutcomeUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		// The store takes longer than the per-attempt timeout.
		mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", jsonResponder(201, `{"id":1,"code":"abc"}`).Delay(2*time.Minute))
		c := newTestClient(t, mock, WithTimeout(30*time.Second))
		start := time.Now()
		_, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
		if !errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
		}
		if !strings.Contains(err.Error(), "per-attempt timeout") {
			t.Errorf("err = %q, want it to name the per-attempt timeout", err)
		}
		if d := time.Since(start); !near(d, 30*time.Second) {
			t.Errorf("gave up after %v, want 30s", d)
		}
		if n := mock.GetTotalCallCount(); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
}

func TestGetTimeoutIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
			jsonResponder(200, `{"id":1,"code":"a"}`).Delay(time.Minute).Then(jsonResponder(200, `{"id":1,"code":"a"}`)))
		c := newTestClient(t, mock, WithTimeout(10*time.Second))
		if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
			t.Fatalf("Get: %v", err)
		}
		if n := mock.GetTotalCallCount(); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
}

func TestCallerCancellingAnInFlightCreateIsOutcomeUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", jsonResponder(201, `{"id":1,"code":"abc"}`).Delay(time.Minute))
		c := newTestClient(t, mock)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.Coupons.Create(ctx, &Coupon{Code: "abc"})
		if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrOutcomeUnknown and context.DeadlineExceeded", err)
		}
	})
}

func TestCancelledBeforeSendingIsNotOutcomeUnknown(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", jsonResponder(201, `{"id":1,"code":"abc"}`))
	c := newTestClient(t, mock)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Coupons.Create(ctx, &Coupon{Code: "abc"})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want context.Canceled without ErrOutcomeUnknown", err)
	}
	if n := mock.GetTotalCallCount(); n != 0 {
		t.Errorf("%d attempts, want 0", n)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	cases := []struct {
		name   string
		header func(now time.Time) (string, string)
		want   time.Duration
	}{
		{"Retry-After seconds", func(time.Time) (string, string) { return "Retry-After", "7" }, 7 * time.Second},
		{"Retry-After HTTP date", func(now time.Time) (string, string) {
			return "Retry-After", now.Add(12 * time.Second).UTC().Format(http.TimeFormat)
		}, 12 * time.Second},
		{"RateLimit-Retry-After", func(time.Time) (string, string) { return "RateLimit-Retry-After", "4" }, 4 * time.Second},
		{"RateLimit-Reset seconds", func(time.Time) (string, string) { return "RateLimit-Reset", "9" }, 9 * time.Second},
		{"RateLimit-Reset timestamp", func(now time.Time) (string, string) {
			return "RateLimit-Reset", strconv.FormatInt(now.Add(20*time.Second).Unix(), 10)
		}, 20 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				mock := httpmock.NewMockTransport()
				k, v := tc.header(time.Now())
				mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
					withHeader(jsonResponder(429, `{}`), k, v).Then(jsonResponder(200, `{"id":1,"code":"a"}`)))
				c := newTestClient(t, mock, WithRetry(3, time.Millisecond, time.Minute))
				start := time.Now()
				if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
					t.Fatal(err)
				}
				if d := time.Since(start); d < tc.want || d > tc.want+time.Second {
					t.Errorf("retried after %v, want %v", d, tc.want)
				}
			})
		})
	}
}

func TestRetryAfterLongerThanMaxWaitEndsRetries(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", withHeader(jsonResponder(429, `{}`), "Retry-After", "3600"))
	c := newTestClient(t, mock, WithRetry(3, time.Millisecond, time.Minute))
	_, err := c.Coupons.Get(context.Background(), 1)
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 429 || ae.RetryAfter != time.Hour {
		t.Fatalf("err = %v, want *APIError 429 with RetryAfter 1h", err)
	}
	if n := mock.GetTotalCallCount(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

func TestBackoffGrowsExponentiallyWithJitter(t *testing.T) {
	minW, maxW := 100*time.Millisecond, 2*time.Second
	for attempt, want := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		want *= time.Millisecond
		for range 50 {
			d := jitteredBackoff(minW, maxW, attempt)
			if d < want/2 || d > want {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, d, want/2, want)
			}
		}
	}
	if d := jitteredBackoff(minW, maxW, 5000); d > maxW {
		t.Errorf("huge attempt: backoff %v above max %v", d, maxW)
	}
}

func TestServerWaitParsesHeaders(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{http.Header{"Retry-After": {"120"}}, 2 * time.Minute, true},
		{http.Header{"Retry-After": {"Sun, 01 Mar 2026 12:00:30 GMT"}}, 30 * time.Second, true},
		{http.Header{"Retry-After": {"Sun, 01 Mar 2026 11:00:00 GMT"}}, 0, true},
		{http.Header{"Retry-After": {"soon"}}, 0, false},
		{http.Header{"Retry-After": {"-5"}}, 0, false},
		{http.Header{"Ratelimit-Reset": {"1772366460"}}, time.Minute, true},
		{http.Header{}, 0, false},
	}
	for _, tc := range cases {
		got, ok := serverWait(tc.h, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("serverWait(%v) = %v, %v; want %v, %v", tc.h, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTLSFailureOnCreateIsNeitherRetriedNorUnknown(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons",
		httpmock.NewErrorResponder(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}))
	c := newTestClient(t, mock)
	_, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
	var rh tls.RecordHeaderError
	if !errors.As(err, &rh) || errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("err = %v, want the TLS error without ErrOutcomeUnknown", err)
	}
	if n := mock.GetTotalCallCount(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}
