package woo

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"
)

// stampRecorder remembers when each request reached the store.
type stampRecorder struct {
	mu     sync.Mutex
	stamps []time.Time
}

func (s *stampRecorder) responder(r httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		s.mu.Lock()
		s.stamps = append(s.stamps, time.Now())
		s.mu.Unlock()
		return r(req)
	}
}

// maxInWindow returns the largest number of requests in any half-open
// window [t, t+d) that starts at a request at or after from and before to.
func (s *stampRecorder) maxInWindow(d time.Duration, from, to time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	most := 0
	for i, a := range s.stamps {
		if a.Before(from) || !a.Before(to) {
			continue
		}
		n := 0
		for _, b := range s.stamps[i:] {
			if b.Before(a.Add(d)) {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// hammer keeps n goroutines sending GETs through c until ctx ends.
func hammer(ctx context.Context, c *Client, n int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := c.Coupons.Get(ctx, 1); err != nil {
					// The next slot is after the deadline: the
					// limiter refuses without waiting.
					<-ctx.Done()
				}
			}
		})
	}
	return &wg
}

// The daemon keeps one client and calls SetLimits on reload: the store
// must never see more than the ceiling in a second across the call, with
// requests waiting for the limiter at that moment.
func TestSetLimitsHoldsTheCeilingAcrossAReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &stampRecorder{}
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", rec.responder(jsonResponder(200, `{"id":1,"code":"a"}`)))
		c := newTestClient(t, mock, WithRateLimit(4, 1), WithMaxConcurrency(8))
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wg := hammer(ctx, c, 8)

		time.Sleep(3*time.Second + 100*time.Millisecond)
		if err := c.SetLimits(4, 1, 8); err != nil { // a reload with the same limits
			t.Fatal(err)
		}
		wg.Wait()

		if got := rec.maxInWindow(time.Second, start, start.Add(10*time.Second)); got > 4 {
			t.Errorf("a one-second window saw %d requests, want at most the ceiling 4", got)
		}
		if n := len(rec.stamps); n < 38 || n > 41 {
			t.Errorf("%d requests in 10s at 4 rps, want about 40", n)
		}
	})
}

func TestSetLimitsLowerRateTakesEffectForWaitingRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &stampRecorder{}
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", rec.responder(jsonResponder(200, `{"id":1,"code":"a"}`)))
		c := newTestClient(t, mock, WithRateLimit(4, 1), WithMaxConcurrency(8))
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wg := hammer(ctx, c, 8) // 8 requests are always waiting for a token

		time.Sleep(3*time.Second + 100*time.Millisecond)
		changed := time.Now()
		if err := c.SetLimits(1, 1, 8); err != nil {
			t.Fatal(err)
		}
		wg.Wait()

		if got := rec.maxInWindow(time.Second, start, changed); got > 4 {
			t.Errorf("before the change a one-second window saw %d requests, want at most 4", got)
		}
		if got := rec.maxInWindow(time.Second, changed, start.Add(10*time.Second)); got > 1 {
			t.Errorf("after lowering the rate to 1/s a one-second window saw %d requests, want at most 1", got)
		}
		if rps, burst, conc := c.Limits(); rps != 1 || burst != 1 || conc != 8 {
			t.Errorf("Limits() = %v, %d, %d; want 1, 1, 8", rps, burst, conc)
		}
	})
}

func TestSetLimitsLowerConcurrencyTakesEffect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		inFlight, most := 0, 0
		var mostAfter int
		changedAt := time.Time{}
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder("GET", testStore+"/wp-json/wc/v3/coupons/1", func(req *http.Request) (*http.Response, error) {
			if req.Context().Err() != nil {
				// httpmock starts a responder even for a request whose
				// caller has just given up (the end of the test): it never
				// held a slot, so it does not count.
				return nil, req.Context().Err()
			}
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			if !changedAt.IsZero() && time.Since(changedAt) > 2*time.Second {
				mostAfter = max(mostAfter, inFlight)
			}
			mu.Unlock()
			time.Sleep(time.Second) // the store works for a second
			mu.Lock()
			inFlight--
			mu.Unlock()
			return jsonResponder(200, `{"id":1,"code":"a"}`)(req)
		})
		c := newTestClient(t, mock, WithMaxConcurrency(4))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wg := hammer(ctx, c, 8)
		time.Sleep(3*time.Second + 100*time.Millisecond)
		mu.Lock()
		changedAt = time.Now()
		mu.Unlock()
		if err := c.SetLimits(1000, 1000, 1); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		// Requests abandoned at the deadline may still be in their
		// responder: let them end before reading what they wrote.
		time.Sleep(2 * time.Second)
		mu.Lock()
		defer mu.Unlock()
		if most != 4 {
			t.Errorf("at most %d requests in flight before the change, want 4", most)
		}
		if mostAfter != 1 {
			t.Errorf("at most %d requests in flight after the change (once the earlier ones ended), want 1", mostAfter)
		}
	})
}

func TestSetLimitsRefusesBadValues(t *testing.T) {
	c := newTestClient(t, httpmock.NewMockTransport(), WithRateLimit(4, 2), WithMaxConcurrency(3))
	for _, tc := range []struct {
		rps          float64
		burst, concc int
	}{{0, 1, 1}, {-1, 1, 1}, {1, 0, 1}, {1, 1, 0}, {1, -1, 1}} {
		if err := c.SetLimits(tc.rps, tc.burst, tc.concc); err == nil {
			t.Errorf("SetLimits(%v, %d, %d) = nil, want an error", tc.rps, tc.burst, tc.concc)
		}
	}
	if rps, burst, conc := c.Limits(); rps != 4 || burst != 2 || conc != 3 {
		t.Errorf("after refused changes Limits() = %v, %d, %d; want 4, 2, 3", rps, burst, conc)
	}
}
