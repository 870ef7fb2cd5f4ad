package campaign

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// stopAfterFirstSend is a mail sender that stops the daemon (cancels its
// context) once the first chunk of messages was handed over, as a SIGTERM
// arriving in the middle of a job would.
type stopAfterFirstSend struct {
	next  *mailer.Outbox
	stop  func()
	sends atomic.Int32
	mu    sync.Mutex
	to    map[string]int
}

func (s *stopAfterFirstSend) Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	err := s.next.Send(ctx, msgs, report)
	s.mu.Lock()
	for _, m := range msgs {
		s.to[m.To.Email]++
	}
	s.mu.Unlock()
	if s.sends.Add(1) == 1 && s.stop != nil {
		s.stop()
	}
	return err
}

func TestDaemonStoppedMidJobLosesNothingAndTheNextStartFinishesIt(t *testing.T) {
	loc := jobsBerlin(t)
	store, client := jobStore(t, wootest.WithTimezone(loc))
	dir := t.TempDir()
	ledgerPath := filepath.Join(dir, "ledger.db")
	outbox, err := mailer.NewOutbox(filepath.Join(dir, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	var csv strings.Builder
	csv.WriteString("email,first_name\n")
	for i := range n {
		fmt.Fprintf(&csv, "p%02d@example.com,P%d\n", i, i)
	}
	drop := filepath.Join(dir, "signups.csv")
	writeCSV(t, drop, csv.String(), time.Hour)

	mail := &stopAfterFirstSend{next: outbox, to: map[string]int{}}
	start := func(l *Ledger, stop context.CancelFunc) *Daemon {
		t.Helper()
		mail.stop = stop
		issuer, err := NewIssuer(l, client.Coupons, mail, IssueOptions{Location: loc, BatchSize: 5, MailChunk: 5, RetryWait: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		set := &JobSet{Loc: loc, Store: client,
			Issue: func(ctx context.Context, c Campaign) error { _, err := issuer.Run(ctx, c, nil); return err },
			Jobs: []Job{{Name: "signups", Campaign: jobCampaign(t, "signups"), Schedule: mustSchedule(t, "0 3 * * *", 0, loc),
				Source: &CSVSource{Path: drop}}},
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDaemon(DaemonOptions{Ledger: l, Listener: ln}, set)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	run := func(d *Daemon, ctx context.Context) chan error {
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		return done
	}
	wait := func(done chan error) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("daemon Run = %v, want nil (clean stop)", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("daemon did not stop")
		}
	}

	// First start. The job's slot is 03:00; a run left 'running' by a
	// process that died makes it run at once (its resume path).
	l, err := OpenLedger(context.Background(), ledgerPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.startJobRun(context.Background(), "signups", "signups", "csv", time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	ctx1, stop1 := context.WithCancel(context.Background())
	d1 := start(l, stop1)
	wait(run(d1, ctx1))

	first, _, err := l.LastJobRun(context.Background(), "signups")
	if err != nil {
		t.Fatal(err)
	}
	if first.Outcome != RunInterrupted {
		t.Fatalf("first run outcome = %s, want interrupted (stopped mid-job)", first.Outcome)
	}
	sum, err := l.Summary(context.Background(), "signups")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Total != n {
		t.Fatalf("rows after the stop = %d, want all %d planned (nothing lost)", sum.Total, n)
	}
	if sum.Count(StateEmailed) == 0 || sum.Count(StateEmailed) >= n {
		t.Fatalf("emailed after the stop = %d, want some but not all (the stop must land mid-job)", sum.Count(StateEmailed))
	}
	if err := l.Close(); err != nil { // as a process exit would
		t.Fatal(err)
	}

	// Second start: a new process; the interrupted job resumes at once.
	l2, err := OpenLedger(context.Background(), ledgerPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	ctx2, stop2 := context.WithCancel(context.Background())
	defer stop2()
	d2 := start(l2, nil)
	done2 := run(d2, ctx2)
	deadline := time.Now().Add(20 * time.Second)
	for {
		last, _, _ := l2.LastJobRun(context.Background(), "signups")
		if last.ID != first.ID && last.Outcome == RunSuccess {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second start did not finish the job; last run %+v", last)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop2()
	wait(done2)

	sum, _ = l2.Summary(context.Background(), "signups")
	if sum.Count(StateEmailed) != n || sum.Total != n {
		t.Errorf("after the second start: %d of %d emailed (states %v), want all", sum.Count(StateEmailed), sum.Total, sum.Counts)
	}
	coupons := store.Coupons()
	perEmail := map[string]int{}
	for _, c := range coupons {
		for _, e := range c.EmailRestrictions {
			perEmail[e]++
		}
	}
	if len(coupons) != n || len(perEmail) != n {
		t.Errorf("store holds %d coupons for %d recipients, want %d each", len(coupons), len(perEmail), n)
	}
	for e, k := range perEmail {
		if k != 1 {
			t.Errorf("%s has %d coupons, want 1", e, k)
		}
	}
	for e, k := range mail.to {
		if k != 1 {
			t.Errorf("%s emailed %d times, want 1", e, k)
		}
	}
	if len(mail.to) != n {
		t.Errorf("emailed %d recipients, want %d", len(mail.to), n)
	}
	emls, _ := filepath.Glob(filepath.Join(outbox.Dir(), "*.eml"))
	if len(emls) != n {
		t.Errorf("outbox holds %d messages, want %d", len(emls), n)
	}
}
