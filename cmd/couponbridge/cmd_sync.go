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
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo"
)

// trackingDeps are what the tracking commands (sync, prune, lookup, resend)
// work with: the configuration, the ledger and the store.
type trackingDeps struct {
	cfg    *Config
	ledger *campaign.Ledger
	client *woo.Client
}

// openTracking loads the configuration, opens the existing ledger (never
// creating one) and builds the store client. When another process holds
// the ledger it fails at once, unless --wait is given.
func openTracking(ctx context.Context, env *cliEnv) (*trackingDeps, error) {
	return openTrackingWait(ctx, env, 0)
}

// openTrackingWait is openTracking, waiting up to defaultWait for the
// ledger when --wait is not given.
func openTrackingWait(ctx context.Context, env *cliEnv, defaultWait time.Duration) (*trackingDeps, error) {
	return openTrackingUsing(ctx, env, defaultWait, useStore)
}

// openTrackingUsing is openTrackingWait for a command that uses the secrets
// in use (the store's, and the SMTP password for resend).
func openTrackingUsing(ctx context.Context, env *cliEnv, defaultWait time.Duration, use secretUse) (*trackingDeps, error) {
	wait, err := env.ledgerWait(defaultWait)
	if err != nil {
		return nil, err
	}
	cfg, err := env.loadConfigFor(use)
	if err != nil {
		return nil, err
	}
	path := cfg.Ledger.Path
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no ledger at %s: nothing has been issued with this configuration yet", path)
	}
	client, err := cfg.Store.newClient(env.Logger, nil)
	if err != nil {
		return nil, err
	}
	l, err := openLedgerForWrite(ctx, env, path, env.Logger, wait)
	if err != nil {
		return nil, err
	}
	return &trackingDeps{cfg: cfg, ledger: l, client: client}, nil
}

func (d *trackingDeps) Close() error { return d.ledger.Close() }

// syncer is the Syncer of these deps, for the campaigns of names.
func (d *trackingDeps) syncer(env *cliEnv, names []string) *campaign.Syncer {
	return d.cfg.syncer(d.ledger, d.client, env.Logger, names)
}

// syncer returns a Syncer over ledger and the store. The configured
// campaigns among names (all of them when names is nil) are passed along,
// so that sync can also flag amounts changed by hand.
func (c *Config) syncer(ledger *campaign.Ledger, client *woo.Client, logger *slog.Logger, names []string) *campaign.Syncer {
	if names == nil {
		for name := range c.Campaigns {
			names = append(names, name)
		}
	}
	configured := map[string]campaign.Campaign{}
	for _, name := range names {
		if _, ok := c.Campaigns[name]; !ok {
			continue
		}
		if camp, err := c.campaign(name, 0); err == nil {
			configured[name] = camp
		}
	}
	return &campaign.Syncer{Ledger: ledger, Coupons: client.Coupons, Orders: client.Orders, Logger: logger, Campaigns: configured}
}

// campaignNames returns args (at most one campaign, which must be in the
// ledger) or every campaign of the ledger.
func campaignNames(ctx context.Context, l *campaign.Ledger, cmd string, args []string) ([]string, error) {
	if len(args) > 1 {
		return nil, usageErrorf("%s takes at most one campaign name, got %d arguments", cmd, len(args))
	}
	infos, err := l.Campaigns(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ci := range infos {
		if len(args) == 0 || ci.Name == args[0] {
			names = append(names, ci.Name)
		}
	}
	if len(args) == 1 && len(names) == 0 {
		return nil, usageErrorf("campaign %q is not in the ledger %s", args[0], l.Path())
	}
	return names, nil
}

// syncOptions are the flags of sync.
type syncOptions struct {
	Full   bool
	Format string
}

// AddFlags registers the flags of sync.
func (o *syncOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Full, "full", false, "read every order since the campaign's first coupon, not only those changed since the last sync")
	fs.StringVar(&o.Format, "format", "table", "output `FORMAT`: table or json")
}

// syncCommand reads redemptions and orders back from the store.
func syncCommand() *command {
	var o syncOptions
	return &command{
		Name:    "sync",
		Summary: "Read redemptions, orders and changes of issued coupons back from the store",
		Usage: `couponbridge sync [CAMPAIGN] [--full] [--format table|json]

Reads the coupons of one campaign (or of every campaign in the ledger) back
from the store, 100 per request, and records in the ledger which codes were
redeemed (and when first seen), which uses were given back by a cancelled
order, which coupons expired unused, and which were deleted or changed by
hand in the store (usage limits loosened, email restriction removed or
changed, expiry moved). Then it reads the orders that used the campaigns'
codes and attributes orders, revenue and discount to each campaign; an order
read again is never counted twice. Orders count when processing, completed
or on-hold.

Sync only reads from the store. Run it before 'couponbridge report'; the
daemon runs it periodically.

When another couponbridge process holds the ledger (a job run, an issue),
sync waits up to 10 minutes for it to finish, then gives up with exit 1;
--wait DURATION changes how long, --wait 0 fails at once.

Examples:
  couponbridge sync
  couponbridge sync welcome-2026 --full`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if o.Format != "table" && o.Format != "json" {
				return usageErrorf("--format must be table or json, got %q", o.Format)
			}
			d, err := openTrackingWait(ctx, env, cronLedgerWait)
			if err != nil {
				return err
			}
			defer d.Close()
			names, err := campaignNames(ctx, d.ledger, "sync", args)
			if err != nil {
				return err
			}
			s := d.syncer(env, names)
			var results []syncReport
			for _, name := range names {
				res, err := s.Sync(ctx, name, campaign.SyncOptions{FullOrders: o.Full})
				if err != nil {
					return err
				}
				flagged, err := d.ledger.Flagged(ctx, name)
				if err != nil {
					return err
				}
				results = append(results, syncReport{res, flagged})
			}
			if o.Format == "json" {
				return writeSyncJSON(env.Stdout, results)
			}
			return writeSyncTable(env.Stdout, results, d.cfg.Store.Location())
		},
	}
}

type syncReport struct {
	campaign.SyncResult
	flagged []campaign.TrackedIssue
}

func writeSyncTable(w io.Writer, results []syncReport, loc *time.Location) error {
	if len(results) == 0 {
		_, err := fmt.Fprintln(w, "No campaigns in the ledger yet.")
		return err
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMPAIGN\tCHECKED\tREDEEMED\tNEW\tUSE RETURNED\tEXPIRED\tDELETED IN STORE\tCHANGED IN STORE\tORDERS READ\tORDER LINES")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", r.Campaign, r.Checked, r.Redeemed, r.NewRedeemed,
			r.UseReturned, r.Expired, r.Deleted, r.Changed, r.OrdersRead, r.OrderLines)
	}
	tw.Flush()
	for _, r := range results {
		if len(r.flagged) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s: coupons deleted or changed in the store by hand\n", r.Campaign)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  RECIPIENT\tCODE\tCOUPON\tSINCE\tWHAT")
		for _, ti := range r.flagged {
			what, since := ti.Changes, ti.ChangedAt
			if ti.Deleted {
				what, since = "deleted or trashed in the store", ti.DeletedAt
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", ti.Email, ti.Code, ti.CouponID, since.In(loc).Format(campaign.HumanTimeLayout), what)
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// syncJSON is the JSON form of one campaign's sync; its field names are part
// of the command's interface.
type syncJSON struct {
	Campaign    string        `json:"campaign"`
	Checked     int           `json:"checked"`
	Redeemed    int           `json:"redeemed"`
	NewRedeemed int           `json:"new_redeemed"`
	UseReturned int           `json:"use_returned"`
	Expired     int           `json:"expired"`
	Deleted     int           `json:"deleted_in_store"`
	Changed     int           `json:"changed_in_store"`
	OrdersRead  int           `json:"orders_read"`
	OrderLines  int           `json:"order_lines"`
	Flagged     []flaggedJSON `json:"flagged"`
}

type flaggedJSON struct {
	Email    string    `json:"email"`
	Code     string    `json:"code"`
	CouponID int64     `json:"coupon_id"`
	Deleted  bool      `json:"deleted"`
	Changes  string    `json:"changes,omitempty"`
	Since    time.Time `json:"since"`
}

func writeSyncJSON(w io.Writer, results []syncReport) error {
	out := make([]syncJSON, 0, len(results))
	for _, r := range results {
		j := syncJSON{Campaign: r.Campaign, Checked: r.Checked, Redeemed: r.Redeemed, NewRedeemed: r.NewRedeemed,
			UseReturned: r.UseReturned, Expired: r.Expired, Deleted: r.Deleted, Changed: r.Changed,
			OrdersRead: r.OrdersRead, OrderLines: r.OrderLines, Flagged: []flaggedJSON{}}
		for _, ti := range r.flagged {
			since := ti.ChangedAt
			if ti.Deleted {
				since = ti.DeletedAt
			}
			j.Flagged = append(j.Flagged, flaggedJSON{Email: ti.Email, Code: ti.Code, CouponID: ti.CouponID,
				Deleted: ti.Deleted, Changes: ti.Changes, Since: since.UTC()})
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
