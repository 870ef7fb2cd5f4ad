package campaign

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestDaemonTracksRedemptionsAtStartAndPeriodically: with a Tracker in its
// job set, the daemon syncs the ledger with the store once at start and
// then every TrackEvery, so redemptions show up without anyone running
// `couponbridge sync`.
func TestDaemonTracksRedemptionsAtStartAndPeriodically(t *testing.T) {
	e := newTrackingEnv(t)
	codes := e.issue("welcome", false, e.clock.Now().Add(30*24*time.Hour), "ann@example.com", "bob@example.com")
	e.order("ann@example.com", "40.00", "processing", codes[0].Code)

	set := &JobSet{Tracker: &Tracker{Syncer: e.syncer()}, TrackEvery: 50 * time.Millisecond}
	d, err := NewDaemon(DaemonOptions{Ledger: e.ledger}, set)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.runJobs(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon stop: %v", err)
		}
	}()

	waitRedeemed := func(email string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if ti, ok, err := e.ledger.Tracked(e.ctx, "welcome", email); err == nil && ok && !ti.RedeemedAt.IsZero() {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s's redemption never reached the ledger: the daemon did not track", email)
	}
	waitRedeemed("ann@example.com") // the pass at start
	e.order("bob@example.com", "25.00", "completed", codes[1].Code)
	waitRedeemed("bob@example.com") // a later, periodic pass
}

func TestJobSetRefusesATrackerWithoutInterval(t *testing.T) {
	set := &JobSet{Tracker: &Tracker{}}
	if err := set.Validate(); err == nil {
		t.Fatal("a tracker with no interval was accepted")
	}
}

// TestDaemonReloadBeforeRunIsLoggedAndUsed: a SIGHUP can arrive between
// the command's start and the daemon's Run; that reload must take effect
// and say so in the log like any other.
func TestDaemonReloadBeforeRunIsLoggedAndUsed(t *testing.T) {
	l := openJobsLedger(t)
	var logs strings.Builder
	d, err := NewDaemon(DaemonOptions{Ledger: l, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, &JobSet{})
	if err != nil {
		t.Fatal(err)
	}
	next := &JobSet{}
	if err := d.Reload(next); err != nil {
		t.Fatal(err)
	}
	if d.currentSet() != next {
		t.Error("the set reloaded before Run is not the one in force")
	}
	if !strings.Contains(logs.String(), "configuration reloaded") {
		t.Errorf("a reload before Run was not logged; log:\n%s", logs.String())
	}
}
