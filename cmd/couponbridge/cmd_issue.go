package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// issueOptions are the flags of issue.
type issueOptions struct {
	Campaign   string
	Recipients string
	DryRun     bool
	Strict     bool
	Count      int
	Rejects    string
}

// AddFlags registers the flags of issue.
func (o *issueOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Campaign, "campaign", "", "the campaign `NAME` (a key of campaigns: in the configuration)")
	fs.StringVar(&o.Recipients, "recipients", "", "recipients CSV `FILE` (header row; email required, first_name, last_name, other columns for templates)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the plan and write nothing anywhere: no ledger, no store request, no email, no rejects file")
	fs.BoolVar(&o.Strict, "strict", false, "do nothing at all if any row of the list is rejected")
	fs.IntVar(&o.Count, "count", 0, "number of codes of an export-only campaign (`N`; raising it later creates the difference)")
	fs.StringVar(&o.Rejects, "rejects", "", "write rejected rows to `PATH` (default: next to the list, LIST.rejects.csv)")
}

// exportOnlyWarning is printed whenever an export-only campaign is issued.
const exportOnlyWarning = `Warning: campaign %q is export-only. Its codes are not tied to an email address:
anyone who holds one can use it, once. Hand them out with care and keep the exported file private.
`

// issueCommand creates and emails the coupons of a campaign.
func issueCommand() *command {
	var o issueOptions
	return &command{
		Name:    "issue",
		Summary: "Create one-time coupons for a campaign and email each code to its recipient",
		Usage: `couponbridge issue --campaign NAME --recipients FILE.csv [--dry-run] [--strict] [--rejects PATH]
couponbridge issue --campaign NAME --count N [--dry-run]     (export-only campaigns)

Runs the campaign's pipeline, with the ledger as the source of truth:
plan (a code per recipient, recorded before anything is sent), create the
coupons in batches at the configured rate, read them back and check them,
and email each verified code. Every coupon is restricted to its
recipient's email, usable once, and expires.

Running the same command again is always safe: recipients already in the
campaign are not issued twice, and a run that was killed or interrupted is
finished. Rejected rows of the list are reported with their line and
written to a rejects file next to the list; they never stop the good rows
unless --strict is given.

On a terminal a progress bar shows each stage with its rate and ETA (and
replaces the info log lines, which --log-level info brings back);
otherwise a progress line is logged every few seconds.

Export-only campaigns create --count codes that are not tied to an email
(for influencers or flyers); get them with 'couponbridge export'.

When another couponbridge process holds the ledger (a job run, a sync, the
daemon), issue fails at once (exit 1); with --wait DURATION it waits up to
that long for the ledger instead.

Examples:
  couponbridge issue --campaign welcome --recipients signups.csv --dry-run
  couponbridge issue --campaign welcome --recipients signups.csv
  couponbridge issue --campaign influencers --count 200`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			return runIssue(ctx, env, &o, args)
		},
	}
}

func runIssue(ctx context.Context, env *cliEnv, o *issueOptions, args []string) error {
	if len(args) > 0 {
		return usageErrorf("issue takes no arguments, got %q (use --campaign and --recipients)", args[0])
	}
	if o.Campaign == "" {
		return usageErrorf("--campaign NAME is required")
	}
	cfg, err := env.loadConfigFor(useStore | useSMTPPassword)
	if err != nil {
		return err
	}
	return issueWithConfig(ctx, env, cfg, o)
}

// issueWithConfig runs issue with a configuration already loaded (the demo
// builds its own).
func issueWithConfig(ctx context.Context, env *cliEnv, cfg *Config, o *issueOptions) error {
	cc, err := cfg.lookupCampaign(o.Campaign)
	if err != nil {
		return err
	}
	wait, err := env.ledgerWait(0)
	if err != nil {
		return err
	}
	if cc.ExportOnly {
		if o.Recipients != "" {
			return usageErrorf("campaign %q is export-only: it takes --count N, not --recipients", o.Campaign)
		}
		if o.Count <= 0 {
			return usageErrorf("campaign %q is export-only: --count N (the number of codes) is required", o.Campaign)
		}
		if o.Strict || o.Rejects != "" {
			return usageErrorf("--strict and --rejects are about a recipients list; campaign %q is export-only", o.Campaign)
		}
		fmt.Fprintf(env.Stderr, exportOnlyWarning, o.Campaign)
	} else {
		if o.Recipients == "" {
			return usageErrorf("--recipients FILE.csv is required")
		}
		if o.Count != 0 {
			return usageErrorf("--count is only for export-only campaigns; campaign %q takes its recipients from --recipients", o.Campaign)
		}
	}
	camp, err := cfg.campaign(o.Campaign, o.Count)
	if err != nil {
		return err
	}
	logger := pipelineLogger(env, cfg)
	opts := cfg.issueOptions(logger)

	var src campaign.RecipientSource
	var rr *campaign.RecipientReader
	if !cc.ExportOnly {
		if err := checkRecipientList(env, o.Recipients, o.Strict); err != nil {
			return inputError(err)
		}
		f, r, err := openRecipients(o.Recipients, cc.Email.Fields)
		if err != nil {
			return inputError(err)
		}
		defer f.Close()
		rr, src = r, r
	}

	if o.DryRun {
		return dryRunIssue(ctx, env, cfg, camp, src, opts)
	}

	if err := os.MkdirAll(filepath.Dir(cfg.Ledger.Path), 0o700); err != nil {
		return fmt.Errorf("ledger folder: %w", err)
	}
	// On a terminal the pipeline's logger drops info lines for the bars,
	// which are not drawn yet: a user who asked to wait is told so.
	openLogger := logger
	if wait > 0 {
		openLogger = env.Logger
	}
	ledger, err := openLedgerForWrite(ctx, env, cfg.Ledger.Path, openLogger, wait)
	if err != nil {
		return err
	}
	defer ledger.Close()
	client, err := cfg.Store.newClient(logger, nil)
	if err != nil {
		return err
	}
	nameRestrictions(ctx, client, &camp, logger)
	var sender mailSender
	if !cc.ExportOnly {
		if sender, err = cfg.Mail.newLedgerSender(ctx, ledger, logger); err != nil {
			return err
		}
		defer sender.Close()
	}
	var rejects *campaign.RejectsWriter
	if rr != nil {
		path := o.Rejects
		if path == "" {
			path = campaign.RejectsPath(o.Recipients)
		}
		rejects = campaign.NewRejectsWriter(path)
		rejects.SetHeader(rr.RawHeader())
		defer rejects.Close()
		opts.Rejects = rejects.Write
	}
	prog := newProgress(env)
	opts.Progress = prog.Update
	var mail campaign.MailSender
	if sender != nil {
		mail = sender
	}
	issuer, err := campaign.NewIssuer(ledger, client.Coupons, mail, opts)
	if err != nil {
		prog.Close()
		return err
	}
	res, runErr := issuer.Run(ctx, camp, src)
	prog.Close()
	if rejects != nil {
		if err := rejects.Close(); err != nil && runErr == nil {
			runErr = err
		}
	}
	if res.Campaign != "" {
		printIssueSummary(env.Stdout, res, rejects)
	}
	if runErr != nil {
		return runErr
	}
	if res.Blocked != nil {
		// Rows are left because the store or the mail server could not be
		// reached: not a success, and the cause is the last line.
		return res.Blocked
	}
	if n := res.Failed() + res.Count(campaign.StateUnconfirmed); n > 0 {
		return &failuresError{count: n, hint: "see 'couponbridge status " + res.Campaign + "'"}
	}
	return nil
}

// pipelineLogger is the logger of the issuing pipeline. On a terminal the
// progress bar replaces its info lines (they would tear the bar), unless
// --log-level asks for them.
func pipelineLogger(env *cliEnv, cfg *Config) *slog.Logger {
	if !env.IsTerminal || env.quiet() || (env.global != nil && env.global.changed("log-level")) {
		return env.Logger
	}
	if lvl, err := parseLevel(cfg.Log.Level); err == nil && lvl < slog.LevelWarn {
		if l, err := newLogger(env.Stderr, "warn", cfg.Log.Format); err == nil {
			return l
		}
	}
	return env.Logger
}

// openRecipients opens a recipients list and checks that it has the columns
// the campaign's templates use.
func openRecipients(path string, fields []string) (*os.File, *campaign.RecipientReader, error) {
	f, err := campaign.OpenRegularFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, usageErrorf("recipients file %s does not exist", path)
		}
		return nil, nil, err
	}
	rr, err := campaign.NewRecipientReader(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	var missing []string
	for _, want := range fields {
		if !slices.Contains(rr.Fields(), want) {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		f.Close()
		return nil, nil, fmt.Errorf("%s: the campaign's templates use the column(s) %s, which the file does not have (its columns: %s)",
			path, strings.Join(missing, ", "), strings.Join(rr.RawHeader(), ", "))
	}
	return f, rr, nil
}

// checkStrict reads the whole list first and refuses it if any row is
// rejected, before anything is planned.
func checkStrict(env *cliEnv, path string) error {
	f, rr, err := openRecipients(path, nil)
	if err != nil {
		return err
	}
	defer f.Close()
	var rejects []campaign.Reject
	n := 0
	for {
		_, rej, err := rr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if rej != nil {
			n++
			if len(rejects) < 20 {
				rejects = append(rejects, *rej)
			}
		}
	}
	if n == 0 {
		return nil
	}
	for _, r := range rejects {
		fmt.Fprintf(env.Stderr, "%s:%d: %s\n", path, r.Line, r.Reason)
	}
	if n > len(rejects) {
		fmt.Fprintf(env.Stderr, "... and %d more\n", n-len(rejects))
	}
	return fmt.Errorf("--strict: %d row%s of %s rejected; nothing was done", n, plural(n), path)
}

// dryRunIssue prints what a run would do. It opens the ledger read-only,
// and only if it exists (to know who already has a code): it writes
// nothing, not even a lock file, and works beside a running process.
func dryRunIssue(ctx context.Context, env *cliEnv, cfg *Config, camp campaign.Campaign, src campaign.RecipientSource, opts campaign.IssueOptions) error {
	var ledger *campaign.Ledger
	if _, err := os.Stat(cfg.Ledger.Path); err == nil {
		l, err := campaign.OpenLedgerReadOnly(ctx, cfg.Ledger.Path, env.Logger)
		if err != nil {
			return err
		}
		defer l.Close()
		ledger = l
	}
	plan, err := campaign.DryRun(ctx, ledger, camp, src, opts)
	if err != nil {
		return err
	}
	if !camp.ExportOnly {
		plan.EstimateMail(cfg.Mail.pace(ctx, ledger, time.Now()))
	}
	return printPlan(env.Stdout, plan, camp)
}

func printPlan(w io.Writer, p *campaign.Plan, camp campaign.Campaign) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Dry run of campaign %s: nothing was written (no ledger, no store request, no email, no rejects file).\n\n", p.Campaign)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	if p.ExportOnly {
		fmt.Fprintf(tw, "Codes:\t%d to create (%d already in the campaign), export-only\n", p.New, p.Known)
	} else {
		fmt.Fprintf(tw, "Recipients:\t%d rows read, %d valid, %d rejected\n", p.Read, p.Recipients, p.Rejected)
		fmt.Fprintf(tw, "Coupons:\t%d to create (%d recipients already in the campaign)\n", p.New, p.Known)
		if p.Suppressed > 0 {
			fmt.Fprintf(tw, "Suppressed:\t%d recipients on the suppression list get nothing (couponbridge suppress list)\n", p.Suppressed)
		}
		printPlanColumns(tw, p.Columns)
	}
	if p.Unfinished > 0 {
		fmt.Fprintf(tw, "Unfinished:\t%d rows of an earlier run to carry on\n", p.Unfinished)
	}
	fmt.Fprintf(tw, "Code shape:\t%s, %.1f bits per code\n", camp.Codes.Layout(), p.CodeBits)
	fmt.Fprintf(tw, "Guessing:\tone random guess hits a live code of the campaign with odds of %s\n", campaign.FormatOdds(p.GuessProbability))
	fmt.Fprintf(tw, "Sample codes:\t%s\n", strings.Join(p.SampleCodes, "  "))
	fmt.Fprintf(tw, "Store requests:\t%d batch create + %d read-back, at most %g per second\n", p.CreateRequests, p.VerifyRequests, p.Rate)
	if !p.ExportOnly {
		fmt.Fprintf(tw, "Emails:\t%s\n", planEmails(p))
		printPlanCaps(tw, p)
	}
	fmt.Fprintf(tw, "Estimated time:\t%s\n", planEstimate(p))
	tw.Flush()
	if p.Rejected > 0 {
		fmt.Fprintf(&b, "\nRejected rows (%d", p.Rejected)
		if len(p.Rejects) < p.Rejected {
			fmt.Fprintf(&b, ", first %d shown", len(p.Rejects))
		}
		b.WriteString("):\n")
		for _, r := range p.Rejects {
			fmt.Fprintf(&b, "  line %d: %s\n", r.Line, r.Reason)
		}
	}
	payload, err := json.MarshalIndent(p.SampleCoupon, "", "  ")
	if err != nil {
		return err
	}
	b.WriteString("\nCoupon payload (first new recipient, sample code):\n")
	b.Write(payload)
	b.WriteString("\n")
	_, err = io.WriteString(w, b.String())
	return err
}

// printIssueSummary prints where the campaign stands after a run.
func printIssueSummary(w io.Writer, res campaign.RunResult, rejects *campaign.RejectsWriter) {
	var b strings.Builder
	s := res.Summary
	t := res.ThisRun
	if s.ExportOnly {
		fmt.Fprintf(&b, "Campaign %s: %d codes ready (exported), %d pending, %d failed, %d in all.\n",
			s.Campaign, s.Count(campaign.StateExported), s.Pending(), s.Failed(), s.Total)
	} else {
		fmt.Fprintf(&b, "Campaign %s: %d emailed, %d pending, %d unconfirmed, %d failed, %d recipients in all.\n",
			s.Campaign, s.Count(campaign.StateEmailed), s.Pending(), s.Count(campaign.StateUnconfirmed), s.Failed(), s.Total)
	}
	fmt.Fprintf(&b, "This run: %d planned, %d created, %d adopted after unclear answers, %d verified", t.Planned, t.Created, t.Adopted, t.Verified)
	if !s.ExportOnly {
		fmt.Fprintf(&b, ", %d emailed, %d deferred, %d unconfirmed", t.Emailed, t.Deferred, t.Unconfirmed)
	}
	fmt.Fprintf(&b, ", %d failed.\n", t.Failed)
	if t.Requeued > 0 || t.Recoded > 0 {
		fmt.Fprintf(&b, "Store retries: %d coupons sent again (the store did not have them), %d new codes (taken by other coupons).\n", t.Requeued, t.Recoded)
	}
	if t.Rejected > 0 && rejects != nil {
		fmt.Fprintf(&b, "Rejected rows: %d, written to %s.\n", t.Rejected, rejects.Path())
	}
	if t.Suppressed > 0 {
		fmt.Fprintf(&b, "Suppressed: %d recipients on the suppression list were not issued (see couponbridge suppress list).\n", t.Suppressed)
	}
	if len(s.Reasons) > 0 {
		b.WriteString("Failures by reason:\n")
		for _, r := range s.Reasons {
			fmt.Fprintf(&b, "  %6d  %-6s  %s\n", r.Count, r.Stage, oneLine(r.Reason))
		}
		fmt.Fprintf(&b, "Once the cause is fixed, finish failed rows with: couponbridge retry --campaign %s\n", s.Campaign)
	}
	if n := s.Count(campaign.StateUnconfirmed); n > 0 {
		fmt.Fprintf(&b, "%d emails are unconfirmed (a run stopped while handing them to the mail server): see 'couponbridge status %s'.\n", n, s.Campaign)
	}
	if t.Capped > 0 {
		fmt.Fprintf(&b, "%d emails held back by the mail cap (mail.smtp.per_hour / per_day): run the same command again later.\n", t.Capped)
	}
	if s.Pending() > 0 {
		b.WriteString("Some rows are still pending: run the same command again to finish them.\n")
	}
	if s.ExportOnly && s.Count(campaign.StateExported) > 0 {
		fmt.Fprintf(&b, "Get the codes with: couponbridge export %s --out codes.csv\n", s.Campaign)
	}
	_, _ = io.WriteString(w, b.String())
}
