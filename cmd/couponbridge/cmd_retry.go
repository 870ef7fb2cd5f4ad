package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// retryOptions are the flags of retry.
type retryOptions struct {
	Campaign string
	Emails   []string
	Stage    string
}

// AddFlags registers the flags of retry.
func (o *retryOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Campaign, "campaign", "", "campaign `NAME` (required)")
	fs.StringSliceVar(&o.Emails, "email", nil, "only the failed row of this recipient `ADDRESS` (repeat or separate with commas)")
	fs.StringVar(&o.Stage, "stage", "", "only rows that failed at this `STAGE`: create, verify or email")
}

// retryCommand finishes failed rows once their cause is fixed.
func retryCommand() *command {
	var o retryOptions
	return &command{
		Name:    "retry",
		Summary: "Take failed rows back through the stage they failed in, and finish them",
		Usage: `couponbridge retry --campaign NAME [--email ADDRESS]... [--stage create|verify|email]

Failed rows stay failed: 'issue' does not touch them again. Once the cause
is fixed (a mailbox that bounced works again, a coupon corrected by hand in
the store, a plugin that refused coupons reconfigured), retry takes them
back through the stage they failed in, on what the store has now, and then
finishes the campaign as 'issue' would:

  create   the code is looked up in the store: absent, the coupon is created
           with the same code; found with this recipient's tags, it is
           adopted; someone else's, a new code is chosen
  verify   the coupon is read back again and emailed if it is now as asked;
           deleted or trashed, a new code (and a new expiry) is chosen
  email    the coupon is read back and the email sent again, with a new
           count of attempts

A row whose store state cannot be read now is left failed, so no coupon is
ever created twice. Retry lists what it did with each row; rows that fail
again are listed by 'couponbridge status'. It exits like issue: 0 when all
is done, 3 when rows still need review.

Examples:
  couponbridge retry --campaign welcome
  couponbridge retry --campaign welcome --email ann@example.com
  couponbridge retry --campaign welcome --stage verify`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			return runRetry(ctx, env, &o, args)
		},
	}
}

func runRetry(ctx context.Context, env *cliEnv, o *retryOptions, args []string) error {
	if len(args) > 0 {
		return usageErrorf("retry takes no arguments, got %q (use --campaign)", args[0])
	}
	if o.Campaign == "" {
		return usageErrorf("--campaign NAME is required")
	}
	filter := campaign.RetryFilter{Stage: campaign.Stage(o.Stage)}
	switch filter.Stage {
	case "", campaign.StageCreate, campaign.StageVerify, campaign.StageEmail:
	default:
		return usageErrorf("--stage must be create, verify or email, got %q", o.Stage)
	}
	for _, e := range o.Emails {
		addr, err := campaign.NormalizeEmail(e)
		if err != nil {
			return usageErrorf("--email %q: %v", e, err)
		}
		filter.Emails = append(filter.Emails, addr)
	}
	cfg, err := env.loadConfigFor(useStore | useSMTPPassword)
	if err != nil {
		return err
	}
	cc, err := cfg.lookupCampaign(o.Campaign)
	if err != nil {
		return err
	}
	ledger, logger, err := openLedgerToFinish(ctx, env, cfg, "nothing was issued, so nothing failed")
	if err != nil {
		return err
	}
	defer ledger.Close()
	sum, err := ledger.Summary(ctx, o.Campaign)
	if errors.Is(err, campaign.ErrNoCampaign) {
		return usageErrorf("campaign %q has no rows in the ledger: nothing to retry", o.Campaign)
	}
	if err != nil {
		return err
	}
	if sum.Failed() == 0 && len(filter.Emails) == 0 {
		printRetried(env.Stdout, o.Campaign, nil)
		return nil
	}
	count := 0
	if cc.ExportOnly {
		count = sum.Total // create no new codes, only finish the failed ones
	}
	camp, err := cfg.campaign(o.Campaign, count)
	if err != nil {
		return err
	}
	client, err := cfg.Store.newClient(logger, nil)
	if err != nil {
		return err
	}
	nameRestrictions(ctx, client, &camp, logger)
	var mail campaign.MailSender
	if !cc.ExportOnly {
		sender, err := cfg.Mail.newSender(logger)
		if err != nil {
			return err
		}
		defer sender.Close()
		mail = sender
	}
	opts := cfg.issueOptions(logger)
	prog := newProgress(env)
	opts.Progress = prog.Update
	issuer, err := campaign.NewIssuer(ledger, client.Coupons, mail, opts)
	if err != nil {
		prog.Close()
		return err
	}
	res, runErr := issuer.RetryFailed(ctx, camp, filter)
	prog.Close()
	printRetried(env.Stdout, o.Campaign, res.Rows)
	if res.Campaign != "" {
		printIssueSummary(env.Stdout, res.RunResult, nil)
	}
	if runErr != nil {
		return runErr
	}
	if n := res.Failed() + res.Count(campaign.StateUnconfirmed); n > 0 {
		return &failuresError{count: n, hint: "see 'couponbridge status " + o.Campaign + "'"}
	}
	return nil
}

// retryActionOrder is the order retry lists its actions in.
var retryActionOrder = []campaign.RetryAction{campaign.RetryCreate, campaign.RetryAdopt, campaign.RetryNewCode,
	campaign.RetryReadBack, campaign.RetryEmail, campaign.RetryLeft}

// printRetried lists what retry did with each row, grouped by action.
func printRetried(w io.Writer, name string, rows []campaign.RetriedRow) {
	var b strings.Builder
	if len(rows) == 0 {
		fmt.Fprintf(&b, "No failed rows to retry in campaign %s.\n", name)
		_, _ = io.WriteString(w, b.String())
		return
	}
	fmt.Fprintf(&b, "Retried failed rows of campaign %s:\n", name)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ACTION\tEMAIL\tCODE\tFAILED AT\tWHY")
	var counts []string
	for _, a := range retryActionOrder {
		n := 0
		for _, r := range rows {
			if r.Action != a {
				continue
			}
			n++
			code := r.Code
			if r.NewCode != "" {
				code += " → " + r.NewCode
			}
			why := r.Reason
			if r.Note != "" {
				why = r.Note
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", a, r.Email, code, stageText(r.Stage), oneLine(why))
		}
		if n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, a))
		}
	}
	tw.Flush()
	fmt.Fprintf(&b, "In all: %s.\n\n", strings.Join(counts, ", "))
	_, _ = io.WriteString(w, b.String())
}

func stageText(s campaign.Stage) string {
	if s == "" {
		return "-"
	}
	return string(s)
}

// openLedgerToFinish opens the ledger for a command that finishes what
// earlier runs recorded (retry, reissue): a missing ledger is a usage error
// that says why (missing), and the ledger is waited for as --wait says. It
// returns the pipeline's logger too.
func openLedgerToFinish(ctx context.Context, env *cliEnv, cfg *Config, missing string) (*campaign.Ledger, *slog.Logger, error) {
	wait, err := env.ledgerWait(0)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(cfg.Ledger.Path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, usageErrorf("no ledger at %s: %s", cfg.Ledger.Path, missing)
	}
	logger := pipelineLogger(env, cfg)
	openLogger := logger
	if wait > 0 {
		openLogger = env.Logger
	}
	ledger, err := openLedgerForWrite(ctx, env, cfg.Ledger.Path, openLogger, wait)
	if err != nil {
		return nil, nil, err
	}
	return ledger, logger, nil
}
