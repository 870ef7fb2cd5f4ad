package campaign

import (
	"testing"
	"time"
)

// TestPruneMarkMovesARowOnlyFromTheStatePruneSawItIn: marking rows pruned
// goes through the transition checks; a row whose state changed since
// prune read it (here: confirmed by a resend meanwhile) is left as it is.
func TestPruneMarkMovesARowOnlyFromTheStatePruneSawItIn(t *testing.T) {
	e := newTrackingEnv(t)
	rows := e.issue("spring", false, time.Date(2026, 3, 31, 23, 59, 59, 0, time.UTC), "a@shop.test", "b@shop.test")
	at := e.clock.Now().Add(time.Hour)
	err := e.ledger.markPruned(e.ctx, []prunedRow{
		{id: rows[0].IssueID, from: StateEmailed},
		{id: rows[1].IssueID, from: StateUnconfirmed}, // it is emailed now
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	a := e.tracked("spring", "a@shop.test")
	if a.State != StatePruned || !a.PrunedAt.Equal(at) {
		t.Errorf("a: state %s pruned at %v; want pruned at %v", a.State, a.PrunedAt, at)
	}
	b := e.tracked("spring", "b@shop.test")
	if b.State != StateEmailed || !b.PrunedAt.IsZero() {
		t.Errorf("b: state %s pruned at %v; want left emailed, never pruned", b.State, b.PrunedAt)
	}
}
