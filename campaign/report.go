package campaign

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// CountingOrderStatuses returns the order statuses whose revenue and discount a
// report counts. A pending order is not paid yet; a cancelled, failed or
// refunded one brought nothing (WooCommerce keeps the coupon use of a refunded
// or failed order, but its money is not revenue). Everything else, such as
// "trash", "checkout-draft" or a plugin's own status, is left out as well.
func CountingOrderStatuses() []string { return []string{"processing", "completed", "on-hold"} }

// UseReturningOrderStatuses are the order statuses in which WooCommerce
// gives a coupon's use back (cancelled, failed, trashed; refunded orders
// keep it). A code unused now with such an order was redeemed and given
// back, even when both happened between two syncs.
func UseReturningOrderStatuses() []string { return []string{"cancelled", "failed", "trash"} }

// OrderCounts reports whether an order in status counts toward a campaign's
// orders, revenue and discount cost (see CountingOrderStatuses).
func OrderCounts(status string) bool {
	return slices.Contains(CountingOrderStatuses(), status)
}

// Report is the outcome of the campaigns in a ledger, as of GeneratedAt.
type Report struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Timezone is the zone days are counted in (the store's).
	Timezone string `json:"timezone"`
	// Currency is the store's currency (configured), shown for campaigns
	// without orders yet; "" when unknown.
	Currency  string           `json:"currency,omitempty"`
	Campaigns []CampaignReport `json:"campaigns"`

	// loc is the zone behind Timezone, for showing times to people.
	loc *time.Location
}

// SetStoreCurrency records the store's currency and gives it to the
// campaigns that have no orders yet, so that a report shows "0.00 EUR"
// rather than a bare number before the first order.
func (r *Report) SetStoreCurrency(currency string) {
	r.Currency = currency
	for i := range r.Campaigns {
		if r.Campaigns[i].Currency == "" {
			r.Campaigns[i].Currency = currency
		}
	}
}

// location is the zone times are shown in: the builder's, else the one
// Timezone names, else UTC.
func (r Report) location() *time.Location {
	if r.loc != nil {
		return r.loc
	}
	if loc, err := time.LoadLocation(r.Timezone); err == nil && r.Timezone != "" {
		return loc
	}
	return time.UTC
}

// CampaignReport holds the figures of one campaign. Counts are of codes
// (ledger rows) unless the name says orders.
type CampaignReport struct {
	Campaign   string `json:"campaign"`
	ExportOnly bool   `json:"export_only"`
	// Planned is every row of the campaign, whatever its state.
	Planned int `json:"planned"`
	// Issued counts coupons the store confirmed.
	Issued int `json:"issued"`
	// Emailed counts codes the mail server accepted.
	Emailed int `json:"emailed"`
	// Failed counts rows in state failed, to be reviewed.
	Failed int `json:"failed"`
	// Redeemed counts codes used at least once, as of the last sync.
	Redeemed int `json:"redeemed"`
	// RedemptionRate is Redeemed divided by the codes handed out: Emailed,
	// or Issued for an export-only campaign; 0 when none were.
	RedemptionRate float64 `json:"redemption_rate"`
	// Orders counts distinct orders in a counting status (see
	// CountingOrderStatuses) that used a code of the campaign.
	Orders int `json:"orders"`
	// Revenue is the sum of those orders' totals.
	Revenue Money `json:"revenue"`
	// DiscountCost is the sum of the discounts the campaign's codes gave on
	// those orders.
	DiscountCost Money `json:"discount_cost"`
	// Currency of the orders; the store's (Report.SetStoreCurrency) when
	// there are none, "" when that is unknown too.
	Currency string `json:"currency"`
	// MedianDaysToRedeem is the median time, in days, from email (issue for
	// export-only campaigns) to redemption; nil when nothing was redeemed.
	MedianDaysToRedeem *float64 `json:"median_days_to_redeem"`
	// UseReturned counts codes whose use was given back (a cancelled order)
	// and that are unused now.
	UseReturned int `json:"use_returned"`
	// Expired counts unused codes past their expiry (failed rows are
	// counted under Failed only, deleted ones under DeletedInStore).
	Expired int `json:"expired"`
	// DeletedInStore counts coupons someone deleted or trashed in the store.
	DeletedInStore int `json:"deleted_in_store"`
	// ChangedInStore counts coupons changed by hand in the store (flagged by sync).
	ChangedInStore int `json:"changed_in_store"`
	// Pruned counts coupons deleted by prune after they expired unused.
	Pruned int `json:"pruned"`
	// Reminded counts codes whose holder got an expiry reminder.
	Reminded int `json:"reminded"`
	// LastSync is when sync last read the campaign's coupons; zero if never.
	LastSync time.Time `json:"last_sync,omitzero"`
	// Daily has codes issued and redeemed per day in the report's timezone,
	// from the first to the last day with either, without gaps.
	Daily []DayCount `json:"daily"`
	// Warnings says what makes the figures less than exact (mixed currencies).
	Warnings []string `json:"warnings,omitempty"`
}

// DayCount is one day of CampaignReport.Daily.
type DayCount struct {
	Day      string `json:"day"` // YYYY-MM-DD
	Issued   int    `json:"issued"`
	Redeemed int    `json:"redeemed"`
}

// ReportCode is what a report reads of one ledger row.
type ReportCode struct {
	Campaign string
	State    string
	// IssuedAt is when the store confirmed the coupon; zero if it never did.
	IssuedAt  time.Time
	EmailedAt time.Time
	ExpiresAt time.Time
	// RedeemedAt is when the code was first seen used; zero if it is unused now.
	RedeemedAt   time.Time
	UseReturned  bool
	Deleted      bool
	Changed      bool
	Reminded     bool
	LastSyncedAt time.Time
}

// ReportOrderLine is one use of a campaign's code in an order.
type ReportOrderLine struct {
	Campaign string
	OrderID  int64
	Status   string
	Currency string
	// Total is the order's total; counted once per order and campaign.
	Total Money
	// Discount is what this code took off the order.
	Discount Money
}

// ReportBuilder accumulates ledger rows and order lines into a Report
// without holding the rows: memory grows with campaigns, days, redemptions and
// orders, not with the number of codes.
type ReportBuilder struct {
	now       time.Time
	loc       *time.Location
	campaigns map[string]*campaignAcc
}

type campaignAcc struct {
	r        CampaignReport
	issued   map[civilDay]int
	redeemed map[civilDay]int
	days     []float64
	orders   map[int64]bool
}

// NewReportBuilder starts a report as of now, counting days in loc (nil: UTC).
func NewReportBuilder(now time.Time, loc *time.Location) *ReportBuilder {
	if loc == nil {
		loc = time.UTC
	}
	return &ReportBuilder{now: now, loc: loc, campaigns: map[string]*campaignAcc{}}
}

// AddCampaign makes sure the campaign appears in the report, even without rows.
func (b *ReportBuilder) AddCampaign(name string, exportOnly bool) {
	b.acc(name).r.ExportOnly = exportOnly
}

func (b *ReportBuilder) acc(name string) *campaignAcc {
	a := b.campaigns[name]
	if a == nil {
		a = &campaignAcc{
			r:        CampaignReport{Campaign: name},
			issued:   map[civilDay]int{},
			redeemed: map[civilDay]int{},
			orders:   map[int64]bool{},
		}
		b.campaigns[name] = a
	}
	return a
}

// AddCode counts one ledger row.
func (b *ReportBuilder) AddCode(c ReportCode) {
	a := b.acc(c.Campaign)
	r := &a.r
	r.Planned++
	if c.State == string(StatePruned) {
		r.Pruned++
	}
	if c.State == string(StateFailed) {
		r.Failed++
	}
	if !c.IssuedAt.IsZero() {
		r.Issued++
		a.issued[dayOf(c.IssuedAt, b.loc)]++
	}
	if !c.EmailedAt.IsZero() {
		r.Emailed++
	}
	if c.LastSyncedAt.After(r.LastSync) {
		r.LastSync = c.LastSyncedAt
	}
	if c.Reminded {
		r.Reminded++
	}
	if c.Deleted {
		r.DeletedInStore++
	}
	if c.Changed {
		r.ChangedInStore++
	}
	if !c.RedeemedAt.IsZero() {
		r.Redeemed++
		a.redeemed[dayOf(c.RedeemedAt, b.loc)]++
		start := c.EmailedAt
		if start.IsZero() {
			start = c.IssuedAt
		}
		if !start.IsZero() {
			a.days = append(a.days, max(0, c.RedeemedAt.Sub(start).Hours()/24))
		}
		return
	}
	if c.UseReturned {
		r.UseReturned++
	}
	if c.State != string(StateFailed) && !c.Deleted && !c.IssuedAt.IsZero() && !c.ExpiresAt.IsZero() && !c.ExpiresAt.After(b.now) {
		r.Expired++
	}
}

// AddOrderLine counts one code's use in an order. An order is counted once
// per campaign however many of its codes it used; lines of orders whose
// status does not count (see OrderCounts) are ignored.
func (b *ReportBuilder) AddOrderLine(l ReportOrderLine) {
	a := b.acc(l.Campaign)
	if !OrderCounts(l.Status) {
		return
	}
	r := &a.r
	if l.Currency != "" {
		switch {
		case r.Currency == "":
			r.Currency = l.Currency
		case r.Currency != l.Currency:
			w := fmt.Sprintf("orders in more than one currency (%s, %s): revenue and discount add them up as if they were one", r.Currency, l.Currency)
			if !slices.Contains(r.Warnings, w) {
				r.Warnings = append(r.Warnings, w)
			}
		}
	}
	r.DiscountCost += l.Discount
	if a.orders[l.OrderID] {
		return
	}
	a.orders[l.OrderID] = true
	r.Orders++
	r.Revenue += l.Total
}

// Report returns the figures, campaigns sorted by name.
func (b *ReportBuilder) Report() Report {
	rep := Report{GeneratedAt: b.now, Timezone: b.loc.String(), Campaigns: []CampaignReport{}, loc: b.loc}
	names := make([]string, 0, len(b.campaigns))
	for n := range b.campaigns {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := b.campaigns[n]
		r := a.r
		handedOut := r.Emailed
		if r.ExportOnly {
			handedOut = r.Issued
		}
		if handedOut > 0 {
			r.RedemptionRate = float64(r.Redeemed) / float64(handedOut)
		}
		if m, ok := median(a.days); ok {
			m = math.Round(m*10) / 10
			r.MedianDaysToRedeem = &m
		}
		r.Daily = dailySeries(a.issued, a.redeemed)
		rep.Campaigns = append(rep.Campaigns, r)
	}
	return rep
}

func median(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2], true
	}
	return (s[n/2-1] + s[n/2]) / 2, true
}

// civilDay is a calendar day in the report's time zone (a map key that
// costs no allocation, unlike a formatted date).
type civilDay struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time, loc *time.Location) civilDay {
	y, m, d := t.In(loc).Date()
	return civilDay{y, m, d}
}

func (c civilDay) time() time.Time { return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, time.UTC) }

// dailySeries lays the per-day counts out from the first day to the last,
// filling the days without any with zeros so that a chart's x axis is time.
func dailySeries(issued, redeemed map[civilDay]int) []DayCount {
	var first, last time.Time
	for _, m := range []map[civilDay]int{issued, redeemed} {
		for d := range m {
			t := d.time()
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(last) {
				last = t
			}
		}
	}
	out := []DayCount{}
	if first.IsZero() {
		return out
	}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		k := civilDay{d.Year(), d.Month(), d.Day()}
		out = append(out, DayCount{Day: d.Format(time.DateOnly), Issued: issued[k], Redeemed: redeemed[k]})
	}
	return out
}
