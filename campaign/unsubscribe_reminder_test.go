package campaign

import (
	"testing"
	"time"
)

func TestNoReminderGoesToAnUnsubscribedHolder(t *testing.T) {
	e := newTrackingEnv(t) // 2026-03-01 09:00 UTC
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome") // valid through 2026-03-11 23:59:59
	e.issueWithPipeline(c, mail, "ann@shop.test", "bob@shop.test")
	mail.reset()
	links := testUnsubLinks(t)
	h := NewUnsubscribeHandler(links, e.ledger, nil, nil)
	if res, _ := oneClick(t, h, links.Link("welcome", "bob@shop.test")); res.StatusCode != 200 {
		t.Fatalf("one-click POST: status %d", res.StatusCode)
	}
	e.clock.Set(time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC))
	res, err := (&Reminders{Syncer: e.syncer(), Mail: mail}).Run(e.ctx, c, reminderSpec(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	if res.Due != 1 || res.Sent != 1 {
		t.Errorf("reminders: %+v; want ann only due and sent", res)
	}
	if n := len(mail.to("bob@shop.test")); n != 0 {
		t.Errorf("bob got %d reminders after unsubscribing", n)
	}
	if n := len(mail.to("ann@shop.test")); n != 1 {
		t.Errorf("ann got %d reminders, want 1", n)
	}
}
