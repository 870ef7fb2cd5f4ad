package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jarcoal/httpmock"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// TestStoreRateCeilingHoldsAcrossAReload: with rate 4 and burst 1, no
// second sees more than 5 store requests, while runs of the configuration
// before a reload go on beside the runs of the new one: after a reload
// that keeps the store (the same client comes back) and after one that
// changes its credentials (a new client is unavoidable).
func TestStoreRateCeilingHoldsAcrossAReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		mock := httpmock.NewMockTransport()
		mock.RegisterResponder(http.MethodGet, "=~"+regexpCoupon1, func(*http.Request) (*http.Response, error) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
			return httpmock.NewStringResponse(http.StatusOK, `{"id":1,"code":"a"}`), nil
		})
		clients := newProcessClients(nil, nil, mock)
		cfg := StoreConfig{URL: "https://shop.example.com", AuthMode: "auto", ConsumerKey: "ck_one", ConsumerSecret: "cs_one",
			Rate: 4, Burst: 1, Concurrency: 4, BatchSize: 100, Timeout: 30 * time.Second}

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		run := func(c *woo.Client) { // a job run of one configuration, as busy as it can be
			wg.Go(func() {
				for ctx.Err() == nil {
					_, _ = c.Coupons.Get(ctx, 1)
				}
			})
		}
		first, err := clients.storeClient(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		run(first)
		time.Sleep(2 * time.Second)

		again, err := clients.storeClient(&cfg) // SIGHUP, the store unchanged
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Error("a reload that keeps the store built a second store client")
		}
		run(again)
		time.Sleep(2 * time.Second)

		rotated := cfg // SIGHUP with new keys
		rotated.ConsumerKey, rotated.ConsumerSecret = "ck_two", "cs_two"
		second, err := clients.storeClient(&rotated)
		if err != nil {
			t.Fatal(err)
		}
		run(second)
		time.Sleep(3 * time.Second)
		cancel()
		wg.Wait()

		mu.Lock()
		defer mu.Unlock()
		if len(at) < 20 {
			t.Fatalf("only %d requests in 7 s at 4 per second", len(at))
		}
		worst := 0
		for i := range at {
			n := 0
			for j := i; j < len(at) && at[j].Sub(at[i]) < time.Second; j++ {
				n++
			}
			worst = max(worst, n)
		}
		if worst > 5 {
			t.Errorf("%d store requests within one second; rate 4 with burst 1 allows at most 5", worst)
		}
	})
}

const regexpCoupon1 = `/wp-json/wc/v3/coupons/1$`

// TestReloadKeepsTheOneMailSenderUntilItsServerChanges: job sets of
// successive configurations share the process's sender; it is replaced
// only when what it cannot change does, and closed after its last user.
func TestReloadKeepsTheOneMailSenderUntilItsServerChanges(t *testing.T) {
	clients := newProcessClients(nil, nil, nil)
	m := MailConfig{Transport: "outbox", OutboxDir: t.TempDir()}
	a, releaseA, err := clients.mailSender(t.Context(), &m)
	if err != nil {
		t.Fatal(err)
	}
	b, releaseB, err := clients.mailSender(t.Context(), &m)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("a reload with the same mail settings built a second sender")
	}
	moved := m
	moved.OutboxDir = t.TempDir()
	c, releaseC, err := clients.mailSender(t.Context(), &moved)
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Error("a new outbox folder kept the old sender")
	}
	for _, release := range []func() error{releaseA, releaseB, releaseC, clients.Close} {
		if err := release(); err != nil {
			t.Error(err)
		}
	}
}

// capSender is a stand-in for the SMTP sender's hourly cap: it counts the
// past sends it is told of and refuses beyond perHour.
type capSender struct {
	perHour int
	past    []time.Time
}

func (s *capSender) RecordPastSends(at []time.Time) { s.past = append(s.past, at...) }
func (s *capSender) Send(context.Context, []mailer.Message, func(mailer.Result)) error {
	return nil
}
func (s *capSender) Close() error { return nil }

// left is how many messages the cap still allows at now.
func (s *capSender) left(now time.Time) int {
	n := 0
	for _, t := range s.past {
		if now.Sub(t) < time.Hour {
			n++
		}
	}
	return max(0, s.perHour-n)
}

// TestSendCapsHoldAcrossProcessesSharingOneLedger: what one process sent
// (an issue run) counts against the caps of a sender another process (a
// daemon, a run-job) builds later from the same ledger.
func TestSendCapsHoldAcrossProcessesSharingOneLedger(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test", "bob@shop.test") // the first process: two messages

	ledger, err := campaign.OpenLedger(t.Context(), filepath.Clean(tc.ledger), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	next := &capSender{perHour: 3}
	if err := seedSendCaps(t.Context(), ledger, next, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := next.left(time.Now()); got != 1 {
		t.Errorf("a new sender with a cap of 3 an hour may still send %d; want 1 (2 sent by the other process)", got)
	}
}

// TestReloadedJobSetsShareOneStoreClient: the job set a reload builds from
// the file read again uses the store client of the running one; new keys
// make a new client.
func TestReloadedJobSetsShareOneStoreClient(t *testing.T) {
	dir := t.TempDir()
	ledger, err := campaign.OpenLedger(t.Context(), filepath.Join(dir, "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	clients := newProcessClients(ledger, nil, nil)
	defer clients.Close()
	build := func(text string) *campaign.JobSet {
		t.Helper()
		cfg, err := parseTest(t, dir, text, nil)
		if err != nil {
			t.Fatal(err)
		}
		set, err := cfg.jobSet(t.Context(), ledger, clients, nil)
		if err != nil {
			t.Fatal(err)
		}
		if set.Close != nil {
			t.Cleanup(func() { _ = set.Close() })
		}
		return set
	}
	running := build(baseConfig)
	reloaded := build(baseConfig)
	if running.Store != reloaded.Store {
		t.Error("a reload of the same file built a second store client")
	}
	rotated := build(strings.Replace(baseConfig, "consumer_key: ck_test", "consumer_key: ck_rotated", 1))
	if rotated.Store == running.Store {
		t.Error("new store keys kept the client with the old ones")
	}
}
