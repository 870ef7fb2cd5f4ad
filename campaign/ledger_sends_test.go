package campaign

import (
	"testing"
	"time"
)

// TestSendsSinceCountsEveryMessageHandedToTheServer: issue emails (also an
// unconfirmed one), reminders and resends count; a refused resend and
// sends before the window do not.
func TestSendsSinceCountsEveryMessageHandedToTheServer(t *testing.T) {
	e := newTrackingEnv(t)
	expires := time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC)
	e.issue("old", false, expires, "early@shop.test") // before the window
	e.clock.Add(2 * time.Hour)
	since := e.clock.Now().Add(-time.Minute)
	rows := e.issue("spring", false, expires, "a@shop.test", "b@shop.test")

	// A row whose message the server may or may not have taken.
	if _, err := e.ledger.planIssues(e.ctx, "spring", []plannedIssue{{Email: "u@shop.test", Code: "SPRING-UNCONF"}}, nil); err != nil {
		t.Fatal(err)
	}
	u, _, err := e.ledger.Issue(e.ctx, "spring", "u@shop.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []transition{toCreating(u, e.clock.Now(), expires), toCreated(u.ID, 999), toVerified(u.ID),
		toSending(u.ID), toUnconfirmed(u.ID, "connection lost after DATA")} {
		if _, err := e.ledger.apply(e.ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(time.Minute)
	if ok, err := e.ledger.claimReminder(e.ctx, rows[0].IssueID); err != nil || !ok {
		t.Fatalf("claim reminder: %v %v", ok, err)
	}
	if err := e.ledger.finishReminder(e.ctx, rows[0].IssueID, "sent", e.clock.Now(), ""); err != nil {
		t.Fatal(err)
	}
	sent, _ := e.ledger.startResend(e.ctx, rows[1].IssueID, false, "")
	if err := e.ledger.finishResend(e.ctx, sent, "sent", "250 ok"); err != nil {
		t.Fatal(err)
	}
	refused, _ := e.ledger.startResend(e.ctx, rows[1].IssueID, false, "")
	if err := e.ledger.finishResend(e.ctx, refused, "failed", "550 no such user"); err != nil {
		t.Fatal(err)
	}

	got, err := e.ledger.SendsSince(e.ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	// a, b, u, a's reminder, b's resend.
	if len(got) != 5 {
		t.Fatalf("SendsSince = %d sends %v, want 5", len(got), got)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Before(got[i-1]) {
			t.Errorf("sends not oldest first: %v", got)
		}
	}
	if all, _ := e.ledger.SendsSince(e.ctx, time.Time{}); len(all) != 6 {
		t.Errorf("SendsSince(zero) = %d, want 6 (the earlier campaign too)", len(all))
	}
}
