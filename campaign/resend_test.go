package campaign

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
)

// recordingMail is a hand-written MailSender: it records every message and
// reports each delivered, unless status names another outcome for the
// recipient.
type recordingMail struct {
	mu     sync.Mutex
	sent   []mailer.Message
	status map[string]mailer.Status
}

func (m *recordingMail) Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	for _, msg := range msgs {
		m.mu.Lock()
		st := m.status[msg.To.Email]
		if st == 0 {
			st = mailer.Delivered
			m.sent = append(m.sent, msg)
		}
		m.mu.Unlock()
		reply := "250 ok"
		if st != mailer.Delivered {
			reply = "4xx/5xx refused"
		}
		report(mailer.Result{Key: msg.Key, Status: st, Reply: reply})
	}
	return nil
}

func (m *recordingMail) to(email string) []mailer.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mailer.Message
	for _, msg := range m.sent {
		if msg.To.Email == email {
			out = append(out, msg)
		}
	}
	return out
}

func (m *recordingMail) reset() {
	m.mu.Lock()
	m.sent = nil
	m.mu.Unlock()
}

// mailCampaign is an emailed campaign of 5.00 coupons valid 10 days.
func mailCampaign(t *testing.T, name string) Campaign {
	t.Helper()
	tpl, err := mailer.LoadTemplates(mailer.TemplateSource{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Campaign{
		Name:   name,
		Coupon: CouponTemplate{DiscountType: "fixed_cart", Amount: "5", Expiry: ExpirySpec{Days: 10}},
		Mail: MailSpec{From: mailer.Address{Name: "Shop", Email: "hello@shop.test"}, Templates: tpl,
			StoreName: "Test Shop", StoreURL: "https://shop.test", Currency: "EUR"},
	}
}

// issueWithPipeline runs the real issuing pipeline for the recipients.
func (e *trackingEnv) issueWithPipeline(c Campaign, mail MailSender, emails ...string) {
	e.t.Helper()
	iss, err := NewIssuer(e.ledger, e.client.Coupons, mail, IssueOptions{Now: e.clock.Now, RetryWait: time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	src, err := NewRecipientReader(strings.NewReader("email,first_name\n"+strings.Join(emails, ",Pat\n")+",Pat\n"), "list.csv")
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := iss.Run(e.ctx, c, src)
	if err != nil {
		e.t.Fatal(err)
	}
	if res.Count(StateEmailed) != len(emails) {
		e.t.Fatalf("issue run: %+v; want %d emailed", res.Summary, len(emails))
	}
}

func TestResendIsANewMessageReferringToTheFirstWithTheSameCode(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test", "bob@shop.test")
	first := mail.to("ann@shop.test")
	if len(first) != 1 {
		t.Fatalf("first emails to ann = %d", len(first))
	}
	couponsBefore := len(e.store.Coupons())
	creates := e.store.CouponCreateCalls()
	e.clock.Add(24 * hour)
	r := &Resender{Ledger: e.ledger, Coupons: e.client.Coupons, Mail: mail, Now: e.clock.Now}
	res, err := r.Resend(e.ctx, c, " Ann@Shop.test ", ResendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	again := mail.to("ann@shop.test")
	if len(again) != 2 {
		t.Fatalf("emails to ann after resend = %d, want 2", len(again))
	}
	orig, re := first[0], again[1]
	if re.MessageID == orig.MessageID || res.MessageID != re.MessageID {
		t.Errorf("resend Message-ID %q (result %q), want a new one, not the first email's %q", re.MessageID, res.MessageID, orig.MessageID)
	}
	if re.InReplyTo != orig.MessageID || !slices.Equal(re.References, []string{orig.MessageID}) {
		t.Errorf("resend In-Reply-To %q References %q, want both the first email's %q", re.InReplyTo, re.References, orig.MessageID)
	}
	ti := e.tracked("welcome", "ann@shop.test")
	if !strings.Contains(re.Text, ti.Code) || re.Text != orig.Text || re.HTML != orig.HTML || re.Subject != orig.Subject {
		t.Errorf("resent message differs from the original or lacks code %s:\n%s\n---\n%s", ti.Code, re.Text, orig.Text)
	}
	if len(e.store.Coupons()) != couponsBefore || e.store.CouponCreateCalls() != creates {
		t.Error("resend created a coupon")
	}
	rs, err := e.ledger.Resends(e.ctx, ti.ID)
	if err != nil || len(rs) != 1 || rs[0].State != "sent" || rs[0].Forced || rs[0].MessageID != re.MessageID {
		t.Errorf("recorded resends %+v, %v; want one sent, not forced, with Message-ID %s", rs, err, re.MessageID)
	}
	// A second resend is new again and still refers to the first email.
	if _, err := r.Resend(e.ctx, c, "ann@shop.test", ResendOptions{}); err != nil {
		t.Fatal(err)
	}
	third := mail.to("ann@shop.test")[2]
	if third.MessageID == re.MessageID || third.MessageID == orig.MessageID || third.InReplyTo != orig.MessageID {
		t.Errorf("second resend Message-ID %q In-Reply-To %q; want a third ID referring to %q", third.MessageID, third.InReplyTo, orig.MessageID)
	}
}

func TestResendRefusesRedeemedOrExpiredCodesUnlessForced(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test", "bob@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	e.order("ann@shop.test", "40.00", "processing", ann.Code)
	mail.reset()
	r := &Resender{Ledger: e.ledger, Coupons: e.client.Coupons, Mail: mail, Now: e.clock.Now}
	_, err := r.Resend(e.ctx, c, "ann@shop.test", ResendOptions{})
	if !errors.Is(err, ErrResendRefused) || !strings.Contains(err.Error(), "redeemed") {
		t.Errorf("resend of a redeemed code: err = %v, want ErrResendRefused naming redeemed", err)
	}
	e.clock.Add(30 * 24 * hour) // past the 10-day expiry
	_, err = r.Resend(e.ctx, c, "bob@shop.test", ResendOptions{})
	if !errors.Is(err, ErrResendRefused) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("resend of an expired code: err = %v, want ErrResendRefused naming expired", err)
	}
	if n := len(mail.to("ann@shop.test")) + len(mail.to("bob@shop.test")); n != 0 {
		t.Errorf("refused resends sent %d emails", n)
	}
	res, err := r.Resend(e.ctx, c, "bob@shop.test", ResendOptions{Force: true})
	if err != nil || !res.Forced || !strings.Contains(res.Overridden, "expired") {
		t.Fatalf("forced resend: %+v, %v; want sent, forced over expired", res, err)
	}
	bob := e.tracked("welcome", "bob@shop.test")
	if got := mail.to("bob@shop.test"); len(got) != 1 || !strings.Contains(got[0].Text, bob.Code) {
		t.Errorf("forced resend to bob: %d messages; want 1 with code %s", len(got), bob.Code)
	}
	if rs, _ := e.ledger.Resends(e.ctx, bob.ID); len(rs) != 1 || !rs[0].Forced {
		t.Errorf("recorded resends %+v; want one forced", rs)
	}
}

func TestResendRefusesUnknownRecipientsAndUnsentRows(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	r := &Resender{Ledger: e.ledger, Coupons: e.client.Coupons, Mail: mail, Now: e.clock.Now}
	if _, err := r.Resend(e.ctx, c, "nobody@shop.test", ResendOptions{Force: true}); !errors.Is(err, ErrNoRecipient) {
		t.Errorf("unknown recipient: err = %v, want ErrNoRecipient", err)
	}
	ann := e.tracked("welcome", "ann@shop.test")
	if _, err := e.client.Coupons.Delete(e.ctx, ann.CouponID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resend(e.ctx, c, "ann@shop.test", ResendOptions{Force: true}); !errors.Is(err, ErrNothingToResend) || !strings.Contains(err.Error(), "no longer in the store") {
		t.Errorf("deleted coupon: err = %v, want ErrNothingToResend even with force", err)
	}
}

func TestResendSettlesAnUnconfirmedRow(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	ann := e.tracked("welcome", "ann@shop.test")
	if _, err := e.ledger.db.Exec(`UPDATE issues SET state = 'unconfirmed' WHERE id = ?`, ann.ID); err != nil {
		t.Fatal(err)
	}
	r := &Resender{Ledger: e.ledger, Coupons: e.client.Coupons, Mail: mail, Now: e.clock.Now}
	if _, err := r.Resend(e.ctx, c, "ann@shop.test", ResendOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := e.tracked("welcome", "ann@shop.test").State; st != StateEmailed {
		t.Errorf("state after resend = %s, want emailed", st)
	}
}

func TestResendRecordsARefusedDelivery(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	mail.status = map[string]mailer.Status{"ann@shop.test": mailer.PermFailure}
	r := &Resender{Ledger: e.ledger, Coupons: e.client.Coupons, Mail: mail, Now: e.clock.Now}
	if _, err := r.Resend(e.ctx, c, "ann@shop.test", ResendOptions{}); err == nil {
		t.Fatal("refused delivery reported as success")
	}
	ann := e.tracked("welcome", "ann@shop.test")
	if rs, _ := e.ledger.Resends(e.ctx, ann.ID); len(rs) != 1 || rs[0].State != "failed" || rs[0].Reply == "" {
		t.Errorf("recorded resends %+v; want one failed with the reply", rs)
	}
}
