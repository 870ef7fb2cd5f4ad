package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo"
)

// DaemonConfig is the daemon section: how `couponbridge daemon` serves.
type DaemonConfig struct {
	// Listen is the address of /healthz, /readyz, /metrics and the webhook
	// route. Keep it on loopback behind a reverse proxy that terminates TLS.
	Listen string `yaml:"listen"`
	// ShutdownTimeout bounds how long SIGTERM waits for job runs to finish
	// their batch in flight.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// WebhookSecret is the secret of the WooCommerce webhooks (WooCommerce >
	// Settings > Advanced > Webhooks); required by webhook jobs.
	WebhookSecret Secret `yaml:"webhook_secret"`
	// WebhookSecretFile is read (and trimmed) into WebhookSecret.
	WebhookSecretFile string `yaml:"webhook_secret_file"`
	// TrackEvery is how often the daemon syncs every campaign with the
	// store and sends due reminders (also once at start); 0 turns it off.
	TrackEvery time.Duration `yaml:"track_every"`
	// PublicURL is where the shop's web server forwards to the daemon, such
	// as https://shop.example.com/couponbridge; set, every email carries
	// its recipient's one-click unsubscribe link on it (config_unsubscribe.go).
	PublicURL string `yaml:"public_url"`
	// UnsubscribeSecret signs the unsubscribe links; required with PublicURL.
	UnsubscribeSecret Secret `yaml:"unsubscribe_secret"`
}

// DefaultDaemonConfig returns the daemon section's defaults.
func DefaultDaemonConfig() DaemonConfig {
	return DaemonConfig{Listen: campaign.DefaultListenAddress, ShutdownTimeout: campaign.DefaultShutdownTimeout,
		TrackEvery: time.Hour}
}

// UnmarshalYAML applies DefaultDaemonConfig before the section's values.
func (d *DaemonConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*d = DefaultDaemonConfig()
	type plain DaemonConfig
	return unmarshal((*plain)(d))
}

// JobConfig is one scheduled job (jobs.NAME): when it runs, where its
// recipients come from, who is left out, and the campaign it issues.
type JobConfig struct {
	// Campaign names a campaign of the campaigns section (not export_only).
	Campaign string `yaml:"campaign"`
	// Schedule is a cron expression (minute hour day month weekday) on the
	// store's wall clock; Every is an interval instead. Exactly one is set.
	Schedule string        `yaml:"schedule"`
	Every    time.Duration `yaml:"every"`
	Source   SourceConfig  `yaml:"source"`

	// SuppressionFile lists addresses and @domains never to issue to.
	SuppressionFile string `yaml:"suppression_file"`
	// CooldownDays also leaves out anyone who got a coupon of any campaign
	// in the last N days.
	CooldownDays int `yaml:"cooldown_days"`
	// SkipPaying leaves out customers who already have a paid order.
	// Default: true for new_customers and for webhook jobs consuming only
	// customer.created; false otherwise.
	SkipPaying *bool `yaml:"skip_paying"`
	// MaxPerRun caps the new recipients of one run (default 1000).
	MaxPerRun int `yaml:"max_per_run"`
	// MaxPerDay caps the recipients planned in the campaign per store day,
	// over every job of the campaign (0: no daily cap).
	MaxPerDay int `yaml:"max_per_day"`
}

// SourceConfig is where a job's recipients come from (jobs.NAME.source).
type SourceConfig struct {
	// Type is csv, new_customers, inactive_customers or webhook.
	Type string `yaml:"type"`

	// csv: a file, or a folder of *.csv files dropped by another tool.
	Path string `yaml:"path"`
	// DoneDir receives csv files once all their rows are planned.
	DoneDir string `yaml:"done_dir"`
	// SettleTime: a dropped file is read once unchanged for this long.
	SettleTime time.Duration `yaml:"settle_time"`

	// new_customers: the first run's look-back (default 24h).
	Lookback time.Duration `yaml:"lookback"`

	// inactive_customers: last paid order between MaxDays and MinDays ago,
	// at least MinOrders paid orders.
	MinDays   int `yaml:"min_days"`
	MaxDays   int `yaml:"max_days"`
	MinOrders int `yaml:"min_orders"`
	// Analytics is auto (use WooCommerce Analytics when the store has it,
	// else scan orders) or off (always scan orders).
	Analytics string `yaml:"analytics"`

	// webhook: the topics queued for this job (default customer.created).
	Topics []string `yaml:"topics"`
}

// Source types.
const (
	sourceCSV      = "csv"
	sourceNew      = "new_customers"
	sourceInactive = "inactive_customers"
	sourceWebhook  = "webhook"
)

// keys of a source section that only some types take.
var sourceKeys = map[string][]string{
	"path": {sourceCSV}, "done_dir": {sourceCSV}, "settle_time": {sourceCSV},
	"lookback": {sourceNew},
	"min_days": {sourceInactive}, "max_days": {sourceInactive}, "min_orders": {sourceInactive}, "analytics": {sourceInactive},
	"topics": {sourceWebhook},
}

var jobNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// jobNames returns the job names, sorted.
func (c *Config) jobNames() []string {
	names := make([]string, 0, len(c.Jobs))
	for n := range c.Jobs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// resolveJobPaths makes the file paths of the daemon and jobs sections
// absolute, relative to dir (the configuration file's folder).
func (c *Config) resolveJobPaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Daemon.WebhookSecretFile)
	for _, j := range c.Jobs {
		if j == nil {
			continue
		}
		abs(&j.SuppressionFile)
		abs(&j.Source.Path)
		abs(&j.Source.DoneDir)
	}
}

// validateJobs checks the daemon and jobs sections and reads the webhook
// secret file. It runs after the store section was validated (time zone).
func (c *Config) validateJobs(v *validator) {
	d := &c.Daemon
	if d.Listen == "" {
		d.Listen = campaign.DefaultListenAddress
	}
	if _, port, err := net.SplitHostPort(d.Listen); err != nil {
		v.errorf("daemon.listen", "must be host:port such as 127.0.0.1:9464, got %q", d.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		v.errorf("daemon.listen", "port must be a number 0..65535, got %q", port)
	}
	if d.ShutdownTimeout == 0 {
		d.ShutdownTimeout = campaign.DefaultShutdownTimeout
	}
	if d.ShutdownTimeout < 0 {
		v.errorf("daemon.shutdown_timeout", "must be > 0")
	}
	if d.TrackEvery != 0 && d.TrackEvery < time.Minute {
		v.errorf("daemon.track_every", "must be at least 1m (or 0 to turn tracking off), got %s", d.TrackEvery)
	}
	if d.WebhookSecretFile != "" {
		if d.WebhookSecret != "" {
			v.errorf("daemon.webhook_secret_file", "set either webhook_secret or webhook_secret_file, not both")
		} else if b, err := os.ReadFile(d.WebhookSecretFile); err != nil {
			v.errorf("daemon.webhook_secret_file", "%v", pathError(err))
		} else if s := strings.TrimSpace(string(b)); s == "" {
			v.errorf("daemon.webhook_secret_file", "%s is empty", d.WebhookSecretFile)
		} else {
			d.WebhookSecret = Secret(s)
		}
	}
	d.validateUnsubscribe(v)

	for _, name := range c.jobNames() {
		j := c.Jobs[name]
		path := "jobs." + name
		if !jobNameRE.MatchString(name) {
			v.errorf(path, "job names are 1-64 lower-case letters, digits, '-' and '_', starting with a letter or digit")
		}
		if j == nil {
			v.errorf(path, "empty job: it needs at least campaign, schedule (or every) and source")
			continue
		}
		j.validate(v, path, c)
	}
}

func (j *JobConfig) validate(v *validator, path string, c *Config) {
	switch cc, ok := c.Campaigns[j.Campaign]; {
	case j.Campaign == "":
		v.errorf(path+".campaign", "is required (a name from the campaigns section)")
	case !ok || cc == nil:
		names := make([]string, 0, len(c.Campaigns))
		for n := range c.Campaigns {
			names = append(names, n)
		}
		v.errorf(path+".campaign", "unknown campaign %q (campaigns: %s)", j.Campaign, joinSorted(names))
	case cc.ExportOnly:
		v.errorf(path+".campaign", "campaign %q is export_only; a job issues coupons to people by email", j.Campaign)
	}
	switch {
	case j.Schedule != "" && j.Every != 0:
		v.errorf(path+".every", "set either schedule or every, not both")
	case j.Schedule == "" && j.Every == 0:
		v.errorf(path+".schedule", "is required: a cron expression such as \"0 9 * * *\" (store time), or every: 1h")
	default:
		if _, err := campaign.ParseSchedule(j.Schedule, j.Every, c.Store.Location()); err != nil {
			key := path + ".schedule"
			if j.Every != 0 {
				key = path + ".every"
			}
			v.errorf(key, "%v", err)
		}
	}
	if j.SuppressionFile != "" {
		if _, err := campaign.LoadSuppressionList(j.SuppressionFile); err != nil {
			v.errorf(path+".suppression_file", "%v", err)
		}
	}
	for _, n := range []struct {
		key string
		val int
	}{{"cooldown_days", j.CooldownDays}, {"max_per_run", j.MaxPerRun}, {"max_per_day", j.MaxPerDay}} {
		if n.val < 0 {
			v.errorf(path+"."+n.key, "must be >= 0")
		}
	}
	j.Source.validate(v, path+".source", c)
}

func (s *SourceConfig) validate(v *validator, path string, c *Config) {
	switch s.Type {
	case sourceCSV, sourceNew, sourceInactive, sourceWebhook:
	case "":
		v.errorf(path+".type", "is required: csv, new_customers, inactive_customers or webhook")
		return
	default:
		v.errorf(path+".type", "must be csv, new_customers, inactive_customers or webhook, got %q", s.Type)
		return
	}
	for key, types := range sourceKeys {
		if v.has(path+"."+key) && !slices.Contains(types, s.Type) {
			v.errorf(path+"."+key, "is for %s sources, not %s", strings.Join(types, ", "), s.Type)
		}
	}
	switch s.Type {
	case sourceCSV:
		if s.Path == "" {
			v.errorf(path+".path", "is required: a CSV file, or a folder where sign-ups are dropped")
			break
		}
		// Not checked for existence here: a drop folder may appear later,
		// and a run whose path is missing fails with the path named.
		if s.SettleTime < 0 {
			v.errorf(path+".settle_time", "must be >= 0")
		}
	case sourceNew:
		if s.Lookback < 0 {
			v.errorf(path+".lookback", "must be > 0, such as 24h")
		}
	case sourceInactive:
		if s.MinDays == 0 {
			s.MinDays = campaign.DefaultMinDays
		}
		if s.MaxDays == 0 {
			s.MaxDays = campaign.DefaultMaxDays
		}
		if s.MinOrders == 0 {
			s.MinOrders = campaign.DefaultMinOrders
		}
		if s.MinDays < 1 {
			v.errorf(path+".min_days", "must be >= 1")
		}
		if s.MaxDays <= s.MinDays {
			v.errorf(path+".max_days", "must be more than min_days (%d)", s.MinDays)
		}
		if s.MinOrders < 1 {
			v.errorf(path+".min_orders", "must be >= 1")
		}
		switch s.Analytics {
		case "", "auto", "off":
		default:
			v.errorf(path+".analytics", "must be auto or off, got %q", s.Analytics)
		}
	case sourceWebhook:
		for _, t := range s.Topics {
			if t != campaign.TopicCustomerCreated && t != campaign.TopicOrderCreated {
				v.errorf(path+".topics", "%q is not a topic a job consumes (customer.created, order.created)", t)
			}
		}
		if c.Daemon.WebhookSecret == "" {
			v.errorf("daemon.webhook_secret", "is required by webhook jobs (the secret set on the webhook in WooCommerce; or webhook_secret_file)")
		}
	}
}

// skipPaying is the job's welcome rule with its default.
func (j *JobConfig) skipPaying() bool {
	if j.SkipPaying != nil {
		return *j.SkipPaying
	}
	switch j.Source.Type {
	case sourceNew:
		return true
	case sourceWebhook:
		return !slices.Contains(j.Source.Topics, campaign.TopicOrderCreated)
	}
	return false
}

// jobDeps is what the jobs of a configuration run against.
type jobDeps struct {
	ledger *campaign.Ledger
	client *woo.Client
}

// jobs builds the campaign package's jobs from a validated configuration.
func (c *Config) jobs(d jobDeps) ([]campaign.Job, map[string][]string, error) {
	var out []campaign.Job
	topics := map[string][]string{}
	var errs []error
	for _, name := range c.jobNames() {
		j := c.Jobs[name]
		camp, err := c.campaign(j.Campaign, 0)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", name, err))
			continue
		}
		sched, err := campaign.ParseSchedule(j.Schedule, j.Every, c.Store.Location())
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", name, err))
			continue
		}
		rules := campaign.Rules{
			SuppressionFile: j.SuppressionFile,
			CooldownDays:    j.CooldownDays,
			SkipPaying:      j.skipPaying(),
			MaxPerRun:       j.MaxPerRun,
			MaxPerDay:       j.MaxPerDay,
		}
		var src campaign.Source
		s := j.Source
		switch s.Type {
		case sourceCSV:
			src = &campaign.CSVSource{Path: s.Path, DoneDir: s.DoneDir, SettleTime: s.SettleTime}
		case sourceNew:
			src = &campaign.NewCustomersSource{Customers: d.client.Customers, Lookback: s.Lookback}
		case sourceInactive:
			in := &campaign.InactiveCustomersSource{Orders: d.client.Orders, MinDays: s.MinDays, MaxDays: s.MaxDays, MinOrders: s.MinOrders}
			if s.Analytics != "off" {
				in.Report = d.client.Reports
			}
			src = in
			// Win-back: never someone who bought within min_days, whatever
			// the report says.
			rules.RecentDays = s.MinDays
		case sourceWebhook:
			ws := &campaign.WebhookSource{Ledger: d.ledger, Job: name}
			if rules.SkipPaying {
				// A delivery may wait in the queue while the customer orders.
				ws.Customers = d.client.Customers
			}
			src = ws
			topics[name] = s.Topics
		default:
			errs = append(errs, fmt.Errorf("job %s: unknown source type %q", name, s.Type))
			continue
		}
		job := campaign.Job{Name: name, Campaign: camp, Schedule: sched, Source: src, Rules: rules}
		if rules.SkipPaying {
			// Paid as the tool means it (processing, completed, on-hold), by
			// user id and billing email, not is_paying_customer.
			job.Paid = &campaign.PaidCheck{Orders: d.client.Orders}
		}
		out = append(out, job)
	}
	return out, topics, errors.Join(errs...)
}

// jobSet builds everything the jobs need: the store client and the mail
// sender (the process's own, from clients) and the issuing pipeline. The
// returned set's Close releases its use of the mail sender.
func (c *Config) jobSet(ctx context.Context, ledger *campaign.Ledger, clients *processClients, logger *slog.Logger) (*campaign.JobSet, error) {
	client, err := clients.storeClient(&c.Store)
	if err != nil {
		return nil, err
	}
	set := &campaign.JobSet{Loc: c.Store.Location(), WebhookSecret: c.Daemon.WebhookSecret.Reveal(), Store: client}
	reminded := c.remindedCampaigns()
	if len(c.Jobs) == 0 && len(reminded) == 0 {
		set.Tracker, set.TrackEvery = c.tracker(ledger, client, nil, nil, logger)
		return set, nil
	}
	sender, release, err := clients.mailSender(ctx, &c.Mail)
	if err != nil {
		return nil, err
	}
	set.Tracker, set.TrackEvery = c.tracker(ledger, client, sender, reminded, logger)
	set.Close = release
	if len(c.Jobs) == 0 {
		return set, nil
	}
	issuer, err := campaign.NewIssuer(ledger, client.Coupons, sender, c.issueOptions(logger))
	if err != nil {
		release()
		return nil, err
	}
	set.Issue = func(ctx context.Context, camp campaign.Campaign) error {
		nameRestrictions(ctx, client, &camp, logger)
		res, err := issuer.Run(ctx, camp, nil)
		if err == nil && res.Blocked != nil {
			// Rows left because the store or the mail server could not be
			// reached: the job run failed, whatever it planned.
			err = res.Blocked
		}
		return err
	}
	jobs, topics, err := c.jobs(jobDeps{ledger: ledger, client: client})
	if err != nil {
		release()
		return nil, err
	}
	set.Jobs, set.WebhookTopics = jobs, topics
	if err := set.Validate(); err != nil {
		release()
		return nil, err
	}
	return set, nil
}

// remindedCampaigns returns the configured campaigns that have a reminder.
func (c *Config) remindedCampaigns() map[string]campaign.ReminderCampaign {
	out := map[string]campaign.ReminderCampaign{}
	for name, cc := range c.Campaigns {
		if cc == nil || cc.Reminder == nil || cc.ExportOnly {
			continue
		}
		camp, err := c.campaign(name, 0)
		if err != nil {
			continue // validation reported it
		}
		out[name] = campaign.ReminderCampaign{Campaign: camp, Spec: cc.Reminder.spec()}
	}
	return out
}

// tracker builds the daemon's periodic tracking pass (sync, then due
// reminders), or nil when daemon.track_every is 0. sender may be nil when
// no campaign has a reminder.
func (c *Config) tracker(ledger *campaign.Ledger, client *woo.Client, sender mailSender, reminded map[string]campaign.ReminderCampaign, logger *slog.Logger) (*campaign.Tracker, time.Duration) {
	if c.Daemon.TrackEvery <= 0 {
		return nil, 0
	}
	syncer := c.syncer(ledger, client, logger, nil)
	t := &campaign.Tracker{Syncer: syncer, Reminded: reminded, Logger: logger}
	if sender != nil && len(reminded) > 0 {
		t.Reminders = &campaign.Reminders{Syncer: syncer, Mail: sender, Location: c.Store.Location(), Logger: logger}
	}
	return t, c.Daemon.TrackEvery
}
