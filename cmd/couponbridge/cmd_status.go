package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// statusOptions are the flags of status.
type statusOptions struct {
	Format string
	Limit  int
}

// AddFlags registers the flags of status.
func (o *statusOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Format, "format", "table", "output `FORMAT`: table or json")
	fs.IntVar(&o.Limit, "limit", 50, "list at most `N` failed rows per campaign in the table (0: all); unconfirmed rows are always all listed")
}

// statusCommand shows where campaigns stand, from the ledger alone.
func statusCommand() *command {
	var o statusOptions
	return &command{
		Name:    "status",
		Summary: "Show where campaigns stand: counts per state, failures and unconfirmed emails",
		Usage: `couponbridge status [CAMPAIGN] [--format table|json]

Reads the ledger (it contacts neither the store nor the mail server) and
shows, for one campaign or all of them, how many recipients are in each
state, the failures grouped by reason, the failed rows, and every
'unconfirmed' row: an email that was being handed to the mail server when a
run stopped, which may or may not have been delivered. Unconfirmed rows are
never resent automatically; check them before acting.

With --ledger FILE the configuration file is not read.
Exits with 3 when some rows need review (failed or unconfirmed).

Examples:
  couponbridge status
  couponbridge status welcome-2026 --format json`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if o.Format != "table" && o.Format != "json" {
				return usageErrorf("--format must be table or json, got %q", o.Format)
			}
			if len(args) > 1 {
				return usageErrorf("status takes at most one campaign name, got %d arguments", len(args))
			}
			if o.Limit < 0 {
				return usageErrorf("--limit must be >= 0")
			}
			l, loc, err := openExistingLedger(ctx, env)
			if err != nil {
				return err
			}
			defer l.Close()
			var names []string
			if len(args) == 1 {
				names = args
			} else {
				infos, err := l.Campaigns(ctx)
				if err != nil {
					return err
				}
				for _, ci := range infos {
					names = append(names, ci.Name)
				}
			}
			reports, err := collectStatus(ctx, l, names)
			if err != nil {
				return err
			}
			if o.Format == "json" {
				err = writeStatusJSON(env.Stdout, reports)
			} else {
				err = writeStatusTable(env.Stdout, reports, loc, o.Limit)
			}
			if err != nil {
				return err
			}
			review := 0
			for _, r := range reports {
				review += r.Summary.Failed() + r.Summary.Count(campaign.StateUnconfirmed)
			}
			if review > 0 {
				return &failuresError{count: review, hint: "see the failed and unconfirmed rows above"}
			}
			return nil
		},
	}
}

// openExistingLedger opens the ledger named by --ledger, or by the
// configuration, and returns it with the store's time zone (UTC when the
// configuration is not read). A missing ledger is an error, never created.
// When another process holds the ledger (a run, the daemon), it is opened
// read-only: these commands only read, and should work beside it.
func openExistingLedger(ctx context.Context, env *cliEnv) (*campaign.Ledger, *time.Location, error) {
	path, loc := "", time.UTC
	if env.global != nil && env.global.changed("ledger") {
		path = env.global.Ledger
	} else {
		cfg, err := env.loadConfig()
		if err != nil {
			return nil, nil, err
		}
		path, loc = cfg.Ledger.Path, cfg.Store.Location()
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("no ledger at %s: nothing has been issued with this configuration yet", path)
	}
	l, err := campaign.OpenLedger(ctx, path, env.Logger)
	if errors.Is(err, campaign.ErrLedgerLocked) {
		env.Logger.Debug("ledger in use by another process; reading a snapshot", "path", path)
		l, err = campaign.OpenLedgerReadOnly(ctx, path, env.Logger)
	}
	if err != nil {
		return nil, nil, err
	}
	return l, loc, nil
}

// campaignStatus is what status shows of one campaign.
type campaignStatus struct {
	Summary     campaign.Summary
	Failures    []campaign.Failure
	Unconfirmed []campaign.Issue
}

func collectStatus(ctx context.Context, l *campaign.Ledger, names []string) ([]campaignStatus, error) {
	var out []campaignStatus
	for _, name := range names {
		s, err := l.Summary(ctx, name)
		if errors.Is(err, campaign.ErrNoCampaign) {
			return nil, usageErrorf("campaign %q is not in the ledger %s", name, l.Path())
		}
		if err != nil {
			return nil, err
		}
		cs := campaignStatus{Summary: s}
		if s.Failed() > 0 {
			for f, err := range l.Failures(ctx, name) {
				if err != nil {
					return nil, err
				}
				cs.Failures = append(cs.Failures, f)
			}
		}
		if s.Count(campaign.StateUnconfirmed) > 0 {
			for is, err := range l.Rows(ctx, name) {
				if err != nil {
					return nil, err
				}
				if is.State == campaign.StateUnconfirmed {
					cs.Unconfirmed = append(cs.Unconfirmed, is)
				}
			}
		}
		out = append(out, cs)
	}
	return out, nil
}

// statusJSON is the JSON form of one campaign's status. Its field names are
// part of the command's interface.
type statusJSON struct {
	Campaign    string            `json:"campaign"`
	ExportOnly  bool              `json:"export_only"`
	CreatedAt   time.Time         `json:"created_at"`
	Total       int               `json:"total"`
	Counts      map[string]int    `json:"counts"`
	Done        int               `json:"done"`
	Pending     int               `json:"pending"`
	NeedsReview bool              `json:"needs_review"`
	Reasons     []reasonJSON      `json:"failure_reasons"`
	Failures    []failureJSON     `json:"failures"`
	Unconfirmed []unconfirmedJSON `json:"unconfirmed"`
}

type reasonJSON struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

type failureJSON struct {
	Email      string    `json:"email"`
	Code       string    `json:"code"`
	CouponID   int64     `json:"coupon_id,omitempty"`
	Stage      string    `json:"stage"`
	Reason     string    `json:"reason"`
	SourceLine int       `json:"source_line,omitempty"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type unconfirmedJSON struct {
	Email     string    `json:"email"`
	Code      string    `json:"code"`
	CouponID  int64     `json:"coupon_id,omitempty"`
	Reason    string    `json:"reason"`
	UpdatedAt time.Time `json:"updated_at"`
}

func writeStatusJSON(w io.Writer, reports []campaignStatus) error {
	out := make([]statusJSON, 0, len(reports))
	for _, r := range reports {
		s := r.Summary
		j := statusJSON{Campaign: s.Campaign, ExportOnly: s.ExportOnly, CreatedAt: s.CreatedAt.UTC(), Total: s.Total,
			Counts: map[string]int{}, Done: s.Done(), Pending: s.Pending(), NeedsReview: s.NeedsReview(),
			Reasons: []reasonJSON{}, Failures: []failureJSON{}, Unconfirmed: []unconfirmedJSON{}}
		for _, st := range campaign.States() {
			j.Counts[string(st)] = s.Count(st)
		}
		for _, fr := range s.Reasons {
			j.Reasons = append(j.Reasons, reasonJSON{string(fr.Stage), fr.Reason, fr.Count})
		}
		for _, f := range r.Failures {
			j.Failures = append(j.Failures, failureJSON{displayEmail(f.Email, s.ExportOnly), f.Code, f.CouponID, string(f.Stage), f.Reason, f.SourceLine, f.UpdatedAt.UTC()})
		}
		for _, is := range r.Unconfirmed {
			j.Unconfirmed = append(j.Unconfirmed, unconfirmedJSON{is.Email, is.Code, is.CouponID, is.LastError, is.UpdatedAt.UTC()})
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeStatusTable(w io.Writer, reports []campaignStatus, loc *time.Location, limit int) error {
	if len(reports) == 0 {
		_, err := fmt.Fprintln(w, "No campaigns in the ledger yet.")
		return err
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMPAIGN\tKIND\tTOTAL\tDONE\tPENDING\tUNCONFIRMED\tFAILED\tSTARTED")
	for _, r := range reports {
		s := r.Summary
		kind := "email"
		if s.ExportOnly {
			kind = "export"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", s.Campaign, kind, s.Total, s.Done(), s.Pending(),
			s.Count(campaign.StateUnconfirmed), s.Failed(), s.CreatedAt.In(loc).Format("2006-01-02 15:04 MST"))
	}
	tw.Flush()
	for _, r := range reports {
		s := r.Summary
		fmt.Fprintf(&b, "\n%s: states\n", s.Campaign)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, st := range campaign.States() {
			if n := s.Count(st); n > 0 || st == campaign.StateFailed || st == campaign.StateUnconfirmed {
				fmt.Fprintf(tw, "  %s\t%d\n", st, n)
			}
		}
		tw.Flush()
		if len(s.Reasons) > 0 {
			fmt.Fprintf(&b, "\n%s: failures by reason\n", s.Campaign)
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  COUNT\tSTAGE\tREASON")
			for _, fr := range s.Reasons {
				fmt.Fprintf(tw, "  %d\t%s\t%s\n", fr.Count, fr.Stage, oneLine(fr.Reason))
			}
			tw.Flush()
		}
		if len(r.Failures) > 0 {
			fmt.Fprintf(&b, "\n%s: failed rows\n", s.Campaign)
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  LINE\tEMAIL\tCODE\tCOUPON\tSTAGE\tREASON")
			for i, f := range r.Failures {
				if limit > 0 && i == limit {
					fmt.Fprintf(tw, "  …\t%d more: couponbridge status %s --format json\t\t\t\t\n", len(r.Failures)-limit, s.Campaign)
					break
				}
				fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", f.SourceLine, displayEmail(f.Email, s.ExportOnly), f.Code, couponIDText(f.CouponID), f.Stage, oneLine(f.Reason))
			}
			tw.Flush()
		}
		if len(r.Unconfirmed) > 0 {
			fmt.Fprintf(&b, "\n%s: unconfirmed (a run stopped while these were handed to the mail server: they may or may not have been delivered; not resent automatically)\n", s.Campaign)
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  EMAIL\tCODE\tCOUPON\tSINCE")
			for _, is := range r.Unconfirmed {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", is.Email, is.Code, couponIDText(is.CouponID), is.UpdatedAt.In(loc).Format("2006-01-02 15:04 MST"))
			}
			tw.Flush()
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// displayEmail hides the synthetic recipient keys of export-only campaigns.
func displayEmail(email string, exportOnly bool) string {
	if exportOnly && strings.HasPrefix(email, "export-") {
		return ""
	}
	return email
}

func couponIDText(id int64) string {
	if id == 0 {
		return "-"
	}
	return fmt.Sprint(id)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
