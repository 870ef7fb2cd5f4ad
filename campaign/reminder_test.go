package campaign

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
)

func reminderSpec(t *testing.T, days int) ReminderSpec {
	t.Helper()
	tpl, err := mailer.LoadTemplates(ReminderTemplateSource(mailer.TemplateSource{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return ReminderSpec{DaysBeforeExpiry: days, Templates: tpl}
}

func TestRemindersGoOnceAndNeverToARedeemedCode(t *testing.T) {
	e := newTrackingEnv(t) // 2026-03-01 09:00 UTC
	mail := &recordingMail{}
	c := mailCampaign(t, "welcome") // valid through 2026-03-11 23:59:59
	emails := []string{"ann@shop.test", "bob@shop.test", "cat@shop.test", "dan@shop.test"}
	e.issueWithPipeline(c, mail, emails...)
	firstIDs := map[string]string{}
	for _, em := range emails {
		firstIDs[em] = mail.to(em)[0].MessageID
	}
	mail.reset()
	rem := &Reminders{Syncer: e.syncer(), Mail: mail}
	spec := reminderSpec(t, 3)
	code := func(em string) string { return e.tracked("welcome", em).Code }

	e.clock.Set(time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC))
	e.order("ann@shop.test", "40.00", "processing", code("ann@shop.test"))
	e.clock.Set(time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC))
	res, err := rem.Run(e.ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Due != 0 || res.Sent != 0 || res.Sync.Redeemed != 1 {
		t.Errorf("six days before expiry: %+v; want nothing due, ann seen redeemed", res)
	}

	// Cat redeems right before the run: the run's own sync must see it.
	e.clock.Set(time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC))
	e.order("cat@shop.test", "40.00", "completed", code("cat@shop.test"))
	mail.status = map[string]mailer.Status{"dan@shop.test": mailer.TempFailure}
	res, err = rem.Run(e.ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Due != 2 || res.Sent != 1 || res.Deferred != 1 {
		t.Errorf("2.5 days before expiry: %+v; want bob and dan due, bob sent, dan deferred", res)
	}
	bob := mail.to("bob@shop.test")
	if len(bob) != 1 {
		t.Fatalf("reminders to bob = %d, want 1", len(bob))
	}
	if !strings.Contains(bob[0].Text, code("bob@shop.test")) || !strings.Contains(bob[0].Subject, "Reminder") ||
		!strings.Contains(bob[0].Text, "has not been used yet") {
		t.Errorf("reminder to bob lacks the code or the reminder wording: %q\n%s", bob[0].Subject, bob[0].Text)
	}
	if bob[0].MessageID == firstIDs["bob@shop.test"] || bob[0].MessageID == "" {
		t.Errorf("reminder Message-ID %q must differ from the first email's", bob[0].MessageID)
	}

	e.clock.Set(time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC))
	mail.status = nil
	res, err = rem.Run(e.ctx, c, spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 1 || res.Due != 1 {
		t.Errorf("next run: %+v; want only dan (deferred before) sent", res)
	}
	e.clock.Set(time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC))
	if res, err = rem.Run(e.ctx, c, spec); err != nil || res.Sent != 0 || res.Due != 0 {
		t.Errorf("third run: %+v, %v; want nothing (never twice)", res, err)
	}
	for em, want := range map[string]int{"ann@shop.test": 0, "bob@shop.test": 1, "cat@shop.test": 0, "dan@shop.test": 1} {
		if got := len(mail.to(em)); got != want {
			t.Errorf("reminders to %s = %d, want %d", em, got, want)
		}
	}
	for em, want := range map[string]string{"bob@shop.test": "sent", "dan@shop.test": "sent", "ann@shop.test": "", "cat@shop.test": ""} {
		if ti := e.tracked("welcome", em); ti.ReminderState != want || (want == "sent") == ti.RemindedAt.IsZero() {
			t.Errorf("%s: reminder %q at %v; want %q", em, ti.ReminderState, ti.RemindedAt, want)
		}
	}
	rep, err := e.ledger.BuildReport(e.ctx, e.clock.Now(), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Campaigns[0].Reminded != 2 {
		t.Errorf("report reminded = %d, want 2", rep.Campaigns[0].Reminded)
	}
	// After expiry nothing is due even for a row never reminded.
	e.clock.Set(time.Date(2026, 3, 12, 10, 0, 0, 0, time.UTC))
	if res, err = rem.Run(e.ctx, c, spec); err != nil || res.Due != 0 {
		t.Errorf("after expiry: %+v, %v; want nothing due", res, err)
	}
}

func TestReminderSpecValidation(t *testing.T) {
	for _, s := range []ReminderSpec{{DaysBeforeExpiry: 0}, {DaysBeforeExpiry: 400}, {DaysBeforeExpiry: 3}} {
		if err := s.Validate(); err == nil {
			t.Errorf("spec %+v accepted", s)
		}
	}
	if err := reminderSpec(t, 3).Validate(); err != nil {
		t.Errorf("valid spec refused: %v", err)
	}
}

func TestReminderDefaultTemplatesRender(t *testing.T) {
	spec := reminderSpec(t, 3)
	subject, text, html, err := spec.Templates.Render(mailer.Data{FirstName: "Ann", Code: "WELCOME-ABCD", Amount: "€5.00",
		Expires: "11 March 2026", StoreName: "Test Shop"})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{subject, text, html} {
		if !strings.Contains(part, "expire") {
			t.Errorf("part lacks the expiry wording: %q", part)
		}
	}
	if !slices.ContainsFunc([]string{text, html}, func(s string) bool { return strings.Contains(s, "WELCOME-ABCD") }) {
		t.Error("bodies lack the code")
	}
}
