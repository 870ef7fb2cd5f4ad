package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// CouponStore is what issuing needs from the store; *woo.CouponsService
// satisfies it.
type CouponStore interface {
	Batch(ctx context.Context, b *woo.CouponBatch) (*woo.CouponBatchResult, error)
	GetByCode(ctx context.Context, code string) (*woo.Coupon, error)
	List(ctx context.Context, opts *woo.CouponListOptions) ([]woo.Coupon, *woo.Response, error)
	// Update repairs the meta tags of a coupon saved without them.
	Update(ctx context.Context, id int64, p *woo.CouponPatch) (*woo.Coupon, error)
	// Delete trashes (force false) a second live coupon with one code.
	Delete(ctx context.Context, id int64, force bool) (*woo.Coupon, error)
	// FindCodes lists every coupon (several per code when the store has
	// duplicates) with one of codes, in a few list requests: how unclear
	// outcomes are settled.
	FindCodes(ctx context.Context, codes []string, opts *woo.FindCodesOptions) (map[string][]woo.Coupon, error)
}

// MailSender delivers messages and reports each outcome exactly once, never
// concurrently; *mailer.SMTPSender and *mailer.Outbox satisfy it.
type MailSender interface {
	Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error
}

// RecipientSource yields recipients one at a time: a Recipient or a
// Reject per call, io.EOF at the end. *RecipientReader satisfies it.
type RecipientSource interface {
	Next() (Recipient, *Reject, error)
}

// IssueOptions tunes an Issuer. The zero value of every field means its
// documented default.
type IssueOptions struct {
	// Location is the store's time zone: expiry days end at 23:59:59 there.
	// Default UTC.
	Location *time.Location
	// BatchSize is the number of coupons per batch request, 1..100
	// (default 100).
	BatchSize int
	// Concurrency is the number of batches in flight at once (default 2).
	// The store client's own limits (rate, concurrency) still apply.
	Concurrency int
	// PlanChunk is the number of recipients planned per ledger transaction
	// (default 1000).
	PlanChunk int
	// MailChunk is the number of messages marked sending and handed to the
	// mail sender at once (default 20): at most this many rows can become
	// unconfirmed when the process is killed.
	MailChunk int
	// CreatePasses bounds how often one run goes back over rows whose
	// creation must be retried (default 4); what is left is finished by a
	// later run.
	CreatePasses int
	// MailPasses bounds how often one run goes back over temporarily refused
	// messages (default 3).
	MailPasses int
	// MaxMailAttempts, over all runs, after which a temporarily refused
	// message is marked failed (default 8).
	MaxMailAttempts int
	// VerifyMaxAge bounds how long ago a coupon may have been read back
	// when its code is emailed (default 1h): an older verification (a run
	// stopped before emailing, a long email stage) is done again first, so
	// a coupon trashed or edited meanwhile is not mailed.
	VerifyMaxAge time.Duration
	// RetryWait is the pause after an unclear store outcome before looking
	// the codes up, and between passes (default 5s).
	RetryWait time.Duration
	// UnclearHold is how long after an unclear store outcome a code that
	// the store does not have is still held back, because the first
	// request may still be creating it (PHP goes on after a timeout or a
	// 504). Only then is it sent again. Keep it above the store client's
	// request timeout (default 2 × woo.DefaultTimeout).
	UnclearHold time.Duration
	// CapacityBits is the required margin of the code space over the
	// number of codes, in bits (default DefaultCapacityBits).
	CapacityBits float64
	// Rate is the store's request rate ceiling (req/s), used for the dry
	// run's time estimate (default 5).
	Rate float64
	// Rand is the source of code randomness; nil means crypto/rand.
	Rand io.Reader
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives structured progress and problems (default: discard).
	Logger *slog.Logger
	// Progress, when set, is called as work gets done, never concurrently:
	// stage, rows done so far in that stage, and the stage's total (0 when
	// not known, as while a list is being read).
	Progress func(stage Stage, done, total int)
	// Rejects, when set, receives every rejected input row (for a rejects
	// file). An error from it stops the run.
	Rejects func(Reject) error
}

func (o IssueOptions) withDefaults() IssueOptions {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.BatchSize <= 0 || o.BatchSize > 100 {
		o.BatchSize = 100
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 2
	}
	if o.PlanChunk <= 0 {
		o.PlanChunk = 1000
	}
	if o.MailChunk <= 0 {
		o.MailChunk = 20
	}
	if o.CreatePasses <= 0 {
		o.CreatePasses = 4
	}
	if o.MailPasses <= 0 {
		o.MailPasses = 3
	}
	if o.MaxMailAttempts <= 0 {
		o.MaxMailAttempts = 8
	}
	if o.VerifyMaxAge <= 0 {
		o.VerifyMaxAge = time.Hour
	}
	if o.RetryWait <= 0 {
		o.RetryWait = 5 * time.Second
	}
	if o.UnclearHold <= 0 {
		o.UnclearHold = 2 * woo.DefaultTimeout
	}
	if o.CapacityBits <= 0 {
		o.CapacityBits = DefaultCapacityBits
	}
	if o.Rate <= 0 {
		o.Rate = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Issuer runs issuing campaigns: plan, create, verify, email, with the
// ledger as the source of truth. It keeps the promises of couponbridge:
//
//   - one coupon per recipient and campaign, even across crashes, retries
//     and timeouts: a code is in the ledger before it is sent, a row is
//     marked creating before its batch leaves, and an unclear outcome is
//     settled by looking the code up, never by sending a new code blindly;
//   - no code is emailed before the store confirmed it and it was read back
//     as asked (only verified rows are emailed);
//   - a rerun finishes what a killed run left, and rows that were being
//     emailed when it died are shown as unconfirmed, never resent blindly.
type Issuer struct {
	ledger *Ledger
	store  CouponStore
	mail   MailSender
	opts   IssueOptions
}

// NewIssuer returns an Issuer writing to ledger, creating coupons in store
// and sending with mail (nil is fine when only export-only campaigns run).
func NewIssuer(ledger *Ledger, store CouponStore, mail MailSender, opts IssueOptions) (*Issuer, error) {
	if ledger == nil {
		return nil, errors.New("campaign: NewIssuer: nil ledger")
	}
	if store == nil {
		return nil, errors.New("campaign: NewIssuer: nil store")
	}
	return &Issuer{ledger: ledger, store: store, mail: mail, opts: opts.withDefaults()}, nil
}

// IssueCounts counts what one run did.
type IssueCounts struct {
	Rejected    int // input rows rejected
	Suppressed  int // recipients on the ledger's suppression list, not planned
	Planned     int // new rows planned
	Created     int // coupons the store confirmed
	Adopted     int // coupons found in the store after an unclear outcome, and recorded
	Recoded     int // codes replaced because someone else's coupon had them
	Verified    int // coupons read back and found as asked
	Emailed     int // messages accepted
	Deferred    int // messages refused temporarily (retried later)
	Failed      int // rows that failed during this run
	Requeued    int // rows sent again because the store did not have them after an unclear outcome
	Unconfirmed int // rows found in sending at start, marked unconfirmed
	Capped      int // messages held back by the mail sender's hourly or daily cap
}

// RunResult is the outcome of Issuer.Run: where the campaign stands in the
// ledger afterwards, and what this run did.
type RunResult struct {
	Summary
	ThisRun IssueCounts
	// Blocked is set when rows are still to do because the store or the
	// mail server could not be reached, or kept refusing; its message is
	// the cause. Rows held back only by a mail cap do not set it.
	Blocked *BlockedError
}

// issueRun is the state of one Run.
type issueRun struct {
	*Issuer
	c Campaign
	// store shadows Issuer.store: it notes the store's errors (noteError).
	store  CouponStore
	gen    *CodeGenerator
	log    *slog.Logger
	loc    *time.Location
	progMu sync.Mutex

	mu        sync.Mutex
	counts    IssueCounts
	held      map[int64]time.Time // rows whose code the store may still be creating, until when
	stageErrs map[Stage]*stageNote
	// storeAnswered is set by the first store request of the run that got
	// an answer other than an error (see errStoreFailing).
	storeAnswered atomic.Bool
}

func (r *issueRun) count(f func(*IssueCounts)) {
	r.mu.Lock()
	f(&r.counts)
	r.mu.Unlock()
}

func (r *issueRun) progress(stage Stage, done, total int) {
	if r.opts.Progress == nil {
		return
	}
	r.progMu.Lock()
	defer r.progMu.Unlock()
	r.opts.Progress(stage, done, total)
}

// persistCtx is the context for ledger writes that record what already
// happened outside: they must land even when the run is being cancelled.
func persistCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// Run issues campaign c: it plans the recipients of src (nil to only carry
// on with rows already planned; ignored for export-only campaigns, which
// plan c.Count codes), creates their coupons in batches, reads them back and
// emails the verified codes. Rows left unfinished by an earlier run are
// carried on first.
//
// On cancellation it stops taking new batches, finishes the ones in flight,
// records their outcome, and returns the result so far with ctx's error.
// Failed rows are not an error: they are in the result's Summary.
func (is *Issuer) Run(ctx context.Context, c Campaign, src RecipientSource) (RunResult, error) {
	r, err := is.start(ctx, c)
	if err != nil {
		return RunResult{}, err
	}
	err = r.run(ctx, src)
	sctx, cancel := persistCtx(ctx)
	defer cancel()
	sum, serr := is.ledger.Summary(sctx, c.Name)
	res := RunResult{Summary: sum}
	r.mu.Lock()
	res.ThisRun = r.counts
	r.mu.Unlock()
	res.Rejects = res.ThisRun.Rejected
	if serr == nil && ctx.Err() == nil {
		res.Blocked = r.settleStageErrors(sctx, sum)
	}
	if res.Blocked != nil && (woo.IsUnreachable(err) || errors.Is(err, errStoreFailing)) {
		// A stage stopped early because the store could not be reached:
		// that is the run's outcome (Blocked, with the cause), not an
		// error of the run itself.
		err = nil
	}
	r.logFinished(res, err)
	if err == nil {
		err = serr
	}
	return res, err
}

func (is *Issuer) start(ctx context.Context, c Campaign) (*issueRun, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := c.Coupon.ValidateAt(is.opts.Now(), is.opts.Location); err != nil {
		return nil, fmt.Errorf("campaign %q: %w", c.Name, err)
	}
	if !c.ExportOnly && is.mail == nil {
		return nil, fmt.Errorf("campaign %q: no mail sender configured", c.Name)
	}
	gen, err := NewCodeGenerator(c.Codes, is.opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("campaign %q: codes: %w", c.Name, err)
	}
	r := &issueRun{Issuer: is, c: c, gen: gen, loc: is.opts.Location,
		log: is.opts.Logger.With("campaign", c.Name)}
	r.store = notingStore{CouponStore: is.store, r: r}
	return r, nil
}

func (r *issueRun) run(ctx context.Context, src RecipientSource) error {
	if err := r.ledger.ensureCampaignOf(ctx, r.c); err != nil {
		return err
	}
	if err := r.markUnconfirmed(ctx); err != nil {
		return err
	}
	if r.c.ExportOnly {
		if err := r.planExport(ctx); err != nil {
			return err
		}
	} else if src != nil {
		if err := r.plan(ctx, src); err != nil {
			return err
		}
	}
	if err := r.createStage(ctx); err != nil {
		return err
	}
	if err := r.verifyStage(ctx); err != nil {
		return err
	}
	if !r.c.ExportOnly {
		if err := r.emailStage(ctx); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// markUnconfirmed turns rows a killed run left in sending into unconfirmed:
// the mail server may have accepted them, so sending again could email a
// code twice, and not sending could forget someone. The owner decides.
func (r *issueRun) markUnconfirmed(ctx context.Context) error {
	var after int64
	for {
		rows, err := r.ledger.nextIssues(ctx, r.c.Name, StateSending, after, 500)
		if err != nil || len(rows) == 0 {
			return err
		}
		after = rows[len(rows)-1].ID
		ts := make([]transition, len(rows))
		for i, row := range rows {
			ts[i] = toUnconfirmed(row.ID, "a run stopped while this message was being sent; the mail server may or may not have accepted it")
			r.log.Warn("UNCONFIRMED: message may or may not have been delivered; not resent automatically, check and resend by hand if needed",
				"email", row.Email, "coupon_id", row.CouponID, "code", MaskCode(row.Code), "attempts", row.MailAttempts)
		}
		applied, err := r.ledger.apply(ctx, ts...)
		if err != nil {
			return err
		}
		r.count(func(c *IssueCounts) { c.Unconfirmed += countTrue(applied) })
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// sleep waits d or until ctx is done; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errString is err's message on one line, bounded, for the ledger.
func errString(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}
