package campaign

import (
	"testing"
	"time"
)

func TestTrackerSyncsEveryCampaignAndRemindsOnlyThoseWithAReminder(t *testing.T) {
	e := newTrackingEnv(t)
	mail := &recordingMail{}
	welcome := mailCampaign(t, "welcome") // valid through 2026-03-11
	winback := mailCampaign(t, "winback")
	e.issueWithPipeline(welcome, mail, "ann@shop.test")
	e.issueWithPipeline(winback, mail, "bob@shop.test")
	mail.reset()
	tr := &Tracker{
		Syncer:    e.syncer(),
		Reminders: &Reminders{Syncer: e.syncer(), Mail: mail},
		Reminded:  map[string]ReminderCampaign{"welcome": {Campaign: welcome, Spec: reminderSpec(t, 3)}},
	}
	e.clock.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC))
	res, err := tr.Run(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Synced) != 2 || res.Synced[0].Checked != 1 || res.Synced[1].Checked != 1 {
		t.Errorf("synced %+v; want both campaigns, one coupon each", res.Synced)
	}
	if len(res.Reminders) != 1 || res.Reminders[0].Sent != 1 || len(mail.to("ann@shop.test")) != 1 || len(mail.to("bob@shop.test")) != 0 {
		t.Errorf("reminders %+v; want only ann (welcome has a reminder, winback none)", res.Reminders)
	}
	if res, err = tr.Run(e.ctx); err != nil || res.Reminders[0].Sent != 0 {
		t.Errorf("second pass: %+v, %v; want no reminder again", res.Reminders, err)
	}
}
