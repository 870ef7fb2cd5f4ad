package campaign

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// recordJobRuns runs the jobs of plan in order through a JobRunner, one
// minute apart, and returns the recorded runs by job, oldest first.
func recordJobRuns(t *testing.T, l *Ledger, plan []Job) map[string][]JobRun {
	t.Helper()
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	out := map[string][]JobRun{}
	for _, job := range plan {
		r, _ := newJobTestRunner(t, l, at)
		run, err := r.Run(context.Background(), job)
		if run.ID == 0 {
			t.Fatalf("run of %s not recorded: %v", job.Name, err)
		}
		out[job.Name] = append(out[job.Name], run)
		at = at.Add(time.Minute)
	}
	return out
}

func runSummary(runs []JobRun) []string {
	var out []string
	for _, r := range runs {
		out = append(out, fmt.Sprintf("%d %s %s %s", r.ID, r.Job, r.Campaign, r.Outcome))
	}
	return out
}

func TestRecentJobRunsKeepsTheNewestRunsOfEachJobInNameOrder(t *testing.T) {
	l := openJobsLedger(t)
	welcome, winback := jobCampaign(t, "welcome"), jobCampaign(t, "winback")
	ok := func(name string, c Campaign, emails ...string) Job {
		return Job{Name: name, Campaign: c, Source: &jobSliceSource{cands: jobPeople(emails...), mark: "m-" + name}}
	}
	broken := Job{Name: "welcome", Campaign: welcome, Source: &jobSliceSource{err: errors.New("store unreachable")}}
	runs := recordJobRuns(t, l, []Job{
		ok("welcome", welcome, "a@example.com"),
		ok("winback", winback, "b@example.com"),
		ok("welcome", welcome, "c@example.com", "d@example.com"),
		broken,
		ok("drops", welcome, "e@example.com"),
	})
	ctx := context.Background()

	hist, err := l.RecentJobRuns(ctx, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []JobHistory{
		{Job: "drops", Runs: []JobRun{runs["drops"][0]}},
		{Job: "welcome", Runs: []JobRun{runs["welcome"][2], runs["welcome"][1]}},
		{Job: "winback", Runs: []JobRun{runs["winback"][0]}},
	}
	if len(hist) != len(want) {
		t.Fatalf("RecentJobRuns(\"\", 2) = %d jobs, want %d: %+v", len(hist), len(want), hist)
	}
	for i := range want {
		got, w := hist[i], want[i]
		if got.Job != w.Job || fmt.Sprint(runSummary(got.Runs)) != fmt.Sprint(runSummary(w.Runs)) {
			t.Errorf("job %d = %s %v, want %s %v", i, got.Job, runSummary(got.Runs), w.Job, runSummary(w.Runs))
		}
	}

	// The runs come back as recorded: outcome, counts, watermark, error, times.
	last := hist[1].Last()
	if last.Outcome != RunFailed || last.Error == "" || last.Watermark != "" || !last.Started.Equal(runs["welcome"][2].Started) || last.Ended.IsZero() {
		t.Errorf("failed run read back as %+v", last)
	}
	prev := hist[1].Runs[1]
	if prev.Outcome != RunSuccess || prev.Watermark != "m-welcome" || prev.Counts != (JobCounts{Found: 2, Planned: 2}) || prev.Source != "test" {
		t.Errorf("successful run read back as %+v", prev)
	}

	// Per campaign: only the runs into it, and only jobs that have some.
	hist, err = l.RecentJobRuns(ctx, "welcome", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Job != "drops" || hist[1].Job != "welcome" || len(hist[1].Runs) != 3 {
		t.Errorf("RecentJobRuns(welcome, 10) = %v", hist)
	}
	for _, h := range hist {
		for _, r := range h.Runs {
			if r.Campaign != "welcome" {
				t.Errorf("run %d of campaign %s listed for welcome", r.ID, r.Campaign)
			}
		}
	}

	// perJob below 1 is the last run.
	hist, err = l.RecentJobRuns(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hist {
		if len(h.Runs) != 1 || h.Last().ID != runs[h.Job][len(runs[h.Job])-1].ID {
			t.Errorf("RecentJobRuns(\"\", 0): job %s = %v, want its last run only", h.Job, runSummary(h.Runs))
		}
	}
}

func TestRecentJobRunsOfALedgerWithoutRunsIsEmpty(t *testing.T) {
	l := openJobsLedger(t)
	hist, err := l.RecentJobRuns(context.Background(), "", 5)
	if err != nil || len(hist) != 0 {
		t.Errorf("RecentJobRuns on a fresh ledger = %v, %v; want nothing", hist, err)
	}
	hist, err = l.RecentJobRuns(context.Background(), "nosuch", 5)
	if err != nil || len(hist) != 0 {
		t.Errorf("RecentJobRuns(nosuch) = %v, %v; want nothing", hist, err)
	}
}
