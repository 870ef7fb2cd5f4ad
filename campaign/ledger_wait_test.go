package campaign

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ledgerWaitHolderEnv makes TestLedgerWaitHolderProcess hold the ledger
// named by its value until its standard input closes.
const ledgerWaitHolderEnv = "COUPONBRIDGE_LEDGER_WAIT_HOLDER"

// TestLedgerWaitHolderProcess is not a test: it is the other process of
// TestOpenLedgerWaitOpensOnceTheHolderReleases. It opens the ledger, says
// HOLDING, and closes it when its standard input reaches its end.
func TestLedgerWaitHolderProcess(t *testing.T) {
	path := os.Getenv(ledgerWaitHolderEnv)
	if path == "" {
		t.Skip("helper process for TestOpenLedgerWaitOpensOnceTheHolderReleases")
	}
	l, err := OpenLedger(context.Background(), path, nil)
	if err != nil {
		fmt.Println("FAILED", err)
		return
	}
	fmt.Println("HOLDING")
	_, _ = io.Copy(io.Discard, os.Stdin)
	l.Close()
}

// holdInAnotherProcess opens the ledger at path in a child process and
// returns its pid and a function that makes it close the ledger and exit.
func holdInAnotherProcess(t *testing.T, path string) (pid int, release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLedgerWaitHolderProcess$", "-test.v")
	cmd.Env = append(os.Environ(), ledgerWaitHolderEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("holder process: %v", err)
		}
	}
	t.Cleanup(release)
	var seen []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if line == "HOLDING" {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return cmd.Process.Pid, release
		}
		seen = append(seen, line)
	}
	t.Fatalf("holder process never held the ledger:\n%s", strings.Join(seen, "\n"))
	return 0, nil
}

// holdInThisProcess opens the ledger a second time in this process: flock
// locks belong to the open file description, so the two opens conflict as
// two processes would.
func holdInThisProcess(t *testing.T, path string) (pid int, release func()) {
	t.Helper()
	l, err := OpenLedger(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return os.Getpid(), func() { l.Close() }
}

// recordLog is a slog.Handler that hands every record to a channel, so that
// a test can act once OpenLedgerWait says it waits.
type recordLog chan slog.Record

func (c recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (c recordLog) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c recordLog) WithGroup(string) slog.Handler            { return c }
func (c recordLog) Handle(_ context.Context, r slog.Record) error {
	c <- r.Clone()
	return nil
}

// nextWaitNotice returns the next record that says OpenLedgerWait waits.
func nextWaitNotice(t *testing.T, logs recordLog) slog.Record {
	t.Helper()
	for {
		select {
		case r := <-logs:
			if strings.Contains(r.Message, "waiting") {
				return r
			}
		case <-time.After(20 * time.Second):
			t.Fatal("OpenLedgerWait never said it was waiting")
		}
	}
}

func attrOf(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

type openResult struct {
	l   *Ledger
	err error
}

func openWaitAsync(ctx context.Context, path string, logs recordLog, wait time.Duration) <-chan openResult {
	ch := make(chan openResult, 1)
	go func() {
		l, err := OpenLedgerWait(ctx, path, slog.New(logs), wait)
		ch <- openResult{l, err}
	}()
	return ch
}

func awaitOpen(t *testing.T, ch <-chan openResult) openResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.l != nil {
			t.Cleanup(func() { r.l.Close() })
		}
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("OpenLedgerWait did not return")
		return openResult{}
	}
}

func TestOpenLedgerWaitOpensOnceTheHolderReleases(t *testing.T) {
	holders := map[string]func(*testing.T, string) (int, func()){
		"another process": holdInAnotherProcess,
		"this process":    holdInThisProcess,
	}
	for name, hold := range holders {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.db")
			pid, release := hold(t, path)
			logs := make(recordLog, 64)
			ch := openWaitAsync(t.Context(), path, logs, time.Minute)

			notice := nextWaitNotice(t, logs)
			if got := attrOf(notice, "holder_pid"); got.Kind() != slog.KindInt64 || got.Int64() != int64(pid) {
				t.Errorf("wait notice holder_pid = %v; want the holder's pid %d", got, pid)
			}
			select {
			case r := <-ch:
				t.Fatalf("OpenLedgerWait returned while the ledger was still held: %v", r.err)
			default:
			}
			release()

			r := awaitOpen(t, ch)
			if r.err != nil {
				t.Fatalf("OpenLedgerWait after the holder released: %v", r.err)
			}
			if v, err := r.l.SchemaVersion(t.Context()); err != nil || v == 0 {
				t.Errorf("ledger opened after waiting: schema version %d, %v; want a usable, migrated ledger", v, err)
			}
			// It holds the lock now: a third open is refused.
			if _, err := OpenLedger(t.Context(), path, nil); !errors.Is(err, ErrLedgerLocked) {
				t.Errorf("open beside the ledger acquired after waiting: err = %v; want ErrLedgerLocked", err)
			}
		})
	}
}

func TestOpenLedgerWaitGivesUpWithErrLedgerLockedSayingHowLong(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	_, _ = holdInThisProcess(t, path)
	logs := make(recordLog, 64)
	r := awaitOpen(t, openWaitAsync(t.Context(), path, logs, 300*time.Millisecond))
	if !errors.Is(r.err, ErrLedgerLocked) {
		t.Fatalf("OpenLedgerWait while the ledger stays held: err = %v; want ErrLedgerLocked", r.err)
	}
	for _, want := range []string{"pid " + strconv.Itoa(os.Getpid()), "gave up after waiting 300ms", path + ".lock"} {
		if !strings.Contains(r.err.Error(), want) {
			t.Errorf("error %q does not mention %q", r.err, want)
		}
	}
	close(logs)
	notices := 0
	for rec := range logs {
		if strings.Contains(rec.Message, "waiting") {
			notices++
		}
	}
	if notices != 1 {
		t.Errorf("logged %d wait notices; want exactly one, however many times it tried", notices)
	}
}

func TestOpenLedgerWaitStopsPromptlyWhenCtxIsCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	_, _ = holdInThisProcess(t, path)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := make(recordLog, 64)
	ch := openWaitAsync(ctx, path, logs, time.Hour)
	nextWaitNotice(t, logs)
	cancel()
	// awaitOpen's bound (20 s) is only a guard against a hang: the wait
	// itself is an hour.
	r := awaitOpen(t, ch)
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("OpenLedgerWait after ctx was cancelled: err = %v; want context.Canceled", r.err)
	}
	if r.l != nil {
		t.Error("OpenLedgerWait returned a ledger and an error")
	}
}

func TestOpenLedgerWaitZeroFailsAtOnceAndNegativeIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	_, _ = holdInThisProcess(t, path)
	logs := make(recordLog, 64)
	_, err := OpenLedgerWait(t.Context(), path, slog.New(logs), 0)
	if !errors.Is(err, ErrLedgerLocked) {
		t.Fatalf("OpenLedgerWait with wait 0: err = %v; want ErrLedgerLocked", err)
	}
	if strings.Contains(err.Error(), "waiting") {
		t.Errorf("wait 0 says it waited: %v", err)
	}
	close(logs)
	for rec := range logs {
		t.Errorf("wait 0 logged %q; want nothing", rec.Message)
	}
	if _, err := OpenLedgerWait(t.Context(), path, nil, -time.Second); err == nil || errors.Is(err, ErrLedgerLocked) {
		t.Errorf("OpenLedgerWait with a negative wait: err = %v; want it refused", err)
	}
}

func TestOpenLedgerWaitOpensAFreeLedgerWithoutWaiting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	logs := make(recordLog, 64)
	l, err := OpenLedgerWait(t.Context(), path, slog.New(logs), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	close(logs)
	for rec := range logs {
		if strings.Contains(rec.Message, "waiting") {
			t.Errorf("logged %q for a free ledger", rec.Message)
		}
	}
}
