package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/couponbridge/couponbridge/campaign"
)

// checkConfigOptions are the flags of check-config.
type checkConfigOptions struct {
	Print  bool
	Online bool
}

// AddFlags registers the flags of check-config.
func (o *checkConfigOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Print, "print", false, "print the effective configuration (defaults, environment and flags applied; secrets redacted)")
	fs.BoolVar(&o.Online, "online", false, "then contact the store and the mail server as 'couponbridge doctor' does")
}

// checkConfigCommand validates a configuration file without touching the
// store, the mail server or the ledger.
func checkConfigCommand() *command {
	var o checkConfigOptions
	return &command{
		Name:    "check-config",
		Summary: "Check a configuration file and report every problem at once",
		Usage: `couponbridge check-config [--config FILE] [--print]

Reads the configuration like every other command does (strict YAML, ${ENV}
expansion, COUPONBRIDGE_* environment overrides, *_file secrets, email
templates) and reports every problem with its file and line, or prints a
short summary. Nothing is contacted and nothing is written, unless --online
is given: then the store and the mail server are checked as by
'couponbridge doctor' (exit code 1 when a check fails).

The summary ends with the jobs: for each, its campaign, schedule (cron, on
the store's wall clock, or every), source type, last run (read from the
ledger when it exists, without writing to it, even beside the daemon) and
next run in the store's time zone, as the daemon computes it: the next slot
of the schedule after the last run; at once when a slot was missed while it
was down (one catch-up run, not one per missed slot) or the last run was
interrupted; an every job that never ran runs when the daemon starts.

Example:
  couponbridge check-config --config /etc/couponbridge/couponbridge.yaml --print`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) > 0 {
				return usageErrorf("check-config takes no arguments, got %q (use --config FILE)", args[0])
			}
			cfg, err := env.loadConfig()
			if err != nil {
				return err
			}
			if o.Print {
				b, err := yaml.Marshal(cfg)
				if err != nil {
					return err
				}
				_, err = env.Stdout.Write(b)
				return err
			}
			seen := jobRunsSeen{now: time.Now()}
			if len(cfg.Jobs) > 0 {
				seen.last, seen.err = lastJobRuns(ctx, cfg.Ledger.Path, env.Logger)
			}
			fmt.Fprint(env.Stdout, describeConfig(cfg, seen))
			if o.Online {
				fmt.Fprintln(env.Stdout)
				return runOnlineChecks(ctx, env, cfg)
			}
			return nil
		},
	}
}

// jobRunsSeen is what check-config knows of the jobs' runs, to say when
// each runs next.
type jobRunsSeen struct {
	now time.Time
	// last is the last run of each job that ran (nil with err).
	last map[string]campaign.JobRun
	// err says why the ledger could not be read.
	err error
}

// lastJobRuns reads the last run of every job from the ledger at path,
// read-only (beside a running daemon too). No ledger means no job ran.
func lastJobRuns(ctx context.Context, path string, logger *slog.Logger) (map[string]campaign.JobRun, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return map[string]campaign.JobRun{}, nil
	}
	l, err := campaign.OpenLedgerReadOnly(ctx, path, logger)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	hist, err := l.RecentJobRuns(ctx, "", 1)
	if err != nil {
		return nil, err
	}
	out := make(map[string]campaign.JobRun, len(hist))
	for _, h := range hist {
		out[h.Job] = h.Last()
	}
	return out, nil
}

// describeConfig is the summary check-config prints for a valid configuration.
func describeConfig(cfg *Config, seen jobRunsSeen) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: OK\n", cfg.src.file)
	mode, _ := cfg.Store.authMode()
	fmt.Fprintf(&b, "  store:     %s (auth %s, at most %g requests/s, batches of %d, time zone %s, %s)\n",
		cfg.Store.URL, mode, cfg.Store.Rate, cfg.Store.BatchSize, cfg.Store.Timezone, cfg.Store.Currency)
	switch cfg.Mail.Transport {
	case "outbox":
		fmt.Fprintf(&b, "  mail:      outbox folder %s (nothing is sent)\n", cfg.Mail.OutboxDir)
	default:
		fmt.Fprintf(&b, "  mail:      smtp %s:%d (%s), from %s\n", cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.TLS, cfg.Mail.From.Address)
	}
	fmt.Fprintf(&b, "  ledger:    %s\n", cfg.Ledger.Path)
	names := make([]string, 0, len(cfg.Campaigns))
	for n := range cfg.Campaigns {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		b.WriteString("  campaigns: none\n")
	}
	for _, n := range names {
		cc := cfg.Campaigns[n]
		kind := "emailed"
		if cc.ExportOnly {
			kind = "export-only"
		}
		g, err := campaign.NewCodeGenerator(cc.codeSpec(), nil)
		shape := ""
		if err == nil {
			shape = fmt.Sprintf("codes %s, %.1f bits", g.Layout(), g.Bits())
		}
		fmt.Fprintf(&b, "  campaign:  %s (%s, %s %s %s, %s)\n", n, kind, cc.Coupon.Amount, cc.Coupon.DiscountType, expiryText(cc.Coupon.Expiry), shape)
	}
	describeJobs(&b, cfg, seen)
	return b.String()
}

// describeJobs appends the jobs' table to a check-config summary.
func describeJobs(b *strings.Builder, cfg *Config, seen jobRunsSeen) {
	if len(cfg.Jobs) == 0 {
		b.WriteString("  jobs:      none\n")
		return
	}
	loc := cfg.Store.Location()
	fmt.Fprintf(b, "  jobs:      %d (times in %s)\n", len(cfg.Jobs), loc)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    JOB\tCAMPAIGN\tSCHEDULE\tSOURCE\tLAST RUN\tNEXT RUN")
	for _, name := range cfg.jobNames() {
		j := cfg.Jobs[name]
		sched, err := campaign.ParseSchedule(j.Schedule, j.Every, loc)
		next := "-"
		if err == nil {
			next = nextRunText(sched, j.Every != 0, seen, name, loc)
		}
		last := "?"
		if seen.err == nil {
			last = "never"
			if r, ok := seen.last[name]; ok {
				last = r.Started.In(loc).Format(checkTimeLayout) + " " + r.Outcome
			}
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\n", name, j.Campaign, scheduleText(j), j.Source.Type, last, next)
	}
	tw.Flush()
	if seen.err != nil {
		fmt.Fprintf(b, "  note:      cannot read the job runs from the ledger (%v): next runs assume no job has run yet\n", seen.err)
	}
}

const checkTimeLayout = campaign.HumanTimeLayout

// nextRunText says when the daemon runs a job next, as its scheduling loop
// decides from the job's last recorded run.
func nextRunText(s campaign.Schedule, interval bool, seen jobRunsSeen, job string, loc *time.Location) string {
	last := seen.last[job] // zero when the job never ran, or seen.err
	switch {
	case last.Started.IsZero() && interval:
		return "when the daemon starts (first run)"
	case last.Outcome == campaign.RunInterrupted:
		return "when the daemon starts (resumes the interrupted run)"
	}
	due, next := s.Due(last.Started, seen.now)
	switch {
	case due && last.Outcome == campaign.RunRunning:
		return "when the run in progress ends"
	case due:
		return fmt.Sprintf("overdue since %s: once, when the daemon starts", s.Next(last.Started).In(loc).Format(checkTimeLayout))
	case next.IsZero():
		return "never (the schedule has no next slot)"
	}
	return next.In(loc).Format(checkTimeLayout)
}

// scheduleText is a job's schedule as configured.
func scheduleText(j *JobConfig) string {
	if j.Every != 0 {
		return "every " + shortDuration(j.Every)
	}
	return j.Schedule
}

// shortDuration prints 1h rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func expiryText(e ExpiryConfig) string {
	if e.Date != "" {
		return "until " + e.Date
	}
	return fmt.Sprintf("for %d days", e.Days)
}
