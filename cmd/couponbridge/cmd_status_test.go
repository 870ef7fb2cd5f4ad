package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"iter"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// listSource is a job source that yields fixed addresses, then err.
type listSource struct {
	kind   string
	emails []string
	mark   string
	err    error
}

func (s *listSource) Kind() string { return s.kind }

func (s *listSource) Candidates(ctx context.Context, scan *campaign.SourceScan) iter.Seq2[campaign.Candidate, error] {
	return func(yield func(campaign.Candidate, error) bool) {
		scan.NewWatermark = s.mark
		for _, e := range s.emails {
			if !yield(campaign.Candidate{Recipient: campaign.Recipient{Email: e}}, nil) {
				return
			}
		}
		if s.err != nil {
			yield(campaign.Candidate{}, s.err)
		}
	}
}

// steppingClock reads start on its first call and step later on each next.
func steppingClock(start time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	next := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := next
		next = next.Add(step)
		return t
	}
}

// jobRunsFixture is a ledger whose job runs were recorded through
// campaign.JobRunner: every outcome status shows.
type jobRunsFixture struct {
	path string
	// signupsRunning is closed while the signups run is in progress; stop
	// interrupts it.
	signupsRunning chan struct{}
	stop           context.CancelFunc
	done           chan campaign.JobRun
	ledger         *campaign.Ledger
}

const statusJobsConfig = baseConfig + `  winback:
    coupon:
      discount_type: percent
      amount: 15
      expiry:
        days: 30
`

// newJobRunsFixture records, in UTC:
//
//	welcome  09:00 success: 3 found, 1 capped by max_per_run 2
//	welcome  10:00 success: 3 found, 2 suppressed (already issued), watermark
//	winback  10:30 failed: the source failed
//	signups  11:00 running until stop is called: then interrupted
func newJobRunsFixture(t *testing.T) *jobRunsFixture {
	t.Helper()
	cfg := mustParse(t, "", statusJobsConfig, nil)
	welcome, err := cfg.campaign("welcome", 0)
	if err != nil {
		t.Fatal(err)
	}
	winback, err := cfg.campaign("winback", 0)
	if err != nil {
		t.Fatal(err)
	}
	f := &jobRunsFixture{path: filepath.Join(t.TempDir(), "ledger.db"), signupsRunning: make(chan struct{}), done: make(chan campaign.JobRun, 1)}
	f.ledger, err = campaign.OpenLedger(t.Context(), f.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.ledger.Close() })
	noop := func(context.Context, campaign.Campaign) error { return nil }
	at := func(hh, mm int) time.Time { return time.Date(2026, 5, 1, hh, mm, 0, 0, time.UTC) }
	record := func(start time.Time, job campaign.Job) {
		t.Helper()
		r := campaign.JobRunner{Ledger: f.ledger, Issue: noop, Loc: time.UTC, Now: steppingClock(start, 1500*time.Millisecond)}
		if run, err := r.Run(t.Context(), job); run.ID == 0 {
			t.Fatalf("run of %s not recorded: %v", job.Name, err)
		}
	}
	people := []string{"ann@example.com", "bob@example.com", "cy@example.com"}
	record(at(9, 0), campaign.Job{Name: "welcome", Campaign: welcome, Rules: campaign.Rules{MaxPerRun: 2},
		Source: &listSource{kind: "new_customers", emails: people, mark: "2026-05-01T08:59:00Z"}})
	record(at(10, 0), campaign.Job{Name: "welcome", Campaign: welcome, Rules: campaign.Rules{MaxPerRun: 2},
		Source: &listSource{kind: "new_customers", emails: people, mark: "2026-05-01T09:59:30Z"}})
	record(at(10, 30), campaign.Job{Name: "winback", Campaign: winback,
		Source: &listSource{kind: "inactive_customers", err: errors.New("GET /wp-json/wc/v3/orders: 503 Service Unavailable")}})

	ctx, stop := context.WithCancel(t.Context())
	f.stop = stop
	t.Cleanup(stop)
	blocking := func(ctx context.Context, _ campaign.Campaign) error {
		close(f.signupsRunning)
		<-ctx.Done()
		return ctx.Err()
	}
	r := campaign.JobRunner{Ledger: f.ledger, Issue: blocking, Loc: time.UTC, Now: steppingClock(at(11, 0), 2*time.Minute)}
	go func() {
		run, _ := r.Run(ctx, campaign.Job{Name: "signups", Campaign: welcome, Source: &listSource{kind: "csv", emails: []string{"dee@example.com"}}})
		f.done <- run
	}()
	select {
	case <-f.signupsRunning:
	case run := <-f.done:
		t.Fatalf("signups run ended before issuing: %+v", run)
	}
	return f
}

// finish interrupts the signups run and closes the ledger.
func (f *jobRunsFixture) finish(t *testing.T) {
	t.Helper()
	f.stop()
	if run := <-f.done; run.Outcome != campaign.RunInterrupted {
		t.Fatalf("signups run = %+v, want interrupted", run)
	}
	if err := f.ledger.Close(); err != nil {
		t.Fatal(err)
	}
}

// jobsSection returns the part of a status table from the Jobs section on.
func jobsSection(t *testing.T, r cliResult) string {
	t.Helper()
	i := strings.Index(r.stdout, "\nJobs (")
	if i < 0 {
		t.Fatalf("no Jobs section in the status:\n%v", r)
	}
	return r.stdout[i+1:]
}

func TestStatusShowsTheLastRunOfEachJobWithOutcomeCountsWatermarkAndError(t *testing.T) {
	f := newJobRunsFixture(t)

	// Beside the process running signups, status reads a snapshot and
	// shows that run as running, without a duration.
	r := runCLI(t, t.Context(), nil, "status", "--ledger", f.path)
	wantCode(t, r, exitFailures)
	if !strings.Contains(jobsSection(t, r), "signups  welcome   csv                 2026-05-01 11:00:00 UTC  -         running ") {
		t.Errorf("a run in progress must show as running:\n%v", r)
	}

	f.finish(t)
	r = runCLI(t, t.Context(), nil, "status", "--ledger", f.path)
	wantCode(t, r, exitFailures)
	want := `Jobs (last run of each)
JOB      CAMPAIGN  SOURCE              STARTED                  DURATION  OUTCOME      FOUND  SUPPRESSED  CAPPED  ISSUED  FAILED  WATERMARK
signups  welcome   csv                 2026-05-01 11:00:00 UTC  2m0s      interrupted  1      0           0       0       0       -
welcome  welcome   new_customers       2026-05-01 10:00:00 UTC  1.5s      success      3      2           0       0       0       2026-05-01 09:59:30 UTC
winback  winback   inactive_customers  2026-05-01 10:30:00 UTC  1.5s      failed       0      0           0       0       0       -

Job errors
  JOB      STARTED                  OUTCOME      ERROR
  signups  2026-05-01 11:00:00 UTC  interrupted  stopped: context canceled
  winback  2026-05-01 10:30:00 UTC  failed       GET /wp-json/wc/v3/orders: 503 Service Unavailable
`
	if got := jobsSection(t, r); got != want {
		t.Errorf("Jobs section:\n%s\nwant:\n%s", got, want)
	}
	// Only the failed last run needs review: the interrupted one resumes by itself.
	if !strings.Contains(r.stderr, "the last run of job winback failed: see the Jobs section above") || strings.Contains(r.stderr, "signups") {
		t.Errorf("stderr must name winback (failed) and not signups (interrupted):\n%v", r)
	}

	// --jobs N: the last N runs of each job, newest first.
	r = runCLI(t, t.Context(), nil, "status", "--ledger", f.path, "--jobs", "5")
	wantCode(t, r, exitFailures)
	sec := jobsSection(t, r)
	if !strings.HasPrefix(sec, "Jobs (last 5 runs of each, newest first)\n") {
		t.Errorf("title:\n%s", sec)
	}
	run2 := strings.Index(sec, "welcome  welcome   new_customers       2026-05-01 10:00:00 UTC  1.5s      success      3      2           0       0       0       2026-05-01 09:59:30 UTC")
	run1 := strings.Index(sec, "welcome  welcome   new_customers       2026-05-01 09:00:00 UTC  1.5s      success      3      0           1       0       0       -")
	if run2 < 0 || run1 < run2 {
		t.Errorf("want both welcome runs, the capped 09:00 one (no watermark) after the 10:00 one:\n%s", sec)
	}

	// With a campaign, only the jobs' runs into it; winback's failure is
	// not welcome's business.
	r = runCLI(t, t.Context(), nil, "status", "welcome", "--ledger", f.path)
	wantCode(t, r, exitOK)
	if sec := jobsSection(t, r); strings.Contains(sec, "winback") || !strings.Contains(sec, "signups") || !strings.Contains(sec, "\nwelcome  ") {
		t.Errorf("status welcome: Jobs section:\n%s", sec)
	}
	// winback's only run failed before planning anyone: no rows, but the
	// run is shown and needs review.
	r = runCLI(t, t.Context(), nil, "status", "winback", "--ledger", f.path)
	wantCode(t, r, exitFailures)
	if !strings.HasPrefix(r.stdout, "Campaign winback has no recipients in the ledger yet.\n") || !strings.Contains(jobsSection(t, r), "\nwinback  winback ") {
		t.Errorf("status winback:\n%v", r)
	}
	wantCode(t, runCLI(t, t.Context(), nil, "status", "nosuch", "--ledger", f.path), exitUsage)
}

func TestStatusShowsARunLeftRunningByADeadProcessAsInterrupted(t *testing.T) {
	f := newJobRunsFixture(t)
	f.finish(t)
	// A process killed during a run leaves its row running; here written
	// directly, as a kill -9 would leave it.
	db, err := sql.Open("sqlite", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO job_runs (job, campaign, source, started_at) VALUES ('drops', 'welcome', 'csv', '2026-05-01T12:00:00.000Z')`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, t.Context(), nil, "status", "welcome", "--ledger", f.path)
	wantCode(t, r, exitOK)
	sec := jobsSection(t, r)
	for _, w := range []string{
		"drops    welcome   csv            2026-05-01 12:00:00 UTC  -         interrupted ",
		"drops    2026-05-01 12:00:00 UTC  interrupted  the process stopped during the run",
	} {
		if !strings.Contains(sec, w) {
			t.Errorf("want %q in:\n%s", w, sec)
		}
	}
}

func TestStatusJSONStaysAnArrayAndCarriesJobsOnlyWithTheJobsFlag(t *testing.T) {
	f := newJobRunsFixture(t)
	f.finish(t)

	// The array leaves the jobs out, and so does its exit code: winback's
	// failed run is not in it, and no row needs review.
	r := runCLI(t, t.Context(), nil, "status", "--ledger", f.path, "--format", "json")
	wantCode(t, r, exitOK)
	var arr []statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &arr); err != nil {
		t.Fatalf("status --format json without --jobs must stay an array: %v\n%s", err, r.stdout)
	}
	// winback has job runs but no rows: not a campaign of the array.
	if len(arr) != 1 || arr[0].Campaign != "welcome" || arr[0].Total != 4 || arr[0].Pending != 4 {
		t.Errorf("campaigns = %+v", arr)
	}
	if strings.Contains(r.stdout, `"jobs"`) {
		t.Errorf("the array must not change shape:\n%s", r.stdout)
	}

	r = runCLI(t, t.Context(), nil, "status", "--ledger", f.path, "--format", "json", "--jobs", "2")
	wantCode(t, r, exitFailures)
	if !strings.Contains(r.stderr, `the last run of job winback failed: see "needs_review" under "jobs"`) {
		t.Errorf("stderr:\n%v", r)
	}
	var doc statusDocumentJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("status --format json --jobs 2: %v\n%s", err, r.stdout)
	}
	if len(doc.Campaigns) != 1 || doc.Campaigns[0].Campaign != "welcome" || doc.Campaigns[0].Total != 4 || doc.Campaigns[0].Pending != 4 {
		t.Errorf("campaigns = %+v, want the same as the array", doc.Campaigns)
	}
	if len(doc.Jobs) != 3 || doc.Jobs[0].Job != "signups" || doc.Jobs[1].Job != "welcome" || doc.Jobs[2].Job != "winback" {
		t.Fatalf("jobs = %+v, want signups, welcome, winback", doc.Jobs)
	}
	welcome := doc.Jobs[1]
	if welcome.NeedsReview || len(welcome.Runs) != 2 {
		t.Fatalf("welcome = %+v, want 2 runs, no review", welcome)
	}
	last := welcome.Runs[0]
	started := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	if last.Campaign != "welcome" || last.Source != "new_customers" || last.Outcome != "success" || !last.StartedAt.Equal(started) ||
		last.EndedAt == nil || !last.EndedAt.Equal(started.Add(1500*time.Millisecond)) || last.DurationSeconds == nil || *last.DurationSeconds != 1.5 ||
		last.Watermark != "2026-05-01T09:59:30Z" || last.Error != "" ||
		last.Counts != (jobCountsJSON{Found: 3, Suppressed: 2, Planned: 1}) {
		t.Errorf("welcome's last run = %+v", last)
	}
	if first := welcome.Runs[1]; first.Counts != (jobCountsJSON{Found: 3, Capped: 1, Planned: 2}) || first.Watermark != "" {
		t.Errorf("welcome's first run = %+v, want 3 found, 1 capped, 2 planned, no watermark", first)
	}
	winback := doc.Jobs[2]
	if !winback.NeedsReview || winback.Runs[0].Outcome != "failed" || !strings.Contains(winback.Runs[0].Error, "503") {
		t.Errorf("winback = %+v, want a failed run needing review", winback)
	}
	// Times are UTC in JSON, like the campaigns'.
	if !strings.Contains(r.stdout, `"started_at": "2026-05-01T10:00:00Z"`) {
		t.Errorf("want UTC times in JSON:\n%s", r.stdout)
	}

	// One campaign: its jobs only.
	r = runCLI(t, t.Context(), nil, "status", "winback", "--ledger", f.path, "--format", "json", "--jobs", "1")
	wantCode(t, r, exitFailures)
	doc = statusDocumentJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Campaigns) != 0 || len(doc.Jobs) != 1 || doc.Jobs[0].Job != "winback" || len(doc.Jobs[0].Runs) != 1 {
		t.Errorf("status winback --jobs 1 = %+v", doc)
	}
	if !strings.Contains(r.stdout, `"campaigns": []`) {
		t.Errorf("want an empty campaigns list, not null:\n%s", r.stdout)
	}
}

func TestStatusJobsFlagMustBePositive(t *testing.T) {
	r := runCLI(t, t.Context(), nil, "status", "--ledger", filepath.Join(t.TempDir(), "x.db"), "--jobs", "0")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--jobs must be at least 1, got 0") {
		t.Errorf("stderr:\n%v", r)
	}
}

func TestStatusWithoutJobRunsHasNoJobsSection(t *testing.T) {
	f := newJobRunsFixture(t)
	f.finish(t)
	db, err := sql.Open("sqlite", "file:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`DELETE FROM job_runs`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, t.Context(), nil, "status", "--ledger", f.path)
	wantCode(t, r, exitOK)
	if strings.Contains(r.stdout, "Jobs") {
		t.Errorf("no job ran: want no Jobs section:\n%v", r)
	}
	r = runCLI(t, t.Context(), nil, "status", "--ledger", f.path, "--format", "json", "--jobs", "3")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, `"jobs": []`) {
		t.Errorf("want an empty jobs list:\n%s", r.stdout)
	}
}

// signupsJob is a csv job whose drop folder does not exist: its runs fail.
const signupsJob = `  signups:
    campaign: welcome
    schedule: "0 9 * * *"
    source: {type: csv, path: drop/missing.csv}
`

// TestStatusAndCheckConfigShowJobRunsFromRunJob runs jobs end to end with
// run-job against the sandbox store, then reads them with status and
// check-config in the store's time zone.
func TestStatusAndCheckConfigShowJobRunsFromRunJob(t *testing.T) {
	s := newJobsSandbox(t, signupsJob)
	s.store.AddCustomer(wootest.SeedCustomer{Email: "nina@example.com", FirstName: "Nina", Registered: time.Now().Add(-time.Hour)})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}

	// Before any run, check-config says when each job runs first.
	before := time.Now()
	r := runCLI(t, t.Context(), nil, "--config", s.config, "check-config")
	wantCode(t, r, exitOK)
	after := time.Now()
	if !strings.Contains(r.stdout, "  jobs:      2 (times in Europe/Berlin)\n") {
		t.Errorf("check-config:\n%v", r)
	}
	sched, err := campaign.ParseSchedule("0 9 * * *", 0, berlin)
	if err != nil {
		t.Fatal(err)
	}
	wantNext := func(t *testing.T, out, row string) {
		t.Helper()
		a := row + sched.Next(before).In(berlin).Format(checkTimeLayout)
		b := row + sched.Next(after).In(berlin).Format(checkTimeLayout)
		if !strings.Contains(out, a+"\n") && !strings.Contains(out, b+"\n") {
			t.Errorf("want %q in:\n%s", a, out)
		}
	}
	wantNext(t, r.stdout, "    signups  welcome   0 9 * * *  csv            never     ")
	if !strings.Contains(r.stdout, "    welcome  welcome   every 1h   new_customers  never     when the daemon starts (first run)\n") {
		t.Errorf("check-config before any run:\n%v", r)
	}

	wantCode(t, runCLI(t, t.Context(), nil, "--config", s.config, "run-job", "welcome"), exitOK)
	r = runCLI(t, t.Context(), nil, "--config", s.config, "run-job", "signups")
	wantCode(t, r, exitError)

	ledger, err := campaign.OpenLedgerReadOnly(t.Context(), filepath.Join(s.dir, "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	welcome, _, err := ledger.LastJobRun(t.Context(), "welcome")
	if err != nil {
		t.Fatal(err)
	}
	signups, _, err := ledger.LastJobRun(t.Context(), "signups")
	ledger.Close()
	if err != nil {
		t.Fatal(err)
	}
	if welcome.Outcome != campaign.RunSuccess || welcome.Counts.Issued != 1 || welcome.Watermark == "" || signups.Outcome != campaign.RunFailed {
		t.Fatalf("recorded runs: welcome %+v, signups %+v", welcome, signups)
	}

	r = runCLI(t, t.Context(), nil, "--config", s.config, "status")
	wantCode(t, r, exitFailures)
	sec := jobsSection(t, r)
	wm, err := time.Parse(time.RFC3339Nano, welcome.Watermark)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"signups  welcome   csv            " + signups.Started.In(berlin).Format(jobTimeLayout),
		" failed   0      0           0       0       0       -\n",
		"welcome  welcome   new_customers  " + welcome.Started.In(berlin).Format(jobTimeLayout),
		" success  1      0           0       1       0       " + wm.In(berlin).Format(jobTimeLayout) + "\n",
		"missing.csv",
	} {
		if !strings.Contains(sec, w) {
			t.Errorf("want %q in the Jobs section:\n%s", w, sec)
		}
	}
	if !strings.Contains(r.stderr, "the last run of job signups failed") {
		t.Errorf("stderr:\n%v", r)
	}

	// check-config now counts from the last runs.
	r = runCLI(t, t.Context(), nil, "--config", s.config, "check-config")
	wantCode(t, r, exitOK)
	welcomeRow := "    welcome  welcome   every 1h   new_customers  " + welcome.Started.In(berlin).Format(checkTimeLayout) + " success  " +
		welcome.Started.Add(time.Hour).In(berlin).Format(checkTimeLayout) + "\n"
	if !strings.Contains(r.stdout, welcomeRow) {
		t.Errorf("want %q in:\n%v", welcomeRow, r)
	}
	wantNext(t, r.stdout, "    signups  welcome   0 9 * * *  csv            "+signups.Started.In(berlin).Format(checkTimeLayout)+" failed   ")
}

func TestCheckConfigNextRunFollowsTheDaemonsSchedulingFromTheLastRun(t *testing.T) {
	cfg := mustParse(t, "", strings.Replace(baseConfig, "  consumer_secret: cs_test_secret_value\n",
		"  consumer_secret: cs_test_secret_value\n  timezone: Europe/Berlin\n", 1)+`jobs:
  daily:
    campaign: welcome
    schedule: "0 9 * * *"
    source: {type: new_customers}
  hourly:
    campaign: welcome
    every: 90m
    source: {type: new_customers}
`, nil)
	// Saturday before the clocks go forward in Europe/Berlin.
	now := time.Date(2026, 3, 28, 10, 0, 0, 0, time.UTC)
	row := func(out, job string) string {
		for line := range strings.SplitSeq(out, "\n") {
			if strings.HasPrefix(line, "    "+job+" ") {
				return strings.Join(strings.Fields(line), " ")
			}
		}
		t.Fatalf("no row for %s in:\n%s", job, out)
		return ""
	}
	run := func(started time.Time, outcome string) campaign.JobRun {
		return campaign.JobRun{Started: started, Ended: started.Add(time.Second), Outcome: outcome}
	}
	for _, tc := range []struct {
		name        string
		seen        jobRunsSeen
		daily, hour string
	}{
		{"never ran", jobRunsSeen{now: now, last: map[string]campaign.JobRun{}},
			"daily welcome 0 9 * * * new_customers never 2026-03-29 09:00 CEST",
			"hourly welcome every 1h30m new_customers never when the daemon starts (first run)"},
		{"ran on time", jobRunsSeen{now: now, last: map[string]campaign.JobRun{
			"daily":  run(time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC), campaign.RunSuccess),
			"hourly": run(time.Date(2026, 3, 28, 9, 45, 0, 0, time.UTC), campaign.RunSuccess)}},
			"daily welcome 0 9 * * * new_customers 2026-03-28 09:00 CET success 2026-03-29 09:00 CEST",
			"hourly welcome every 1h30m new_customers 2026-03-28 10:45 CET success 2026-03-28 12:15 CET"},
		{"missed slots and an interrupted run", jobRunsSeen{now: now, last: map[string]campaign.JobRun{
			"daily":  run(time.Date(2026, 3, 26, 8, 0, 0, 0, time.UTC), campaign.RunFailed),
			"hourly": run(time.Date(2026, 3, 28, 9, 45, 0, 0, time.UTC), campaign.RunInterrupted)}},
			"daily welcome 0 9 * * * new_customers 2026-03-26 09:00 CET failed overdue since 2026-03-27 09:00 CET: once, when the daemon starts",
			"hourly welcome every 1h30m new_customers 2026-03-28 10:45 CET interrupted when the daemon starts (resumes the interrupted run)"},
		{"ledger unreadable", jobRunsSeen{now: now, err: errors.New("ledger too new")},
			"daily welcome 0 9 * * * new_customers ? 2026-03-29 09:00 CEST",
			"hourly welcome every 1h30m new_customers ? when the daemon starts (first run)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := describeConfig(cfg, tc.seen)
			if got := row(out, "daily"); got != tc.daily {
				t.Errorf("daily:\n got %s\nwant %s", got, tc.daily)
			}
			if got := row(out, "hourly"); got != tc.hour {
				t.Errorf("hourly:\n got %s\nwant %s", got, tc.hour)
			}
			if note := strings.Contains(out, "  note:      cannot read the job runs from the ledger (ledger too new)"); note != (tc.seen.err != nil) {
				t.Errorf("note about the unreadable ledger: %v, want %v:\n%s", note, tc.seen.err != nil, out)
			}
		})
	}
}

func TestCheckConfigWithoutJobsSaysNone(t *testing.T) {
	r := runCLI(t, t.Context(), nil, "check-config", "--config", writeConfig(t, baseConfig))
	wantCode(t, r, exitOK)
	if !strings.HasSuffix(r.stdout, "  jobs:      none\n") {
		t.Errorf("check-config:\n%v", r)
	}
}

func TestStatusReviewExitsWith3ForFailedRowsOrAFailedLastRunOnly(t *testing.T) {
	rows := func(failed, unconfirmed int) []campaignStatus {
		return []campaignStatus{{Summary: campaign.Summary{Campaign: "welcome",
			Counts: map[campaign.State]int{campaign.StateFailed: failed, campaign.StateUnconfirmed: unconfirmed}}}}
	}
	hist := func(job string, outcomes ...string) campaign.JobHistory {
		h := campaign.JobHistory{Job: job}
		for _, o := range outcomes {
			h.Runs = append(h.Runs, campaign.JobRun{Job: job, Outcome: o})
		}
		return h
	}
	for _, tc := range []struct {
		name    string
		reports []campaignStatus
		jobs    []campaign.JobHistory
		code    int
		msg     string
	}{
		{"all well", rows(0, 0), []campaign.JobHistory{hist("welcome", campaign.RunSuccess)}, exitOK, ""},
		{"recovered after a failure", rows(0, 0), []campaign.JobHistory{hist("welcome", campaign.RunSuccess, campaign.RunFailed)}, exitOK, ""},
		{"interrupted or running", rows(0, 0), []campaign.JobHistory{hist("a", campaign.RunInterrupted), hist("b", campaign.RunRunning, campaign.RunFailed)}, exitOK, ""},
		{"rows only", rows(1, 1), nil, exitFailures, "2 recipients need attention: see the failed and unconfirmed rows above"},
		{"failed last runs", rows(0, 0), []campaign.JobHistory{hist("a", campaign.RunFailed), hist("b", campaign.RunSuccess), hist("c", campaign.RunFailed, campaign.RunSuccess)},
			exitFailures, "the last run of jobs a, c failed: WHERE"},
		{"both", rows(1, 0), []campaign.JobHistory{hist("a", campaign.RunFailed)},
			exitFailures, "1 recipient needs attention: see the failed and unconfirmed rows above; the last run of job a failed: WHERE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := statusReview(tc.reports, tc.jobs, "WHERE")
			if code := exitCode(t.Context(), err); code != tc.code {
				t.Errorf("exit code = %d, want %d (err %v)", code, tc.code, err)
			}
			if err != nil && err.Error() != tc.msg {
				t.Errorf("message = %q, want %q", err.Error(), tc.msg)
			}
		})
	}
}
