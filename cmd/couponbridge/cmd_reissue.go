package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// reissueOptions are the flags of reissue.
type reissueOptions struct {
	Campaign string
	Email    string
	Force    bool
}

// AddFlags registers the flags of reissue.
func (o *reissueOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Campaign, "campaign", "", "campaign `NAME` (required)")
	fs.StringVar(&o.Email, "email", "", "recipient `ADDRESS` (required)")
	fs.BoolVar(&o.Force, "force", false, "replace a coupon that is still live (unused and not expired, or redeemed): it is trashed first")
}

// reissueCommand gives a recipient a new code in place of a lost one.
func reissueCommand() *command {
	var o reissueOptions
	return &command{
		Name:    "reissue",
		Summary: "Give a recipient a new code when theirs was deleted, trashed or expired",
		Usage: `couponbridge reissue --campaign NAME --email ADDRESS [--force]

Replaces a recipient's code whose coupon was deleted or trashed in the
store, or has expired, by a new one, issued exactly as at 'issue': the new
coupon is created, read back and emailed (a new message that refers to the
first). The old coupon is moved to the trash first if it is still in the
store, and the new one is created only once the store no longer has it
live: the recipient never holds two live coupons. If trashing fails,
nothing else is done.

A coupon that is still live (unused and not expired, or redeemed) is
refused with the reason unless --force. The ledger keeps both codes:
'couponbridge lookup OLDCODE' still finds the old one and names the new
one. A reissue stopped half-way (killed, store unreachable) is finished by
running the same command again.

Exit codes:
  0  the new code was emailed (or waits only for the mail cap)
  1  the store or the mail server could not be reached, or the old coupon
     could not be trashed: run the same command again
  2  refused, nothing changed: a missing flag, an unknown recipient, a live
     coupon without --force, a code never emailed, a failed row (use
     'couponbridge retry')
  3  the new code failed (see 'couponbridge status CAMPAIGN')

Examples:
  couponbridge reissue --campaign welcome --email ann@example.com
  couponbridge reissue --campaign welcome --email ann@example.com --force`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			return runReissue(ctx, env, &o, args)
		},
	}
}

func runReissue(ctx context.Context, env *cliEnv, o *reissueOptions, args []string) error {
	if len(args) > 0 {
		return usageErrorf("reissue takes no arguments, got %q (use --campaign and --email)", args[0])
	}
	if o.Campaign == "" || o.Email == "" {
		return usageErrorf("--campaign NAME and --email ADDRESS are required")
	}
	if _, err := campaign.NormalizeEmail(o.Email); err != nil {
		return usageErrorf("--email %q: %v", o.Email, err)
	}
	cfg, err := env.loadConfigFor(useStore | useSMTPPassword)
	if err != nil {
		return err
	}
	cc, err := cfg.lookupCampaign(o.Campaign)
	if err != nil {
		return err
	}
	if cc.ExportOnly {
		return usageErrorf("campaign %q is export-only: its codes are not emailed, so there is nothing to reissue", o.Campaign)
	}
	ledger, logger, err := openLedgerToFinish(ctx, env, cfg, "nothing was issued, so there is nothing to reissue")
	if err != nil {
		return err
	}
	defer ledger.Close()
	camp, err := cfg.campaign(o.Campaign, 0)
	if err != nil {
		return err
	}
	client, err := cfg.Store.newClient(logger, nil)
	if err != nil {
		return err
	}
	sender, err := cfg.Mail.newSender(logger)
	if err != nil {
		return err
	}
	defer sender.Close()
	opts := cfg.issueOptions(logger)
	prog := newProgress(env)
	opts.Progress = prog.Update
	issuer, err := campaign.NewIssuer(ledger, client.Coupons, sender, opts)
	if err != nil {
		prog.Close()
		return err
	}
	res, runErr := issuer.Reissue(ctx, camp, o.Email, campaign.ReissueOptions{Force: o.Force})
	prog.Close()
	if errors.Is(runErr, campaign.ErrReissueRefused) {
		return usageErrorf("%v", runErr)
	}
	if res.NewCode != "" {
		printReissued(env.Stdout, res)
	}
	if res.RunResult.Campaign != "" {
		printIssueSummary(env.Stdout, res.RunResult, nil)
	}
	if runErr != nil {
		return runErr
	}
	if res.Blocked != nil && res.Row.State != campaign.StateEmailed {
		return res.Blocked
	}
	switch res.Row.State {
	case campaign.StateFailed, campaign.StateUnconfirmed:
		return &failuresError{count: 1, hint: "see 'couponbridge status " + res.Campaign + "'"}
	}
	return nil
}

// printReissued says which code replaced which, and where the new one is.
func printReissued(w io.Writer, res campaign.ReissueResult) {
	var b strings.Builder
	old := "the old code"
	if res.OldCode != "" {
		old = "old code " + res.OldCode
		if res.OldCouponID != 0 {
			old += fmt.Sprintf(" (coupon %d", res.OldCouponID)
			if res.StoreState != "" {
				old += ", " + res.StoreState
			}
			if len(res.Trashed) > 0 {
				old += ", now in the trash"
			}
			old += ")"
		}
	}
	switch {
	case res.Resumed:
		fmt.Fprintf(&b, "Finished the reissue begun earlier for %s, campaign %s: %s replaced by %s", res.Email, res.Campaign, old, res.NewCode)
	case res.Forced:
		fmt.Fprintf(&b, "Reissued (forced) for %s, campaign %s: %s replaced by %s", res.Email, res.Campaign, old, res.NewCode)
	default:
		fmt.Fprintf(&b, "Reissued for %s, campaign %s: %s replaced by %s", res.Email, res.Campaign, old, res.NewCode)
	}
	if res.Row.CouponID != 0 {
		fmt.Fprintf(&b, " (coupon %d)", res.Row.CouponID)
	}
	switch res.Row.State {
	case campaign.StateEmailed:
		b.WriteString(", emailed.\n")
	case campaign.StateVerified:
		b.WriteString(", verified; its email waits for the mail cap: the next run sends it.\n")
	default:
		fmt.Fprintf(&b, ", now %s.\n", res.Row.State)
	}
	_, _ = io.WriteString(w, b.String())
}
