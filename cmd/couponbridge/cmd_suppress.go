package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// suppressOptions are the flags of suppress.
type suppressOptions struct {
	Reason string
	Format string
}

// AddFlags registers the flags of suppress.
func (o *suppressOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Reason, "reason", "added by hand", "why the addresses are added (`TEXT`, shown by list)")
	fs.StringVar(&o.Format, "format", "table", "list output `FORMAT`: table or json")
}

// suppressCommand edits and shows the ledger's suppression list.
func suppressCommand() *command {
	var o suppressOptions
	return &command{
		Name:    "suppress",
		Summary: "Add, remove and list addresses that get no coupon and no email any more",
		Usage: `couponbridge suppress add EMAIL... [--reason TEXT]
       couponbridge suppress remove EMAIL...
       couponbridge suppress list [--format table|json]

The suppression list is kept in the ledger. Every job and every issue run
plans no coupon for an address on it (counted as suppressed), and no
reminder goes to it. People land on it by themselves through the
unsubscribe link of the emails (served by the daemon, see
daemon.public_url); add puts addresses there by hand (someone who asked by
phone), remove takes them off (someone who subscribed again). Addresses are
matched without regard to letter case. Coupons already issued stay valid.

add and remove write the ledger, which one process holds at a time: they
fail at once while an issue run or the daemon holds it (--wait DURATION
waits for a run to end; the daemon must be stopped). list works beside
them. For a running daemon, a job's suppression_file is read at every run.

Examples:
  couponbridge suppress add bob@example.com --reason "asked by phone"
  couponbridge suppress remove bob@example.com
  couponbridge suppress list --format json`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) == 0 {
				return usageErrorf("suppress needs add, remove or list")
			}
			action, emails := args[0], args[1:]
			switch action {
			case "add", "remove":
				if len(emails) == 0 {
					return usageErrorf("suppress %s needs at least one address", action)
				}
				norm, err := suppressArgs(emails)
				if err != nil {
					return err
				}
				return runSuppressEdit(ctx, env, action, norm, o.Reason)
			case "list":
				if len(emails) != 0 {
					return usageErrorf("suppress list takes no addresses")
				}
				if o.Format != "table" && o.Format != "json" {
					return usageErrorf("--format must be table or json, got %q", o.Format)
				}
				l, loc, err := openExistingLedger(ctx, env)
				if err != nil {
					return err
				}
				defer l.Close()
				list, err := l.Suppressions(ctx)
				if err != nil {
					return err
				}
				if o.Format == "json" {
					return writeSuppressionsJSON(env.Stdout, list)
				}
				return writeSuppressionsTable(env.Stdout, list, loc)
			default:
				return usageErrorf("suppress: unknown action %q (add, remove or list)", action)
			}
		},
	}
}

// suppressArgs normalizes the addresses given; every bad one is named by
// its position.
func suppressArgs(args []string) ([]string, error) {
	var out, bad []string
	for i, a := range args {
		e, err := campaign.NormalizeEmail(a)
		if err != nil {
			bad = append(bad, fmt.Sprintf("address %d %q: %v", i+1, a, err))
			continue
		}
		out = append(out, e)
	}
	if len(bad) > 0 {
		return nil, usageErrorf("%s; nothing was changed", strings.Join(bad, "; "))
	}
	return out, nil
}

func runSuppressEdit(ctx context.Context, env *cliEnv, action string, emails []string, reason string) error {
	path := ""
	if env.global != nil && env.global.changed("ledger") {
		path = env.global.Ledger
	} else {
		cfg, err := env.loadConfigFor(useNoSecrets)
		if err != nil {
			return err
		}
		path = cfg.Ledger.Path
	}
	wait, err := env.ledgerWait(0)
	if err != nil {
		return err
	}
	l, err := openLedgerForWrite(ctx, env, path, env.Logger, wait)
	if err != nil {
		return err
	}
	defer l.Close()
	var b strings.Builder
	changed := 0
	for _, e := range emails {
		var did bool
		if action == "add" {
			did, err = l.Suppress(ctx, campaign.Suppression{Email: e, Reason: reason, Source: campaign.SuppressManual})
		} else {
			did, err = l.Unsuppress(ctx, e)
		}
		if err != nil {
			return err
		}
		switch {
		case did:
			changed++
		case action == "add":
			fmt.Fprintf(&b, "%s was already on the suppression list.\n", e)
		default:
			fmt.Fprintf(&b, "%s was not on the suppression list.\n", e)
		}
	}
	if action == "add" {
		fmt.Fprintf(&b, "Added %d of %d addresses to the suppression list.\n", changed, len(emails))
	} else {
		fmt.Fprintf(&b, "Removed %d of %d addresses from the suppression list.\n", changed, len(emails))
	}
	_, err = io.WriteString(env.Stdout, b.String())
	return err
}

func writeSuppressionsTable(w io.Writer, list []campaign.Suppression, loc *time.Location) error {
	var b strings.Builder
	if len(list) == 0 {
		b.WriteString("The suppression list is empty.\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tSOURCE\tCAMPAIGN\tSINCE\tREASON")
		for _, s := range list {
			c := s.Campaign
			if c == "" {
				c = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Email, s.Source, c, s.At.In(loc).Format(campaign.HumanTimeLayout), oneLine(s.Reason))
		}
		tw.Flush()
		fmt.Fprintf(&b, "\n%d addresses get no coupon and no email.\n", len(list))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type suppressionJSON struct {
	Email    string    `json:"email"`
	Source   string    `json:"source"`
	Campaign string    `json:"campaign,omitempty"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

func writeSuppressionsJSON(w io.Writer, list []campaign.Suppression) error {
	out := make([]suppressionJSON, 0, len(list))
	for _, s := range list {
		out = append(out, suppressionJSON{Email: s.Email, Source: s.Source, Campaign: s.Campaign, Reason: s.Reason, At: s.At.UTC()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
