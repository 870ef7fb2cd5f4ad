package woo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ReportsService reads WooCommerce Analytics reports (wc-analytics).
type ReportsService service

// AnalyticsCustomer is one row of the analytics customers report: registered
// customers and guests who ordered.
type AnalyticsCustomer struct {
	ID                int64   // analytics customer id
	UserID            int64   // 0 for guests
	Username          string  //
	Email             string  //
	Name              string  // "first last"
	FirstName         string  // when the store sends it
	LastName          string  // when the store sends it
	Country           string  //
	DateRegisteredGMT *Time   // nil for guests
	DateLastActiveGMT *Time   //
	DateLastOrder     *Time   // site wall clock (WooCommerce sends it without offset)
	DateLastOrderGMT  *Time   // date_last_order_gmt when sent, else nil
	OrdersCount       int     //
	TotalSpend        float64 //
	AvgOrderValue     float64 //
}

// LastOrderAt returns the instant of the customer's last order, or the zero
// time if there is none. WooCommerce sends date_last_order as the site's wall
// clock without an offset, so it is read in loc, the store's time zone
// (nil means UTC); a date_last_order_gmt, when a store sends one, wins.
func (a AnalyticsCustomer) LastOrderAt(loc *time.Location) time.Time {
	if a.DateLastOrderGMT != nil && !a.DateLastOrderGMT.IsZero() {
		return a.DateLastOrderGMT.Time
	}
	if a.DateLastOrder == nil || a.DateLastOrder.IsZero() {
		return time.Time{}
	}
	if loc == nil {
		loc = time.UTC
	}
	w := a.DateLastOrder.UTC()
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
}

// UnmarshalJSON decodes a report row, accepting numbers sent as strings and
// a null user id.
func (a *AnalyticsCustomer) UnmarshalJSON(b []byte) error {
	var w struct {
		ID                flexInt    `json:"id"`
		UserID            flexInt    `json:"user_id"`
		Username          flexString `json:"username"`
		Email             flexString `json:"email"`
		Name              flexString `json:"name"`
		FirstName         flexString `json:"first_name"`
		LastName          flexString `json:"last_name"`
		Country           flexString `json:"country"`
		DateRegisteredGMT *Time      `json:"date_registered_gmt"`
		DateLastActiveGMT *Time      `json:"date_last_active_gmt"`
		DateLastOrder     *Time      `json:"date_last_order"`
		DateLastOrderGMT  *Time      `json:"date_last_order_gmt"`
		OrdersCount       flexInt    `json:"orders_count"`
		TotalSpend        flexFloat  `json:"total_spend"`
		AvgOrderValue     flexFloat  `json:"avg_order_value"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("woo: decoding analytics customer: %w", err)
	}
	nz := func(t *Time) *Time {
		if t == nil || t.IsZero() {
			return nil
		}
		return t
	}
	*a = AnalyticsCustomer{
		ID: int64(w.ID), UserID: int64(w.UserID), Username: string(w.Username), Email: string(w.Email),
		Name: string(w.Name), FirstName: string(w.FirstName), LastName: string(w.LastName), Country: string(w.Country),
		DateRegisteredGMT: nz(w.DateRegisteredGMT), DateLastActiveGMT: nz(w.DateLastActiveGMT),
		DateLastOrder: nz(w.DateLastOrder), DateLastOrderGMT: nz(w.DateLastOrderGMT),
		OrdersCount: int(w.OrdersCount), TotalSpend: float64(w.TotalSpend), AvgOrderValue: float64(w.AvgOrderValue),
	}
	return nil
}

// AnalyticsCustomersOptions filter the analytics customers report.
//
// WooCommerce compares last_order_before/after with the site's wall clock
// (it drops the offset), so they are sent as the wall clock of the given
// time: pass times in the store's time zone. OrdersCountMin is "at least
// N orders": WooCommerce's orders_count_min alone means "more than", so
// N-1 is sent and the rows are checked again here.
type AnalyticsCustomersOptions struct {
	LastOrderBefore time.Time
	LastOrderAfter  time.Time
	OrdersCountMin  int
	PerPage         int // 1..100, default 100
}

// CustomersAnalytics iterates over the analytics customers report
// (/wp-json/wc-analytics/reports/customers). The report depends on
// WooCommerce's analytics import and may be incomplete. A store without the
// route yields an error matching ErrNoAnalytics.
func (s *ReportsService) CustomersAnalytics(ctx context.Context, opts *AnalyticsCustomersOptions) iter.Seq2[AnalyticsCustomer, error] {
	var o AnalyticsCustomersOptions
	if opts != nil {
		o = *opts
	}
	const wall = "2006-01-02T15:04:05"
	fetch := func(ctx context.Context, lo ListOptions) ([]AnalyticsCustomer, *Response, error) {
		q := url.Values{}
		if err := lo.apply(q); err != nil {
			return nil, nil, err
		}
		if o.OrdersCountMin < 0 {
			return nil, nil, fmt.Errorf("woo: orders count minimum %d is negative", o.OrdersCountMin)
		}
		if !o.LastOrderBefore.IsZero() {
			q.Set("last_order_before", o.LastOrderBefore.Format(wall))
		}
		if !o.LastOrderAfter.IsZero() {
			q.Set("last_order_after", o.LastOrderAfter.Format(wall))
		}
		if o.OrdersCountMin > 0 {
			q.Set("orders_count_min", strconv.Itoa(o.OrdersCountMin-1))
		}
		var out []AnalyticsCustomer
		resp, err := s.client.do(ctx, classSafe, http.MethodGet, s.client.apiURL("wc-analytics", "reports/customers", q), nil, &out)
		if err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound && (ae.Code == "rest_no_route" || ae.Code == "") {
				return nil, resp, fmt.Errorf("%w: %w", ErrNoAnalytics, err)
			}
			return nil, resp, err
		}
		return out, resp, nil
	}
	pages := paginate(ctx, ListOptions{PerPage: o.PerPage}, fetch)
	return func(yield func(AnalyticsCustomer, error) bool) {
		for a, err := range pages {
			if err != nil {
				yield(a, err)
				return
			}
			if a.OrdersCount < o.OrdersCountMin {
				continue
			}
			if !yield(a, nil) {
				return
			}
		}
	}
}
