package woo

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

func TestAdaptiveLimiterHalvesOn429AndRecoversSlowly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAdaptiveLimiter(8, 8, 4, slog.New(slog.DiscardHandler))
		if got := l.rate(); got != 8 {
			t.Fatalf("initial rate %v, want 8", got)
		}
		l.throttled(429, 0)
		if got := l.rate(); got != 4 {
			t.Errorf("after one 429: rate %v, want 4", got)
		}
		l.throttled(429, 0) // same burst of answers: within the cooldown
		if got := l.rate(); got != 4 {
			t.Errorf("after a second 429 within the cooldown: rate %v, want 4", got)
		}
		time.Sleep(rateDecreaseCooldown)
		l.throttled(429, 0)
		if got := l.rate(); got != 2 {
			t.Errorf("after a repeated 429: rate %v, want 2", got)
		}
		l.throttled(503, 0) // 503 without wait does not lower the rate
		if got := l.rate(); got != 2 {
			t.Errorf("after a 503: rate %v, want 2", got)
		}
		time.Sleep(rateRecoveryQuiet - time.Millisecond)
		if got := l.rate(); got != 2 {
			t.Errorf("before a quiet period passed: rate %v, want 2", got)
		}
		time.Sleep(time.Millisecond)
		if got := l.rate(); got != 2.8 {
			t.Errorf("after one quiet period: rate %v, want 2.8 (+ceiling/10)", got)
		}
		time.Sleep(time.Hour)
		if got := l.rate(); got != 8 {
			t.Errorf("after a long quiet time: rate %v, want the ceiling 8", got)
		}
	})
}

func TestAdaptiveLimiterNeverGoesBelowFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newAdaptiveLimiter(5, 5, 1, slog.New(slog.DiscardHandler))
		for range 30 {
			l.throttled(429, 0)
			time.Sleep(rateDecreaseCooldown)
		}
		if got := l.rate(); got != rateFloor {
			t.Errorf("rate %v after many 429s, want the floor %v", got, rateFloor)
		}
	})
}

func TestEveryRequestWaitsOnTheLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, rps = 9, 2.0
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(200, `{"id":1,"code":"a"}`))
		c := newTestClient(t, mock, WithRateLimit(rps, 1))
		start := time.Now()
		for range n {
			if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := time.Since(start), time.Duration(float64(n-1)/rps*float64(time.Second)); !near(got, want) {
			t.Errorf("%d calls at %v rps took %v, want %v", n, rps, got, want)
		}
	})
}

func TestConcurrentRequestsShareTheLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, rps = 12, 4.0
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(200, `{"id":1,"code":"a"}`))
		c := newTestClient(t, mock, WithRateLimit(rps, 1), WithMaxConcurrency(8))
		start := time.Now()
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got, want := time.Since(start), time.Duration(float64(n-1)/rps*float64(time.Second)); !near(got, want) {
			t.Errorf("%d concurrent calls at %v rps took %v, want %v", n, rps, got, want)
		}
	})
}

func TestRetriesWaitOnTheLimiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
			jsonResponder(503, ``).Then(jsonResponder(502, ``)).Then(jsonResponder(200, `{"id":1,"code":"a"}`)))
		c := newTestClient(t, mock, WithRateLimit(1, 1), WithRetry(3, time.Millisecond, time.Millisecond))
		start := time.Now()
		if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		// Three attempts at 1 rps: the retries wait for tokens, not just
		// for the 1ms backoff.
		if got := time.Since(start); got < 2*time.Second-time.Millisecond {
			t.Errorf("3 attempts at 1 rps took %v, want at least 2s", got)
		}
	})
}

func TestClientSlowsDownOn429AndRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		r429 := jsonResponder(429, `{}`)
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
			r429.Then(r429).Then(r429).Then(jsonResponder(200, `{"id":1,"code":"a"}`)))
		c := newTestClient(t, mock, WithRateLimit(10, 1), WithRetry(5, 2*time.Second, 2*time.Second))
		if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		if got := c.Rate(); got != 10.0/8 {
			t.Errorf("after three 429s: Rate() = %v, want %v", got, 10.0/8)
		}
		if got := c.Stats().Throttled429; got != 3 {
			t.Errorf("Stats().Throttled429 = %d, want 3", got)
		}
		time.Sleep(10 * rateRecoveryQuiet)
		if got := c.Rate(); got != 10 {
			t.Errorf("after a quiet period: Rate() = %v, want 10", got)
		}
	})
}

func TestRetryAfterPausesEveryRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1",
			withHeader(jsonResponder(429, `{}`), "Retry-After", "30").Then(jsonResponder(200, `{"id":1,"code":"a"}`)))
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/2", jsonResponder(200, `{"id":2,"code":"b"}`))
		c := newTestClient(t, mock, WithRetry(3, time.Millisecond, time.Minute))
		if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		// The first call waited 30s; a call made meanwhile would have
		// waited too. Now a new 429 with a wait pauses a second caller.
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/3",
			withHeader(jsonResponder(429, `{}`), "Retry-After", "20").Then(jsonResponder(200, `{"id":3,"code":"c"}`)))
		go c.Coupons.Get(context.Background(), 3)
		synctest.Wait()
		start := time.Now()
		if _, err := c.Coupons.Get(context.Background(), 2); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); !near(got, 20*time.Second) {
			t.Errorf("second caller waited %v, want the 20s the store asked for", got)
		}
	})
}

func TestMaxConcurrencyCapsRequestsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var inFlight, peak atomic.Int64
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", func(req *http.Request) (*http.Response, error) {
			n := inFlight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(time.Second)
			inFlight.Add(-1)
			return jsonResponder(200, `{"id":1,"code":"a"}`)(req)
		})
		c := newTestClient(t, mock, WithMaxConcurrency(3))
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := peak.Load(); got != 3 {
			t.Errorf("peak requests in flight = %d, want 3", got)
		}
	})
}

func TestDeadlineBeforeTheNextSlotFailsWithoutRetrying(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", jsonResponder(200, `{"id":1,"code":"a"}`))
		c := newTestClient(t, mock, WithRateLimit(0.1, 1))
		if _, err := c.Coupons.Get(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.Coupons.Get(ctx, 1)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("failed after %v, want at once (the slot is 10s away)", d)
		}
		if n := mock.GetTotalCallCount(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// near reports whether fake-clock durations agree to a millisecond: the
// token bucket computes waits in floating point.
func near(got, want time.Duration) bool { return (got - want).Abs() <= time.Millisecond }

func TestLongRetryAfterDoesNotStallOtherRequestsBeyondMaxWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", withHeader(jsonResponder(503, `maintenance`), "Retry-After", "600"))
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/2", jsonResponder(200, `{"id":2,"code":"b"}`))
		c := newTestClient(t, mock, WithRetry(3, time.Millisecond, 5*time.Second))
		if _, err := c.Coupons.Get(context.Background(), 1); err == nil {
			t.Fatal("want the 503 after a Retry-After longer than maxWait")
		}
		start := time.Now()
		if _, err := c.Coupons.Get(context.Background(), 2); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); !near(got, 5*time.Second) {
			t.Errorf("next request waited %v, want the 5s maxWait, not 10 minutes", got)
		}
	})
}
