package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo"
)

const jobsConfig = baseConfig + `  winback:
    coupon:
      discount_type: fixed_cart
      amount: 5
      expiry: {days: 14}
daemon:
  webhook_secret: whsec_test
jobs:
  welcome:
    campaign: welcome
    schedule: "*/15 * * * *"
    source:
      type: new_customers
      lookback: 48h
    max_per_run: 50
    max_per_day: 200
    suppression_file: suppress.txt
  winback:
    campaign: winback
    schedule: "0 10 * * 1"
    cooldown_days: 180
    source:
      type: inactive_customers
      min_days: 45
      max_days: 120
      min_orders: 2
      analytics: "off"
  signups:
    campaign: welcome
    every: 10m
    source:
      type: csv
      path: drop
      done_dir: drop/done
  hook:
    campaign: welcome
    every: 5m
    source:
      type: webhook
      topics: [customer.created, order.created]
`

func writeSuppress(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "suppress.txt"), []byte("# none yet\n@staff.example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestJobsConfigLoadsWithDefaultsAndResolvedPaths(t *testing.T) {
	dir := t.TempDir()
	writeSuppress(t, dir)
	cfg := mustParse(t, dir, jobsConfig, nil)
	if cfg.Daemon.Listen != campaign.DefaultListenAddress || cfg.Daemon.ShutdownTimeout != campaign.DefaultShutdownTimeout {
		t.Errorf("daemon = %+v, want default listen and shutdown timeout", cfg.Daemon)
	}
	if got := cfg.jobNames(); !slices.Equal(got, []string{"hook", "signups", "welcome", "winback"}) {
		t.Errorf("jobs = %v", got)
	}
	w := cfg.Jobs["welcome"]
	if w.SuppressionFile != filepath.Join(dir, "suppress.txt") || w.Source.Lookback != 48*time.Hour || !w.skipPaying() {
		t.Errorf("welcome = %+v, want resolved suppression file, lookback 48h, skip paying by default", w)
	}
	s := cfg.Jobs["signups"].Source
	if s.Path != filepath.Join(dir, "drop") || s.DoneDir != filepath.Join(dir, "drop", "done") {
		t.Errorf("csv paths = %q, %q; want them under the config's folder", s.Path, s.DoneDir)
	}
	if cfg.Jobs["hook"].skipPaying() {
		t.Error("a webhook job consuming order.created skips paying customers by default: it would skip everyone")
	}
	if cfg.Jobs["winback"].skipPaying() {
		t.Error("win-back skips paying customers by default: its audience has paid orders")
	}

	client, err := woo.NewClient("https://shop.example.com", woo.WithCredentials("ck", "cs"))
	if err != nil {
		t.Fatal(err)
	}
	jobs, topics, err := cfg.jobs(jobDeps{client: client})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]campaign.Job{}
	for _, j := range jobs {
		byName[j.Name] = j
	}
	wb := byName["winback"]
	in, ok := wb.Source.(*campaign.InactiveCustomersSource)
	if !ok || in.MinDays != 45 || in.MaxDays != 120 || in.MinOrders != 2 || in.Report != nil {
		t.Errorf("winback source = %#v, want 45..120 days, 2 orders, no analytics", wb.Source)
	}
	if wb.Rules.RecentDays != 45 || wb.Rules.CooldownDays != 180 {
		t.Errorf("winback rules = %+v, want recent 45 (min_days), cooldown 180", wb.Rules)
	}
	if r := byName["welcome"].Rules; r.MaxPerRun != 50 || r.MaxPerDay != 200 || !r.SkipPaying {
		t.Errorf("welcome rules = %+v", r)
	}
	if byName["welcome"].Paid == nil || wb.Paid != nil {
		t.Errorf("paid check: welcome %v, winback %v; want one for the job that skips paying customers only", byName["welcome"].Paid, wb.Paid)
	}
	if byName["welcome"].Campaign.Name != "welcome" || byName["welcome"].Campaign.Mail.Templates == nil {
		t.Errorf("welcome campaign = %+v, want the configured campaign with templates", byName["welcome"].Campaign)
	}
	if got := topics["hook"]; !slices.Equal(got, []string{"customer.created", "order.created"}) {
		t.Errorf("hook topics = %v", got)
	}
	// The winback schedule is read on the store's wall clock (UTC here): Monday 10:00.
	next := wb.Schedule.Next(time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)) // a Tuesday
	if want := time.Date(2026, 6, 8, 10, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("winback next run = %s, want %s", next, want)
	}
}

func TestJobsConfigReportsEveryProblemWithItsKey(t *testing.T) {
	text := baseConfig + `  vip:
    export_only: true
    coupon: {discount_type: percent, amount: 10, expiry: {days: 3}}
daemon:
  listen: "nonsense"
jobs:
  Bad:
    campaign: welcome
    every: 1h
    source: {type: csv, path: x}
  nocampaign:
    schedule: "0 9 * * *"
    source: {type: new_customers}
  unknown:
    campaign: nope
    every: 1h
    source: {type: new_customers}
  exported:
    campaign: vip
    every: 1h
    source: {type: new_customers}
  both:
    campaign: welcome
    schedule: "0 9 * * *"
    every: 1h
    source: {type: new_customers}
  badcron:
    campaign: welcome
    schedule: "61 * * * *"
    source: {type: new_customers}
  wrongkey:
    campaign: welcome
    every: 1h
    source: {type: new_customers, min_days: 3}
  window:
    campaign: welcome
    every: 1h
    source: {type: inactive_customers, min_days: 90, max_days: 60}
  hook:
    campaign: welcome
    every: 1h
    source: {type: webhook, topics: [product.created]}
  notype:
    campaign: welcome
    every: 1h
    source: {path: x}
  supp:
    campaign: welcome
    every: 1h
    suppression_file: missing.txt
    source: {type: new_customers}
  caps:
    campaign: welcome
    every: 1h
    max_per_day: -1
    source: {type: new_customers}
`
	_, err := parseTest(t, "", text, nil)
	if err == nil {
		t.Fatal("want problems")
	}
	problems := strings.Join(problemsOf(t, err), "\n")
	for _, want := range []string{
		"daemon.listen: must be host:port",
		"jobs.Bad: job names are",
		"jobs.nocampaign.campaign: is required",
		`jobs.unknown.campaign: unknown campaign "nope"`,
		"jobs.exported.campaign: campaign \"vip\" is export_only",
		"jobs.both.every: set either schedule or every",
		"jobs.badcron.schedule: schedule \"61 * * * *\"",
		"jobs.wrongkey.source.min_days: is for inactive_customers sources",
		"jobs.window.source.max_days: must be more than min_days",
		`jobs.hook.source.topics: "product.created"`,
		"daemon.webhook_secret: is required by webhook jobs",
		"jobs.notype.source.type: is required",
		"jobs.supp.suppression_file:",
		"jobs.caps.max_per_day: must be >= 0",
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	// Every problem carries its line in the file.
	for _, line := range strings.Split(problems, "\n") {
		if strings.Contains(line, "jobs.") && !strings.HasPrefix(line, "couponbridge.yaml:") {
			t.Errorf("problem without file: %q", line)
		}
	}
}

func TestJobsConfigUnknownKeyIsRejectedWithSuggestion(t *testing.T) {
	text := baseConfig + `jobs:
  welcome:
    campaign: welcome
    every: 1h
    max_per_dya: 3
    source: {type: new_customers}
`
	_, err := parseTest(t, "", text, nil)
	if err == nil || !strings.Contains(err.Error(), `jobs.welcome.max_per_dya: unknown key (did you mean "max_per_day"?)`) {
		t.Errorf("err = %v, want the unknown key with a suggestion", err)
	}
}

func TestJobsConfigWebhookSecretFromFileAndRedacted(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.secret"), []byte("s3cr3t-hook\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := baseConfig + `daemon:
  webhook_secret_file: hook.secret
jobs:
  hook:
    campaign: welcome
    every: 5m
    source: {type: webhook}
`
	cfg := mustParse(t, dir, text, nil)
	if cfg.Daemon.WebhookSecret.Reveal() != "s3cr3t-hook" {
		t.Errorf("secret = %q, want the file's trimmed content", cfg.Daemon.WebhookSecret.Reveal())
	}
	if s := cfg.Daemon.WebhookSecret.String(); strings.Contains(s, "s3cr3t") {
		t.Errorf("secret prints as %q", s)
	}
}

// TestDaemonJobSetTracksAndRemindsAsConfigured: the daemon's job set syncs
// every campaign periodically (daemon.track_every, default 1h) and sends
// the reminders of the campaigns that have one, even without any job;
// track_every: 0 turns tracking off.
func TestDaemonJobSetTracksAndRemindsAsConfigured(t *testing.T) {
	dir := t.TempDir()
	ledger, err := campaign.OpenLedger(t.Context(), filepath.Join(dir, "ledger.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	withReminder := strings.Replace(baseConfig, "        days: 30\n", "        days: 30\n    reminder:\n      days_before_expiry: 3\n", 1)

	cfg, err := parseTest(t, dir, withReminder, nil)
	if err != nil {
		t.Fatal(err)
	}
	set, err := cfg.jobSet(t.Context(), ledger, newProcessClients(ledger, nil, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if set.Tracker == nil || set.TrackEvery != time.Hour {
		t.Fatalf("tracker %v every %s; want a tracker every 1h by default", set.Tracker, set.TrackEvery)
	}
	if set.Tracker.Reminders == nil || set.Tracker.Reminded["welcome"].Spec.DaysBeforeExpiry != 3 {
		t.Errorf("want the welcome reminder (3 days) wired, got %+v", set.Tracker.Reminded)
	}

	cfg, err = parseTest(t, dir, baseConfig+"daemon:\n  track_every: 0s\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	set, err = cfg.jobSet(t.Context(), ledger, newProcessClients(ledger, nil, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.Tracker != nil {
		t.Errorf("track_every: 0 still built a tracker")
	}

	_, err = parseTest(t, dir, baseConfig+"daemon:\n  track_every: 10s\n", nil)
	if got := strings.Join(problemsOf(t, err), "\n"); !strings.Contains(got, "daemon.track_every: must be at least 1m") {
		t.Errorf("want track_every: 10s refused, got:\n%s", got)
	}
}
