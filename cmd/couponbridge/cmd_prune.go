package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// pruneOptions are the flags of prune.
type pruneOptions struct {
	GraceDays int
	Apply     bool
	BatchSize int
}

// AddFlags registers the flags of prune.
func (o *pruneOptions) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.GraceDays, "grace-days", campaign.DefaultPruneGraceDays, "only coupons expired more than `N` days ago")
	fs.BoolVar(&o.Apply, "apply", false, "delete; without it prune only lists what it would delete")
	fs.IntVar(&o.BatchSize, "batch-size", 100, "coupons read back and deleted per request, `N` 1..100")
}

// pruneCommand deletes expired, unused coupons that couponbridge created.
func pruneCommand() *command {
	var o pruneOptions
	return &command{
		Name:    "prune",
		Summary: "Delete expired, never used coupons of couponbridge from the store",
		Usage: `couponbridge prune [CAMPAIGN] [--grace-days N] [--apply]

Thousands of dead coupons slow a shop's admin. prune deletes permanently,
in batches, the coupons of one campaign (or of all campaigns in the ledger)
that this tool created, that expired more than --grace-days ago (default 30)
and that were never used. Each coupon is read from the store again right
before it is deleted and kept when:
  - its meta tags (_couponbridge_campaign, _couponbridge_recipient) do not
    name its ledger row, so it was not created by couponbridge for it;
  - it was used (usage_count above 0);
  - its expiry in the store (perhaps moved by hand) is within the grace period.

Without --apply it only lists what would go. Ledger rows keep their history:
their state becomes 'pruned'. Exits with 3 when the store refused deletes.

Examples:
  couponbridge prune --grace-days 60
  couponbridge prune winback-2025 --apply`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if o.GraceDays < 0 {
				return usageErrorf("--grace-days must be 0 or more, got %d", o.GraceDays)
			}
			if o.BatchSize < 1 || o.BatchSize > 100 {
				return usageErrorf("--batch-size must be 1..100, got %d", o.BatchSize)
			}
			d, err := openTracking(ctx, env)
			if err != nil {
				return err
			}
			defer d.Close()
			names, err := campaignNames(ctx, d.ledger, "prune", args)
			if err != nil {
				return err
			}
			p := &campaign.Pruner{Ledger: d.ledger, Store: d.client.Coupons, Logger: env.Logger}
			var results []campaign.PruneResult
			var runErr error
			for _, name := range names {
				res, err := p.Prune(ctx, name, campaign.PruneOptions{GraceDays: o.GraceDays, Apply: o.Apply, BatchSize: o.BatchSize})
				results = append(results, res)
				if err != nil {
					runErr = err
					break
				}
			}
			if err := writePruneTable(env.Stdout, results, o.Apply, d.cfg.Store.Location()); err != nil {
				return err
			}
			if runErr != nil {
				return runErr
			}
			failed := 0
			for _, r := range results {
				failed += r.Count(campaign.PruneFailed)
			}
			if failed > 0 {
				return &failuresError{count: failed, hint: "the store refused to delete them; see the failed lines above and run prune again"}
			}
			return nil
		},
	}
}

func writePruneTable(w io.Writer, results []campaign.PruneResult, applied bool, loc *time.Location) error {
	var b strings.Builder
	var deleted, would, kept, gone, failed int
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	header := false
	for _, r := range results {
		for _, it := range r.Items {
			if !header {
				fmt.Fprintln(tw, "ACTION\tCAMPAIGN\tCODE\tRECIPIENT\tCOUPON\tEXPIRED\tREASON")
				header = true
			}
			exp := "-"
			if !it.ExpiresAt.IsZero() {
				exp = it.ExpiresAt.In(loc).Format("2006-01-02")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", it.Action, it.Campaign, it.Code, it.Email, it.CouponID, exp, oneLine(it.Reason))
		}
		deleted += r.Count(campaign.PruneDeleted)
		would += r.Count(campaign.PruneWouldDelete)
		kept += r.Count(campaign.PruneKept)
		gone += r.Count(campaign.PruneGone)
		failed += r.Count(campaign.PruneFailed)
	}
	tw.Flush()
	if header {
		b.WriteString("\n")
	}
	if applied {
		fmt.Fprintf(&b, "Deleted %d coupons; kept %d; %d were already gone from the store; %d failed.\n", deleted, kept, gone, failed)
	} else {
		fmt.Fprintf(&b, "Would delete %d coupons; would keep %d; %d are already gone from the store. Nothing was deleted: add --apply to delete.\n",
			would, kept, gone)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
