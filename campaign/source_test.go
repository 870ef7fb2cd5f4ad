package campaign

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// jobStore starts a sandbox store over loopback and returns it with a client.
func jobStore(t *testing.T, opts ...wootest.StoreOption) (*wootest.Store, *woo.Client) {
	t.Helper()
	store := wootest.NewStore(opts...)
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	c, err := woo.NewClient(srv.URL,
		woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithAuthMode(woo.AuthOAuth1),
		woo.WithHTTPClient(srv.Client()),
		woo.WithRateLimit(1000, 100),
		woo.WithRetry(2, time.Millisecond, 10*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	return store, c
}

// collect runs a source once and returns the candidates' emails, sorted.
func collect(t *testing.T, src Source, scan *SourceScan) []string {
	t.Helper()
	if scan.Logger == nil {
		scan.Logger = slog.New(slog.DiscardHandler)
	}
	var out []string
	for c, err := range src.Candidates(context.Background(), scan) {
		if err != nil {
			t.Fatalf("%s source: %v", src.Kind(), err)
		}
		out = append(out, c.Recipient.Email)
	}
	slices.Sort(out)
	return out
}

func daysAgo(now time.Time, d int) time.Time { return now.AddDate(0, 0, -d) }

// seedWinback fills a store with customers and orders at known dates
// relative to now, guests included.
func seedWinback(t *testing.T, s *wootest.Store, now time.Time) {
	t.Helper()
	order := func(o wootest.SeedOrder) {
		t.Helper()
		if _, err := s.AddOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	reg := func(email, first string) int64 {
		return s.AddCustomer(wootest.SeedCustomer{Email: email, FirstName: first, LastName: "R", Registered: daysAgo(now, 400)})
	}
	alice := reg("alice@example.com", "Alice") // last paid 70 days ago: in
	order(wootest.SeedOrder{CustomerID: alice, Status: "completed", Created: daysAgo(now, 70)})
	bob := reg("bob@example.com", "Bob") // 70 days ago and again 10 days ago: bought recently
	order(wootest.SeedOrder{CustomerID: bob, Status: "completed", Created: daysAgo(now, 70)})
	order(wootest.SeedOrder{CustomerID: bob, Status: "processing", Created: daysAgo(now, 10)})
	carl := reg("carl@example.com", "Carl") // 50 days ago: too recent
	order(wootest.SeedOrder{CustomerID: carl, Status: "completed", Created: daysAgo(now, 50)})
	dora := reg("dora@example.com", "Dora") // 200 and 80 days ago: in, two orders
	order(wootest.SeedOrder{CustomerID: dora, Status: "completed", Created: daysAgo(now, 200)})
	order(wootest.SeedOrder{CustomerID: dora, Status: "completed", Created: daysAgo(now, 80)})
	reg("nora@example.com", "Nora") // never ordered
	// Guests.
	order(wootest.SeedOrder{Email: "gina@guest.test", FirstName: "Gina", LastName: "G", Status: "completed", Created: daysAgo(now, 75)})
	order(wootest.SeedOrder{Email: "gus@guest.test", FirstName: "Gus", Status: "completed", Created: daysAgo(now, 100)})   // too old
	order(wootest.SeedOrder{Email: "ed@guest.test", FirstName: "Ed", Status: "cancelled", Created: daysAgo(now, 65)})      // not paid
	order(wootest.SeedOrder{Email: "fay@guest.test", FirstName: "Fay", Status: "pending", Created: daysAgo(now, 65)})      // not paid
	order(wootest.SeedOrder{Email: "gwen@guest.test", FirstName: "Gwen", Status: "processing", Created: daysAgo(now, 85)}) // in
	order(wootest.SeedOrder{Email: "gwen@guest.test", FirstName: "Gwen", Status: "failed", Created: daysAgo(now, 30)})     // failed order does not count
	order(wootest.SeedOrder{Email: "hank@guest.test", FirstName: "Hank", Status: "completed", Created: daysAgo(now, 95)})  // too old...
	order(wootest.SeedOrder{Email: "hank@guest.test", FirstName: "Hank", Status: "completed", Created: daysAgo(now, 89)})  // ...but last one is in
	order(wootest.SeedOrder{Email: "ivy@guest.test", FirstName: "Ivy", Status: "completed", Created: daysAgo(now, 61)})    // in, near the edge
	order(wootest.SeedOrder{Email: "jay@guest.test", FirstName: "Jay", Status: "completed", Created: daysAgo(now, 59)})    // out, near the edge
}

func TestInactiveCustomersWindowSelectsExactlyTheLapsedCustomers(t *testing.T) {
	berlin := jobsBerlin(t)
	for _, c := range []struct {
		name      string
		analytics bool
		report    bool
		minOrders int
		want      []string
	}{
		{"analytics report", true, true, 1, []string{"alice@example.com", "dora@example.com", "gina@guest.test", "gwen@guest.test", "hank@guest.test", "ivy@guest.test"}},
		{"no analytics route: order scan", false, true, 1, []string{"alice@example.com", "dora@example.com", "gina@guest.test", "gwen@guest.test", "hank@guest.test", "ivy@guest.test"}},
		{"order scan only", true, false, 1, []string{"alice@example.com", "dora@example.com", "gina@guest.test", "gwen@guest.test", "hank@guest.test", "ivy@guest.test"}},
		{"analytics, min_orders 2", true, true, 2, []string{"dora@example.com", "hank@guest.test"}},
		{"order scan, min_orders 2", false, true, 2, []string{"dora@example.com", "hank@guest.test"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Second)
			store, client := jobStore(t, wootest.WithTimezone(berlin), wootest.WithAnalytics(c.analytics))
			seedWinback(t, store, now)
			src := &InactiveCustomersSource{Orders: client.Orders, MinDays: 60, MaxDays: 90, MinOrders: c.minOrders}
			if c.report {
				src.Report = client.Reports
			}
			logs := &jobLogBuffer{}
			got := collect(t, src, &SourceScan{Now: now, Loc: berlin, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if !slices.Equal(got, c.want) {
				t.Errorf("selected %v\nwant     %v", got, c.want)
			}
			if fellBack := strings.Contains(logs.String(), "scanning orders"); fellBack != (c.report && !c.analytics) {
				t.Errorf("fell back to the order scan = %v; logs %q", fellBack, logs.String())
			}
		})
	}
}

func TestInactiveCustomersCarryNameAndLastOrder(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	store, client := jobStore(t, wootest.WithAnalytics(false))
	seedWinback(t, store, now)
	src := &InactiveCustomersSource{Orders: client.Orders}
	for c, err := range src.Candidates(context.Background(), &SourceScan{Now: now, Logger: slog.New(slog.DiscardHandler)}) {
		if err != nil {
			t.Fatal(err)
		}
		if c.Recipient.Email == "gina@guest.test" {
			if c.Recipient.FirstName != "Gina" || !c.LastPaid.Equal(daysAgo(now, 75)) || !c.Paying {
				t.Errorf("gina = %+v, want first name Gina, last paid %s", c, daysAgo(now, 75))
			}
			return
		}
	}
	t.Error("gina not selected")
}

func TestNewCustomersFirstRunLooksBackThenFollowsTheWatermark(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	store, client := jobStore(t)
	store.AddCustomer(wootest.SeedCustomer{Email: "old@example.com", Registered: now.Add(-30 * time.Hour)})
	store.AddCustomer(wootest.SeedCustomer{Email: "new1@example.com", FirstName: "Ny", Registered: now.Add(-2 * time.Hour)})
	payer := store.AddCustomer(wootest.SeedCustomer{Email: "payer@example.com", Registered: now.Add(-time.Hour)})
	if _, err := store.AddOrder(wootest.SeedOrder{CustomerID: payer, Status: "completed", Created: now.Add(-30 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	src := &NewCustomersSource{Customers: client.Customers} // default look-back 24h
	scan := &SourceScan{Now: now, Logger: slog.New(slog.DiscardHandler)}
	var got []string
	paying := map[string]bool{}
	for c, err := range src.Candidates(context.Background(), scan) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.Recipient.Email)
		paying[c.Recipient.Email] = c.Paying
	}
	slices.Sort(got)
	if want := []string{"new1@example.com", "payer@example.com"}; !slices.Equal(got, want) {
		t.Errorf("first run = %v, want %v (24h look-back, never the whole history)", got, want)
	}
	if !paying["payer@example.com"] || paying["new1@example.com"] {
		t.Errorf("paying flags = %v, want only payer", paying)
	}
	wm, err := time.Parse(time.RFC3339Nano, scan.NewWatermark)
	if err != nil || !wm.Equal(now.Add(-time.Hour)) {
		t.Fatalf("watermark = %q (%v), want the newest registration %s", scan.NewWatermark, err, now.Add(-time.Hour))
	}

	store.AddCustomer(wootest.SeedCustomer{Email: "new2@example.com", Registered: now.Add(10 * time.Minute)})
	got = collect(t, src, &SourceScan{Now: now.Add(time.Hour), Watermark: scan.NewWatermark})
	if want := []string{"new2@example.com", "payer@example.com"}; !slices.Equal(got, want) {
		// payer is re-read by the one-minute overlap and then suppressed by the ledger.
		t.Errorf("second run = %v, want %v", got, want)
	}
}

func TestNewCustomersCustomLookback(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	store, client := jobStore(t)
	store.AddCustomer(wootest.SeedCustomer{Email: "a@example.com", Registered: now.Add(-30 * time.Hour)})
	store.AddCustomer(wootest.SeedCustomer{Email: "b@example.com", Registered: now.Add(-80 * time.Hour)})
	got := collect(t, &NewCustomersSource{Customers: client.Customers, Lookback: 48 * time.Hour}, &SourceScan{Now: now})
	if !slices.Equal(got, []string{"a@example.com"}) {
		t.Errorf("look-back 48h = %v, want [a@example.com]", got)
	}
}

func writeCSV(t *testing.T, path, body string, age time.Duration) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-age)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

func TestCSVFolderJobPlansNewRowsAndMovesFinishedFiles(t *testing.T) {
	dir := t.TempDir()
	drop, done := filepath.Join(dir, "signups"), filepath.Join(dir, "signups", "done")
	if err := os.MkdirAll(drop, 0o700); err != nil {
		t.Fatal(err)
	}
	writeCSV(t, filepath.Join(drop, "a.csv"), "email,first_name\nann@example.com,Ann\nnot-an-address,X\nbea@example.com,Bea\n", time.Hour)
	writeCSV(t, filepath.Join(drop, "b.csv"), "Email;First Name\ncid@example.com;Cid\ndan@example.com;Dan\neve@example.com;Eve\n", time.Hour)
	writeCSV(t, filepath.Join(drop, "c.csv"), "email\nfresh@example.com\n", 0) // still being written
	writeCSV(t, filepath.Join(drop, "notes.txt"), "email\nx@example.com\n", time.Hour)
	writeCSV(t, filepath.Join(drop, "empty.csv"), "email\n", time.Hour)
	writeCSV(t, filepath.Join(drop, "bad.csv"), "email\nnope\n", time.Hour)

	l := openJobsLedger(t)
	rec := &jobIssueRecorder{}
	r := &JobRunner{Ledger: l, Issue: rec.issue, Loc: time.UTC}
	job := Job{Name: "signups", Campaign: jobCampaign(t, "newsletter"),
		Source: &CSVSource{Path: drop, DoneDir: done}, Rules: Rules{MaxPerRun: 3}}
	run, err := r.Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if got := jobPlannedEmails(t, l, "newsletter"); !slices.Equal(got, []string{"ann@example.com", "bea@example.com", "cid@example.com"}) {
		t.Errorf("planned = %v, want ann, bea, cid (max_per_run 3)", got)
	}
	if run.Counts.Rejected != 2 || run.Counts.Capped != 2 || run.Counts.Found != 5 {
		t.Errorf("counts = %+v, want found 5, rejected 2, capped 2", run.Counts)
	}
	assertFiles(t, drop, []string{"b.csv", "c.csv", "done", "notes.txt"})
	assertFiles(t, done, []string{"a.csv", "bad.csv", "empty.csv"})

	// Next run: b.csv's planned row is suppressed, the rest planned, and b.csv is done.
	run, err = r.Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if got := jobPlannedEmails(t, l, "newsletter"); !slices.Equal(got, []string{"ann@example.com", "bea@example.com", "cid@example.com", "dan@example.com", "eve@example.com"}) {
		t.Errorf("planned after second run = %v", got)
	}
	if run.Counts.Suppressed != 1 || run.Counts.Planned != 2 {
		t.Errorf("second run counts = %+v, want suppressed 1 (cid already issued), planned 2", run.Counts)
	}
	assertFiles(t, drop, []string{"c.csv", "done", "notes.txt"})
	assertFiles(t, done, []string{"a.csv", "b.csv", "bad.csv", "empty.csv"})
}

func TestCSVSingleFileJobIssuesOnlyRecipientsNotYetInTheCampaign(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "list.csv")
	writeCSV(t, file, "email\na@example.com\nb@example.com\n", time.Hour)
	l := openJobsLedger(t)
	r := &JobRunner{Ledger: l, Issue: (&jobIssueRecorder{}).issue}
	job := Job{Name: "list", Campaign: jobCampaign(t, "list"), Source: &CSVSource{Path: file}}
	if _, err := r.Run(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	writeCSV(t, file, "email\na@example.com\nb@example.com\nc@example.com\n", time.Hour)
	run, err := r.Run(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts.Planned != 1 || run.Counts.Suppressed != 2 {
		t.Errorf("counts = %+v, want planned 1 (c), suppressed 2", run.Counts)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("file without done_dir was moved: %v", err)
	}
}

func TestCSVSingleFileSourceBadHeaderFailsTheRunNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	writeCSV(t, filepath.Join(dir, "x.csv"), "name,phone\nann,1\n", time.Hour)
	l := openJobsLedger(t)
	r := &JobRunner{Ledger: l, Issue: (&jobIssueRecorder{}).issue}
	run, err := r.Run(context.Background(), Job{Name: "x", Campaign: jobCampaign(t, "x"), Source: &CSVSource{Path: filepath.Join(dir, "x.csv")}})
	if err == nil || !strings.Contains(err.Error(), "x.csv") || run.Outcome != RunFailed {
		t.Errorf("run = %+v, %v; want failed naming x.csv", run.Outcome, err)
	}
}

func assertFiles(t *testing.T, dir string, want []string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s holds %v, want %v", dir, got, want)
	}
}

func TestWebhookJobConsumesQueueOnceAndKeepsCappedRows(t *testing.T) {
	l := openJobsLedger(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	enqueue := func(id, email string, paying bool) {
		t.Helper()
		if _, err := l.EnqueueDelivery(ctx, Delivery{DeliveryID: id, Topic: TopicCustomerCreated, Received: now,
			Recipient: QueuedRecipient{Email: email, Paying: paying}}, []string{"welcome"}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue("1", "a@example.com", false)
	enqueue("2", "b@example.com", true) // already paying: welcome skips
	enqueue("3", "c@example.com", false)
	enqueue("4", "d@example.com", false)
	r, _ := newJobTestRunner(t, l, now)
	job := Job{Name: "welcome", Campaign: jobCampaign(t, "welcome"), Source: &WebhookSource{Ledger: l, Job: "welcome"},
		Rules: Rules{SkipPaying: true, MaxPerRun: 2}}
	run, err := r.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts.Planned != 2 || run.Counts.Suppressed != 1 || run.Counts.Capped != 1 {
		t.Errorf("counts = %+v, want planned 2, suppressed 1, capped 1", run.Counts)
	}
	if n, _ := l.PendingDeliveries(ctx, "welcome"); n != 1 {
		t.Errorf("pending after the run = %d, want 1 (the capped one)", n)
	}
	run, _ = r.Run(ctx, job)
	if run.Counts.Found != 1 || run.Counts.Planned != 1 {
		t.Errorf("second run counts = %+v, want found 1, planned 1: each delivery consumed once", run.Counts)
	}
	if got := jobPlannedEmails(t, l, "welcome"); !slices.Equal(got, []string{"a@example.com", "c@example.com", "d@example.com"}) {
		t.Errorf("planned = %v", got)
	}
	if n, _ := l.PendingDeliveries(ctx, "welcome"); n != 0 {
		t.Errorf("pending = %d, want 0", n)
	}
}

func TestWebhookJobRechecksWhetherAQueuedCustomerHasPaidSince(t *testing.T) {
	store, client := jobStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	buyer := store.AddCustomer(wootest.SeedCustomer{Email: "buyer@example.com", Registered: now.Add(-2 * time.Hour)})
	fresh := store.AddCustomer(wootest.SeedCustomer{Email: "fresh@example.com", Registered: now.Add(-time.Hour)})
	l := openJobsLedger(t)
	ctx := context.Background()
	for i, q := range []QueuedRecipient{{Email: "buyer@example.com", CustomerID: buyer}, {Email: "fresh@example.com", CustomerID: fresh}} {
		if _, err := l.EnqueueDelivery(ctx, Delivery{DeliveryID: strconv.Itoa(i), Topic: TopicCustomerCreated, Recipient: q, Received: now},
			[]string{"welcome"}); err != nil {
			t.Fatal(err)
		}
	}
	// The buyer ordered while the delivery waited in the queue.
	if _, err := store.AddOrder(wootest.SeedOrder{CustomerID: buyer, Status: "completed"}); err != nil {
		t.Fatal(err)
	}
	r := &JobRunner{Ledger: l, Issue: (&jobIssueRecorder{}).issue}
	run, err := r.Run(ctx, Job{Name: "welcome", Campaign: jobCampaign(t, "welcome"),
		Source: &WebhookSource{Ledger: l, Job: "welcome", Customers: client.Customers}, Rules: Rules{SkipPaying: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got := jobPlannedEmails(t, l, "welcome"); !slices.Equal(got, []string{"fresh@example.com"}) || run.Counts.Suppressed != 1 {
		t.Errorf("planned %v, counts %+v; want only fresh, the buyer suppressed", got, run.Counts)
	}
}

func TestNewCustomersCappedRunDoesNotMovePastTheCappedCustomers(t *testing.T) {
	store, client := jobStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	for i, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		store.AddCustomer(wootest.SeedCustomer{Email: e, Registered: now.Add(-time.Duration(3-i) * time.Hour)})
	}
	l := openJobsLedger(t)
	r := &JobRunner{Ledger: l, Issue: (&jobIssueRecorder{}).issue}
	job := Job{Name: "welcome", Campaign: jobCampaign(t, "welcome"), Source: &NewCustomersSource{Customers: client.Customers},
		Rules: Rules{MaxPerRun: 2}}
	ctx := context.Background()
	first, err := r.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if first.Counts.Planned != 2 || first.Counts.Capped != 1 {
		t.Fatalf("first run counts = %+v, want planned 2, capped 1", first.Counts)
	}
	second, err := r.Run(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if second.Counts.Planned != 1 {
		t.Errorf("second run counts = %+v, want the capped customer planned", second.Counts)
	}
	if got := jobPlannedEmails(t, l, "welcome"); len(got) != 3 {
		t.Errorf("planned = %v, want all three over two runs", got)
	}
	if w, _ := l.jobWatermark(ctx, "welcome"); w != now.Add(-time.Hour).Format(time.RFC3339Nano) {
		t.Errorf("watermark after the uncapped run = %q, want the newest registration", w)
	}
}
