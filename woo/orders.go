package woo

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// OrdersService lists orders through wc/v3/orders.
type OrdersService service

// Order is an order, with the coupons used on it.
type Order struct {
	ID              int64        `json:"id"`
	ParentID        int64        `json:"parent_id"`
	Number          string       `json:"number"`
	Status          string       `json:"status"`
	Currency        string       `json:"currency"`
	CustomerID      int64        `json:"customer_id"` // 0 for guests
	Billing         Address      `json:"billing"`
	DateCreatedGMT  *Time        `json:"date_created_gmt,omitempty"`
	DatePaidGMT     *Time        `json:"date_paid_gmt,omitempty"`
	DateModifiedGMT *Time        `json:"date_modified_gmt,omitempty"`
	Total           string       `json:"total"`
	DiscountTotal   string       `json:"discount_total"`
	CouponLines     []CouponLine `json:"coupon_lines"`
}

// UnmarshalJSON accepts totals as strings or numbers.
func (o *Order) UnmarshalJSON(b []byte) error {
	type plain Order
	var aux struct {
		*plain
		Number        flexString `json:"number"`
		Total         flexString `json:"total"`
		DiscountTotal flexString `json:"discount_total"`
	}
	aux.plain = (*plain)(o)
	if err := jsonUnmarshal(b, &aux); err != nil {
		return err
	}
	o.Number, o.Total, o.DiscountTotal = string(aux.Number), string(aux.Total), string(aux.DiscountTotal)
	return nil
}

// CouponLine is a coupon applied to an order.
type CouponLine struct {
	ID       int64  `json:"id"`
	Code     string `json:"code"`
	Discount string `json:"discount"`
}

// UnmarshalJSON accepts the discount as a string or a number.
func (l *CouponLine) UnmarshalJSON(b []byte) error {
	type plain CouponLine
	var aux struct {
		*plain
		Discount flexString `json:"discount"`
	}
	aux.plain = (*plain)(l)
	if err := jsonUnmarshal(b, &aux); err != nil {
		return err
	}
	l.Discount = string(aux.Discount)
	return nil
}

// OrderListOptions filter and page order lists. Times are compared with the
// orders' GMT dates (dates_are_gmt=true).
type OrderListOptions struct {
	ListOptions
	After         time.Time // created after
	Before        time.Time // created before
	ModifiedAfter time.Time
	Status        []string // e.g. processing, completed; empty means any
	Customer      int64    // user id; 0 means any
	OrderBy       string   // date (default), id, include, title, slug, modified
	Order         string   // desc (default) or asc
	// Search is wc_order_search's term: a substring (LIKE %term%) of the
	// billing or shipping address (email and names included) or of an
	// item's name. It is not exact: "ann@x.com" also finds "joann@x.com",
	// so compare the billing email of what comes back.
	Search string
}

func (o *OrderListOptions) values() (url.Values, error) {
	q := url.Values{}
	if err := o.ListOptions.apply(q); err != nil {
		return nil, err
	}
	gmt := false
	for k, t := range map[string]time.Time{"after": o.After, "before": o.Before, "modified_after": o.ModifiedAfter} {
		if !t.IsZero() {
			q.Set(k, t.UTC().Format(time.RFC3339))
			gmt = true
		}
	}
	if gmt {
		q.Set("dates_are_gmt", "true")
	}
	if len(o.Status) > 0 {
		q.Set("status", strings.Join(o.Status, ","))
	}
	if o.Customer > 0 {
		q.Set("customer", strconv.FormatInt(o.Customer, 10))
	}
	if o.OrderBy != "" {
		q.Set("orderby", o.OrderBy)
	}
	if o.Order != "" {
		q.Set("order", o.Order)
	}
	if o.Search != "" {
		q.Set("search", o.Search)
	}
	return q, nil
}

// List returns one page of orders.
func (s *OrdersService) List(ctx context.Context, opts *OrderListOptions) ([]Order, *Response, error) {
	var o OrderListOptions
	if opts != nil {
		o = *opts
	}
	q, err := o.values()
	if err != nil {
		return nil, nil, err
	}
	var out []Order
	resp, err := s.client.do(ctx, classSafe, http.MethodGet, s.client.wcURL("orders", q), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// All iterates over every order matching opts.
func (s *OrdersService) All(ctx context.Context, opts *OrderListOptions) iter.Seq2[Order, error] {
	var o OrderListOptions
	if opts != nil {
		o = *opts
	}
	return paginate(ctx, o.ListOptions, func(ctx context.Context, lo ListOptions) ([]Order, *Response, error) {
		page := o
		page.ListOptions = lo
		return s.List(ctx, &page)
	})
}
