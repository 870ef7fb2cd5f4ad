package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// holdLedger opens the ledger at path as another couponbridge process
// would (flock locks belong to the open file description, so a second open
// in this process conflicts like one in another process) and returns a
// function that releases it.
func holdLedger(t *testing.T, path string) (release func()) {
	t.Helper()
	l, err := campaign.OpenLedger(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return func() { l.Close() }
}

// startCLI runs couponbridge in-process in the background; its stderr can
// be read while it runs.
func startCLI(ctx context.Context, args ...string) (stderr *syncBuffer, done <-chan cliResult) {
	var out syncBuffer
	stderr = new(syncBuffer)
	ch := make(chan cliResult, 1)
	go func() {
		code := run(ctx, args, &cliEnv{Stdout: &out, Stderr: stderr, Getenv: envMap(nil)})
		ch <- cliResult{code, out.String(), stderr.String()}
	}()
	return stderr, ch
}

// awaitCLI returns the result of a command started by startCLI. Its bound
// only guards against a hang.
func awaitCLI(t *testing.T, done <-chan cliResult) cliResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the command did not finish")
		return cliResult{}
	}
}

const waitNotice = "waiting for it to release the ledger"

func inUseMessage() string {
	return "ledger is in use by another couponbridge process (pid " + strconv.Itoa(os.Getpid()) + ")"
}

func TestRunJobWaitsForTheProcessHoldingTheLedgerByDefault(t *testing.T) {
	s := newJobsSandbox(t, "")
	s.store.AddCustomer(wootest.SeedCustomer{Email: "nina@example.com", FirstName: "Nina", Registered: time.Now().Add(-time.Hour)})
	release := holdLedger(t, filepath.Join(s.dir, "ledger.db"))

	stderr, done := startCLI(t.Context(), "--config", s.config, "run-job", "welcome")
	waitFor(t, "run-job to say it waits for the ledger", func() bool { return strings.Contains(stderr.String(), waitNotice) })
	if log := stderr.String(); !strings.Contains(log, "holder_pid="+strconv.Itoa(os.Getpid())) || !strings.Contains(log, "max_wait=10m0s") {
		t.Errorf("the wait notice should name the holder and the default wait of 10m:\n%s", log)
	}
	select {
	case r := <-done:
		t.Fatalf("run-job finished while the ledger was held:\n%v", r)
	default:
	}
	release()

	r := awaitCLI(t, done)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "issued      1") {
		t.Errorf("run-job after the holder released: want one coupon issued:\n%v", r)
	}
	if msgs := outboxMessages(t, filepath.Join(s.dir, "outbox")); len(msgs) != 1 {
		t.Errorf("outbox = %d messages, want 1", len(msgs))
	}
}

func TestRunJobWaitZeroFailsAtOnce(t *testing.T) {
	s := newJobsSandbox(t, "")
	s.store.AddCustomer(wootest.SeedCustomer{Email: "nina@example.com", Registered: time.Now().Add(-time.Hour)})
	holdLedger(t, filepath.Join(s.dir, "ledger.db"))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // see TestLedgerWritersWithoutWaitFailAtOnce
	defer cancel()

	r := runCLI(t, ctx, nil, "--config", s.config, "--wait", "0", "run-job", "welcome")
	wantCode(t, r, exitError)
	if !strings.Contains(r.stderr, "couponbridge run-job: ledger ") || !strings.Contains(r.stderr, inUseMessage()) {
		t.Errorf("want the ledger-in-use message naming the holder:\n%v", r)
	}
	if strings.Contains(r.stderr, waitNotice) || strings.Contains(r.stderr, "gave up after waiting") {
		t.Errorf("--wait 0 waited:\n%v", r)
	}
	if n := len(s.store.Coupons()); n != 0 {
		t.Errorf("store coupons = %d, want none", n)
	}
}

func TestRunJobGivesUpWhenTheWaitRunsOut(t *testing.T) {
	s := newJobsSandbox(t, "")
	holdLedger(t, filepath.Join(s.dir, "ledger.db"))

	r := runCLI(t, t.Context(), nil, "--config", s.config, "run-job", "welcome", "--wait", "300ms")
	wantCode(t, r, exitError)
	for _, want := range []string{waitNotice, inUseMessage(), "gave up after waiting 300ms"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%v", want, r)
		}
	}
}

func TestRunJobInterruptedWhileWaitingExits130(t *testing.T) {
	s := newJobsSandbox(t, "")
	holdLedger(t, filepath.Join(s.dir, "ledger.db"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	stderr, done := startCLI(ctx, "--config", s.config, "run-job", "welcome")
	waitFor(t, "run-job to say it waits for the ledger", func() bool { return strings.Contains(stderr.String(), waitNotice) })
	cancel()
	wantCode(t, awaitCLI(t, done), exitInterrupted)
}

func TestIssueWithoutWaitFailsAtOnceSayingHowToWait(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)
	holdLedger(t, s.path("ledger.db"))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // see TestLedgerWritersWithoutWaitFailAtOnce
	defer cancel()

	r := s.run(t, ctx, "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitError)
	for _, want := range []string{"couponbridge issue: ledger ", inUseMessage(), "--wait DURATION"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%v", want, r)
		}
	}
	if strings.Contains(r.stderr, waitNotice) {
		t.Errorf("issue waited without --wait:\n%v", r)
	}
	if n := len(s.store.Coupons()); n != 0 {
		t.Errorf("store coupons = %d, want none", n)
	}
	if msgs := outboxMessages(t, s.path("outbox")); len(msgs) != 0 {
		t.Errorf("outbox = %d messages, want none", len(msgs))
	}
}

func TestIssueWithWaitRunsOnceTheLedgerIsReleased(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)
	release := holdLedger(t, s.path("ledger.db"))

	stderr, done := startCLI(t.Context(), "--config", s.config, "--wait", "1m", "issue", "--campaign", "welcome", "--recipients", list)
	waitFor(t, "issue to say it waits for the ledger", func() bool { return strings.Contains(stderr.String(), waitNotice) })
	release()
	r := awaitCLI(t, done)
	wantCode(t, r, exitOK)
	if n := len(s.store.Coupons()); n != 3 {
		t.Errorf("store coupons = %d, want 3 (the valid, distinct rows of the list)", n)
	}
}

func TestSyncAndReportSyncWaitForTheLedgerByDefault(t *testing.T) {
	for _, args := range [][]string{{"sync"}, {"report", "--sync"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			s := newSandboxSetup(t)
			release := holdLedger(t, s.path("ledger.db"))

			stderr, done := startCLI(t.Context(), append([]string{"--config", s.config}, args...)...)
			waitFor(t, args[0]+" to say it waits for the ledger", func() bool { return strings.Contains(stderr.String(), waitNotice) })
			if log := stderr.String(); !strings.Contains(log, "max_wait=10m0s") {
				t.Errorf("want the default wait of 10m:\n%s", log)
			}
			release()
			r := awaitCLI(t, done)
			wantCode(t, r, exitOK)
			if !strings.Contains(r.stdout, "No campaigns in the ledger yet.") {
				t.Errorf("%s after the holder released:\n%v", args[0], r)
			}
		})
	}
}

func TestLedgerWritersWithoutWaitFailAtOnce(t *testing.T) {
	s := newSandboxSetup(t)
	holdLedger(t, s.path("ledger.db"))
	// Should one of them wait after all, the deadline ends it (exit 130)
	// instead of the test hanging.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for _, args := range [][]string{
		{"prune"},
		{"lookup", "WELCOME-XXXX"},
		{"resend", "--campaign", "welcome", "--email", "ann@example.com"},
	} {
		r := s.run(t, ctx, args...)
		if r.code != exitError || !strings.Contains(r.stderr, inUseMessage()) || strings.Contains(r.stderr, waitNotice) {
			t.Errorf("%s while the ledger is held: want exit 1 at once with the ledger-in-use message, got:\n%v", args[0], r)
		}
	}
}

func TestWaitFlagRefusals(t *testing.T) {
	s := newJobsSandbox(t, "")
	r := runCLI(t, t.Context(), nil, "--config", s.config, "--wait", "-1s", "run-job", "welcome")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--wait must be 0") {
		t.Errorf("negative --wait:\n%v", r)
	}
	r = runCLI(t, t.Context(), nil, "--config", s.config, "daemon", "--wait", "5m")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "the daemon does not wait for the ledger") {
		t.Errorf("daemon --wait:\n%v", r)
	}
}

// TestDaemonFailsAtOnceWhenTheLedgerIsHeld: a second daemon must not start
// behind the first.
func TestDaemonFailsAtOnceWhenTheLedgerIsHeld(t *testing.T) {
	s := newJobsSandbox(t, "")
	holdLedger(t, filepath.Join(s.dir, "ledger.db"))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // see TestLedgerWritersWithoutWaitFailAtOnce
	defer cancel()
	r := runCLI(t, ctx, nil, "--config", s.config, "daemon")
	wantCode(t, r, exitError)
	if !strings.Contains(r.stderr, inUseMessage()) || strings.Contains(r.stderr, waitNotice) {
		t.Errorf("daemon beside a holder:\n%v", r)
	}
}
