package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// reportOptions are the flags of report.
type reportOptions struct {
	Format string
	Out    string
	Sync   bool
}

// AddFlags registers the flags of report.
func (o *reportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Format, "format", "table", "output `FORMAT`: "+strings.Join(campaign.ReportFormats, ", "))
	fs.StringVarP(&o.Out, "out", "o", "", "write the report to `FILE` instead of standard output")
	fs.BoolVar(&o.Sync, "sync", false, "sync with the store first (see 'couponbridge sync')")
}

// reportCommand shows what each campaign brought.
func reportCommand() *command {
	var o reportOptions
	return &command{
		Name:    "report",
		Summary: "Show what campaigns brought: redemptions, orders, revenue, discount cost",
		Usage: `couponbridge report [CAMPAIGN] [--format table|csv|json|html] [--out FILE] [--sync]

For one campaign or all of them: codes issued, emailed and failed, codes
redeemed and the redemption rate (redeemed ÷ emailed; ÷ issued for
export-only campaigns), orders that used the codes (processing, completed or
on-hold; cancelled, refunded, failed and pending orders bring no revenue),
their revenue (order totals), the discount the codes gave, and the median
days from email to redemption; also uses given back, expired, deleted or
changed in the store, pruned and reminded codes.

The figures come from the ledger as of the last 'couponbridge sync' (or
--sync). --format html writes one self-contained page (no external files:
inline CSS and an SVG chart of codes issued and redeemed per day), best with
--out.

Examples:
  couponbridge report
  couponbridge report welcome-2026 --sync --format html --out welcome.html`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if !slices.Contains(campaign.ReportFormats, o.Format) {
				return usageErrorf("--format must be one of %s, got %q", strings.Join(campaign.ReportFormats, ", "), o.Format)
			}
			var (
				l   *campaign.Ledger
				loc *time.Location
			)
			if o.Sync {
				d, err := openTracking(ctx, env)
				if err != nil {
					return err
				}
				defer d.Close()
				l, loc = d.ledger, d.cfg.Store.Location()
				names, err := campaignNames(ctx, l, "report", args)
				if err != nil {
					return err
				}
				s := d.syncer(env, names)
				for _, name := range names {
					if _, err := s.Sync(ctx, name, campaign.SyncOptions{}); err != nil {
						return err
					}
				}
			} else {
				var err error
				if l, loc, err = openExistingLedger(ctx, env); err != nil {
					return err
				}
				defer l.Close()
			}
			names, err := campaignNames(ctx, l, "report", args)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				_, err := fmt.Fprintln(env.Stdout, "No campaigns in the ledger yet.")
				return err
			}
			rep, err := l.BuildReport(ctx, time.Now(), loc, names...)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := campaign.WriteReport(&buf, rep, o.Format); err != nil {
				return err
			}
			if o.Out == "" {
				_, err := env.Stdout.Write(buf.Bytes())
				return err
			}
			if err := writeReportFile(o.Out, buf.Bytes()); err != nil {
				return err
			}
			env.Logger.Info("report written", "file", o.Out, "format", o.Format, "campaigns", len(names))
			return nil
		},
	}
}

// writeReportFile writes b to path through a temporary file in the same
// folder and a rename, so a reader never sees half a report. The file is
// readable by its owner only: it holds the shop's revenue.
func writeReportFile(path string, b []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
