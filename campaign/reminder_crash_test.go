package campaign

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
)

// remDyingSender hands over the first message (its Prepare, if any, runs)
// and then stops its caller's goroutine, as a killed process stops.
type remDyingSender struct{}

func (remDyingSender) Send(_ context.Context, msgs []mailer.Message, _ func(mailer.Result)) error {
	if p := msgs[0].Prepare; p != nil {
		if err := p(); err != nil {
			return err
		}
	}
	runtime.Goexit()
	return nil
}

func TestReminderCrashLeavesAtMostOneInDoubt(t *testing.T) {
	e := newTrackingEnv(t) // 2026-03-01 09:00 UTC
	c := mailCampaign(t, "welcome")
	emails := []string{"ann@shop.test", "bob@shop.test", "cat@shop.test", "dan@shop.test", "eve@shop.test"}
	e.issueWithPipeline(c, &recordingMail{}, emails...)
	e.clock.Set(time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC))
	// The process dies while the mail server has the first reminder of
	// the chunk.
	rem := &Reminders{Syncer: e.syncer(), Mail: remDyingSender{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = rem.Run(e.ctx, c, reminderSpec(t, 3))
	}()
	<-done
	inDoubt := 0
	for _, em := range emails {
		if e.tracked("welcome", em).ReminderState == "sending" {
			inDoubt++
		}
	}
	if inDoubt != 1 {
		t.Fatalf("%d reminders left in doubt (sending) by a crash with one message handed over; want exactly 1", inDoubt)
	}
	// The next run reminds the four others, and not the one in doubt.
	mail := &recordingMail{}
	rem.Mail = mail
	res, err := rem.Run(e.ctx, c, reminderSpec(t, 3))
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != len(emails)-1 {
		t.Errorf("next run sent %d; want the %d never handed over", res.Sent, len(emails)-1)
	}
}
