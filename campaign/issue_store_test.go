package campaign

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// liveCouponsOf returns the store's live coupons restricted to email,
// whatever their tags: what the recipient could use at checkout.
func (h *issHarness) liveCouponsOf(email string) []wootest.CouponSnapshot {
	var out []wootest.CouponSnapshot
	for _, cp := range h.store.Coupons() {
		if cp.Status == "publish" && len(cp.EmailRestrictions) == 1 && cp.EmailRestrictions[0] == email {
			out = append(out, cp)
		}
	}
	return out
}

func TestPartialSaveIsAdoptedAndRepairedNotRecoded(t *testing.T) {
	h := newIssHarness(t, nil)
	// The 4th coupon of the first batch is saved without its meta tags and
	// PHP dies: the store answers 500, later items are never reached.
	h.store.SetFaults(wootest.Faults{PartialSave: 1, PartialSaveItem: 3})
	c := issCampaign("partial")
	const n = 50
	res, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateEmailed) != n || res.ThisRun.Recoded != 0 || res.ThisRun.Adopted != 4 {
		t.Errorf("summary %v this run %+v; want %d emailed, none recoded, the 4 saved coupons of the dead batch adopted",
			res.Counts, res.ThisRun, n)
	}
	for i := range n {
		if live := h.liveCouponsOf(issEmail(i)); len(live) != 1 {
			t.Errorf("%s has %d live coupons: %+v; want exactly 1", issEmail(i), len(live), live)
		}
	}
	// The tags of the partly saved coupon were repaired: it is recognisable
	// as the campaign's again (checkInvariants goes by the tags).
	h.checkInvariants(c, issEmails(n), true)
}

func TestForeignCouponWithTheCodeIsNotAdoptedEvenWithoutTags(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("foreign")
	const n = 10
	issPlanOnly(t, h, c, issCSV(n))
	rows := h.rows(c.Name)
	victim := rows[issEmail(3)]
	// Someone else's coupon, restricted to someone else, already has the
	// victim's code: positive evidence that it is not ours.
	if _, err := h.client.Coupons.Create(ctx, &woo.Coupon{Code: victim.Code, Amount: "5", EmailRestrictions: []string{"other@example.com"}}); err != nil {
		t.Fatal(err)
	}
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateEmailed) != n || res.ThisRun.Recoded != 1 || res.ThisRun.Adopted != 0 {
		t.Errorf("summary %v this run %+v; want %d emailed and the victim recoded", res.Counts, res.ThisRun, n)
	}
	h.checkInvariants(c, issEmails(n), true)
}

// issRacingStore makes the resend of a code race with a copy of the same
// create, as when the first request is still running on the store: its
// first batch is answered as unclear without reaching the store, and when
// the code is sent again a second create of it goes to the store at the
// same moment.
type issRacingStore struct {
	CouponStore
	h       *issHarness
	batches atomic.Int32
	raced   atomic.Int32 // creates of the racing copy that succeeded
}

func (s *issRacingStore) Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error) {
	switch s.batches.Add(1) {
	case 1:
		res := &woo.CouponBatchResult{Create: make([]woo.BatchItem, len(b.Create))}
		for i := range res.Create {
			res.Create[i].Err = woo.ErrOutcomeUnknown
		}
		return res, nil
	case 2:
		var wg sync.WaitGroup
		first := b.Create[0]
		wg.Go(func() {
			if _, err := s.h.client.Coupons.Create(context.WithoutCancel(ctx), &first); err == nil {
				s.raced.Add(1)
			}
		})
		defer wg.Wait()
	}
	return s.CouponStore.Batch(ctx, b)
}

func TestResentCodeDuplicateIsTrashed(t *testing.T) {
	h := newIssHarness(t, nil)
	// The duplicate check and the insert of a create are 100 ms apart, so
	// two creates of one code at the same moment both succeed.
	h.store.SetFaults(wootest.Faults{ItemLatency: 200 * time.Millisecond})
	c := issCampaign("resent")
	const n = 3
	store := &issRacingStore{CouponStore: h.client.Coupons, h: h}
	res, err := h.issuer(issOptions(), store, nil).Run(t.Context(), c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if store.raced.Load() != 1 {
		t.Fatalf("the racing copy was not created (%d): the test did not reproduce two coupons with one code", store.raced.Load())
	}
	if res.Count(StateEmailed) != n {
		t.Errorf("summary %v; want %d emailed", res.Counts, n)
	}
	trashed := 0
	for _, cp := range h.store.Coupons() {
		if cp.Status == "trash" {
			trashed++
		}
	}
	if trashed != 1 {
		t.Errorf("%d coupons trashed; want the one extra copy", trashed)
	}
	for i := range n {
		if live := h.liveCouponsOf(issEmail(i)); len(live) != 1 {
			t.Errorf("%s has %d live coupons; want exactly 1", issEmail(i), len(live))
		}
	}
	h.checkInvariants(c, issEmails(n), true)
}

func TestUnclearCodesAreHeldWhileTheStoreMayStillCreateThem(t *testing.T) {
	h := newIssHarness(t, nil)
	// The first batch answers 504 at once while PHP goes on creating its
	// coupons, 8 ms each: 200 ms for a batch of 25.
	h.store.SetFaults(wootest.Faults{KeepsRunning: 1, ItemLatency: 8 * time.Millisecond})
	t.Cleanup(h.store.Wait)
	c := issCampaign("held")
	const n = 50
	opts := issOptions()
	opts.UnclearHold = time.Second // above how long the store goes on
	res, err := h.issuer(opts, nil, nil).Run(t.Context(), c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateEmailed) != n || res.ThisRun.Adopted != opts.BatchSize || res.ThisRun.Requeued != 0 {
		t.Errorf("summary %v this run %+v; want %d emailed, the %d coupons of the 504 batch adopted, none sent again",
			res.Counts, res.ThisRun, n, opts.BatchSize)
	}
	if got := h.store.CouponCreateCalls(); got != n {
		t.Errorf("store saw %d creates; want %d: a code the store is still creating is not sent again", got, n)
	}
	h.checkInvariants(c, issEmails(n), true)
}

// issLeaveCreating plans n recipients and leaves them all creating, with
// their coupons in the store, as a run killed before recording its answers.
func issLeaveCreating(t *testing.T, h *issHarness, c Campaign, n int) {
	t.Helper()
	ctx := t.Context()
	issPlanOnly(t, h, c, issCSV(n))
	r, _ := h.issuer(issOptions(), nil, nil).start(ctx, c)
	var after int64
	for {
		batch, last, err := r.claimBatch(ctx, after)
		if err != nil {
			t.Fatal(err)
		}
		if last == 0 {
			break
		}
		after = last
		var coupons []woo.Coupon
		for _, p := range batch {
			coupons = append(coupons, p.asked)
		}
		if _, err := h.client.Coupons.Batch(ctx, &woo.CouponBatch{Create: coupons}); err != nil {
			t.Fatal(err)
		}
	}
	h.reopen()
}

// issLookupGate wraps the store's handler and calls at(k) when the k-th
// coupon lookup (a coupon listing that is not a read-back by id) arrives,
// before serving it.
func issLookupGate(at func(k int, r *http.Request)) func(http.Handler) http.Handler {
	var n atomic.Int32
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/wc/v3/coupons") && r.URL.Query().Get("include") == "" {
				at(int(n.Add(1)), r)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// issLookupsPerBatch is the most lookup requests settling one group of 100
// rows may take.
const issLookupsPerBatch = 3

func TestReconciliationRecordsEachOutcomeAsItGoes(t *testing.T) {
	var h *issHarness
	settledEarly := -1
	h = newIssHarness(t, issLookupGate(func(k int, _ *http.Request) {
		if k == issLookupsPerBatch+1 {
			// Had the run been killed now, what would the ledger hold?
			sum, err := h.ledger.Summary(context.Background(), "asitgoes")
			if err != nil {
				t.Error(err)
			}
			settledEarly = sum.Count(StateCreated)
		}
	}))
	c := issCampaign("asitgoes")
	const n = 250
	issLeaveCreating(t, h, c, n)
	res, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if settledEarly < 100 {
		t.Errorf("after %d lookup answers %d rows were recorded; want the first 100 (outcomes recorded as they are known)",
			issLookupsPerBatch, settledEarly)
	}
	if res.Count(StateEmailed) != n || res.ThisRun.Adopted != n {
		t.Errorf("summary %v this run %+v; want all %d adopted and emailed", res.Counts, res.ThisRun, n)
	}
	if got := h.store.CouponCreateCalls(); got != n {
		t.Errorf("store saw %d creates; want %d", got, n)
	}
}

func TestReconciliationStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var lateLookups atomic.Int32
	cancelled := make(chan struct{})
	h := newIssHarness(t, issLookupGate(func(k int, r *http.Request) {
		select {
		case <-cancelled:
			lateLookups.Add(1) // a lookup started after SIGTERM
			return
		default:
		}
		if k == issLookupsPerBatch+1 {
			// SIGTERM arrives while the store is slow to answer.
			close(cancelled)
			cancel()
			select {
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
				t.Error("the lookup in flight was not cancelled")
			}
		}
	}))
	c := issCampaign("sigterm")
	const n = 250
	issLeaveCreating(t, h, c, n)
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err = %v; want context.Canceled", err)
	}
	if res.Count(StateCreated) != 100 || res.Count(StateCreating) != n-100 {
		t.Errorf("after cancel: %v; want the 100 rows settled before it recorded, the rest left creating", res.Counts)
	}
	if k := lateLookups.Load(); k != 0 {
		t.Errorf("%d lookups started after the cancel; want none", k)
	}
	// The next run settles the rest.
	res, err = h.issuer(issOptions(), nil, nil).Run(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateEmailed) != n {
		t.Errorf("rerun summary %v; want all %d emailed", res.Counts, n)
	}
	h.checkInvariants(c, issEmails(n), true)
}

// issCountingBatches counts the batch requests a run makes.
type issCountingBatches struct {
	CouponStore
	n atomic.Int32
}

func (s *issCountingBatches) Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error) {
	s.n.Add(1)
	return s.CouponStore.Batch(ctx, b)
}

func TestUnreachableStoreFailsNoRow(t *testing.T) {
	h := newIssHarness(t, nil)
	// A port nobody listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	client, err := woo.NewClient(url, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithAuthMode(woo.AuthOAuth1), woo.WithRetry(2, time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	store := &issCountingBatches{CouponStore: client.Coupons}
	c := issCampaign("down")
	const n = 100
	opts := issOptions()
	res, err := h.issuer(opts, store, nil).Run(t.Context(), c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatalf("Run: %v; want the run's outcome in res.Blocked", err)
	}
	if b := res.Blocked; b == nil || !errors.Is(b, woo.ErrUnreachable) || !errors.Is(b, syscall.ECONNREFUSED) || strings.Count(b.Error(), "store unreachable") != 1 {
		t.Errorf("Blocked = %v; want a store unreachable error wrapping connection refused, saying so once", res.Blocked)
	}
	if res.Failed() != 0 || res.Count(StatePlanned) != n {
		t.Errorf("summary %v; want every row planned again, none failed", res.Counts)
	}
	if got := int(store.n.Load()); got > opts.Concurrency {
		t.Errorf("%d batches sent to an unreachable store; want at most %d (the batches already under way)", got, opts.Concurrency)
	}
}

func TestHalfHourTimeZoneCouponsAreVerifiedAndEmailed(t *testing.T) {
	for _, zone := range []string{"Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"} {
		t.Run(zone, func(t *testing.T) {
			h := newIssHarness(t, nil)
			loc := issLoc(zone)
			opts := issOptions()
			opts.Location = loc
			c := issCampaign("tz")
			const n = 5
			res, err := h.issuer(opts, nil, nil).Run(t.Context(), c, issSource(t, issCSV(n)))
			if err != nil {
				t.Fatal(err)
			}
			if res.Count(StateEmailed) != n {
				t.Fatalf("summary %v reasons %v; want all %d emailed", res.Counts, res.Reasons, n)
			}
			want := c.Coupon.ExpiresAt(issNow, loc)
			for _, cp := range h.store.Coupons() {
				if !cp.DateExpiresGMT.Equal(want) {
					t.Errorf("coupon %s expires %s; want %s (23:59:59 in %s)", cp.Code, cp.DateExpiresGMT, want, zone)
				}
			}
		})
	}
}

// issCountingFinds counts the settling listings a run makes.
type issCountingFinds struct {
	CouponStore
	n atomic.Int32
}

func (s *issCountingFinds) FindCodes(ctx context.Context, codes []string, opts *woo.FindCodesOptions) (map[string][]woo.Coupon, error) {
	s.n.Add(1)
	return s.CouponStore.FindCodes(ctx, codes, opts)
}

// A store that answers every request with an error page reached the store
// but never answered: the run used to go through every pass and hold for
// minutes (232 s against the sandbox) before saying "pending". It stops
// after the first settling attempt, leaves the rows to the next run, fails
// none, and says what the store answered.
func TestStoreAnsweringOnlyErrorsStopsTheStageAtOnce(t *testing.T) {
	h := newIssHarness(t, nil)
	h.store.SetFaults(wootest.Faults{ErrorRatio: 1, Seed: 1})
	client, err := woo.NewClient(h.srv.URL, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithAuthMode(woo.AuthOAuth1), woo.WithRetry(1, time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	store := &issCountingFinds{CouponStore: client.Coupons}
	c := issCampaign("errorpages")
	const n = 50 // two batches of 25
	res, err := h.issuer(issOptions(), store, nil).Run(t.Context(), c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatalf("Run: %v; want the outcome in res.Blocked", err)
	}
	if res.Blocked == nil || !strings.HasPrefix(res.Blocked.Error(), "store answered 50") {
		t.Fatalf("Blocked = %v; want the store's 5xx answer as the cause", res.Blocked)
	}
	if got := store.n.Load(); got > 2 {
		t.Errorf("%d settling listings against a store that answers only errors; want at most one per unclear batch (2)", got)
	}
	if res.Failed() != 0 || res.Pending() != n {
		t.Errorf("summary %v; want all %d rows left to do, none failed", res.Counts, n)
	}
}
