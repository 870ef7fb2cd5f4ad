package woo

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// CustomersService lists registered customers through wc/v3/customers.
// Guests (orders without an account) are not customers there: use Orders or
// Reports.CustomersAnalytics for them.
type CustomersService service

// Customer is a registered customer.
type Customer struct {
	ID               int64   `json:"id"`
	Email            string  `json:"email"`
	FirstName        string  `json:"first_name"`
	LastName         string  `json:"last_name"`
	Username         string  `json:"username"`
	Role             string  `json:"role"`
	DateCreated      *Time   `json:"date_created,omitempty"` // site wall clock
	DateCreatedGMT   *Time   `json:"date_created_gmt,omitempty"`
	DateModifiedGMT  *Time   `json:"date_modified_gmt,omitempty"`
	IsPayingCustomer bool    `json:"is_paying_customer"`
	Billing          Address `json:"billing"`
}

// Address is a billing (or shipping) address.
type Address struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Address1  string `json:"address_1"`
	Address2  string `json:"address_2"`
	City      string `json:"city"`
	State     string `json:"state"`
	Postcode  string `json:"postcode"`
	Country   string `json:"country"`
	Email     string `json:"email"`
	Phone     string `json:"phone"`
}

// CustomerListOptions filter and page customer lists.
//
// WooCommerce's customers endpoint has no date filter (its get_items maps
// only exclude, include, order, orderby, per_page, page, offset, search,
// email and role), so RegisteredAfter is applied here: List drops older
// customers from the page it got, and All asks for orderby=registered_date
// and order=desc (unless another order was requested) and stops paging at
// the first customer registered at or before RegisteredAfter.
type CustomerListOptions struct {
	ListOptions
	Role            string    // customer (the store's default), subscriber, all, …
	Email           string    // exact email
	Search          string    // substring of name, email, username
	OrderBy         string    // id, include, name (default), registered_date
	Order           string    // asc (default) or desc
	RegisteredAfter time.Time // only customers registered after this instant (client-side)
}

func (o *CustomerListOptions) values() (url.Values, error) {
	q := url.Values{}
	if err := o.ListOptions.apply(q); err != nil {
		return nil, err
	}
	for k, v := range map[string]string{"role": o.Role, "email": o.Email, "search": o.Search, "orderby": o.OrderBy, "order": o.Order} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q, nil
}

// List returns one page of customers (RegisteredAfter applied to it).
func (s *CustomersService) List(ctx context.Context, opts *CustomerListOptions) ([]Customer, *Response, error) {
	var o CustomerListOptions
	if opts != nil {
		o = *opts
	}
	q, err := o.values()
	if err != nil {
		return nil, nil, err
	}
	var out []Customer
	resp, err := s.client.do(ctx, classSafe, http.MethodGet, s.client.wcURL("customers", q), nil, &out)
	if err != nil {
		return nil, resp, err
	}
	if !o.RegisteredAfter.IsZero() {
		kept := out[:0]
		for _, c := range out {
			if registeredAfter(c, o.RegisteredAfter) {
				kept = append(kept, c)
			}
		}
		out = kept
	}
	return out, resp, nil
}

func registeredAfter(c Customer, t time.Time) bool {
	return c.DateCreatedGMT != nil && c.DateCreatedGMT.After(t)
}

// All iterates over every customer matching opts; see CustomerListOptions
// for RegisteredAfter.
func (s *CustomersService) All(ctx context.Context, opts *CustomerListOptions) iter.Seq2[Customer, error] {
	var o CustomerListOptions
	if opts != nil {
		o = *opts
	}
	after := o.RegisteredAfter
	stopEarly := false
	if !after.IsZero() && (o.OrderBy == "" || o.OrderBy == "registered_date") && (o.Order == "" || o.Order == "desc") {
		o.OrderBy, o.Order = "registered_date", "desc"
		stopEarly = true
	}
	o.RegisteredAfter = time.Time{}
	pages := paginate(ctx, o.ListOptions, func(ctx context.Context, lo ListOptions) ([]Customer, *Response, error) {
		page := o
		page.ListOptions = lo
		return s.List(ctx, &page)
	})
	return func(yield func(Customer, error) bool) {
		for c, err := range pages {
			if err != nil {
				yield(c, err)
				return
			}
			if !after.IsZero() && !registeredAfter(c, after) {
				if stopEarly {
					return
				}
				continue
			}
			if !yield(c, nil) {
				return
			}
		}
	}
}
