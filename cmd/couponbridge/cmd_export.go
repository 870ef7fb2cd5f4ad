package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// exportOptions are the flags of export.
type exportOptions struct {
	Out   string
	Force bool
}

// AddFlags registers the flags of export.
func (o *exportOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Out, "out", "o", "", "write the CSV to `FILE` (mode 0600; - for standard output)")
	fs.BoolVar(&o.Force, "force", false, "replace FILE if it exists")
}

// exportHeader is the header row of an export file.
var exportHeader = []string{"email", "first_name", "code", "coupon_id", "expires_at", "state"}

// exportCommand writes a campaign's rows to a CSV file.
func exportCommand() *command {
	var o exportOptions
	return &command{
		Name:    "export",
		Summary: "Write a campaign's codes to a CSV file",
		Usage: `couponbridge export CAMPAIGN --out FILE.csv [--force]

Writes one row per recipient of CAMPAIGN, from the ledger, with the columns
email, first_name, code, coupon_id, expires_at (RFC 3339 in the store's time
zone, empty when the coupon does not expire) and state. The file holds live
coupon codes: it is created with mode 0600, and an existing file is not
replaced unless --force is given. In export-only campaigns the email column
is empty.

With --ledger FILE the configuration file is not read (times are in UTC).

Example:
  couponbridge export influencers-2026 --out influencer-codes.csv`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) != 1 {
				return usageErrorf("export takes one campaign name, got %d arguments", len(args))
			}
			if o.Out == "" {
				return usageErrorf("--out FILE is required")
			}
			l, loc, err := openExistingLedger(ctx, env)
			if err != nil {
				return err
			}
			defer l.Close()
			s, err := l.Summary(ctx, args[0])
			if errors.Is(err, campaign.ErrNoCampaign) {
				return usageErrorf("campaign %q is not in the ledger %s", args[0], l.Path())
			}
			if err != nil {
				return err
			}
			write := func(w io.Writer) (int, error) { return writeExportCSV(ctx, w, l, s, loc) }
			if o.Out == "-" {
				_, err := write(env.Stdout)
				return err
			}
			n, err := writeFileNoClobber(o.Out, o.Force, write)
			if err != nil {
				return err
			}
			env.Logger.Info("export written", "campaign", s.Campaign, "rows", n, "file", o.Out)
			fmt.Fprintf(env.Stderr, "Wrote %d rows of %s to %s\n", n, s.Campaign, o.Out)
			return nil
		},
	}
}

// writeExportCSV streams the campaign's rows as CSV.
func writeExportCSV(ctx context.Context, w io.Writer, l *campaign.Ledger, s campaign.Summary, loc *time.Location) (int, error) {
	cw := campaign.NewCSVWriter(w)
	if err := cw.Write(exportHeader); err != nil {
		return 0, err
	}
	n := 0
	for is, err := range l.Rows(ctx, s.Campaign) {
		if err != nil {
			return n, err
		}
		id, expires := "", ""
		if is.CouponID != 0 {
			id = strconv.FormatInt(is.CouponID, 10)
		}
		if !is.ExpiresAt.IsZero() {
			expires = is.ExpiresAt.In(loc).Format(time.RFC3339)
		}
		rec := []string{displayEmail(is.Email, s.ExportOnly), is.FirstName, is.Code, id, expires, string(is.State)}
		if err := cw.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	cw.Flush()
	return n, cw.Error()
}

// writeFileNoClobber writes path (mode 0600) through a temporary file in the
// same folder, so that a failed export leaves no partial file; it refuses to
// replace an existing file unless force.
func writeFileNoClobber(path string, force bool, write func(io.Writer) (int, error)) (int, error) {
	n, err := campaign.WriteFileAtomic(path, force, write)
	if errors.Is(err, fs.ErrExist) && !force {
		return 0, fmt.Errorf("%s exists: use --force to replace it", path)
	}
	return n, err
}
