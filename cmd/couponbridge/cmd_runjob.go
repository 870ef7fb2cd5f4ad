package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

// runJobCommand runs one job once, for system cron.
func runJobCommand() *command {
	return &command{
		Name:    "run-job",
		Summary: "Run one scheduled job once, now (for system cron instead of the daemon)",
		Usage: `couponbridge run-job NAME [--config FILE]

Runs the job NAME of the configuration's jobs section once: reads its source,
applies its suppression rules and caps, plans the new recipients in the
campaign, and creates and emails their coupons. It also finishes what an
earlier, interrupted run of the campaign left. The run is recorded in the
ledger like a daemon's run (counts, watermark), so the next run continues
where this one ended. The job's schedule is ignored.

When another couponbridge process holds the ledger (a run of another job
started at the same minute, an issue, a sync), run-job waits up to 10 minutes
for it to finish, then gives up with exit 1; --wait DURATION changes how
long, --wait 0 fails at once. It cannot run beside the daemon, which holds
the ledger as long as it runs.

Example (crontab, store time zone and cron's time zone alike):
  */15 * * * *  couponbridge run-job welcome --config /etc/couponbridge/couponbridge.yaml`,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			return runJob(ctx, env, args)
		},
	}
}

func runJob(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) != 1 {
		return usageErrorf("run-job takes one job name")
	}
	name := args[0]
	cfg, err := env.loadConfig()
	if err != nil {
		return err
	}
	if _, ok := cfg.Jobs[name]; !ok {
		if len(cfg.Jobs) == 0 {
			return usageErrorf("unknown job %q: the configuration has no jobs section", name)
		}
		return usageErrorf("unknown job %q: the configuration defines %s", name, joinSorted(cfg.jobNames()))
	}
	wait, err := env.ledgerWait(cronLedgerWait)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Ledger.Path), 0o700); err != nil {
		return fmt.Errorf("ledger folder: %w", err)
	}
	ledger, err := openLedgerForWrite(ctx, env, cfg.Ledger.Path, env.Logger, wait)
	if err != nil {
		return err
	}
	defer ledger.Close()
	clients := newProcessClients(ledger, env.Logger, nil)
	defer clients.Close()
	set, err := cfg.jobSet(ctx, ledger, clients, env.Logger)
	if err != nil {
		return err
	}
	if set.Close != nil {
		defer set.Close()
	}
	run, err := campaign.RunJob(ctx, ledger, set, name, env.Logger, nil)
	if run.ID != 0 {
		printJobRun(env.Stdout, run)
	}
	if err != nil {
		return err
	}
	if run.Counts.Failed > 0 {
		return &failuresError{count: run.Counts.Failed, hint: "see 'couponbridge status " + run.Campaign + "'"}
	}
	return nil
}

// printJobRun prints the result of a job run.
func printJobRun(w io.Writer, r campaign.JobRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "job\t%s (campaign %s, source %s)\n", r.Job, r.Campaign, r.Source)
	fmt.Fprintf(tw, "outcome\t%s in %s\n", r.Outcome, r.Ended.Sub(r.Started).Round(time.Millisecond))
	c := r.Counts
	fmt.Fprintf(tw, "found\t%d\n", c.Found)
	if c.Rejected > 0 {
		fmt.Fprintf(tw, "rejected\t%d (bad addresses, see the log)\n", c.Rejected)
	}
	fmt.Fprintf(tw, "suppressed\t%d\n", c.Suppressed)
	if c.Capped > 0 {
		fmt.Fprintf(tw, "capped\t%d (left for a later run by max_per_run / max_per_day)\n", c.Capped)
	}
	fmt.Fprintf(tw, "planned\t%d\n", c.Planned)
	fmt.Fprintf(tw, "issued\t%d\n", c.Issued)
	fmt.Fprintf(tw, "failed\t%d\n", c.Failed)
	if r.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", r.Error)
	}
	_ = tw.Flush()
}
