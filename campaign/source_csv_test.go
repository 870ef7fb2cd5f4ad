package campaign

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo/wootest"
)

// TestCSVFolderMovesUnreadableFilesToFailedAndPlansTheOthers drops good
// files beside files that cannot be read: a bad header, a quote left open
// after good rows, a row over the size bound after good rows, and (on unix)
// a symlink to a FIFO. The good files are planned, not one row of the bad
// ones is, and each bad one lands in failed/ with a note naming its line.
func TestCSVFolderMovesUnreadableFilesToFailedAndPlansTheOthers(t *testing.T) {
	dir := t.TempDir()
	drop, done, failed := filepath.Join(dir, "signups"), filepath.Join(dir, "signups", "done"), filepath.Join(dir, "signups", "failed")
	if err := os.MkdirAll(drop, 0o700); err != nil {
		t.Fatal(err)
	}
	writeCSV(t, filepath.Join(drop, "a.csv"), "email\nann@example.com\n", time.Hour)
	writeCSV(t, filepath.Join(drop, "b.csv"), "name,phone\nbob@example.com,1\n", time.Hour)
	writeCSV(t, filepath.Join(drop, "c.csv"), "email,first_name\ncid@example.com,Cid\ndan@example.com,Dan\neli@example.com,\"Eli\nfay@example.com,Fay\n", time.Hour)
	writeCSV(t, filepath.Join(drop, "d.csv"), "email,note\ngus@example.com,x\nhal@example.com,"+strings.Repeat("n", MaxRecordBytes)+"\n", time.Hour)
	writeCSV(t, filepath.Join(drop, "e.csv"), "email\nivy@example.com\n", time.Hour)
	wantFailed := []string{"b.csv", "b.csv.error.txt", "c.csv", "c.csv.error.txt", "d.csv", "d.csv.error.txt"}
	fifo := filepath.Join(dir, "pipe")
	if err := mkfifo(fifo); err == nil {
		if err := os.Symlink(fifo, filepath.Join(drop, "f.csv")); err != nil {
			t.Fatal(err)
		}
		wantFailed = append(wantFailed, "f.csv", "f.csv.error.txt")
	}

	var logs bytes.Buffer
	l := openJobsLedger(t)
	r := &JobRunner{Ledger: l, Issue: (&jobIssueRecorder{}).issue, Loc: time.UTC,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	job := Job{Name: "signups", Campaign: jobCampaign(t, "newsletter"), Source: &CSVSource{Path: drop, DoneDir: done, SettleTime: time.Nanosecond}} // the symlink is new
	run, err := r.Run(context.Background(), job)
	if err != nil || run.Outcome != RunSuccess {
		t.Fatalf("run = %v, %v; want success despite the unreadable files", run.Outcome, err)
	}
	if got := jobPlannedEmails(t, l, "newsletter"); !slices.Equal(got, []string{"ann@example.com", "ivy@example.com"}) {
		t.Errorf("planned = %v, want only ann and ivy (no row of an unreadable file)", got)
	}
	assertFiles(t, drop, []string{"done", "failed"})
	assertFiles(t, done, []string{"a.csv", "e.csv"})
	assertFiles(t, failed, wantFailed)
	for file, want := range map[string][]string{
		"b.csv.error.txt": {"line: 1\n", "field: email\n", "no email column"},
		"c.csv.error.txt": {"line: 4\n", "quoted field opened here is not closed properly"},
		"d.csv.error.txt": {"line: 3\n", "over 64 KiB"},
	} {
		b, err := os.ReadFile(filepath.Join(failed, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range append(want, "file: "+filepath.Join(drop, strings.TrimSuffix(file, ".error.txt"))+"\n") {
			if !bytes.Contains(b, []byte(w)) {
				t.Errorf("%s lacks %q:\n%s", file, w, b)
			}
		}
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"csv source: unreadable file moved to the failed folder"); n != len(wantFailed)/2 {
		t.Errorf("%d WARN lines for moved files, want %d:\n%s", n, len(wantFailed)/2, logs.String())
	}
}

func TestNewCustomersNamesAreCleanedOfControlCharactersAndCut(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	store, client := jobStore(t)
	store.AddCustomer(wootest.SeedCustomer{Email: "eve@example.com", FirstName: "Eve\r\nBcc: attacker@evil.test,", LastName: strings.Repeat("L", 300), Registered: now.Add(-time.Hour)})
	src := &NewCustomersSource{Customers: client.Customers}
	n := 0
	for c, err := range src.Candidates(context.Background(), &SourceScan{Now: now, Logger: slog.New(slog.DiscardHandler)}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if got, want := c.Recipient.FirstName, "Eve Bcc: attacker@evil.test,"; got != want {
			t.Errorf("first name = %q, want %q", got, want)
		}
		if got := c.Recipient.LastName; got != strings.Repeat("L", MaxNameRunes) {
			t.Errorf("last name has %d characters, want %d", len(got), MaxNameRunes)
		}
	}
	if n != 1 {
		t.Errorf("%d candidates, want 1", n)
	}
}

func TestCSVFileThatGrewAfterItWasReadIsNotMovedToDone(t *testing.T) {
	dir := t.TempDir()
	drop, done := filepath.Join(dir, "drop"), filepath.Join(dir, "done")
	if err := os.MkdirAll(drop, 0o700); err != nil {
		t.Fatal(err)
	}
	grows, stays := filepath.Join(drop, "grows.csv"), filepath.Join(drop, "stays.csv")
	writeCSV(t, grows, "email\na@example.com\n", time.Hour)
	writeCSV(t, stays, "email\nb@example.com\n", time.Hour)
	src := &CSVSource{Path: drop, DoneDir: done}
	if got := collect(t, src, &SourceScan{Now: time.Now()}); !slices.Equal(got, []string{"a@example.com", "b@example.com"}) {
		t.Fatalf("got %v", got)
	}
	// The sign-up tool appends a row between the read and the move.
	if err := os.WriteFile(grows, []byte("email\na@example.com\nc@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := src.finish(map[string]bool{grows: true, stays: true}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	assertFiles(t, drop, []string{"grows.csv"})
	assertFiles(t, done, []string{"stays.csv"})
}
