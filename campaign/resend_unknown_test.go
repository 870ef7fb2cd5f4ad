package campaign

import (
	"errors"
	"testing"

	"github.com/couponbridge/couponbridge/mailer"
)

func TestResendWithOutcomeUnknownIsUnconfirmedNotFailed(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome")
	e.issueWithPipeline(c, mail, "ann@shop.test")
	mail.status = map[string]mailer.Status{"ann@shop.test": mailer.OutcomeUnknown}
	r := &Resender{Ledger: e.ledger, Coupons: e.client.Coupons, Mail: mail, Now: e.clock.Now}
	_, err := r.Resend(e.ctx, c, "ann@shop.test", ResendOptions{})
	if !errors.Is(err, ErrResendUnconfirmed) {
		t.Fatalf("resend whose answer was lost: err = %v; want ErrResendUnconfirmed", err)
	}
	ann := e.tracked("welcome", "ann@shop.test")
	if rs, _ := e.ledger.Resends(e.ctx, ann.ID); len(rs) != 1 || rs[0].State != "sending" {
		t.Errorf("recorded resends %+v; want one left in doubt (sending), not failed", rs)
	}
}
