package campaign

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

func (e *trackingEnv) issuer(store CouponStore, mail MailSender) *Issuer {
	e.t.Helper()
	iss, err := NewIssuer(e.ledger, store, mail, IssueOptions{Now: e.clock.Now, RetryWait: time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	return iss
}

// liveCouponsFor returns the published coupons restricted to email.
func (e *trackingEnv) liveCouponsFor(email string) []int64 {
	var ids []int64
	for _, c := range e.store.Coupons() {
		if c.Status != "trash" && slices.Contains(c.EmailRestrictions, email) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func (e *trackingEnv) couponStatus(id int64) string {
	e.t.Helper()
	c, ok := e.snapshot(id)
	if !ok {
		return "gone"
	}
	return c.Status
}

func TestReissueOfADeletedCouponCreatesOneNewCouponAndEmailsIt(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test", "bob@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	if _, err := e.client.Coupons.Delete(e.ctx, ann.CouponID, true); err != nil {
		t.Fatal(err)
	}
	creates := e.store.CouponCreateCalls()
	e.clock.Add(24 * hour)

	res, err := e.issuer(e.client.Coupons, mail).Reissue(e.ctx, c, "Ann@Shop.test", ReissueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.StoreState != "deleted" || res.Forced || res.OldCode != ann.Code || res.NewCode == "" || res.NewCode == ann.Code {
		t.Fatalf("reissue: %+v; want the deleted code %s replaced by a new one", res, ann.Code)
	}
	now := e.tracked("welcome", "ann@shop.test")
	if now.State != StateEmailed || now.Code != res.NewCode || now.CouponID == 0 || now.CouponID == ann.CouponID || now.Reissues != 1 {
		t.Errorf("row after reissue: state %s code %s coupon %d reissues %d; want emailed with the new code and coupon",
			now.State, now.Code, now.CouponID, now.Reissues)
	}
	if live := e.liveCouponsFor("ann@shop.test"); len(live) != 1 || live[0] != now.CouponID {
		t.Errorf("ann's live coupons %v, want only the new one %d", live, now.CouponID)
	}
	if got := e.store.CouponCreateCalls() - creates; got != 1 {
		t.Errorf("reissue sent %d create requests, want 1", got)
	}
	sent := mail.to("ann@shop.test")
	if len(sent) != 2 {
		t.Fatalf("emails to ann = %d, want the first and the new code's", len(sent))
	}
	first, again := sent[0], sent[1]
	if !strings.Contains(again.Text, res.NewCode) || strings.Contains(again.Text, ann.Code) {
		t.Errorf("the new email does not carry the new code %s alone:\n%s", res.NewCode, again.Text)
	}
	if again.MessageID == first.MessageID || again.InReplyTo != first.MessageID || !slices.Equal(again.References, []string{first.MessageID}) {
		t.Errorf("new email Message-ID %q In-Reply-To %q References %q; want a new ID referring to %q",
			again.MessageID, again.InReplyTo, again.References, first.MessageID)
	}
	if n := len(mail.to("bob@shop.test")); n != 1 {
		t.Errorf("bob got %d emails, want his first only", n)
	}

	// The ledger keeps both: lookup finds the old code and the new one.
	old, err := LookupCode(e.ctx, e.ledger, e.client.Coupons, strings.ToLower(ann.Code))
	if err != nil {
		t.Fatal(err)
	}
	if !old.InLedger || old.Replaced == nil || old.Replaced.Code != ann.Code || old.Replaced.CouponID != ann.CouponID ||
		old.Replaced.StoreState != "deleted" || old.Row.Code != res.NewCode || old.InStore {
		t.Errorf("lookup of the old code: %+v replaced %+v; want it found as replaced by %s", old, old.Replaced, res.NewCode)
	}
	cur, err := LookupCode(e.ctx, e.ledger, e.client.Coupons, res.NewCode)
	if err != nil || !cur.InLedger || cur.Replaced != nil || !cur.Ours || cur.Row.Email != "ann@shop.test" {
		t.Errorf("lookup of the new code: %+v, %v; want ann's row, ours in the store", cur, err)
	}
	if h, err := e.ledger.ReplacedCodes(e.ctx, ann.ID); err != nil || len(h) != 1 || h[0].State != StateEmailed || h[0].EmailedAt.IsZero() {
		t.Errorf("history %+v, %v; want the emailed old code", h, err)
	}
}

func TestReissueTrashesTheExpiredCouponBeforeCreatingTheNewOne(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	e.clock.Add(30 * 24 * hour) // past the 10-day expiry

	res, err := e.issuer(e.client.Coupons, mail).Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.StoreState != "expired" || !slices.Equal(res.Trashed, []int64{ann.CouponID}) {
		t.Errorf("reissue: %+v; want the expired coupon %d trashed", res, ann.CouponID)
	}
	if st := e.couponStatus(ann.CouponID); st != "trash" {
		t.Errorf("old coupon is %s, want trash", st)
	}
	now := e.tracked("welcome", "ann@shop.test")
	if live := e.liveCouponsFor("ann@shop.test"); len(live) != 1 || live[0] != now.CouponID || now.State != StateEmailed {
		t.Errorf("ann's live coupons %v, row %s coupon %d; want one, the new one, emailed", live, now.State, now.CouponID)
	}
	if !now.ExpiresAt.After(e.clock.Now()) {
		t.Errorf("the new coupon expires %v, before now %v", now.ExpiresAt, e.clock.Now())
	}
}

func TestReissueOfALiveUnusedCouponIsRefusedWithoutForce(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	mail.reset()
	creates := e.store.CouponCreateCalls()
	iss := e.issuer(e.client.Coupons, mail)

	_, err := iss.Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{})
	if !errors.Is(err, ErrReissueRefused) || !strings.Contains(err.Error(), "live and unused") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("reissue of a live coupon: %v; want ErrReissueRefused saying it is live and naming --force", err)
	}
	if now := e.tracked("welcome", "ann@shop.test"); now.Code != ann.Code || now.State != StateEmailed ||
		e.couponStatus(ann.CouponID) != "publish" || e.store.CouponCreateCalls() != creates || len(mail.to("ann@shop.test")) != 0 {
		t.Fatalf("a refused reissue changed something: row %s %s, coupon %s, creates %d, emails %d",
			now.State, now.Code, e.couponStatus(ann.CouponID), e.store.CouponCreateCalls()-creates, len(mail.to("ann@shop.test")))
	}

	res, err := iss.Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{Force: true})
	if err != nil || !res.Forced || res.StoreState != "live" {
		t.Fatalf("forced reissue: %+v, %v", res, err)
	}
	if e.couponStatus(ann.CouponID) != "trash" || len(e.liveCouponsFor("ann@shop.test")) != 1 {
		t.Errorf("forced reissue: old coupon %s, live coupons %v; want the old one trashed and one live",
			e.couponStatus(ann.CouponID), e.liveCouponsFor("ann@shop.test"))
	}
}

func TestReissueOfARedeemedCouponIsRefusedWithoutForce(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	e.order("ann@shop.test", "40.00", "completed", ann.Code)
	_, err := e.issuer(e.client.Coupons, mail).Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{})
	if !errors.Is(err, ErrReissueRefused) || !strings.Contains(err.Error(), "redeemed") {
		t.Errorf("reissue of a redeemed coupon: %v; want ErrReissueRefused naming redeemed", err)
	}
}

// trashFailingStore refuses to trash coupons, as a store that answers 500.
type trashFailingStore struct{ CouponStore }

func (trashFailingStore) Delete(ctx context.Context, id int64, force bool) (*woo.Coupon, error) {
	return nil, &woo.APIError{StatusCode: 500, Code: "internal_server_error", Message: "boom"}
}

func TestReissueStopsWithNothingChangedWhenTheOldCouponCannotBeTrashed(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	creates := e.store.CouponCreateCalls()
	_, err := e.issuer(trashFailingStore{e.client.Coupons}, mail).Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{Force: true})
	if err == nil || !strings.Contains(err.Error(), "trashing coupon") {
		t.Fatalf("reissue with a store that cannot trash: %v; want an error", err)
	}
	if now := e.tracked("welcome", "ann@shop.test"); now.Code != ann.Code || now.State != StateEmailed || e.store.CouponCreateCalls() != creates {
		t.Errorf("after a failed trash: row %s %s, %d creates; want nothing changed", now.State, now.Code, e.store.CouponCreateCalls()-creates)
	}
	if h, _ := e.ledger.ReplacedCodes(e.ctx, ann.ID); len(h) != 0 {
		t.Errorf("history %+v, want none", h)
	}
}

func TestReissueRefusesRowsWithoutAnEmailedCode(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	iss := e.issuer(e.client.Coupons, mail)
	if _, err := iss.Reissue(e.ctx, c, "nobody@shop.test", ReissueOptions{}); !errors.Is(err, ErrNoRecipient) || !errors.Is(err, ErrReissueRefused) {
		t.Errorf("unknown recipient: %v, want ErrNoRecipient and ErrReissueRefused", err)
	}
	ann := e.tracked("welcome", "ann@shop.test")
	if _, err := e.ledger.db.Exec(`UPDATE issues SET state = 'failed', failed_stage = 'email', last_error = '550 no such user' WHERE id = ?`, ann.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{Force: true}); !errors.Is(err, ErrReissueRefused) || !strings.Contains(err.Error(), "retry") {
		t.Errorf("failed row: %v, want a refusal naming retry", err)
	}
}

// A reissue that stopped after the new code was planned (a crash) is
// finished by running reissue again; the second email of a second reissue
// refers to the first email and the one before it.
func TestReissueAgainFinishesAnInterruptedReissueAndThreadsEveryEmail(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	if _, err := e.client.Coupons.Delete(e.ctx, ann.CouponID, false); err != nil {
		t.Fatal(err)
	}
	// What a reissue killed right after recording leaves: the row planned.
	r, err := e.issuer(e.client.Coupons, mail).start(e.ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	old := ReplacedCode{IssueID: ann.ID, Campaign: "welcome", Email: ann.Email, Code: ann.Code, CouponID: ann.CouponID, State: StateEmailed, StoreState: "deleted"}
	code, _ := r.gen.Next()
	if err := e.ledger.replaceCode(e.ctx, old, code, "test"); err != nil {
		t.Fatal(err)
	}
	res, err := e.issuer(e.client.Coupons, mail).Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{})
	if err != nil || !res.Resumed || res.NewCode != code || res.Row.State != StateEmailed || res.OldCode != ann.Code {
		t.Fatalf("reissue after an interrupted one: %+v, %v; want it finished with code %s", res, err, code)
	}
	// A second reissue (the new coupon deleted too).
	if _, err := e.client.Coupons.Delete(e.ctx, res.Row.CouponID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.issuer(e.client.Coupons, mail).Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{}); err != nil {
		t.Fatal(err)
	}
	sent := mail.to("ann@shop.test")
	if len(sent) != 3 {
		t.Fatalf("emails to ann = %d, want 3", len(sent))
	}
	ids := map[string]bool{sent[0].MessageID: true, sent[1].MessageID: true, sent[2].MessageID: true}
	if len(ids) != 3 || sent[2].InReplyTo != sent[1].MessageID || !slices.Equal(sent[2].References, []string{sent[0].MessageID, sent[1].MessageID}) {
		t.Errorf("Message-IDs %v; third In-Reply-To %q References %q; want three IDs, the third referring to both",
			[]string{sent[0].MessageID, sent[1].MessageID, sent[2].MessageID}, sent[2].InReplyTo, sent[2].References)
	}
	if _, err := mailer.Build(sent[2]); err != nil {
		t.Errorf("the third email cannot be built: %v", err)
	}
}

// The first email of a reissued row was sent: the mail caps, which count
// what the ledger says was sent, keep counting it once the row has a new
// code.
func TestReissueKeepsTheReplacedCodesEmailCountedAgainstTheMailCaps(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	start := e.clock.Now()
	e.issueWithPipeline(c, mail, "ann@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	if _, err := e.client.Coupons.Delete(e.ctx, ann.CouponID, true); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(10 * time.Minute)
	if _, err := e.issuer(e.client.Coupons, mail).Reissue(e.ctx, c, "ann@shop.test", ReissueOptions{}); err != nil {
		t.Fatal(err)
	}
	sends, err := e.ledger.SendsSince(e.ctx, start)
	if err != nil || len(sends) != 2 {
		t.Errorf("sends since the first email: %v, %v; want 2 (the first email and the new code's)", sends, err)
	}
}
