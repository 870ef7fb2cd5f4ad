package campaign

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// issClock is a run clock the test moves forward.
type issClock struct{ now atomic.Int64 }

func newIssClock(t time.Time) *issClock {
	c := &issClock{}
	c.now.Store(t.UnixNano())
	return c
}
func (c *issClock) Now() time.Time          { return time.Unix(0, c.now.Load()).UTC() }
func (c *issClock) Advance(d time.Duration) { c.now.Add(int64(d)) }

// issVerifiedOnly runs c once with every message refused, so that all its
// coupons end verified (read back at issNow) and none is emailed.
func issVerifiedOnly(t *testing.T, h *issHarness, c Campaign, n int) map[string]Issue {
	t.Helper()
	opts := issOptions()
	opts.MailPasses = 1
	res, err := h.issuer(opts, nil, issRefusingSender{}).Run(t.Context(), c, issSource(t, issCSV(n)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(StateVerified) != n {
		t.Fatalf("first run: %v; want all %d verified", res.Counts, n)
	}
	return h.rows(c.Name)
}

func TestStaleVerificationIsReadBackBeforeMailing(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("stale")
	const n = 8
	rows := issVerifiedOnly(t, h, c, n)
	// The run stopped before emailing; two days later one coupon was
	// trashed and another edited by hand.
	trashed, edited := rows[issEmail(1)], rows[issEmail(5)]
	if _, err := h.client.Coupons.Delete(ctx, trashed.CouponID, false); err != nil {
		t.Fatal(err)
	}
	amount := "50"
	if _, err := h.client.Coupons.Update(ctx, edited.CouponID, &woo.CouponPatch{Amount: &amount}); err != nil {
		t.Fatal(err)
	}
	opts := issOptions()
	opts.Now = func() time.Time { return issNow.Add(49 * time.Hour) }
	res, err := h.issuer(opts, nil, nil).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	delivered := h.mail.snapshot()
	for _, row := range []Issue{trashed, edited} {
		if len(delivered[row.Email]) != 0 {
			t.Errorf("%s: coupon changed in the store after its read-back, emailed anyway", row.Email)
		}
		got, _, _ := h.ledger.Issue(ctx, c.Name, row.Email)
		if got.State != StateFailed || got.FailedStage != StageVerify {
			t.Errorf("%s: state %s at %q (%s); want failed at verify", row.Email, got.State, got.FailedStage, got.LastError)
		}
	}
	if res.Count(StateEmailed) != n-2 {
		t.Errorf("emailed %d; want the %d unchanged coupons", res.Count(StateEmailed), n-2)
	}
}

// issHookSender runs hook before its first Send, then passes messages on.
type issHookSender struct {
	next MailSender
	once sync.Once
	hook func()
}

func (s *issHookSender) Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	s.once.Do(s.hook)
	return s.next.Send(ctx, msgs, report)
}

func TestVerificationGoingStaleDuringALongEmailStageIsReadBackAgain(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("longmail")
	const n = 8
	rows := issVerifiedOnly(t, h, c, n)
	clock := newIssClock(issNow.Add(10 * time.Minute))
	opts := issOptions()
	opts.Now = clock.Now
	opts.MailChunk = 4
	// While the first chunk is being sent, a coupon of the second chunk is
	// trashed and the stage runs past the bound.
	late := rows[issEmail(6)]
	mail := &issHookSender{next: h.mail, hook: func() {
		if _, err := h.client.Coupons.Delete(ctx, late.CouponID, false); err != nil {
			t.Error(err)
		}
		clock.Advance(2 * time.Hour)
	}}
	res, err := h.issuer(opts, nil, mail).Run(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(h.mail.snapshot()[late.Email]); got != 0 {
		t.Errorf("%s: trashed during the email stage, emailed %d times anyway", late.Email, got)
	}
	if res.Count(StateEmailed) != n-1 || res.Failed() != 1 {
		t.Errorf("after run: %v; want %d emailed and the trashed one failed", res.Counts, n-1)
	}
}
