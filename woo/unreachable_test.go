package woo

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestStoreThatNeverAnsweredIsGivenUpAfterOneQuickRetry(t *testing.T) {
	cases := map[string]error{
		"connection refused": dialRefused,
		"no such host":       &net.DNSError{Err: "no such host", Name: "shop.example.com", IsNotFound: true},
		"connection reset":   connReset,
	}
	for name, cause := range cases {
		synctest.Test(t, func(t *testing.T) {
			mock := httpmock.NewMockTransport()
			mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", httpmock.NewErrorResponder(cause))
			// The default retry policy: 6 retries, up to a minute apart.
			c := newTestClient(t, mock, WithRetry(DefaultRetryMax, DefaultRetryMinWait, DefaultRetryMaxWait))
			start := time.Now()
			_, err := c.Coupons.Get(context.Background(), 1)
			if !IsUnreachable(err) || !errors.Is(err, ErrUnreachable) {
				t.Fatalf("%s: err = %v, want IsUnreachable", name, err)
			}
			if want := "store unreachable: " + cause.Error(); !strings.Contains(err.Error(), want) {
				t.Errorf("%s: err = %q, want it to say %q", name, err, want)
			}
			if n := mock.GetTotalCallCount(); n != 2 {
				t.Errorf("%s: %d attempts, want 2 (one quick retry)", name, n)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s: gave up after %v, want seconds", name, d)
			}
		})
	}
}

func TestCreateAgainstAStoreThatNeverAnsweredFailsFastAsUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", httpmock.NewErrorResponder(dialRefused))
		c := newTestClient(t, mock, WithRetry(DefaultRetryMax, DefaultRetryMinWait, DefaultRetryMaxWait))
		_, err := c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
		if !IsUnreachable(err) || errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("err = %v, want IsUnreachable and not ErrOutcomeUnknown (nothing was sent)", err)
		}
		if n := mock.GetTotalCallCount(); n != 2 {
			t.Errorf("%d attempts, want 2", n)
		}
	})
}

func TestUnreachableStoreThatAnsweredBeforeGetsTheUsualRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/2", jsonResponder(200, `{"id":2,"code":"b"}`))
		refused := httpmock.NewErrorResponder(dialRefused)
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
			refused.Then(refused).Then(refused).Then(jsonResponder(200, `{"id":1,"code":"a"}`)))
		c := newTestClient(t, mock, WithRetry(DefaultRetryMax, DefaultRetryMinWait, DefaultRetryMaxWait))
		if _, err := c.Coupons.Get(context.Background(), 2); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
			t.Fatalf("after a blip: %v, want success after retries", err)
		}
		if n := mock.GetCallCountInfo()["GET "+testStore+"/wp-json/wc/v3/coupons/1"]; n != 4 {
			t.Errorf("%d attempts, want 4 (3 refused, then the answer)", n)
		}
	})
}

func TestAnswersAndUnclearOutcomesAreNotUnreachable(t *testing.T) {
	mock := httpmock.NewMockTransport()
	mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(503, `<html>down</html>`))
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons", httpmock.NewErrorResponder(connReset))
	mock.RegisterResponder("POST", testStore+"/wp-json/wc/v3/coupons/batch",
		jsonResponder(200, `{"create":[{"id":0,"error":{"code":"x","message":"m","data":{"status":400}}}]}`))
	c := newTestClient(t, mock)
	_, err := c.Coupons.Get(context.Background(), 1)
	if err == nil || IsUnreachable(err) {
		t.Errorf("5xx after retries: err = %v, want an error that is not unreachable", err)
	}
	_, err = c.Coupons.Create(context.Background(), &Coupon{Code: "abc"})
	if !errors.Is(err, ErrOutcomeUnknown) || IsUnreachable(err) {
		t.Errorf("create with a reset connection: err = %v, want ErrOutcomeUnknown, not unreachable (it may have arrived)", err)
	}
	res, err := c.Coupons.Batch(context.Background(), &CouponBatch{Create: []Coupon{{Code: "a"}}})
	if err != nil || res.Create[0].Err == nil || IsUnreachable(res.Create[0].Err) {
		t.Errorf("item error: %v, %+v, want an item error that is not unreachable", err, res)
	}
}

func TestClosedLoopbackPortIsUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c, err := NewClient("https://"+addr,
		WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}),
		WithCredentials(testKey, testSecret),
		WithRetry(DefaultRetryMax, time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Coupons.Get(context.Background(), 1)
	if !IsUnreachable(err) {
		t.Fatalf("err = %v, want IsUnreachable", err)
	}
	if want := "store unreachable: dial tcp " + addr + ": connect: connection refused"; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
	if n := c.Stats().Requests; n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
	for _, s := range leakForms(testKey, testSecret) {
		if strings.Contains(err.Error(), s) {
			t.Errorf("err = %q contains a credential", err)
		}
	}
}
