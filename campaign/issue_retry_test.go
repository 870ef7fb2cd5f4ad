package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// retrySMTPSender is a mail sender over SMTP to srv, without retries.
func retrySMTPSender(t *testing.T, srv *issSMTPServer) *issCountingSender {
	t.Helper()
	sender, err := mailer.NewSMTPSender(mailer.SMTPConfig{Host: "127.0.0.1", Port: srv.port, TLS: mailer.NoTLS,
		Auth: mailer.AuthNone, Connections: 1, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	return &issCountingSender{next: sender}
}

// retryRow returns the ledger row of email, failing the test when there is none.
func (h *issHarness) retryRow(campaign, email string) Issue {
	h.t.Helper()
	row, ok, err := h.ledger.Issue(h.t.Context(), campaign, email)
	if err != nil || !ok {
		h.t.Fatalf("row of %s: %v (found %v)", email, err, ok)
	}
	return row
}

// liveCoupons returns the published coupons of the campaign for email.
func (h *issHarness) liveCoupons(campaign, email string) []string {
	var codes []string
	for _, cp := range h.store.Coupons() {
		if cp.Status == "publish" && cp.Meta[MetaCampaign] == campaign && cp.Meta[MetaRecipient] == email {
			codes = append(codes, cp.Code)
		}
	}
	return codes
}

func TestRetryFailedFinishesMailRowsWithSameCode(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	bounced := issEmail(2)
	var fixed atomic.Bool
	srv := issStartSMTP(t, func(to string, n int) error {
		if to == bounced && !fixed.Load() {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
		}
		return nil
	})
	h.mail = retrySMTPSender(t, srv)
	c := issCampaign("retry-mail")
	res, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(5)))
	if err != nil {
		t.Fatal(err)
	}
	before := h.retryRow(c.Name, bounced)
	if res.Count(StateFailed) != 1 || before.State != StateFailed || before.FailedStage != StageEmail {
		t.Fatalf("first run: %v, row %+v; want %s failed at email", res.Counts, before, bounced)
	}
	creates := h.store.CouponCreateCalls()

	// A rerun of issue does not finish it; a retry does, once the mailbox
	// is fixed.
	fixed.Store(true)
	rr, err := h.issuer(issOptions(), nil, nil).RetryFailed(ctx, c, RetryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Rows) != 1 || rr.Rows[0].Action != RetryEmail || rr.Rows[0].Email != bounced {
		t.Errorf("retry rows = %+v; want %s emailed again", rr.Rows, bounced)
	}
	after := h.retryRow(c.Name, bounced)
	if after.State != StateEmailed || after.Code != before.Code || after.CouponID != before.CouponID || after.MailAttempts != 1 {
		t.Errorf("after retry: %+v; want emailed with the same code and coupon, 1 attempt since the retry", after)
	}
	if h.store.CouponCreateCalls() != creates {
		t.Errorf("retry created %d coupons; want none", h.store.CouponCreateCalls()-creates)
	}
	if got := srv.acceptedFor(bounced); got != 1 {
		t.Errorf("%s got %d messages; want 1", bounced, got)
	}
	if rr.Count(StateEmailed) != 5 || rr.Failed() != 0 {
		t.Errorf("after retry: %v; want all 5 emailed", rr.Counts)
	}
	for i := range 5 {
		if e := issEmail(i); e != bounced && srv.acceptedFor(e) != 1 {
			t.Errorf("%s got %d messages; want exactly 1 (a retry resends nothing else)", e, srv.acceptedFor(e))
		}
	}
}

func TestRetryFailedReverifiesCorrectedCoupon(t *testing.T) {
	halved := issEmail(1)
	h := newIssHarness(t, issRewritingPlugin("", halved))
	ctx := t.Context()
	c := issCampaign("retry-verify")
	if _, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(4))); err != nil {
		t.Fatal(err)
	}
	before := h.retryRow(c.Name, halved)
	if before.State != StateFailed || before.FailedStage != StageVerify {
		t.Fatalf("row %+v; want failed at verify", before)
	}
	// Retried before the owner corrected it: read back, still wrong, failed again.
	rr, err := h.issuer(issOptions(), nil, nil).RetryFailed(ctx, c, RetryFilter{Stage: StageVerify})
	if err != nil {
		t.Fatal(err)
	}
	if row := h.retryRow(c.Name, halved); len(rr.Rows) != 1 || rr.Rows[0].Action != RetryReadBack || row.State != StateFailed {
		t.Errorf("retry of an uncorrected coupon: rows %+v, row %+v; want read back and failed again", rr.Rows, row)
	}
	// The owner corrects the amount in the store.
	amount := "10"
	if _, err := h.client.Coupons.Update(ctx, before.CouponID, &woo.CouponPatch{Amount: &amount}); err != nil {
		t.Fatal(err)
	}
	creates := h.store.CouponCreateCalls()
	rr, err = h.issuer(issOptions(), nil, nil).RetryFailed(ctx, c, RetryFilter{Emails: []string{strings.ToUpper(halved)}})
	if err != nil {
		t.Fatal(err)
	}
	after := h.retryRow(c.Name, halved)
	if len(rr.Rows) != 1 || rr.Rows[0].Action != RetryReadBack || after.State != StateEmailed || after.Code != before.Code || after.CouponID != before.CouponID {
		t.Errorf("after correction: rows %+v, row %+v; want read back and emailed with the same code and coupon", rr.Rows, after)
	}
	if h.store.CouponCreateCalls() != creates {
		t.Errorf("retry created coupons")
	}
	if n := len(h.mail.snapshot()[halved]); n != 1 {
		t.Errorf("%s emailed %d times; want 1", halved, n)
	}
}

func TestRetryFailedRecodesGoneCoupon(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	deleted := issEmail(20)
	c := issCampaign("mismatch") // issDeletingStore deletes in this campaign
	store := &issDeletingStore{CouponStore: h.client.Coupons, h: h, email: deleted}
	if _, err := h.issuer(issOptions(), store, nil).Run(ctx, c, issSource(t, issCSV(25))); err != nil {
		t.Fatal(err)
	}
	before := h.retryRow(c.Name, deleted)
	if before.State != StateFailed || before.FailedStage != StageVerify {
		t.Fatalf("row %+v; want failed at verify (deleted in store)", before)
	}
	rr, err := h.issuer(issOptions(), nil, nil).RetryFailed(ctx, c, RetryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	after := h.retryRow(c.Name, deleted)
	if len(rr.Rows) != 1 || rr.Rows[0].Action != RetryNewCode || rr.Rows[0].NewCode != after.Code {
		t.Errorf("retry rows = %+v; want a new code for %s", rr.Rows, deleted)
	}
	if after.State != StateEmailed || after.Code == before.Code || after.CouponID == before.CouponID {
		t.Errorf("after retry: %+v; want emailed with a new code and coupon (was %s, %d)", after, before.Code, before.CouponID)
	}
	if live := h.liveCoupons(c.Name, deleted); len(live) != 1 || live[0] != CodeKey(after.Code) {
		t.Errorf("live coupons of %s: %v; want exactly the new one %s", deleted, live, after.Code)
	}
	msgs := h.mail.snapshot()[deleted]
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, after.Code) {
		t.Errorf("%s got %d messages; want 1 with the new code", deleted, len(msgs))
	}
	if !after.ExpiresAt.Equal(c.Coupon.ExpiresAt(issNow, issBerlin)) {
		t.Errorf("new coupon expires %s; want a fresh expiry", after.ExpiresAt)
	}
	h.checkInvariants(c, issEmails(25), true)
}

func TestRetryFailedCreatesRefusedCouponWithTheSameCode(t *testing.T) {
	bad := issEmail(3)
	var refuse atomic.Bool
	refuse.Store(true)
	h := newIssHarness(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/coupons/batch") {
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
	ctx := t.Context()
	c := issCampaign("retry-create")
	if _, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(6))); err != nil {
		t.Fatal(err)
	}
	before := h.retryRow(c.Name, bad)
	if before.State != StateFailed || before.FailedStage != StageCreate {
		t.Fatalf("row %+v; want failed at create", before)
	}
	// The cause is fixed (a plugin setting); the retry creates it.
	refuse.Store(false)
	rr, err := h.issuer(issOptions(), nil, nil).RetryFailed(ctx, c, RetryFilter{Stage: StageCreate})
	if err != nil {
		t.Fatal(err)
	}
	after := h.retryRow(c.Name, bad)
	if len(rr.Rows) != 1 || rr.Rows[0].Action != RetryCreate || after.State != StateEmailed || after.Code != before.Code {
		t.Errorf("rows %+v, row %+v; want created with the same code and emailed", rr.Rows, after)
	}
	h.checkInvariants(c, issEmails(6), true)
}

func TestRetryFailedLeavesOtherStagesAndRowsAlone(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("retry-filter")
	if _, err := h.issuer(issOptions(), nil, issRefusingPermanently{}).Run(ctx, c, issSource(t, issCSV(3))); err != nil {
		t.Fatal(err)
	}
	rr, err := h.issuer(issOptions(), nil, nil).RetryFailed(ctx, c, RetryFilter{Stage: StageCreate})
	if err != nil {
		t.Fatal(err)
	}
	if len(rr.Rows) != 0 || rr.Failed() != 3 {
		t.Errorf("retry of create failures when all failed at email: rows %+v, %v; want nothing done", rr.Rows, rr.Counts)
	}
	rr, err = h.issuer(issOptions(), nil, nil).RetryFailed(ctx, c, RetryFilter{Emails: []string{issEmail(0), "nobody@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Failed() != 2 || rr.Count(StateEmailed) != 1 || len(rr.Rows) != 2 || rr.Rows[1].Action != RetryLeft {
		t.Errorf("retry of one address: rows %+v, %v; want that one emailed, the unknown one listed as left", rr.Rows, rr.Counts)
	}
}

// issRefusingPermanently refuses every message permanently.
type issRefusingPermanently struct{}

func (issRefusingPermanently) Send(_ context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	for _, m := range msgs {
		report(mailer.Result{Key: m.Key, Status: mailer.PermFailure, Reply: "554 5.6.0 header too long"})
	}
	return nil
}

func TestRetryFailedAdoptsTheCouponTheStoreHasInsteadOfCreatingASecond(t *testing.T) {
	bad := issEmail(2)
	var refuse atomic.Bool
	refuse.Store(true)
	h := newIssHarness(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/coupons/batch") {
				body, _ := io.ReadAll(r.Body)
				var req map[string][]map[string]any
				_ = json.Unmarshal(body, &req)
				for _, item := range req["create"] {
					if em, _ := item["email_restrictions"].([]any); len(em) == 1 && em[0] == bad {
						item["discount_type"] = "bogus"
					}
				}
				body, _ = json.Marshal(req)
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
			}
			next.ServeHTTP(w, r)
		})
	})
	ctx := t.Context()
	c := issCampaign("retry-adopt")
	if _, err := h.issuer(issOptions(), nil, nil).Run(ctx, c, issSource(t, issCSV(4))); err != nil {
		t.Fatal(err)
	}
	row := h.retryRow(c.Name, bad)
	if row.State != StateFailed || row.FailedStage != StageCreate {
		t.Fatalf("row %+v; want failed at create", row)
	}
	// The coupon exists after all (created by hand, or by a request the
	// store answered with an error): the retry must adopt it.
	refuse.Store(false)
	cp := c.Coupon.Build(CouponParams{Campaign: c.Name, Code: row.Code, Email: row.Email, Issued: row.IssuedAt, Loc: issBerlin})
	if _, err := h.client.Coupons.Create(ctx, &cp); err != nil {
		t.Fatal(err)
	}
	creates := h.store.CouponCreateCalls()
	rr, err := h.issuer(issOptions(), nil, nil).RetryFailed(ctx, c, RetryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	after := h.retryRow(c.Name, bad)
	if len(rr.Rows) != 1 || rr.Rows[0].Action != RetryAdopt || after.State != StateEmailed || after.Code != row.Code {
		t.Errorf("rows %+v, row %+v; want the coupon adopted and emailed", rr.Rows, after)
	}
	if h.store.CouponCreateCalls() != creates {
		t.Errorf("retry created %d coupons; want none (the store had one)", h.store.CouponCreateCalls()-creates)
	}
	if live := h.liveCoupons(c.Name, bad); len(live) != 1 {
		t.Errorf("%s has %d live coupons; want 1", bad, len(live))
	}
}

// retryUnreachableLookups fails every lookup by code.
type retryUnreachableLookups struct{ CouponStore }

func (retryUnreachableLookups) GetByCode(context.Context, string) (*woo.Coupon, error) {
	return nil, errors.New("dial tcp 127.0.0.1:1: connection refused")
}

func TestRetryFailedLeavesARowFailedWhenTheStoreCannotSayWhatItHas(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("retry-unknown")
	if err := h.ledger.ensureCampaignOf(ctx, c); err != nil {
		t.Fatal(err)
	}
	rows := issPlanRows(t, h, c, 1)
	if _, err := h.ledger.apply(ctx, toCreating(rows[0], issNow, issNow.AddDate(0, 0, 3))); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ledger.apply(ctx, toFailed(rows[0].ID, StateCreating, StageCreate, "store refused the coupon: 400")); err != nil {
		t.Fatal(err)
	}
	rr, err := h.issuer(issOptions(), retryUnreachableLookups{h.client.Coupons}, nil).RetryFailed(ctx, c, RetryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	row := h.retryRow(c.Name, rows[0].Email)
	if len(rr.Rows) != 1 || rr.Rows[0].Action != RetryLeft || !strings.Contains(rr.Rows[0].Note, "connection refused") || row.State != StateFailed {
		t.Errorf("rows %+v, row %+v; want the row left failed with the store's error", rr.Rows, row)
	}
	if n := h.store.CouponCreateCalls(); n != 0 {
		t.Errorf("%d coupons created although the store could not say whether one existed", n)
	}
}

// issPlanRows plans n rows of the list issCSV(n) in campaign c and returns them.
func issPlanRows(t *testing.T, h *issHarness, c Campaign, n int) []Issue {
	t.Helper()
	gen, err := NewCodeGenerator(c.Codes, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ps []plannedIssue
	for i := range n {
		code, _ := gen.Next()
		ps = append(ps, plannedIssue{Email: issEmail(i), FirstName: "F", Fields: map[string]string{"tier": "gold"}, SourceLine: i + 2, Code: code})
	}
	if _, err := h.ledger.planIssues(t.Context(), c.Name, ps, gen.Next); err != nil {
		t.Fatal(err)
	}
	var out []Issue
	for i := range n {
		out = append(out, h.retryRow(c.Name, issEmail(i)))
	}
	return out
}
