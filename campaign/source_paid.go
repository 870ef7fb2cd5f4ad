package campaign

import (
	"context"
	"fmt"
	"strings"

	"github.com/couponbridge/couponbridge/woo"
)

// PaidChecker answers whether a person already has a paid order in the
// store, for the rule that skips paying customers (Rules.SkipPaying).
type PaidChecker interface {
	HasPaidOrder(ctx context.Context, customerID int64, email string) (bool, error)
}

// PaidCheck is the PaidChecker that asks the store's orders. Paid means an
// order in one of PaidStatuses (processing, completed, on-hold: the orders
// a report counts), not WooCommerce's is_paying_customer flag, which only
// payment_complete() or a completed order sets: a customer whose
// cash-on-delivery order is processing, or who bought as a guest and
// registered later, is not "paying" to WooCommerce but is to us.
type PaidCheck struct {
	Orders OrderScanner
}

// HasPaidOrder reports whether the registered customer customerID (0: a
// guest) placed a paid order, or any paid order was billed to email
// (case-insensitively): at most one request by customer id, then
// wc_order_search by email, whose substring matches are compared exactly.
func (p *PaidCheck) HasPaidOrder(ctx context.Context, customerID int64, email string) (bool, error) {
	if customerID > 0 {
		opts := &woo.OrderListOptions{Customer: customerID, Status: PaidStatuses, ListOptions: woo.ListOptions{PerPage: 10}}
		for o, err := range p.Orders.All(ctx, opts) {
			if err != nil {
				return false, fmt.Errorf("orders of customer %d: %w", customerID, err)
			}
			if o.CustomerID == customerID && isPaidStatus(o.Status) {
				return true, nil
			}
		}
	}
	email = strings.TrimSpace(email)
	if email == "" {
		return false, nil
	}
	opts := &woo.OrderListOptions{Search: email, Status: PaidStatuses, ListOptions: woo.ListOptions{PerPage: 100}}
	for o, err := range p.Orders.All(ctx, opts) {
		if err != nil {
			return false, fmt.Errorf("orders by billing email: %w", err)
		}
		if strings.EqualFold(strings.TrimSpace(o.Billing.Email), email) && isPaidStatus(o.Status) {
			return true, nil
		}
	}
	return false, nil
}
