package campaign

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/couponbridge/couponbridge/woo"
)

func mustSchedule(t *testing.T, cron string, every time.Duration, loc *time.Location) Schedule {
	t.Helper()
	s, err := ParseSchedule(cron, every, loc)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testJob(t *testing.T, name, campaign string, s Schedule) Job {
	return Job{Name: name, Campaign: jobCampaign(t, campaign), Schedule: s, Source: &jobSliceSource{}}
}

// startJobs runs d's job loops in the background (no HTTP server, which
// synctest cannot run) and returns a stop function that waits for them.
func startJobs(d *Daemon) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.runJobs(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

func TestDaemonRunsCronJobAtStoreWallClockAcrossDST(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		loc := jobsBerlin(t)
		sleepUntil(time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC))
		l := openJobsLedger(t)
		rec := &jobIssueRecorder{}
		set := &JobSet{Jobs: []Job{testJob(t, "welcome", "welcome", mustSchedule(t, "0 9 * * *", 0, loc))}, Issue: rec.issue, Loc: loc}
		d, err := NewDaemon(DaemonOptions{Ledger: l}, set)
		if err != nil {
			t.Fatal(err)
		}
		stop := startJobs(d)
		sleepUntil(time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC))
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, at := range rec.at {
			got = append(got, at.UTC().Format(time.RFC3339))
		}
		// 09:00 in Berlin: CET (UTC+1) before 29 March, CEST (UTC+2) from then on.
		want := []string{"2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z", "2026-03-31T07:00:00Z"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("runs at %v\nwant    %v", got, want)
		}
	})
}

func TestDaemonCatchesUpAMissedRunOnceAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleepUntil(time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC))
		l := openJobsLedger(t)
		ctx := context.Background()
		// The last run was at 08:00; the daemon was down until 14:20.
		id, err := l.startJobRun(ctx, "hourly", "c", "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := l.finishJobRun(ctx, id, RunSuccess, time.Now(), JobCounts{}, "", ""); err != nil {
			t.Fatal(err)
		}
		sleepUntil(time.Date(2026, 1, 1, 14, 20, 0, 0, time.UTC))
		rec := &jobIssueRecorder{}
		set := &JobSet{Jobs: []Job{testJob(t, "hourly", "c", mustSchedule(t, "0 * * * *", 0, time.UTC))}, Issue: rec.issue}
		d, err := NewDaemon(DaemonOptions{Ledger: l}, set)
		if err != nil {
			t.Fatal(err)
		}
		stop := startJobs(d)
		sleepUntil(time.Date(2026, 1, 1, 15, 30, 0, 0, time.UTC))
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, at := range rec.at {
			got = append(got, at.UTC().Format("15:04"))
		}
		// Six slots were missed: one catch-up run at start, then the 15:00 slot.
		if want := []string{"14:20", "15:00"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("runs at %v, want %v", got, want)
		}
	})
}

func TestDaemonResumesAnInterruptedRunAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleepUntil(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
		l := openJobsLedger(t)
		// A run left 'running' by a process that died at 09:00.
		if _, err := l.startJobRun(context.Background(), "daily", "c", "test", time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		rec := &jobIssueRecorder{}
		set := &JobSet{Jobs: []Job{testJob(t, "daily", "c", mustSchedule(t, "0 9 * * *", 0, time.UTC))}, Issue: rec.issue}
		d, _ := NewDaemon(DaemonOptions{Ledger: l}, set)
		stop := startJobs(d)
		time.Sleep(time.Minute)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if len(rec.at) != 1 || !rec.at[0].Equal(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("runs at %v, want one at start (12:00) to finish the interrupted run", rec.at)
		}
		runs, _ := l.JobRuns(context.Background(), "daily", 10)
		if len(runs) != 2 || runs[1].Outcome != RunInterrupted || runs[0].Outcome != RunSuccess {
			t.Errorf("runs = %+v, want the stale one interrupted and a successful resume", runs)
		}
	})
}

func TestDaemonRunsOneJobPerCampaignAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleepUntil(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		l := openJobsLedger(t)
		var mu sync.Mutex
		active, peak, runs := map[string]int{}, map[string]int{}, 0
		issue := func(ctx context.Context, c Campaign) error {
			mu.Lock()
			active[c.Name]++
			peak[c.Name] = max(peak[c.Name], active[c.Name])
			runs++
			mu.Unlock()
			time.Sleep(10 * time.Minute) // a long pipeline run
			mu.Lock()
			active[c.Name]--
			mu.Unlock()
			return nil
		}
		every := mustSchedule(t, "", time.Hour, time.UTC)
		set := &JobSet{Issue: issue, Jobs: []Job{
			testJob(t, "a1", "shared", every), testJob(t, "a2", "shared", every), testJob(t, "b", "other", every),
		}}
		d, _ := NewDaemon(DaemonOptions{Ledger: l}, set)
		stop := startJobs(d)
		time.Sleep(3 * time.Hour)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if peak["shared"] != 1 {
			t.Errorf("peak concurrent runs of campaign shared = %d, want 1", peak["shared"])
		}
		if runs < 6 {
			t.Errorf("runs = %d, want every job to run each hour", runs)
		}
	})
}

func TestDaemonReloadRejectsInvalidConfigAndKeepsTheOld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleepUntil(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		l := openJobsLedger(t)
		var mu sync.Mutex
		ran := map[string]int{}
		issue := func(ctx context.Context, c Campaign) error {
			mu.Lock()
			ran[c.Name]++
			mu.Unlock()
			return nil
		}
		every := mustSchedule(t, "", time.Hour, time.UTC)
		d, _ := NewDaemon(DaemonOptions{Ledger: l}, &JobSet{Issue: issue, Jobs: []Job{testJob(t, "old", "old", every)}})
		stop := startJobs(d)
		time.Sleep(90 * time.Minute) // old ran at 00:00 and 01:00

		bad := &JobSet{Issue: issue, Jobs: []Job{testJob(t, "dup", "x", every), testJob(t, "dup", "y", every)}}
		err := d.Reload(bad)
		if err == nil || !strings.Contains(err.Error(), "defined twice") {
			t.Fatalf("Reload(invalid) = %v, want the error", err)
		}
		if d.currentSet().Jobs[0].Name != "old" {
			t.Fatal("an invalid reload replaced the configuration")
		}
		time.Sleep(time.Hour) // old runs at 02:00
		closed := false
		good := &JobSet{Issue: issue, Jobs: []Job{testJob(t, "new", "new", every)}, Close: func() error { closed = true; return nil }}
		if err := d.Reload(good); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Hour)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if ran["old"] != 3 {
			t.Errorf("old job ran %d times, want 3 (00:00, 01:00, 02:00) and none after the reload", ran["old"])
		}
		if ran["new"] < 3 {
			t.Errorf("new job ran %d times, want it on its schedule after the reload", ran["new"])
		}
		if !closed {
			t.Error("the job set in force at shutdown was not closed")
		}
	})
}

func TestDaemonWebhookDeliveryWakesItsJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleepUntil(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		l := openJobsLedger(t)
		rec := &jobIssueRecorder{}
		job := Job{Name: "hook", Campaign: jobCampaign(t, "hook"), Schedule: mustSchedule(t, "0 3 * * *", 0, time.UTC),
			Source: &WebhookSource{Ledger: l, Job: "hook"}}
		d, _ := NewDaemon(DaemonOptions{Ledger: l}, &JobSet{Issue: rec.issue, Jobs: []Job{job}, WebhookSecret: testWebhookSecret})
		stop := startJobs(d)
		time.Sleep(time.Minute)
		synctest.Wait()
		if _, err := l.EnqueueDelivery(context.Background(), Delivery{DeliveryID: "9", Topic: TopicCustomerCreated,
			Recipient: QueuedRecipient{Email: "w@example.com"}, Received: time.Now()}, []string{"hook"}); err != nil {
			t.Fatal(err)
		}
		d.wake([]string{"hook"})
		time.Sleep(time.Minute)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if len(rec.at) != 1 {
			t.Fatalf("runs = %v, want one run right after the delivery (not waiting for 03:00)", rec.at)
		}
		if got := jobPlannedEmails(t, l, "hook"); len(got) != 1 || got[0] != "w@example.com" {
			t.Errorf("planned = %v", got)
		}
	})
}

func TestJobSetValidateReportsEveryProblem(t *testing.T) {
	every := mustSchedule(t, "", time.Hour, time.UTC)
	exp := testJob(t, "exp", "exp", every)
	exp.Campaign.ExportOnly, exp.Campaign.Count = true, 10
	set := &JobSet{Jobs: []Job{
		testJob(t, "Bad Name", "a", every),
		testJob(t, "dup", "a", every), testJob(t, "dup", "b", every),
		{Name: "nosched", Campaign: jobCampaign(t, "c"), Source: &jobSliceSource{}},
		{Name: "hook", Campaign: jobCampaign(t, "d"), Schedule: every, Source: &WebhookSource{}},
		exp,
	}}
	err := set.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"Bad Name", "defined twice", "nosched", "no issuing pipeline", "webhook secret", "export-only"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// fakeStoreStats is a store client's counters for the metrics.
type fakeStoreStats struct {
	requests, throttled int64
	rate                float64
}

func (f *fakeStoreStats) Stats() woo.Stats {
	return woo.Stats{Requests: f.requests, Throttled429: f.throttled}
}
func (f *fakeStoreStats) Rate() float64 { return f.rate }

func TestDaemonServesHealthReadinessMetricsAndWebhooks(t *testing.T) {
	l := openJobsLedger(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	store := &fakeStoreStats{requests: 42, throttled: 3, rate: 2.5}
	reg := prometheus.NewRegistry()
	job := Job{Name: "hook", Campaign: jobCampaign(t, "hook"), Schedule: mustSchedule(t, "0 3 * * *", 0, time.UTC),
		Source: &WebhookSource{Ledger: l, Job: "hook"}}
	rec := &jobIssueRecorder{}
	d, err := NewDaemon(DaemonOptions{Ledger: l, Listener: ln, Registry: reg},
		&JobSet{Issue: rec.issue, Jobs: []Job{job}, WebhookSecret: testWebhookSecret, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if code, _ := get("/readyz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/readyz never became ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	body := []byte(customerCreatedBody)
	req, _ := http.NewRequest(http.MethodPost, base+WebhookPath, strings.NewReader(string(body)))
	req.Header.Set("X-WC-Webhook-Topic", TopicCustomerCreated)
	req.Header.Set("X-WC-Webhook-Delivery-ID", "77")
	req.Header.Set("X-WC-Webhook-Signature", signWebhook(body, testWebhookSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("webhook = %d, want 200", resp.StatusCode)
	}
	// The delivery wakes the job, which plans the customer.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if last, ok, _ := l.LastJobRun(context.Background(), "hook"); ok && last.Outcome == RunSuccess {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook job did not run after a delivery")
		}
	}
	if got := jobPlannedEmails(t, l, "hook"); len(got) != 1 || got[0] != "new.customer@example.com" {
		t.Errorf("planned = %v, want the delivered customer", got)
	}
	wantMetrics := []string{
		"couponbridge_store_requests_total 42", "couponbridge_store_throttled_total 3", "couponbridge_store_rate_limit_rps 2.5",
		`couponbridge_webhook_deliveries_total{outcome="queued"} 1`, `couponbridge_job_runs_total{job="hook",outcome="success"}`,
		"couponbridge_job_run_duration_seconds_bucket", `couponbridge_work_queued{job="hook"} 0`,
	}
	var missing []string
	// The run is recorded in the ledger just before its metrics.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, metrics := get("/metrics")
		missing = missing[:0]
		for _, want := range wantMetrics {
			if !strings.Contains(metrics, want) {
				missing = append(missing, want)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, m := range missing {
		t.Errorf("/metrics lacks %q", m)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil after a clean stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("server still accepting after Run returned")
	}
}

func TestMetricsStoreCountersSurviveAClientSwap(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	a := &fakeStoreStats{requests: 10, throttled: 1, rate: 5}
	m.WatchStore(a)
	b := &fakeStoreStats{requests: 4, rate: 1.5}
	m.WatchStore(b)
	n, err := testutil.GatherAndCount(reg, "couponbridge_store_requests_total")
	if err != nil || n != 1 {
		t.Fatalf("series = %d, %v", n, err)
	}
	if v := m.storeStats().Requests; v != 14 {
		t.Errorf("requests after a swap = %d, want 14 (never going down)", v)
	}
	if v := m.storeRate(); v != 1.5 {
		t.Errorf("rate = %v, want the new client's 1.5", v)
	}
	m.observeRun("j", "c", outcomeSuccess, 2*time.Second, time.Unix(100, 0), issueCounts{Created: 3, Emailed: 2, EmailFailed: 1})
	if v := testutil.ToFloat64(m.couponsCreated.WithLabelValues("c")); v != 3 {
		t.Errorf("coupons created = %v, want 3", v)
	}
	if v := testutil.ToFloat64(m.emailsFailed.WithLabelValues("c")); v != 1 {
		t.Errorf("emails failed = %v, want 1", v)
	}
	if v := testutil.ToFloat64(m.jobLastSuccess.WithLabelValues("j")); v != 100 {
		t.Errorf("last success = %v, want 100", v)
	}
	var nilMetrics *Metrics
	nilMetrics.observeRun("j", "c", outcomeFailed, time.Second, time.Now(), issueCounts{}) // must not panic
}

func TestDaemonReloadDuringARunDoesNotRunTheJobAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleepUntil(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		l := openJobsLedger(t)
		var mu sync.Mutex
		var starts []time.Time
		issue := func(ctx context.Context, c Campaign) error {
			mu.Lock()
			starts = append(starts, time.Now())
			mu.Unlock()
			time.Sleep(10 * time.Minute)
			return nil
		}
		set := func() *JobSet {
			return &JobSet{Issue: issue, Jobs: []Job{testJob(t, "j", "c", mustSchedule(t, "", time.Hour, time.UTC))}}
		}
		d, _ := NewDaemon(DaemonOptions{Ledger: l}, set())
		stop := startJobs(d)
		time.Sleep(5 * time.Minute) // the first run is in progress
		if err := d.Reload(set()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(70 * time.Minute)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		var got []string
		for _, s := range starts {
			got = append(got, s.Format("15:04"))
		}
		// 00:00, then the next slot at 01:00: no extra run after the reload.
		if want := []string{"00:00", "01:00"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("runs started at %v, want %v", got, want)
		}
	})
}
