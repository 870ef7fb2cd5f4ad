package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/couponbridge/couponbridge/woo"
)

// Plan is what a dry run found: what a real run of the campaign would do.
type Plan struct {
	Campaign   string
	ExportOnly bool
	// Read counts the data rows read; Recipients the valid ones.
	Read       int
	Recipients int
	// Rejected counts the rejected rows; Rejects holds the first of them
	// (up to MaxPlanRejects).
	Rejected int
	Rejects  []Reject
	// Suppressed counts valid recipients on the ledger's suppression list:
	// a run plans nothing for them.
	Suppressed int
	// New counts recipients (or export-only codes) not yet in the campaign:
	// the coupons a run would create. Known counts those already there.
	New   int
	Known int
	// Unfinished counts rows already in the ledger that a run would carry
	// on with (planned, creating, created or verified).
	Unfinished int
	// CodeBits is the entropy of one code; GuessProbability the chance that
	// one random guess hits any live code of the campaign after the run.
	CodeBits         float64
	GuessProbability float64
	SampleCodes      []string
	// SampleCoupon is the payload that would be sent for the first new
	// recipient (with a sample code).
	SampleCoupon woo.Coupon
	// CreateRequests and VerifyRequests are the store requests a fault-free
	// run needs; Emails the messages it would send.
	CreateRequests int
	VerifyRequests int
	Emails         int
	// Rate is the request rate the estimate assumes (IssueOptions.Rate).
	Rate float64
	// Columns says what each column of the recipient list became; nil for
	// an export-only campaign or a source that does not say.
	Columns []ColumnUse
	// StoreDuration is the time the store part (creating and reading back)
	// would take at Rate, or at a small store's own pace if slower.
	StoreDuration time.Duration
	// Mail is the sender's pace the email part was estimated with, set by
	// EstimateMail; MailDuration the time the email part would take,
	// MailThisRun the messages the caps let out in this run and MailHeld
	// those they hold back for a later run.
	Mail         MailPace
	MailDuration time.Duration
	MailThisRun  int
	MailHeld     int
	// EstimatedDuration is the whole run: StoreDuration, and MailDuration
	// once EstimateMail has been called.
	EstimatedDuration time.Duration
}

// MailPace is how fast the mail sender may go, for the estimate of the
// email part of a run (Plan.EstimateMail).
type MailPace struct {
	// Outbox is set when messages are written to files, not sent.
	Outbox bool
	// Rate caps messages per second over all connections (0: no limit).
	Rate float64
	// Connections is the number of SMTP connections (at least 1).
	Connections int
	// PerHour and PerDay cap messages in any rolling hour and day (0: no
	// cap); a run does not wait for a cap: what is over it waits for a
	// later run.
	PerHour, PerDay int
	// SentLastHour and SentLastDay count messages already sent in the last
	// hour and day (Ledger.SendsSince), which the caps count too; SentKnown
	// says whether they were looked up.
	SentLastHour, SentLastDay int
	SentKnown                 bool
}

// MaxPlanRejects bounds Plan.Rejects; Plan.Rejected has the full count.
const MaxPlanRejects = 100

// What a small WooCommerce store (2 cores, 4 PHP workers) spends, measured
// (woocommerce-notes.md): a WordPress boot per request, about 17 ms per
// coupon inside a batch on one connection (62.8 coupons/s), and more than
// two connections at once gain nothing (115/s with 2, 111/s with 4). A
// read-back page loads up to 100 coupons with their meta. The estimate
// used to count 12 ms per coupon on every connection and promised 8 s for
// a stage that took 21 to 44 s on a real store.
const (
	storeTimePerRequest  = 80 * time.Millisecond
	storeTimePerCoupon   = 17 * time.Millisecond
	storeTimePerReadBack = 250 * time.Millisecond
	storeParallelism     = 2
)

// smtpTimePerMessage is what handing one message to a submission server
// takes on one connection (MAIL, RCPT, DATA and the reply, pipelined),
// when no rate is configured.
const smtpTimePerMessage = 250 * time.Millisecond

// DryRun reads src and reports what Run would do, writing nothing anywhere:
// not the ledger, not the store, no mail, no rejects file (rejects are in
// the Plan). ledger may be nil (a first run: every recipient is new).
func DryRun(ctx context.Context, ledger *Ledger, c Campaign, src RecipientSource, opts IssueOptions) (*Plan, error) {
	opts = opts.withDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := c.Coupon.ValidateAt(opts.Now(), opts.Location); err != nil {
		return nil, fmt.Errorf("campaign %q: %w", c.Name, err)
	}
	gen, err := NewCodeGenerator(c.Codes, opts.Rand)
	if err != nil {
		return nil, fmt.Errorf("campaign %q: codes: %w", c.Name, err)
	}
	p := &Plan{Campaign: c.Name, ExportOnly: c.ExportOnly, CodeBits: gen.Bits(), Rate: opts.Rate}
	if cm, ok := src.(interface{ Columns() []ColumnUse }); ok && !c.ExportOnly {
		p.Columns = cm.Columns()
	}
	existing := 0
	if ledger != nil {
		sum, err := ledger.Summary(ctx, c.Name)
		switch {
		case errors.Is(err, ErrNoCampaign):
		case err != nil:
			return nil, err
		default:
			existing = sum.Total
			p.Unfinished = sum.Pending()
			if err := ledger.checkCampaignOf(ctx, c); err != nil {
				return nil, err
			}
		}
	}
	firstNew := ""
	if c.ExportOnly {
		p.Known = min(existing, c.Count)
		p.New = c.Count - p.Known
		firstNew = ""
	} else if src != nil {
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			rec, rej, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			p.Read++
			if rej != nil {
				p.Rejected++
				if len(p.Rejects) < MaxPlanRejects {
					p.Rejects = append(p.Rejects, *rej)
				}
				continue
			}
			p.Recipients++
			if ledger != nil {
				sup, err := ledger.suppressedAmong(ctx, []string{rec.Email})
				if err != nil {
					return nil, err
				}
				if sup[rec.Email] {
					p.Suppressed++
					continue
				}
			}
			known := false
			if ledger != nil && existing > 0 {
				if _, known, err = ledger.Issue(ctx, c.Name, rec.Email); err != nil {
					return nil, err
				}
			}
			if known {
				p.Known++
				continue
			}
			if p.New == 0 {
				firstNew = rec.Email
			}
			p.New++
		}
	}
	if err := gen.CheckCapacity(max(existing+p.New, 1), opts.CapacityBits); err != nil {
		return nil, fmt.Errorf("campaign %q: %w", c.Name, err)
	}
	p.GuessProbability = gen.GuessProbability(existing + p.New)
	for range 5 {
		code, err := gen.Next()
		if err != nil {
			return nil, err
		}
		p.SampleCodes = append(p.SampleCodes, code)
	}
	if firstNew == "" && !c.ExportOnly {
		firstNew = "recipient@example.com"
	}
	issued := time.Unix(opts.Now().Unix(), 0)
	p.SampleCoupon = c.Coupon.Build(CouponParams{Campaign: c.Name, Code: p.SampleCodes[0], Email: firstNew, Issued: issued, Loc: opts.Location})

	p.CreateRequests = ceilDiv(p.New, opts.BatchSize)
	p.VerifyRequests = ceilDiv(p.New+p.Unfinished, woo.MaxPerPage)
	if !c.ExportOnly {
		p.Emails = p.New + p.Unfinished
	}
	atRate := time.Duration(float64(p.CreateRequests+p.VerifyRequests) / opts.Rate * float64(time.Second))
	storeWork := time.Duration(p.CreateRequests)*storeTimePerRequest + time.Duration(p.New)*storeTimePerCoupon +
		time.Duration(p.VerifyRequests)*storeTimePerReadBack
	storePace := storeWork / time.Duration(min(opts.Concurrency, storeParallelism))
	p.StoreDuration = max(atRate, storePace).Round(time.Second)
	p.EstimatedDuration = p.StoreDuration
	return p, nil
}

// EstimateMail adds the email part to the plan's estimate: DryRun does not
// know the mail sender. The emails go out after the store part, at m.Rate
// or, without a rate, as fast as m.Connections hand messages over; what the
// hourly and daily caps hold back, counting what went out in the last hour
// and day, waits for a later run.
func (p *Plan) EstimateMail(m MailPace) {
	p.Mail = m
	p.MailThisRun, p.MailHeld = p.Emails, 0
	for _, c := range []struct{ limit, sent int }{{m.PerHour, m.SentLastHour}, {m.PerDay, m.SentLastDay}} {
		if c.limit > 0 {
			p.MailThisRun = min(p.MailThisRun, max(c.limit-c.sent, 0))
		}
	}
	p.MailHeld = p.Emails - p.MailThisRun
	var d time.Duration
	switch {
	case m.Outbox:
		// Files on a local disk: no time worth saying.
	case m.Rate > 0:
		d = time.Duration(float64(p.MailThisRun) / m.Rate * float64(time.Second))
		fallthrough
	default:
		d = max(d, time.Duration(p.MailThisRun)*smtpTimePerMessage/time.Duration(max(m.Connections, 1)))
	}
	p.MailDuration = d.Round(time.Second)
	p.EstimatedDuration = p.StoreDuration + p.MailDuration
}

// DryRun is DryRun with the Issuer's ledger and options.
func (is *Issuer) DryRun(ctx context.Context, c Campaign, src RecipientSource) (*Plan, error) {
	return DryRun(ctx, is.ledger, c, src, is.opts)
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}
