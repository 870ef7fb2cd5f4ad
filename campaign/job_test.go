package campaign

import (
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newJobTestRunner(t *testing.T, l *Ledger, now time.Time) (*JobRunner, *jobIssueRecorder) {
	t.Helper()
	rec := &jobIssueRecorder{}
	l.now = jobClock(now)
	return &JobRunner{Ledger: l, Issue: rec.issue, Loc: time.UTC, Now: jobClock(now)}, rec
}

func TestJobRunPlansCandidatesAndRecordsTheRun(t *testing.T) {
	l := openJobsLedger(t)
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	r, rec := newJobTestRunner(t, l, now)
	job := Job{Name: "welcome", Campaign: jobCampaign(t, "welcome"),
		Source: &jobSliceSource{cands: jobPeople("a@example.com", "b@example.com"), mark: "w1"}}
	run, err := r.Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if got := jobPlannedEmails(t, l, "welcome"); !slices.Equal(got, []string{"a@example.com", "b@example.com"}) {
		t.Errorf("planned = %v, want a, b", got)
	}
	if rec.count() != 1 {
		t.Errorf("pipeline ran %d times, want 1", rec.count())
	}
	want := JobCounts{Found: 2, Planned: 2}
	if run.Counts != want || run.Outcome != RunSuccess || run.Watermark != "w1" {
		t.Errorf("run = %+v, want counts %+v, success, watermark w1", run, want)
	}
	last, ok, err := l.LastJobRun(context.Background(), "welcome")
	if err != nil || !ok {
		t.Fatalf("LastJobRun = %v, %v", ok, err)
	}
	if last.Counts != want || last.Outcome != RunSuccess || !last.Started.Equal(now) || !last.Ended.Equal(now) || last.Watermark != "w1" {
		t.Errorf("recorded run = %+v", last)
	}
}

func TestJobRunWatermarkIsStoredOnlyAfterSuccess(t *testing.T) {
	l := openJobsLedger(t)
	r, rec := newJobTestRunner(t, l, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	camp := jobCampaign(t, "welcome")
	if _, err := r.Run(context.Background(), Job{Name: "welcome", Campaign: camp,
		Source: &jobSliceSource{cands: jobPeople("a@example.com"), mark: "first"}}); err != nil {
		t.Fatal(err)
	}
	rec.err = errors.New("store down")
	run, err := r.Run(context.Background(), Job{Name: "welcome", Campaign: camp,
		Source: &jobSliceSource{cands: jobPeople("b@example.com"), mark: "second"}})
	if err == nil || run.Outcome != RunFailed || !strings.Contains(run.Error, "store down") {
		t.Fatalf("run = %+v, %v; want failed with the pipeline's error", run, err)
	}
	if w, _ := l.jobWatermark(context.Background(), "welcome"); w != "first" {
		t.Errorf("watermark after a failed run = %q, want the last successful one, %q", w, "first")
	}
}

func TestJobSuppressionRules(t *testing.T) {
	l := openJobsLedger(t)
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	r, _ := newJobTestRunner(t, l, now)
	ctx := context.Background()
	dir := t.TempDir()
	supFile := filepath.Join(dir, "suppress.txt")
	if err := os.WriteFile(supFile, []byte("# unsubscribed\nunsub@example.com\n@competitor.test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Already issued in this campaign, and (10 days ago) in another one.
	l.now = jobClock(now.AddDate(0, 0, -400))
	if _, err := r.Run(ctx, Job{Name: "seed", Campaign: jobCampaign(t, "winback"), Source: &jobSliceSource{cands: jobPeople("old@example.com")}}); err != nil {
		t.Fatal(err)
	}
	l.now = jobClock(now.AddDate(0, 0, -10))
	if _, err := r.Run(ctx, Job{Name: "seed2", Campaign: jobCampaign(t, "welcome"), Source: &jobSliceSource{cands: jobPeople("recent@example.com")}}); err != nil {
		t.Fatal(err)
	}
	l.now = jobClock(now)

	cands := jobPeople("ok@example.com", "old@example.com", "recent@example.com", "unsub@example.com", "boss@competitor.test", "ok@example.com")
	paying := Candidate{Recipient: Recipient{Email: "paying@example.com"}, Paying: true}
	bought := Candidate{Recipient: Recipient{Email: "bought@example.com"}, LastPaid: now.AddDate(0, 0, -5)}
	longAgo := Candidate{Recipient: Recipient{Email: "longago@example.com"}, LastPaid: now.AddDate(0, 0, -70)}
	cands = append(cands, paying, bought, longAgo)
	job := Job{Name: "winback", Campaign: jobCampaign(t, "winback"), Source: &jobSliceSource{cands: cands},
		Rules: Rules{SuppressionFile: supFile, CooldownDays: 30, SkipPaying: true, RecentDays: 60}}
	run, err := r.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	got := jobPlannedEmails(t, l, "winback")
	want := []string{"old@example.com", "ok@example.com", "longago@example.com"} // old@ from the seed run
	if !slices.Equal(got, want) {
		t.Errorf("winback rows = %v, want %v", got, want)
	}
	// Suppressed: old (issued), recent (cooldown), unsub, competitor, duplicate ok, paying, bought.
	if run.Counts.Found != 9 || run.Counts.Suppressed != 7 || run.Counts.Planned != 2 {
		t.Errorf("counts = %+v, want found 9, suppressed 7, planned 2", run.Counts)
	}
}

func TestJobSuppressionFileErrorFailsTheRunNamingTheLine(t *testing.T) {
	l := openJobsLedger(t)
	r, _ := newJobTestRunner(t, l, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	supFile := filepath.Join(t.TempDir(), "suppress.txt")
	if err := os.WriteFile(supFile, []byte("ok@example.com\nnot-an-address\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(context.Background(), Job{Name: "w", Campaign: jobCampaign(t, "w"),
		Source: &jobSliceSource{cands: jobPeople("a@example.com")}, Rules: Rules{SuppressionFile: supFile}})
	if err == nil || !strings.Contains(err.Error(), "suppress.txt:2") || run.Outcome != RunFailed {
		t.Fatalf("run = %+v, err %v; want failed naming suppress.txt:2", run, err)
	}
	if got := jobPlannedEmails(t, l, "w"); len(got) != 0 {
		t.Errorf("planned %v despite the bad suppression file", got)
	}
}

func TestJobCapsPerRunAndPerDay(t *testing.T) {
	l := openJobsLedger(t)
	// 23:30 in Berlin on 1 May is 21:30Z; the store's day ends at 22:00Z.
	loc := jobsBerlin(t)
	now := time.Date(2026, 5, 1, 21, 30, 0, 0, time.UTC)
	r, _ := newJobTestRunner(t, l, now)
	r.Loc = loc
	ctx := context.Background()
	camp := jobCampaign(t, "welcome")
	var emails []string
	for i := range 10 {
		emails = append(emails, string(rune('a'+i))+"@example.com")
	}
	job := Job{Name: "welcome", Campaign: camp, Source: &jobSliceSource{cands: jobPeople(emails...)},
		Rules: Rules{MaxPerRun: 3, MaxPerDay: 5}}
	run, err := r.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts.Planned != 3 || run.Counts.Capped != 7 {
		t.Errorf("first run counts = %+v, want planned 3 (max_per_run), capped 7", run.Counts)
	}
	run, _ = r.Run(ctx, job)
	if run.Counts.Planned != 2 || run.Counts.Suppressed != 3 || run.Counts.Capped != 5 {
		t.Errorf("second run counts = %+v, want planned 2 (daily budget 5-3), suppressed 3, capped 5", run.Counts)
	}
	run, _ = r.Run(ctx, job)
	if run.Counts.Planned != 0 {
		t.Errorf("third run planned %d on a spent day, want 0", run.Counts.Planned)
	}
	if n := len(jobPlannedEmails(t, l, "welcome")); n != 5 {
		t.Fatalf("rows today = %d, want max_per_day 5", n)
	}
	// Another job of the same campaign shares the daily budget.
	other := Job{Name: "welcome-hook", Campaign: camp, Source: &jobSliceSource{cands: jobPeople("z@example.com")}, Rules: Rules{MaxPerDay: 5}}
	if run, _ := r.Run(ctx, other); run.Counts.Planned != 0 || run.Counts.Capped != 1 {
		t.Errorf("other job of the campaign: counts = %+v, want capped by the campaign's daily budget", run.Counts)
	}
	// After midnight in the store's time zone (22:00Z), the budget is fresh.
	next := time.Date(2026, 5, 1, 22, 5, 0, 0, time.UTC)
	l.now, r.Now = jobClock(next), jobClock(next)
	if run, _ := r.Run(ctx, job); run.Counts.Planned != 3 {
		t.Errorf("next store day: planned %d, want 3", run.Counts.Planned)
	}
}

func TestJobDailyCapIsCountedFromTheLedgerNotTheRun(t *testing.T) {
	l := openJobsLedger(t)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	r, _ := newJobTestRunner(t, l, now)
	ctx := context.Background()
	camp := jobCampaign(t, "promo")
	// Rows planned earlier today by another path (a one-off issue run).
	fp, _ := camp.fingerprint()
	if err := l.ensureCampaign(ctx, camp.Name, fp, false); err != nil {
		t.Fatal(err)
	}
	gen, _ := NewCodeGenerator(camp.Codes, nil)
	var rows []plannedIssue
	for _, e := range []string{"x1@example.com", "x2@example.com", "x3@example.com", "x4@example.com"} {
		c, _ := gen.Next()
		rows = append(rows, plannedIssue{Email: e, Code: c})
	}
	if _, err := l.planIssues(ctx, camp.Name, rows, gen.Next); err != nil {
		t.Fatal(err)
	}
	run, err := r.Run(ctx, Job{Name: "promo", Campaign: camp, Source: &jobSliceSource{cands: jobPeople("a@example.com", "b@example.com")},
		Rules: Rules{MaxPerDay: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts.Planned != 1 || run.Counts.Capped != 1 {
		t.Errorf("counts = %+v, want planned 1, capped 1 (4 of 5 already used today)", run.Counts)
	}
}

// jobCancelSource cancels the run's context after yielding its first candidate.
type jobCancelSource struct {
	jobSliceSource
	cancel context.CancelFunc
}

func (s *jobCancelSource) Candidates(ctx context.Context, scan *SourceScan) iter.Seq2[Candidate, error] {
	return func(yield func(Candidate, error) bool) {
		for i, c := range s.cands {
			if i == 1 {
				s.cancel()
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}

func TestJobRunInterruptedWhileReadingRecordsInterruptedAndPlansNothing(t *testing.T) {
	l := openJobsLedger(t)
	r, rec := newJobTestRunner(t, l, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &jobCancelSource{jobSliceSource: jobSliceSource{cands: jobPeople("a@example.com", "b@example.com", "c@example.com")}, cancel: cancel}
	run, err := r.Run(ctx, Job{Name: "w", Campaign: jobCampaign(t, "w"), Source: src})
	if !errors.Is(err, ErrJobInterrupted) || run.Outcome != RunInterrupted {
		t.Fatalf("run = %+v, %v; want interrupted", run, err)
	}
	if rec.count() != 0 {
		t.Error("pipeline ran after cancellation")
	}
	if got := jobPlannedEmails(t, l, "w"); len(got) != 0 {
		t.Errorf("planned %v from a run stopped while reading; want nothing (the next run reads again)", got)
	}
	last, _, _ := l.LastJobRun(context.Background(), "w")
	if last.Outcome != RunInterrupted || last.Ended.IsZero() {
		t.Errorf("recorded = %+v, want interrupted with an end", last)
	}
	// Cancelled before it starts: nothing is recorded.
	run, err = r.Run(ctx, Job{Name: "never", Campaign: jobCampaign(t, "w"), Source: &jobSliceSource{}})
	if !errors.Is(err, ErrJobInterrupted) {
		t.Errorf("Run with a cancelled context = %v, want ErrJobInterrupted", err)
	}
	if _, ok, _ := l.LastJobRun(context.Background(), "never"); ok {
		t.Error("a run that never started was recorded")
	}
}

func TestInterruptStaleRunsClosesRunsOfADeadProcess(t *testing.T) {
	l := openJobsLedger(t)
	ctx := context.Background()
	if _, err := l.startJobRun(ctx, "w", "w", "csv", time.Now()); err != nil {
		t.Fatal(err)
	}
	n, err := l.interruptStaleRuns(ctx)
	if err != nil || n != 1 {
		t.Fatalf("interruptStaleRuns = %d, %v; want 1", n, err)
	}
	last, _, _ := l.LastJobRun(ctx, "w")
	if last.Outcome != RunInterrupted || !strings.Contains(last.Error, "stopped") {
		t.Errorf("run = %+v", last)
	}
}
