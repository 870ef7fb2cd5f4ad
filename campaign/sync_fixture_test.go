package campaign

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// testClock is a settable clock shared by the sandbox store and the ledger.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// trackingEnv is a sandbox store over httptest (TLS), a woo client, a ledger
// in a temporary folder and one clock for all of them.
type trackingEnv struct {
	t      *testing.T
	ctx    context.Context
	clock  *testClock
	store  *wootest.Store
	client *woo.Client
	ledger *Ledger
}

func newTrackingEnv(t *testing.T, opts ...wootest.StoreOption) *trackingEnv {
	t.Helper()
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	store := wootest.NewStore(append([]wootest.StoreOption{wootest.WithClock(clock.Now)}, opts...)...)
	srv := httptest.NewTLSServer(store)
	t.Cleanup(srv.Close)
	client, err := woo.NewClient(srv.URL, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithHTTPClient(srv.Client()), woo.WithRateLimit(1000, 100), woo.WithRetry(1, time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := OpenLedger(ctx, filepath.Join(t.TempDir(), "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	l.now = clock.Now
	t.Cleanup(func() { l.Close() })
	return &trackingEnv{t: t, ctx: ctx, clock: clock, store: store, client: client, ledger: l}
}

// issued is one coupon the fixture issued.
type issued struct {
	Email, Code string
	CouponID    int64
	IssueID     int64
	ExpiresAt   time.Time
}

// issue creates, for each email, a personalized coupon in the store the way
// the issuing pipeline does (usage limits 1, email restriction, expiry, meta
// tags) and walks its ledger row to emailed (or exported for an export-only
// campaign), all at the clock's now. It returns the coupons in order.
func (e *trackingEnv) issue(campaign string, exportOnly bool, expires time.Time, emails ...string) []issued {
	e.t.Helper()
	ctx := e.ctx
	if err := e.ledger.ensureCampaign(ctx, campaign, "fp-"+campaign, exportOnly); err != nil {
		e.t.Fatal(err)
	}
	var rows []plannedIssue
	for i, em := range emails {
		rows = append(rows, plannedIssue{Email: em, FirstName: fmt.Sprintf("First%d", i), SourceLine: i + 2,
			Code: fmt.Sprintf("%s-%s-%04d", campaign, "CODE", i+len(e.store.Coupons()))})
	}
	if _, err := e.ledger.planIssues(ctx, campaign, rows, func() (string, error) { return "", fmt.Errorf("no new codes in tests") }); err != nil {
		e.t.Fatal(err)
	}
	now := e.clock.Now()
	one := 1
	var out []issued
	var stages [5][]transition
	for _, em := range emails {
		is, ok, err := e.ledger.Issue(ctx, campaign, em)
		if err != nil || !ok {
			e.t.Fatalf("row %s: %v %v", em, ok, err)
		}
		restricted := em
		if exportOnly {
			restricted = ""
		}
		c := woo.Coupon{Code: is.Code, Amount: "5", DiscountType: "fixed_cart", UsageLimit: &one, UsageLimitPerUser: &one,
			DateExpires: woo.NewTime(expires),
			MetaData:    []woo.Meta{{Key: MetaCampaign, Value: campaign}, {Key: MetaRecipient, Value: RecipientKey(restricted, is.Code)}}}
		if !exportOnly {
			c.EmailRestrictions = woo.EmailList{em}
		}
		got, err := e.client.Coupons.Create(ctx, &c)
		if err != nil {
			e.t.Fatalf("create coupon for %s: %v", em, err)
		}
		stages[0] = append(stages[0], toCreating(is, now, expires))
		stages[1] = append(stages[1], toCreated(is.ID, got.ID))
		if exportOnly {
			stages[2] = append(stages[2], toExported(is.ID))
		} else {
			stages[2] = append(stages[2], toVerified(is.ID))
			stages[3] = append(stages[3], toSending(is.ID))
			stages[4] = append(stages[4], toEmailed(is.ID, now))
		}
		out = append(out, issued{Email: em, Code: is.Code, CouponID: got.ID, IssueID: is.ID, ExpiresAt: expires})
	}
	// One transaction per stage keeps the fixture fast (the ledger syncs to disk on every commit).
	for _, ts := range stages {
		applied, err := e.ledger.apply(ctx, ts...)
		if err != nil {
			e.t.Fatal(err)
		}
		for i, ok := range applied {
			if !ok {
				e.t.Fatalf("transition %s→%s of row %d did not apply", ts[i].from, ts[i].to, ts[i].id)
			}
		}
	}
	return out
}

// order places an order in the sandbox with the codes, by a guest whose
// billing email is email, at the clock's now.
func (e *trackingEnv) order(email, subtotal, status string, codes ...string) int64 {
	e.t.Helper()
	id, err := e.store.AddOrder(wootest.SeedOrder{Email: email, Subtotal: subtotal, Status: status, Coupons: codes})
	if err != nil {
		e.t.Fatalf("order by %s with %v: %v", email, codes, err)
	}
	return id
}

func (e *trackingEnv) syncer() *Syncer {
	return &Syncer{Ledger: e.ledger, Coupons: e.client.Coupons, Orders: e.client.Orders, Now: e.clock.Now}
}

func (e *trackingEnv) snapshot(id int64) (wootest.CouponSnapshot, bool) {
	for _, c := range e.store.Coupons() {
		if c.ID == id {
			return c, true
		}
	}
	return wootest.CouponSnapshot{}, false
}

func (e *trackingEnv) tracked(campaign, email string) TrackedIssue {
	e.t.Helper()
	ti, ok, err := e.ledger.Tracked(e.ctx, campaign, email)
	if err != nil || !ok {
		e.t.Fatalf("tracked %s/%s: %v %v", campaign, email, ok, err)
	}
	return ti
}
