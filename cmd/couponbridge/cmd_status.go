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
	Jobs   int
}

// AddFlags registers the flags of status.
func (o *statusOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Format, "format", "table", "output `FORMAT`: table or json")
	fs.IntVar(&o.Limit, "limit", 50, "list at most `N` failed rows per campaign in the table (0: all); unconfirmed rows are always all listed")
	fs.IntVar(&o.Jobs, "jobs", 1, "show the last `N` runs of each job; with --format json, given explicitly, it selects the document with jobs (see above)")
}

// statusCommand shows where campaigns and jobs stand, from the ledger alone.
func statusCommand() *command {
	var o statusOptions
	return &command{
		Name:    "status",
		Summary: "Show where campaigns stand: counts per state, failures and unconfirmed emails",
		Usage: `couponbridge status [CAMPAIGN] [--format table|json] [--jobs N]

Reads the ledger (it contacts neither the store nor the mail server) and
shows, for one campaign or all of them, how many recipients are in each
state, the failures grouped by reason, the failed rows, and every
'unconfirmed' row: an email that was being handed to the mail server when a
run stopped, which may or may not have been delivered. Unconfirmed rows are
never resent automatically; check them before acting.

When jobs have run (the daemon, or run-job), a Jobs section follows: the
last run of each job (the last N with --jobs N), when it started and how
long it took, its outcome (success, failed, interrupted or running), what it
found, suppressed, capped, issued and failed, the source's watermark, and
the error of a run that did not succeed. With CAMPAIGN, only the runs into
that campaign (also when none of them planned anyone yet). A run left
'running' by a process that died is shown as interrupted when no other
process holds the ledger.

--format json prints an array with one object per campaign, unchanged. With
--jobs given explicitly it prints one object instead:
  {"campaigns": [the same array], "jobs": [{"job", "needs_review", "runs"}]}
each run with id, campaign, source, started_at, ended_at (null while
running), duration_seconds, outcome, counts (found, rejected, suppressed,
capped, planned, issued, failed), watermark and error.

Times are in the store's time zone in the table and in UTC in JSON. With
--ledger FILE the configuration file is not read and the table is in UTC.

Exits with 3 when something shown needs review: failed or unconfirmed rows,
or a job whose last run failed (in the table, and in JSON with --jobs; the
JSON array leaves jobs out, exit code included). An interrupted run does
not count: the daemon resumes it when it starts, and the next run-job
finishes it.

Examples:
  couponbridge status
  couponbridge status welcome-2026 --format json
  couponbridge status --jobs 10
  couponbridge status --jobs 1 --format json`,
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
			if o.Jobs < 1 {
				return usageErrorf("--jobs must be at least 1, got %d", o.Jobs)
			}
			l, loc, shared, err := openLedgerForReading(ctx, env)
			if err != nil {
				return err
			}
			defer l.Close()
			var names []string
			filter := ""
			if len(args) == 1 {
				names, filter = args, args[0]
			} else {
				infos, err := l.Campaigns(ctx)
				if err != nil {
					return err
				}
				for _, ci := range infos {
					names = append(names, ci.Name)
				}
			}
			jobs, err := collectJobStatus(ctx, l, filter, o.Jobs, !shared)
			if err != nil {
				return err
			}
			reports, err := collectStatus(ctx, l, names)
			noRows := false
			var ue *usageError
			if errors.As(err, &ue) && filter != "" && len(jobs) > 0 {
				// A job issues into the campaign, but none of its runs
				// planned anyone yet (or they failed before): show the runs.
				reports, err, noRows = nil, nil, true
			}
			if err != nil {
				return err
			}
			// The exit code judges what was printed: the array of
			// campaigns alone, as before jobs existed, leaves the jobs out.
			shown, where := jobs, "see the Jobs section above"
			switch {
			case o.Format == "json" && env.global != nil && env.global.changed("jobs"):
				where = "see \"needs_review\" under \"jobs\""
				err = writeStatusDocumentJSON(env.Stdout, reports, jobs)
			case o.Format == "json":
				shown = nil
				err = writeStatusJSON(env.Stdout, reports)
			default:
				if noRows {
					_, err = fmt.Fprintf(env.Stdout, "Campaign %s has no recipients in the ledger yet.\n", filter)
				} else {
					err = writeStatusTable(env.Stdout, reports, loc, o.Limit)
				}
				if err == nil {
					err = writeJobsTable(env.Stdout, jobs, loc, o.Jobs)
				}
			}
			if err != nil {
				return err
			}
			return statusReview(reports, shown, where)
		},
	}
}

// statusReview returns the error that makes status exit with 3 when
// something needs the owner: failed or unconfirmed rows, or jobs whose last
// run failed (where says where the output shows them). Interrupted runs do
// not count: they are resumed without help.
func statusReview(reports []campaignStatus, jobs []campaign.JobHistory, where string) error {
	rows := 0
	for _, r := range reports {
		rows += r.Summary.Failed() + r.Summary.Count(campaign.StateUnconfirmed)
	}
	var failed []string
	for _, h := range jobs {
		if h.Last().Outcome == campaign.RunFailed {
			failed = append(failed, h.Job)
		}
	}
	var fe *failuresError
	if rows > 0 {
		fe = &failuresError{count: rows, hint: "see the failed and unconfirmed rows above"}
	}
	if len(failed) == 0 {
		if fe == nil {
			return nil
		}
		return fe
	}
	return &jobsReviewError{rows: fe, failedJobs: failed, where: where}
}

// jobsReviewError says that the last run of some jobs failed, and maybe
// that rows need attention too. It unwraps to a failuresError, so the exit
// code is 3 like for failed rows.
type jobsReviewError struct {
	rows       *failuresError // nil when no row needs attention
	failedJobs []string
	where      string
}

func (e *jobsReviewError) Error() string {
	n := len(e.failedJobs)
	msg := fmt.Sprintf("the last run of job%s %s failed: %s", plural(n), strings.Join(e.failedJobs, ", "), e.where)
	if e.rows != nil {
		return e.rows.Error() + "; " + msg
	}
	return msg
}

func (e *jobsReviewError) Unwrap() error {
	if e.rows != nil {
		return e.rows
	}
	return &failuresError{count: len(e.failedJobs), hint: e.where}
}

// openExistingLedger opens the ledger named by --ledger, or by the
// configuration, and returns it with the store's time zone (UTC when the
// configuration is not read). A missing ledger is an error, never created.
// When another process holds the ledger (a run, the daemon), it is opened
// read-only: these commands only read, and should work beside it.
func openExistingLedger(ctx context.Context, env *cliEnv) (*campaign.Ledger, *time.Location, error) {
	l, loc, _, err := openLedgerForReading(ctx, env)
	return l, loc, err
}

// openLedgerForReading is openExistingLedger that also reports whether
// another process holds the ledger (shared): when it does not, no run can
// be in progress.
func openLedgerForReading(ctx context.Context, env *cliEnv) (l *campaign.Ledger, loc *time.Location, shared bool, err error) {
	path, loc := "", time.UTC
	if env.global != nil && env.global.changed("ledger") {
		path = env.global.Ledger
	} else {
		cfg, err := env.loadConfigFor(useNoSecrets) // reads the ledger only
		if err != nil {
			return nil, nil, false, err
		}
		path, loc = cfg.Ledger.Path, cfg.Store.Location()
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false, fmt.Errorf("no ledger at %s: nothing has been issued with this configuration yet", path)
	}
	l, err = campaign.OpenLedger(ctx, path, env.Logger)
	if errors.Is(err, campaign.ErrLedgerLocked) {
		env.Logger.Debug("ledger in use by another process; reading a snapshot", "path", path)
		shared = true
		l, err = campaign.OpenLedgerReadOnly(ctx, path, env.Logger)
	}
	if err != nil {
		return nil, nil, false, err
	}
	return l, loc, shared, nil
}

// staleRunError is what the ledger records for a run whose process died
// (see campaign's interruptStaleRuns); status shows it the same way.
const staleRunError = "the process stopped during the run"

// collectJobStatus reads the last perJob runs of each job (of campaign, or
// of all when ""). exclusive says that this process holds the ledger, so a
// run still marked running belongs to a process that died: it is shown as
// the interrupted run the next daemon or run-job start records it as.
func collectJobStatus(ctx context.Context, l *campaign.Ledger, campaignName string, perJob int, exclusive bool) ([]campaign.JobHistory, error) {
	jobs, err := l.RecentJobRuns(ctx, campaignName, perJob)
	if err != nil {
		return nil, err
	}
	if exclusive {
		for _, h := range jobs {
			for i := range h.Runs {
				if r := &h.Runs[i]; r.Outcome == campaign.RunRunning {
					r.Outcome = campaign.RunInterrupted
					if r.Error == "" {
						r.Error = staleRunError
					}
				}
			}
		}
	}
	return jobs, nil
}

// campaignStatus is what status shows of one campaign.
type campaignStatus struct {
	Summary     campaign.Summary
	Failures    []campaign.Failure
	Unconfirmed []campaign.Issue
	// StageErrors is the last error of each stage that has one.
	StageErrors []campaign.StageError
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
		if cs.StageErrors, err = l.StageErrors(ctx, name); err != nil {
			return nil, err
		}
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
	StageErrors []stageErrorJSON  `json:"last_errors"`
}

type stageErrorJSON struct {
	Stage string    `json:"stage"`
	Error string    `json:"error"`
	At    time.Time `json:"at"`
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

// writeStatusJSON prints the array of campaigns: the JSON of status
// without --jobs, unchanged since before jobs existed.
func writeStatusJSON(w io.Writer, reports []campaignStatus) error {
	return writeJSON(w, statusJSONs(reports))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func statusJSONs(reports []campaignStatus) []statusJSON {
	out := make([]statusJSON, 0, len(reports))
	for _, r := range reports {
		s := r.Summary
		j := statusJSON{Campaign: s.Campaign, ExportOnly: s.ExportOnly, CreatedAt: s.CreatedAt.UTC(), Total: s.Total,
			Counts: map[string]int{}, Done: s.Done(), Pending: s.Pending(), NeedsReview: s.NeedsReview(),
			Reasons: []reasonJSON{}, Failures: []failureJSON{}, Unconfirmed: []unconfirmedJSON{},
			StageErrors: []stageErrorJSON{}}
		for _, se := range r.StageErrors {
			j.StageErrors = append(j.StageErrors, stageErrorJSON{string(se.Stage), se.Error, se.At.UTC()})
		}
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
	return out
}

// statusDocumentJSON is the JSON of status with --jobs: the campaigns'
// array and the jobs' runs. Its field names are part of the command's
// interface.
type statusDocumentJSON struct {
	Campaigns []statusJSON `json:"campaigns"`
	Jobs      []jobJSON    `json:"jobs"`
}

// jobJSON is the recent runs of one job, newest first.
type jobJSON struct {
	Job string `json:"job"`
	// NeedsReview is true when the last run failed.
	NeedsReview bool         `json:"needs_review"`
	Runs        []jobRunJSON `json:"runs"`
}

type jobRunJSON struct {
	ID              int64         `json:"id"`
	Campaign        string        `json:"campaign"`
	Source          string        `json:"source"`
	StartedAt       time.Time     `json:"started_at"`
	EndedAt         *time.Time    `json:"ended_at"`         // null while running
	DurationSeconds *float64      `json:"duration_seconds"` // null while running
	Outcome         string        `json:"outcome"`
	Counts          jobCountsJSON `json:"counts"`
	Watermark       string        `json:"watermark"`
	Error           string        `json:"error"`
}

type jobCountsJSON struct {
	Found      int `json:"found"`
	Rejected   int `json:"rejected"`
	Suppressed int `json:"suppressed"`
	Capped     int `json:"capped"`
	Planned    int `json:"planned"`
	Issued     int `json:"issued"`
	Failed     int `json:"failed"`
}

func writeStatusDocumentJSON(w io.Writer, reports []campaignStatus, jobs []campaign.JobHistory) error {
	doc := statusDocumentJSON{Campaigns: statusJSONs(reports), Jobs: make([]jobJSON, 0, len(jobs))}
	for _, h := range jobs {
		j := jobJSON{Job: h.Job, NeedsReview: h.Last().Outcome == campaign.RunFailed, Runs: make([]jobRunJSON, 0, len(h.Runs))}
		for _, r := range h.Runs {
			c := r.Counts
			rj := jobRunJSON{ID: r.ID, Campaign: r.Campaign, Source: r.Source, StartedAt: r.Started.UTC(), Outcome: r.Outcome,
				Counts:    jobCountsJSON{c.Found, c.Rejected, c.Suppressed, c.Capped, c.Planned, c.Issued, c.Failed},
				Watermark: r.Watermark, Error: r.Error}
			if !r.Ended.IsZero() {
				ended, secs := r.Ended.UTC(), r.Ended.Sub(r.Started).Seconds()
				rj.EndedAt, rj.DurationSeconds = &ended, &secs
			}
			j.Runs = append(j.Runs, rj)
		}
		doc.Jobs = append(doc.Jobs, j)
	}
	return writeJSON(w, doc)
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
			s.Count(campaign.StateUnconfirmed), s.Failed(), s.CreatedAt.In(loc).Format(campaign.HumanTimeLayout))
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
		if len(r.StageErrors) > 0 {
			fmt.Fprintf(&b, "\n%s: last error of each stage (why rows are still to do; cleared once the stage gets through)\n", s.Campaign)
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  STAGE\tAT\tERROR")
			for _, se := range r.StageErrors {
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", se.Stage, se.At.In(loc).Format(campaign.HumanTimeLayout), oneLine(se.Error))
			}
			tw.Flush()
		}
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
			fmt.Fprintf(&b, "  Once the cause is fixed, finish them with: couponbridge retry --campaign %s (--email ADDRESS for one row)\n", s.Campaign)
		}
		if len(r.Unconfirmed) > 0 {
			fmt.Fprintf(&b, "\n%s: unconfirmed (a run stopped while these were handed to the mail server: they may or may not have been delivered; not resent automatically)\n", s.Campaign)
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  EMAIL\tCODE\tCOUPON\tSINCE")
			for _, is := range r.Unconfirmed {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", is.Email, is.Code, couponIDText(is.CouponID), is.UpdatedAt.In(loc).Format(campaign.HumanTimeLayout))
			}
			tw.Flush()
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeJobsTable prints the Jobs section of status: nothing when no job
// has run.
func writeJobsTable(w io.Writer, jobs []campaign.JobHistory, loc *time.Location, perJob int) error {
	if len(jobs) == 0 {
		return nil
	}
	var b strings.Builder
	if perJob == 1 {
		b.WriteString("\nJobs (last run of each)\n")
	} else {
		fmt.Fprintf(&b, "\nJobs (last %d runs of each, newest first)\n", perJob)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tCAMPAIGN\tSOURCE\tSTARTED\tDURATION\tOUTCOME\tFOUND\tSUPPRESSED\tCAPPED\tISSUED\tFAILED\tWATERMARK")
	var withError []campaign.JobRun
	for _, h := range jobs {
		for _, r := range h.Runs {
			c := r.Counts
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.Job, r.Campaign, r.Source,
				r.Started.In(loc).Format(jobTimeLayout), runDuration(r), r.Outcome,
				c.Found, c.Suppressed, c.Capped, c.Issued, c.Failed, watermarkText(r.Watermark, loc))
			if r.Error != "" {
				withError = append(withError, r)
			}
		}
	}
	tw.Flush()
	if len(withError) > 0 {
		b.WriteString("\nJob errors\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  JOB\tSTARTED\tOUTCOME\tERROR")
		for _, r := range withError {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Job, r.Started.In(loc).Format(jobTimeLayout), r.Outcome, oneLine(r.Error))
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// jobTimeLayout shows seconds: a job may run every minute.
const jobTimeLayout = "2006-01-02 15:04:05 MST"

// runDuration is how long a finished run took, rounded for reading; "-"
// while it runs.
func runDuration(r campaign.JobRun) string {
	if r.Ended.IsZero() {
		return "-"
	}
	d := r.Ended.Sub(r.Started)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// watermarkText shows a source's watermark: an instant (new_customers) in
// loc, anything else as stored, "-" when there is none.
func watermarkText(w string, loc *time.Location) string {
	if w == "" {
		return "-"
	}
	if t, err := time.Parse(time.RFC3339Nano, w); err == nil {
		return t.In(loc).Format(jobTimeLayout)
	}
	return oneLine(w)
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
