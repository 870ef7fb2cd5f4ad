package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Job is a scheduled issuing job: when it runs, where its people come
// from, which of them are left out, and the campaign they get a coupon of.
type Job struct {
	// Name identifies the job in the ledger, the logs and the metrics.
	Name string
	// Campaign is the campaign the job issues into. A recipient gets at
	// most one coupon of a campaign, ever (the ledger's rule).
	Campaign Campaign
	// Schedule says when the daemon runs the job.
	Schedule Schedule
	// Source finds the candidates.
	Source Source
	// Rules are the suppression rules and caps.
	Rules Rules
	// Paid, when set, is asked about every candidate that Rules.SkipPaying
	// would keep and that is about to be planned (after the other rules and
	// the cap): is there a paid order by their user id or billing email?
	// Sources only know WooCommerce's is_paying_customer flag, which a
	// processing cash-on-delivery order or a guest purchase leaves false.
	Paid PaidChecker
}

// Rules are the suppression rules and caps of a job, applied to every
// candidate whatever the source.
type Rules struct {
	// SuppressionFile is a list of addresses and @domains never to issue to
	// (see SuppressionList); read at every run, so edits apply at once.
	SuppressionFile string
	// CooldownDays > 0 also leaves out anyone who got a coupon of any
	// campaign in the ledger during the last CooldownDays days (for
	// win-back campaigns rotated by name, or welcome and win-back
	// overlapping). Within one campaign the ledger already allows one
	// coupon per person, ever.
	CooldownDays int
	// SkipPaying leaves out people the store knows to have a paid order
	// (the welcome rule).
	SkipPaying bool
	// RecentDays > 0 leaves out people whose last paid order is within the
	// last RecentDays days, when the source knows it (the win-back rule).
	RecentDays int
	// MaxPerRun caps the new recipients planned by one run; 0 means
	// DefaultMaxPerRun.
	MaxPerRun int
	// MaxPerDay caps the recipients planned in the campaign per day of the
	// store's time zone, counted from the ledger over every job and run of
	// the campaign; 0 means no daily cap. It is checked and the rows
	// inserted in one transaction, so it is never exceeded.
	MaxPerDay int
}

// DefaultMaxPerRun is the per-run cap when none is configured: a job is a
// trickle beside the shop; bulk lists go through `couponbridge issue`.
const DefaultMaxPerRun = 1000

// IssueFunc runs the issuing pipeline of c over every row of c that is not
// finished in the ledger (rows just planned by the job, and rows a stopped
// run left), and returns when they are done or ctx is cancelled after the
// batch in flight.
type IssueFunc func(ctx context.Context, c Campaign) error

// JobRunner runs jobs: source → suppression → caps → planning → issuing,
// recording each run in the ledger.
type JobRunner struct {
	Ledger *Ledger
	// Issue runs the pipeline (required).
	Issue IssueFunc
	// Loc is the store's time zone: the day of max_per_day.
	Loc     *time.Location
	Logger  *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
}

// ErrJobInterrupted is returned by Run when ctx was cancelled during the run.
var ErrJobInterrupted = errors.New("job run interrupted")

// recordTimeout bounds the ledger writes made after ctx was cancelled.
const recordTimeout = 10 * time.Second

// candidate decisions of one run.
type runPlan struct {
	accepted   []Candidate
	suppressed []queueDecision // webhook rows to mark suppressed
	files      map[string]bool // csv files read: true while no row is left for later
}

type queueDecision struct {
	id     int64
	reason string
}

// evalChunk is how many candidates are checked against the ledger at once.
const evalChunk = 500

// Run runs job once and records the run. It returns the recorded run; the
// error is ErrJobInterrupted (wrapped) when ctx was cancelled, or what
// failed the run.
func (r *JobRunner) Run(ctx context.Context, job Job) (JobRun, error) {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	loc := r.Loc
	if loc == nil {
		loc = time.UTC
	}
	start := now()
	run := JobRun{Job: job.Name, Campaign: job.Campaign.Name, Source: job.Source.Kind(), Started: start, Outcome: RunRunning}
	if err := ctx.Err(); err != nil {
		// Nothing started: nothing to record.
		run.Outcome = RunInterrupted
		return run, fmt.Errorf("%w: %w", ErrJobInterrupted, err)
	}
	id, err := r.Ledger.startJobRun(ctx, job.Name, job.Campaign.Name, run.Source, start)
	if err != nil {
		return run, err
	}
	run.ID = id

	before, _ := r.Ledger.Summary(ctx, job.Campaign.Name) // ErrNoCampaign before the first run
	watermark, err := r.execute(ctx, job, &run, start, loc, log)
	after, serr := r.Ledger.Summary(context.WithoutCancel(ctx), job.Campaign.Name)
	ic := issueCounts{}
	if serr == nil {
		ic = summaryDelta(before, after)
		run.Counts.Issued = ic.Emailed + ic.Exported
		run.Counts.Failed = max(0, after.Failed()-before.Failed())
	}

	switch {
	case err == nil:
		run.Outcome = RunSuccess
	case ctx.Err() != nil:
		run.Outcome = RunInterrupted
		run.Error = "stopped: " + err.Error()
		err = fmt.Errorf("%w: %w", ErrJobInterrupted, err)
	default:
		run.Outcome = RunFailed
		run.Error = err.Error()
	}
	run.Ended = now()
	if run.Outcome == RunSuccess {
		run.Watermark = watermark
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if ferr := r.Ledger.finishJobRun(rctx, run.ID, run.Outcome, run.Ended, run.Counts, run.Watermark, run.Error); ferr != nil {
		err = errors.Join(err, ferr)
	}
	r.Metrics.observeRun(job.Name, job.Campaign.Name, jobOutcome(run.Outcome), run.Ended.Sub(run.Started), run.Ended, ic)
	if job.Source.Kind() == "webhook" {
		if n, qerr := r.Ledger.PendingDeliveries(rctx, job.Name); qerr == nil {
			r.Metrics.setQueued(job.Name, n)
		}
	}
	level := slog.LevelInfo
	if run.Outcome != RunSuccess || run.Counts.Failed > 0 {
		level = slog.LevelWarn
	}
	attrs := []any{"job", job.Name, "campaign", job.Campaign.Name, "source", run.Source, "outcome", run.Outcome,
		"found", run.Counts.Found, "rejected", run.Counts.Rejected, "suppressed", run.Counts.Suppressed, "capped", run.Counts.Capped,
		"planned", run.Counts.Planned, "issued", run.Counts.Issued, "failed", run.Counts.Failed,
		"duration", run.Ended.Sub(run.Started).Round(time.Millisecond)}
	if run.Error != "" {
		attrs = append(attrs, "err", run.Error)
	}
	log.Log(context.WithoutCancel(ctx), level, "job run", attrs...)
	return run, err
}

// execute does the work of a run and fills run.Counts; it returns the new
// watermark of the source.
func (r *JobRunner) execute(ctx context.Context, job Job, run *JobRun, start time.Time, loc *time.Location, log *slog.Logger) (string, error) {
	if r.Issue == nil {
		return "", errors.New("job runner: no issuing pipeline")
	}
	if err := job.Campaign.Validate(); err != nil {
		return "", err
	}
	if job.Campaign.ExportOnly {
		return "", fmt.Errorf("campaign %q is export-only: a job issues to people, so its campaign must send email", job.Campaign.Name)
	}
	watermark, err := r.Ledger.jobWatermark(ctx, job.Name)
	if err != nil {
		return "", err
	}
	var list *SuppressionList
	if job.Rules.SuppressionFile != "" {
		if list, err = LoadSuppressionList(job.Rules.SuppressionFile); err != nil {
			return "", err
		}
	}
	scan := &SourceScan{Watermark: watermark, Now: start, Loc: loc, Logger: log.With("job", job.Name)}
	plan, err := r.evaluate(ctx, job, scan, list, run)
	run.Counts.Rejected = scan.Rejected
	if err != nil {
		return "", err
	}
	if err := r.plan(ctx, job, plan, loc, run); err != nil {
		return "", err
	}
	if csv, ok := job.Source.(*CSVSource); ok {
		if err := csv.finish(plan.files, scan.Logger); err != nil {
			// The rows are planned; the file is read again next run and its
			// rows are then suppressed as already issued. Not a failed run.
			scan.Logger.Warn("csv source: cannot move file to done", "err", err)
		}
	}
	if err := r.Issue(ctx, job.Campaign); err != nil {
		return "", err
	}
	if run.Counts.Capped > 0 {
		// Candidates were left for a later run: do not move past them.
		return scan.StartWatermark, nil
	}
	return scan.NewWatermark, nil
}

// evaluate reads the source and applies the suppression rules and the
// per-run cap.
func (r *JobRunner) evaluate(ctx context.Context, job Job, scan *SourceScan, list *SuppressionList, run *JobRun) (*runPlan, error) {
	rules := job.Rules
	maxRun := rules.MaxPerRun
	if maxRun <= 0 {
		maxRun = DefaultMaxPerRun
	}
	plan := &runPlan{files: map[string]bool{}}
	seen := map[string]bool{}
	var chunk []Candidate
	suppress := func(c Candidate, reason string) {
		run.Counts.Suppressed++
		if c.queueID != 0 {
			plan.suppressed = append(plan.suppressed, queueDecision{c.queueID, reason})
		}
	}
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		emails := make([]string, len(chunk))
		for i, c := range chunk {
			emails[i] = c.Recipient.Email
		}
		issued, err := r.Ledger.issuedIn(ctx, job.Campaign.Name, emails)
		if err != nil {
			return err
		}
		unsubscribed, err := r.Ledger.suppressedAmong(ctx, emails)
		if err != nil {
			return err
		}
		var cooled map[string]bool
		if rules.CooldownDays > 0 {
			if cooled, err = r.Ledger.issuedSince(ctx, scan.Now.AddDate(0, 0, -rules.CooldownDays), emails); err != nil {
				return err
			}
		}
		for _, c := range chunk {
			switch {
			case issued[c.Recipient.Email]:
				suppress(c, "already issued in this campaign")
			case unsubscribed[c.Recipient.Email]:
				suppress(c, "on the ledger's suppression list (unsubscribed)")
			case cooled[c.Recipient.Email]:
				suppress(c, fmt.Sprintf("got a coupon within cooldown_days (%d)", rules.CooldownDays))
			case len(plan.accepted) >= maxRun:
				run.Counts.Capped++
				if c.file != "" {
					plan.files[c.file] = false
				}
			default:
				if rules.SkipPaying && job.Paid != nil {
					paid, err := job.Paid.HasPaidOrder(ctx, c.customerID, c.Recipient.Email)
					if err != nil {
						return fmt.Errorf("skip_paying: %w", err)
					}
					if paid {
						suppress(c, "already has a paid order")
						continue
					}
				}
				plan.accepted = append(plan.accepted, c)
			}
		}
		chunk = chunk[:0]
		return nil
	}
	for c, err := range job.Source.Candidates(ctx, scan) {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		run.Counts.Found++
		if c.file != "" {
			if _, ok := plan.files[c.file]; !ok {
				plan.files[c.file] = true
			}
		}
		email := c.Recipient.Email
		switch {
		case seen[email]:
			suppress(c, "duplicate in this run")
			continue
		case list.Contains(email):
			suppress(c, "on the suppression list")
			continue
		case rules.SkipPaying && c.Paying:
			suppress(c, "already has a paid order")
			continue
		case rules.RecentDays > 0 && !c.LastPaid.IsZero() && c.LastPaid.After(scan.Now.AddDate(0, 0, -rules.RecentDays)):
			suppress(c, fmt.Sprintf("bought within %d days", rules.RecentDays))
			continue
		}
		seen[email] = true
		chunk = append(chunk, c)
		if len(chunk) >= evalChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	// A csv file read to its end whose rows were all rejected (or that has
	// none) is done too.
	for _, f := range scan.csvDone {
		if _, ok := plan.files[f]; !ok {
			plan.files[f] = true
		}
	}
	return plan, nil
}

// plan records the campaign, then in one transaction counts what the
// campaign planned today, inserts the accepted candidates that fit the
// daily budget, and marks the webhook rows consumed.
func (r *JobRunner) plan(ctx context.Context, job Job, plan *runPlan, loc *time.Location, run *JobRun) error {
	c := job.Campaign
	if err := r.Ledger.ensureCampaignOf(ctx, c); err != nil {
		return err
	}
	gen, err := NewCodeGenerator(c.Codes, nil)
	if err != nil {
		return fmt.Errorf("campaign %q: %w", c.Name, err)
	}
	if len(plan.accepted) > 0 {
		existing, err := r.Ledger.countIssues(ctx, c.Name)
		if err != nil {
			return err
		}
		if err := gen.CheckCapacity(existing+len(plan.accepted), DefaultCapacityBits); err != nil {
			return fmt.Errorf("campaign %q: %w", c.Name, err)
		}
	}
	res, err := r.Ledger.planJobRows(ctx, jobPlanTx{
		campaign:   c.Name,
		runID:      run.ID,
		accepted:   plan.accepted,
		suppressed: plan.suppressed,
		maxPerDay:  job.Rules.MaxPerDay,
		loc:        loc,
		newCode:    gen.Next,
	})
	if err != nil {
		return err
	}
	run.Counts.Planned += res.planned
	run.Counts.Suppressed += res.raced
	run.Counts.Capped += res.capped
	for _, f := range res.cappedFiles {
		plan.files[f] = false
	}
	return nil
}

// summaryDelta is what the pipeline did between two summaries of a campaign.
func summaryDelta(before, after Summary) issueCounts {
	inStore := func(s Summary) int {
		return s.Count(StateCreated) + s.Count(StateVerified) + s.Count(StateSending) + s.Count(StateEmailed) +
			s.Count(StateExported) + s.Count(StateUnconfirmed)
	}
	failedAt := func(s Summary, stages ...Stage) int {
		n := 0
		for _, r := range s.Reasons {
			for _, st := range stages {
				if r.Stage == st {
					n += r.Count
				}
			}
		}
		return n
	}
	return issueCounts{
		Created:      max(0, inStore(after)-inStore(before)),
		CreateFailed: max(0, failedAt(after, StageCreate, StageVerify)-failedAt(before, StageCreate, StageVerify)),
		Emailed:      max(0, after.Count(StateEmailed)-before.Count(StateEmailed)),
		Exported:     max(0, after.Count(StateExported)-before.Count(StateExported)),
		EmailFailed:  max(0, failedAt(after, StageEmail)-failedAt(before, StageEmail)),
	}
}
