package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

func TestRunIssuesOneVerifiedCouponAndOneEmailPerRecipient(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("welcome")
	const n = 120
	var rejects []Reject
	opts := issOptions()
	var progMu sync.Mutex
	lastDone := map[Stage]int{}
	opts.Progress = func(s Stage, done, total int) {
		progMu.Lock()
		defer progMu.Unlock()
		if done < lastDone[s] {
			t.Errorf("progress of %s went back from %d to %d", s, lastDone[s], done)
		}
		lastDone[s] = done
	}
	opts.Rejects = func(r Reject) error { rejects = append(rejects, r); return nil }
	is := h.issuer(opts, nil, nil)
	csv := issCSV(n, "not-an-email,X,Y,gold", issEmail(3)+",Dup,Dup,gold")
	res, err := is.Run(ctx, c, issSource(t, csv))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Count(StateEmailed) != n || res.Total != n || res.NeedsReview() {
		t.Fatalf("summary = %+v; want %d emailed, nothing to review", res.Summary, n)
	}
	if res.ThisRun.Planned != n || res.ThisRun.Created != n || res.ThisRun.Verified != n || res.ThisRun.Emailed != n {
		t.Errorf("this run = %+v; want %d planned, created, verified, emailed", res.ThisRun, n)
	}
	if len(rejects) != 2 || res.Rejects != 2 {
		t.Errorf("rejects = %v (summary %d); want the bad address and the duplicate", rejects, res.Rejects)
	}
	if lastDone[StageCreate] != n || lastDone[StageVerify] != n || lastDone[StageEmail] != n {
		t.Errorf("final progress = %v; want %d for create, verify and email", lastDone, n)
	}
	h.checkInvariants(c, issEmails(n), true)
	if got := h.store.CouponCreateCalls(); got != n {
		t.Errorf("store saw %d coupon creates; want %d", got, n)
	}
	// The outbox holds exactly one message per recipient, with its code,
	// name, amount and expiry in the store's time zone.
	mails := h.outboxMails()
	if len(mails) != n {
		t.Fatalf("outbox has %d messages; want %d", len(mails), n)
	}
	rows := h.rows(c.Name)
	for _, m := range mails {
		row := rows[m.To]
		for _, want := range []string{row.Code, "Hello " + row.FirstName + ",", "€10.00", "31 March 2026", "Tier: gold"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("mail to %s lacks %q:\n%s", m.To, want, m.Text)
			}
		}
		if m.Subject != "Your €10.00 coupon" {
			t.Errorf("subject %q", m.Subject)
		}
	}

	// The same campaign over the same list again: nothing new anywhere.
	h.reopen()
	is = h.issuer(issOptions(), nil, nil)
	res, err = is.Run(ctx, c, issSource(t, csv))
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.ThisRun != (IssueCounts{Rejected: 2}) {
		t.Errorf("rerun did %+v; want nothing but the same 2 rejects", res.ThisRun)
	}
	if got := h.store.CouponCreateCalls(); got != n {
		t.Errorf("after rerun the store saw %d coupon creates; want still %d", got, n)
	}
	h.checkInvariants(c, issEmails(n), true)
}

func TestRunSurvivesStoreAndMailFaultsWithoutDuplicates(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	h.store.SetFaults(wootest.Faults{
		Latency: 20 * time.Millisecond, // so that batches overlap
		// One token per 50 ms: batches that start together are throttled
		// however fast or loaded the machine, and the client's retries
		// (up to ~90 ms) get through.
		RateLimitRPS:   20,
		RateLimitBurst: 1,
		ErrorRatio:     0.15,
		HTMLErrorRatio: 0.05,
		CommitThenFail: 3,
		FailMode:       wootest.FailGatewayTimeout,
		Seed:           7,
	})
	smtpSrv := issStartSMTP(t, func(to string, n int) error {
		// Every fifth recipient is refused temporarily the first time.
		if strings.HasSuffix(strings.Split(to, "@")[0], "5") && n == 1 {
			return issErrTempSMTP
		}
		return nil
	})
	sender, err := mailer.NewSMTPSender(mailer.SMTPConfig{Host: "127.0.0.1", Port: smtpSrv.port, TLS: mailer.NoTLS,
		Auth: mailer.AuthNone, Connections: 2, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	h.mail = &issCountingSender{next: sender}

	c := issCampaign("faults")
	const n = 150
	opts := issOptions()
	guard := &issInFlightGuard{CouponStore: h.client.Coupons, t: t}
	is := h.issuer(opts, guard, nil)
	var res RunResult
	for run := 0; run < 3; run++ { // a shop owner reruns until done
		res, err = is.Run(ctx, c, issSource(t, issCSV(n)))
		if err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		if res.Count(StateEmailed) == n {
			break
		}
	}
	if res.Count(StateEmailed) != n {
		t.Fatalf("after 3 runs summary = %+v; want all %d emailed", res.Summary, n)
	}
	if f := h.store.Faults(); f.CommitThenFail != 0 {
		t.Errorf("%d commit-then-fail faults were never triggered", f.CommitThenFail)
	}
	if st := h.store.Stats(); st.InjectedErrors == 0 || st.Throttled == 0 {
		t.Errorf("store stats %+v: the test did not exercise both 5xx and 429 faults", st)
	}
	if guard.maxBatches.Load() < 2 {
		t.Errorf("at most %d batches were in flight at once; want concurrency exercised", guard.maxBatches.Load())
	}
	h.checkInvariants(c, issEmails(n), true)
	for i := 0; i < n; i++ {
		email := issEmail(i)
		if got := smtpSrv.acceptedFor(email); got != 1 {
			t.Errorf("%s: SMTP server accepted %d messages; want 1", email, got)
		}
	}
	row, _, _ := h.ledger.Issue(ctx, c.Name, issEmail(5))
	if row.MailAttempts != 2 {
		t.Errorf("a recipient refused once (4xx) has %d mail attempts; want 2", row.MailAttempts)
	}
}

// issInFlightGuard fails the test when one code is in two store requests
// at once (a batch, or a lookup while a batch with it is in flight).
type issInFlightGuard struct {
	CouponStore
	t          *testing.T
	mu         sync.Mutex
	inFlight   map[string]bool
	batches    int
	maxBatches atomic.Int32
}

func (g *issInFlightGuard) enter(codes ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inFlight == nil {
		g.inFlight = map[string]bool{}
	}
	for _, c := range codes {
		if g.inFlight[CodeKey(c)] {
			g.t.Errorf("code %s sent while another request with it is in flight", c)
		}
		g.inFlight[CodeKey(c)] = true
	}
}

func (g *issInFlightGuard) leave(codes ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range codes {
		delete(g.inFlight, CodeKey(c))
	}
}

func (g *issInFlightGuard) Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error) {
	var codes []string
	for _, c := range b.Create {
		codes = append(codes, c.Code)
	}
	g.enter(codes...)
	g.mu.Lock()
	g.batches++
	if int32(g.batches) > g.maxBatches.Load() {
		g.maxBatches.Store(int32(g.batches))
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.batches--
		g.mu.Unlock()
		g.leave(codes...)
	}()
	return g.CouponStore.Batch(ctx, b)
}

func (g *issInFlightGuard) GetByCode(ctx context.Context, code string) (*woo.Coupon, error) {
	g.enter(code)
	defer g.leave(code)
	return g.CouponStore.GetByCode(ctx, code)
}

func TestRunAfterDroppedConnectionAdoptsCommittedCoupons(t *testing.T) {
	h := newIssHarness(t, nil)
	h.store.SetFaults(wootest.Faults{CommitThenFail: 2, FailMode: wootest.FailDropConnection})
	c := issCampaign("dropped")
	const n = 80
	res, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateEmailed) != n || res.ThisRun.Adopted != 2*issOptions().BatchSize {
		t.Errorf("summary %+v, this run %+v; want %d emailed and the 2 dropped batches (%d coupons) adopted",
			res.Summary, res.ThisRun, n, 2*issOptions().BatchSize)
	}
	if got := h.store.CouponCreateCalls(); got != n {
		t.Errorf("store saw %d creates; want %d: adopted coupons are never sent again", got, n)
	}
	h.checkInvariants(c, issEmails(n), true)
}

// issCancelAfterFirstBatch is a store that cancels the run once its first
// batch has been answered: the batch in flight must still be recorded.
type issCancelAfterFirstBatch struct {
	CouponStore
	cancel  context.CancelFunc
	batches atomic.Int32
}

func (s *issCancelAfterFirstBatch) Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error) {
	res, err := s.CouponStore.Batch(ctx, b)
	if s.batches.Add(1) == 1 {
		s.cancel()
	}
	return res, err
}

func TestCancelledRunRecordsBatchesInFlightAndRerunFinishes(t *testing.T) {
	h := newIssHarness(t, nil)
	c := issCampaign("cancel")
	const n = 100
	ctx, cancel := context.WithCancel(t.Context())
	store := &issCancelAfterFirstBatch{CouponStore: h.client.Coupons, cancel: cancel}
	opts := issOptions()
	opts.Concurrency = 2
	res, err := h.issuer(opts, store, nil).Run(ctx, c, issSource(t, issCSV(n)))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err = %v; want context.Canceled", err)
	}
	sent := int(store.batches.Load()) * opts.BatchSize
	if res.Count(StateCreating) != 0 || res.Count(StateCreated) != sent || res.Count(StatePlanned) != n-sent {
		t.Errorf("after cancel: %v; want no row creating, %d created (every batch sent was recorded), the rest planned",
			res.Counts, sent)
	}
	if len(h.mail.snapshot()) != 0 {
		t.Errorf("a cancelled run emailed before verifying")
	}
	h.reopen()
	res, err = h.issuer(issOptions(), nil, nil).Run(t.Context(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateEmailed) != n {
		t.Fatalf("rerun summary %+v; want %d emailed", res.Summary, n)
	}
	if got := h.store.CouponCreateCalls(); got != n {
		t.Errorf("store saw %d creates; want %d", got, n)
	}
	h.checkInvariants(c, issEmails(n), true)
}

// issPlanOnly plans a campaign's recipients without creating anything, as a
// run killed right after planning would leave it.
func issPlanOnly(t *testing.T, h *issHarness, c Campaign, csv string) {
	t.Helper()
	r, err := h.issuer(issOptions(), nil, nil).start(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := c.fingerprint()
	if err := h.ledger.ensureCampaign(t.Context(), c.Name, fp, c.ExportOnly); err != nil {
		t.Fatal(err)
	}
	if err := r.plan(t.Context(), issSource(t, csv)); err != nil {
		t.Fatal(err)
	}
}

func TestKilledRunLeavingRowsCreatingIsReconciledByLookup(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("killed")
	const n = 60
	issPlanOnly(t, h, c, issCSV(n))
	// A run marks a batch creating, sends it, and is killed before the
	// answer is recorded. Reproduce that: claim 2 batches, send only the
	// first to the store.
	r, _ := h.issuer(issOptions(), nil, nil).start(ctx, c)
	first, last, err := r.claimBatch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := r.claimBatch(ctx, last)
	if err != nil {
		t.Fatal(err)
	}
	var coupons []woo.Coupon
	for _, p := range first {
		coupons = append(coupons, p.asked)
	}
	if _, err := h.client.Coupons.Batch(ctx, &woo.CouponBatch{Create: coupons}); err != nil {
		t.Fatal(err)
	}
	h.reopen()
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ThisRun.Adopted != len(first) || res.ThisRun.Requeued != len(second) {
		t.Errorf("this run %+v; want %d adopted (sent before the kill) and %d sent again (never reached the store)",
			res.ThisRun, len(first), len(second))
	}
	if got := h.store.CouponCreateCalls(); got != n {
		t.Errorf("store saw %d creates; want %d", got, n)
	}
	h.checkInvariants(c, issEmails(n), true)
}

func TestRowsLeftSendingBecomeUnconfirmedAndAreNotResent(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("sending")
	const n = 30
	opts := issOptions()
	opts.MailPasses = 1
	// The first run gets every coupon verified but no mail out.
	res, err := h.issuer(opts, nil, issRefusingSender{}).Run(ctx, c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateVerified) != n {
		t.Fatalf("first run: %v; want all %d verified", res.Counts, n)
	}
	// A later run marked 4 rows sending and was killed while the mail
	// server had them.
	rows, _ := h.ledger.nextIssues(ctx, c.Name, StateVerified, 0, 4)
	for _, row := range rows {
		if _, err := h.ledger.apply(ctx, toSending(row.ID)); err != nil {
			t.Fatal(err)
		}
	}
	h.reopen()
	res, err = h.issuer(issOptions(), nil, nil).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateUnconfirmed) != 4 || res.Count(StateEmailed) != n-4 || !res.NeedsReview() || res.ThisRun.Unconfirmed != 4 {
		t.Fatalf("after rerun: %v (this run %+v); want 4 unconfirmed, %d emailed, needs review", res.Counts, res.ThisRun, n-4)
	}
	delivered := h.mail.snapshot()
	for _, row := range rows {
		if len(delivered[row.Email]) != 0 {
			t.Errorf("%s was unconfirmed but emailed again", row.Email)
		}
		got, _, _ := h.ledger.Issue(ctx, c.Name, row.Email)
		if got.State != StateUnconfirmed || !strings.Contains(got.LastError, "may or may not") {
			t.Errorf("%s: state %s, last error %q; want unconfirmed with an explanation", row.Email, got.State, got.LastError)
		}
	}
	// A third run leaves them alone too.
	res, err = h.issuer(issOptions(), nil, nil).Run(ctx, c, nil)
	if err != nil || res.Count(StateUnconfirmed) != 4 {
		t.Fatalf("third run: %v, %v; want the 4 still unconfirmed", err, res.Counts)
	}
}

// issDyingSender hands over the first handOver messages it is given (their
// Prepare runs) and then stops its caller's goroutine, the way a killed
// process stops in the middle of a chunk.
type issDyingSender struct{ handOver int }

func (s issDyingSender) Send(_ context.Context, msgs []mailer.Message, _ func(mailer.Result)) error {
	for _, m := range msgs[:min(s.handOver, len(msgs))] {
		if err := m.Prepare(); err != nil {
			return err
		}
	}
	runtime.Goexit()
	return nil
}

func TestCrashMidChunkLeavesOnlyHandedOverMessagesUnconfirmed(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("midchunk")
	const n = 30
	opts := issOptions()
	opts.MailChunk = 20
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.issuer(opts, nil, issDyingSender{handOver: 2}).Run(ctx, c, issSource(t, issCSV(n)))
	}()
	<-done
	h.reopen()
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Only the two messages in the hands of the mail server are in doubt;
	// the other 18 of the chunk were never handed over and are sent now.
	if res.Count(StateUnconfirmed) != 2 || res.Count(StateEmailed) != n-2 {
		t.Fatalf("after rerun: %v; want 2 unconfirmed and %d emailed", res.Counts, n-2)
	}
	for row, err := range h.ledger.Rows(ctx, c.Name) {
		if err != nil {
			t.Fatal(err)
		}
		if row.State == StateEmailed && row.MailAttempts != 1 {
			t.Errorf("%s: %d mail attempts, want 1: a message never handed over is no attempt", row.Email, row.MailAttempts)
		}
	}
}

func TestCodeTakenBySomeoneElseGetsNewCodeAndOursIsAdopted(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("collide")
	const n = 40
	issPlanOnly(t, h, c, issCSV(n))
	rows := h.rows(c.Name)
	victim, orphan := rows[issEmail(7)], rows[issEmail(8)]
	// Someone else's coupon already has the victim's code.
	foreign, err := h.client.Coupons.Create(ctx, &woo.Coupon{Code: victim.Code, Amount: "50", DiscountType: "percent"})
	if err != nil {
		t.Fatal(err)
	}
	// The orphan's coupon exists, created by a run whose ledger write was
	// lost: it is ours and must be adopted, not duplicated.
	r, _ := h.issuer(issOptions(), nil, nil).start(ctx, c)
	orphan.IssuedAt = issNow
	orphan.ExpiresAt = c.Coupon.ExpiresAt(issNow, issBerlin)
	asked := r.askedCoupon(orphan)
	mine, err := h.client.Coupons.Create(ctx, &asked)
	if err != nil {
		t.Fatal(err)
	}
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateEmailed) != n || res.ThisRun.Recoded != 1 || res.ThisRun.Adopted != 1 {
		t.Fatalf("summary %v this run %+v; want %d emailed, 1 recoded, 1 adopted", res.Counts, res.ThisRun, n)
	}
	after := h.rows(c.Name)
	if after[victim.Email].Code == victim.Code || !strings.Contains(after[victim.Email].LastError, "") {
		t.Errorf("victim kept code %s; want a new one", victim.Code)
	}
	if after[orphan.Email].CouponID != mine.ID {
		t.Errorf("orphan's coupon id = %d; want the existing %d adopted", after[orphan.Email].CouponID, mine.ID)
	}
	for _, cp := range h.store.Coupons() {
		if cp.ID == foreign.ID && (cp.Amount != "50.00" || len(cp.Meta) != 0) {
			t.Errorf("someone else's coupon was changed: %+v", cp)
		}
	}
	h.checkInvariants(c, issEmails(n), true)
}

// issRewritingPlugin wraps the store like a plugin that rewrites coupons as
// they are created: the expiry of one recipient's coupon becomes
// unparseable (the store silently drops it), another's amount is halved.
func issRewritingPlugin(dropExpiry, halveAmount string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/coupons/batch") {
				body, _ := io.ReadAll(r.Body)
				var req map[string][]map[string]any
				if json.Unmarshal(body, &req) == nil {
					for _, item := range req["create"] {
						em, _ := item["email_restrictions"].([]any)
						if len(em) == 1 && em[0] == dropExpiry {
							item["date_expires"] = "31/12/2026 midnight"
						}
						if len(em) == 1 && em[0] == halveAmount {
							item["amount"] = "5"
						}
					}
					body, _ = json.Marshal(req)
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// issDeletingStore deletes one coupon from the store just before the first
// read back, like a shop manager cleaning up at the wrong moment.
type issDeletingStore struct {
	CouponStore
	h     *issHarness
	email string
	once  sync.Once
}

func (s *issDeletingStore) List(ctx context.Context, o *woo.CouponListOptions) ([]woo.Coupon, *woo.Response, error) {
	s.once.Do(func() {
		row, _, _ := s.h.ledger.Issue(ctx, "mismatch", s.email)
		if _, err := s.h.client.Coupons.Delete(ctx, row.CouponID, true); err != nil {
			s.h.t.Errorf("delete: %v", err)
		}
	})
	return s.CouponStore.List(ctx, o)
}

func TestReadBackMismatchFailsRowAndIsNeverEmailed(t *testing.T) {
	dropped, halved, deleted := issEmail(3), issEmail(11), issEmail(20)
	h := newIssHarness(t, issRewritingPlugin(dropped, halved))
	ctx := t.Context()
	c := issCampaign("mismatch")
	const n = 30
	store := &issDeletingStore{CouponStore: h.client.Coupons, h: h, email: deleted}
	res, err := h.issuer(issOptions(), store, nil).Run(ctx, c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateFailed) != 3 || res.Count(StateEmailed) != n-3 || !res.NeedsReview() {
		t.Fatalf("summary %v; want 3 failed, %d emailed", res.Counts, n-3)
	}
	wantReason := map[string]string{dropped: "store dropped the expiry", halved: `amount: asked "10", store has "5.00"`, deleted: "deleted in store"}
	failures := map[string]Failure{}
	for f, err := range h.ledger.Failures(ctx, c.Name) {
		if err != nil {
			t.Fatal(err)
		}
		failures[f.Email] = f
	}
	delivered := h.mail.snapshot()
	for email, want := range wantReason {
		f := failures[email]
		if f.Stage != StageVerify || !strings.Contains(f.Reason, want) {
			t.Errorf("%s: failure %+v; want stage verify, reason containing %q", email, f, want)
		}
		if len(delivered[email]) != 0 {
			t.Errorf("%s: emailed although its coupon is not as asked", email)
		}
	}
	// A rerun does not retry failed rows, and does not email them.
	res, err = h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(n)))
	if err != nil || res.Count(StateFailed) != 3 || res.ThisRun != (IssueCounts{}) {
		t.Errorf("rerun: %v %v %+v; want the 3 still failed and nothing done", err, res.Counts, res.ThisRun)
	}
}

func TestStoreRefusingItemFailsOnlyThatRow(t *testing.T) {
	// The store refuses the one coupon whose email it cannot take (a
	// plugin that validates addresses harder than WordPress).
	bad := issEmail(4)
	h := newIssHarness(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/coupons/batch") {
				body, _ := io.ReadAll(r.Body)
				var req map[string][]map[string]any
				_ = json.Unmarshal(body, &req)
				for _, item := range req["create"] {
					if em, _ := item["email_restrictions"].([]any); len(em) == 1 && em[0] == bad {
						item["discount_type"] = "bogus" // the store answers an item error
					}
				}
				body, _ = json.Marshal(req)
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
			}
			next.ServeHTTP(w, r)
		})
	})
	c := issCampaign("refused")
	res, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, issSource(t, issCSV(10)))
	if err != nil {
		t.Fatal(err)
	}
	row, _, _ := h.ledger.Issue(t.Context(), c.Name, bad)
	if res.Count(StateEmailed) != 9 || row.State != StateFailed || row.FailedStage != StageCreate ||
		!strings.Contains(row.LastError, "store refused the coupon") {
		t.Errorf("summary %v, row %+v; want 9 emailed and %s failed at create with the store's reason", res.Counts, row, bad)
	}
}

func TestExportOnlyCampaignCreatesUnrestrictedCouponsAndEmailsNobody(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("influencers")
	c.ExportOnly, c.Count, c.Mail = true, 30, MailSpec{}
	is, err := NewIssuer(h.ledger, h.client.Coupons, nil, issOptions())
	if err != nil {
		t.Fatal(err)
	}
	res, err := is.Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateExported) != 30 || res.Total != 30 {
		t.Fatalf("summary %v; want 30 exported", res.Counts)
	}
	live := 0
	for _, cp := range h.store.Coupons() {
		if cp.Meta[MetaCampaign] != c.Name {
			continue
		}
		live++
		if len(cp.EmailRestrictions) != 0 || cp.UsageLimit != 1 || cp.UsageLimitPerUser != 1 {
			t.Errorf("export coupon %s: restrictions %v limits %d/%d; want none, 1/1", cp.Code, cp.EmailRestrictions, cp.UsageLimit, cp.UsageLimitPerUser)
		}
	}
	if live != 30 {
		t.Errorf("store has %d coupons of the campaign; want 30", live)
	}
	var exported []Issue
	for row, err := range h.ledger.Rows(ctx, c.Name) {
		if err != nil {
			t.Fatal(err)
		}
		exported = append(exported, row)
	}
	if exported[0].Email != "export-0000001" || exported[0].CouponID == 0 || exported[0].ExpiresAt.IsZero() {
		t.Errorf("first export row = %+v; want key export-0000001 with coupon id and expiry", exported[0])
	}
	// Raising the count creates the difference only.
	c.Count = 40
	res, err = is.Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateExported) != 40 || res.ThisRun.Created != 10 || h.store.CouponCreateCalls() != 40 {
		t.Errorf("after raising the count: %v, this run %+v, %d creates; want 40 exported, 10 new", res.Counts, res.ThisRun, h.store.CouponCreateCalls())
	}
}

func TestRunRefusesChangedCouponSettings(t *testing.T) {
	h := newIssHarness(t, nil)
	c := issCampaign("changed")
	if _, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, issSource(t, issCSV(3))); err != nil {
		t.Fatal(err)
	}
	c.Coupon.Amount = "20"
	_, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, issSource(t, issCSV(5)))
	if !errors.Is(err, ErrCampaignChanged) {
		t.Fatalf("rerun with another amount: err = %v; want ErrCampaignChanged", err)
	}
	if got := h.store.CouponCreateCalls(); got != 3 {
		t.Errorf("store saw %d creates; want 3 (nothing after the refusal)", got)
	}
}

func TestDryRunWritesNothingAndCountsWhatARunWould(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("dry")
	// Earlier run issued to the first 10.
	if _, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(10))); err != nil {
		t.Fatal(err)
	}
	reqs, creates := h.store.Stats().Requests, h.store.CouponCreateCalls()
	ledgerInfo, _ := os.Stat(h.path)
	sentBefore := len(h.mail.snapshot())

	opts := issOptions()
	opts.Rate = 2
	csv := issCSV(60, "bad-address,A,B,gold")
	p, err := DryRun(ctx, h.ledger, c, issSource(t, csv), opts)
	if err != nil {
		t.Fatal(err)
	}
	if p.Read != 61 || p.Recipients != 60 || p.Rejected != 1 || len(p.Rejects) != 1 || p.Known != 10 || p.New != 50 {
		t.Errorf("plan counts %+v; want 61 read, 60 recipients, 1 reject, 10 known, 50 new", p)
	}
	if p.CreateRequests != 2 || p.VerifyRequests != 1 || p.Emails != 50 {
		t.Errorf("requests: %d create, %d verify, %d issEmails; want 2 (50/25), 1, 50", p.CreateRequests, p.VerifyRequests, p.Emails)
	}
	if p.EstimatedDuration.Seconds() != 2 { // 3 requests at 2/s = 1.5 s, rounded
		t.Errorf("estimated %s; want 2s (3 requests at 2/s)", p.EstimatedDuration)
	}
	if len(p.SampleCodes) != 5 || !strings.HasPrefix(p.SampleCodes[0], "TEST-") || p.CodeBits < 59 {
		t.Errorf("sample codes %v, %v bits; want 5 TEST- codes of about 59 bits", p.SampleCodes, p.CodeBits)
	}
	sc := p.SampleCoupon
	if sc.Code != p.SampleCodes[0] || len(sc.EmailRestrictions) != 1 || sc.EmailRestrictions[0] != issEmail(10) ||
		*sc.UsageLimit != 1 || *sc.UsageLimitPerUser != 1 || !sc.DateExpires.Equal(c.Coupon.ExpiresAt(issNow, issBerlin)) {
		t.Errorf("sample coupon %+v; want the first new recipient's coupon", sc)
	}
	if h.store.Stats().Requests != reqs || h.store.CouponCreateCalls() != creates || len(h.mail.snapshot()) != sentBefore {
		t.Errorf("dry run reached the store or the mail")
	}
	s, _ := h.ledger.Summary(ctx, c.Name)
	if s.Total != 10 {
		t.Errorf("dry run changed the ledger: %d rows; want 10", s.Total)
	}
	if after, _ := os.Stat(h.path); after.ModTime() != ledgerInfo.ModTime() {
		t.Errorf("dry run wrote the ledger file")
	}

	// Without a ledger (first run), everyone is new.
	p, err = DryRun(ctx, nil, c, issSource(t, csv), opts)
	if err != nil || p.New != 60 || p.Known != 0 {
		t.Errorf("dry run without ledger: %v, %+v; want 60 new", err, p)
	}
}

func TestRunRejectsInvalidCampaignBeforeTouchingAnything(t *testing.T) {
	h := newIssHarness(t, nil)
	c := issCampaign("")
	c.Coupon.Amount = "-3"
	_, err := h.issuer(issOptions(), nil, nil).Run(t.Context(), c, issSource(t, issCSV(3)))
	if err == nil || !strings.Contains(err.Error(), "name is empty") || !strings.Contains(err.Error(), "coupon.amount") {
		t.Fatalf("err = %v; want both the empty name and the bad amount", err)
	}
	if cs, _ := h.ledger.Campaigns(t.Context()); len(cs) != 0 || h.store.Stats().Requests != 0 {
		t.Errorf("an invalid campaign touched the ledger (%v) or the store", cs)
	}
}

func TestVerifiedCodeThatExpiredBeforeEmailingFailsInsteadOfBeingSent(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("late")
	opts := issOptions()
	opts.MailPasses = 1
	if _, err := h.issuer(opts, nil, issRefusingSender{}).Run(ctx, c, issSource(t, issCSV(5))); err != nil {
		t.Fatal(err)
	}
	// The owner comes back after the codes expired (end of 31 March in Berlin).
	later := issOptions()
	later.Now = func() time.Time { return time.Date(2026, 3, 31, 22, 0, 0, 0, time.UTC) }
	res, err := h.issuer(later, nil, nil).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateFailed) != 5 || len(h.mail.snapshot()) != 0 {
		t.Fatalf("summary %v, %d delivered; want 5 failed, none sent", res.Counts, len(h.mail.snapshot()))
	}
	if res.Reasons[0].Reason != "the coupon expired before it could be emailed" || res.Reasons[0].Count != 5 {
		t.Errorf("reasons %+v; want one group of 5 expired", res.Reasons)
	}
}

func TestCampaignValidateReportsEveryProblem(t *testing.T) {
	c := issCampaign(" padded ")
	c.Count = 3
	c.Mail = MailSpec{}
	err := c.Validate()
	for _, want := range []string{"printable characters", "count is only for export-only", "templates are missing", "from address is missing"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to mention %q", err, want)
		}
	}
	e := issCampaign("export")
	e.ExportOnly, e.Mail = true, MailSpec{}
	if err := e.Validate(); err == nil || !strings.Contains(err.Error(), "count of codes") {
		t.Errorf("export-only without count: %v; want an error about the count", err)
	}
	e.Count = 10
	if err := e.Validate(); err != nil {
		t.Errorf("valid export-only campaign: %v", err)
	}
}

// issFlakyLookups fails the first lookups, as a store that is down for a
// moment right after an unclear outcome.
type issFlakyLookups struct {
	CouponStore
	fail atomic.Int32
}

func (s *issFlakyLookups) GetByCode(ctx context.Context, code string) (*woo.Coupon, error) {
	if s.fail.Add(-1) >= 0 {
		return nil, errors.New("503 Service Unavailable (after retries)")
	}
	return s.CouponStore.GetByCode(ctx, code)
}

func TestFailedLookupsLeaveRowsCreatingUntilALaterPassSettlesThem(t *testing.T) {
	h := newIssHarness(t, nil)
	h.store.SetFaults(wootest.Faults{CommitThenFail: 1, FailMode: wootest.FailGatewayTimeout})
	store := &issFlakyLookups{CouponStore: h.client.Coupons}
	store.fail.Store(int32(issOptions().BatchSize))
	c := issCampaign("flaky")
	const n = 50
	res, err := h.issuer(issOptions(), store, nil).Run(t.Context(), c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateEmailed) != n || res.ThisRun.Adopted != issOptions().BatchSize {
		t.Fatalf("summary %v this run %+v; want %d emailed and the unclear batch adopted once lookups worked", res.Counts, res.ThisRun, n)
	}
	if got := h.store.CouponCreateCalls(); got != n {
		t.Errorf("store saw %d creates; want %d", got, n)
	}
	h.checkInvariants(c, issEmails(n), true)
}
