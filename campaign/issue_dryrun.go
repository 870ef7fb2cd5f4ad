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
	// EstimatedDuration is the time the store part would take at Rate, or
	// at the store's own pace (about 12 ms per coupon in a batch) if slower.
	EstimatedDuration time.Duration
}

// MaxPlanRejects bounds Plan.Rejects; Plan.Rejected has the full count.
const MaxPlanRejects = 100

// storeTimePerCoupon is what creating one coupon inside a batch costs a
// small WooCommerce store (see woocommerce-notes.md).
const storeTimePerCoupon = 12 * time.Millisecond

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
	storePace := time.Duration(p.New) * storeTimePerCoupon / time.Duration(opts.Concurrency)
	p.EstimatedDuration = max(atRate, storePace).Round(time.Second)
	return p, nil
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
