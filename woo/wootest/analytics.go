package wootest

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// analyticsExcluded are the order statuses WooCommerce Analytics leaves out
// by default ("Excluded statuses" setting).
var analyticsExcluded = []string{"pending", "failed", "cancelled", "trash", "checkout-draft"}

type analyticsRow struct {
	id, userID  int64
	name, email string
	username    string
	registered  *time.Time
	lastOrder   *time.Time
	lastActive  *time.Time
	ordersCount int
	totalSpend  float64
}

// analyticsCustomers is GET /wc-analytics/reports/customers: registered
// customers and guests (by billing email), with order aggregates.
func (s *Store) analyticsCustomers(q *request) response {
	page, perPage, err := pageParams(q)
	if err != nil {
		return fail(err)
	}
	desc, err := orderParam(q, "desc")
	if err != nil {
		return fail(err)
	}
	orderBy, err := enumParam(q, "orderby", "date_registered", "username", "name", "date_registered",
		"date_last_active", "orders_count", "total_spend", "avg_order_value", "country", "city", "state", "postcode")
	if err != nil {
		return fail(err)
	}
	var bounds [2]time.Time
	var have [2]bool
	for i, name := range []string{"last_order_before", "last_order_after"} {
		t, ok, err := s.dateParam(q, name)
		if err != nil {
			return fail(err)
		}
		bounds[i], have[i] = t, ok
	}
	minOrders := -1
	if v := q.str("orders_count_min"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil {
			return fail(errInvalidParam("orders_count_min", "orders_count_min is not of type integer."))
		}
		minOrders = n
	}
	maxOrders := -1
	if v := q.str("orders_count_max"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil {
			return fail(errInvalidParam("orders_count_max", "orders_count_max is not of type integer."))
		}
		maxOrders = n
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rows := map[string]*analyticsRow{}
	var keys []string
	nextID := int64(0)
	row := func(key string) *analyticsRow {
		r := rows[key]
		if r == nil {
			nextID++
			r = &analyticsRow{id: nextID}
			rows[key] = r
			keys = append(keys, key)
		}
		return r
	}
	for _, id := range s.db.customerIDs {
		c := s.db.Customers[id]
		if c.Role != "customer" {
			continue
		}
		r := row("u" + strconv.FormatInt(c.ID, 10))
		reg := c.DateCreated
		r.userID, r.email, r.username, r.name, r.registered = c.ID, c.Email, c.Username, strings.TrimSpace(c.FirstName+" "+c.LastName), &reg
	}
	for _, id := range s.db.orderIDs {
		o := s.db.Orders[id]
		var r *analyticsRow
		if o.CustomerID != 0 {
			if c := s.db.Customers[o.CustomerID]; c == nil || c.Role != "customer" {
				continue
			}
			r = row("u" + strconv.FormatInt(o.CustomerID, 10))
		} else {
			if o.Billing.Email == "" {
				continue
			}
			r = row("g" + strings.ToLower(o.Billing.Email))
			if r.email == "" {
				r.email = o.Billing.Email
				r.name = strings.TrimSpace(o.Billing.FirstName + " " + o.Billing.LastName)
			}
		}
		created := o.DateCreated
		if r.lastActive == nil || created.After(*r.lastActive) {
			r.lastActive = &created
		}
		if slices.Contains(analyticsExcluded, o.Status) {
			continue
		}
		r.ordersCount++
		r.totalSpend += o.Subtotal - o.discount()
		if r.lastOrder == nil || created.After(*r.lastOrder) {
			r.lastOrder = &created
		}
	}
	var list []*analyticsRow
	for _, k := range keys {
		r := rows[k]
		switch {
		case have[0] && (r.lastOrder == nil || r.lastOrder.After(bounds[0])):
			continue
		case have[1] && (r.lastOrder == nil || r.lastOrder.Before(bounds[1])):
			continue
		case minOrders >= 0 && !atLeast(r.ordersCount, minOrders, maxOrders >= 0):
			continue
		case maxOrders >= 0 && !atMost(r.ordersCount, maxOrders, minOrders >= 0):
			continue
		}
		list = append(list, r)
	}
	timeCmp := func(a, b *time.Time) int {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		case b == nil:
			return 1
		}
		return a.Compare(*b)
	}
	slices.SortStableFunc(list, func(a, b *analyticsRow) int {
		var r int
		switch orderBy {
		case "username":
			r = strings.Compare(a.username, b.username)
		case "name":
			r = strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name))
		case "date_last_active":
			r = timeCmp(a.lastActive, b.lastActive)
		case "orders_count":
			r = a.ordersCount - b.ordersCount
		case "total_spend", "avg_order_value":
			r = cmp.Compare(a.totalSpend, b.totalSpend)
		default:
			r = timeCmp(a.registered, b.registered)
		}
		return byID(r, a.id, b.id, desc)
	})
	return pageResponse(q, list, page, perPage, func(r *analyticsRow) json.RawMessage { return s.analyticsJSON(r, q.baseURL) })
}

// analyticsJSON renders a report row like the real report: date_last_order
// is a raw site-local MySQL datetime ("2006-01-02 15:04:05"), the other
// dates use the REST format; user_id is null for guests.
func (s *Store) analyticsJSON(r *analyticsRow, baseURL string) json.RawMessage {
	var userID any
	if r.userID != 0 {
		userID = r.userID
	}
	local := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return s.localDate(*t)
	}
	gmt := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return gmtDate(*t)
	}
	var lastOrder any
	if r.lastOrder != nil {
		lastOrder = r.lastOrder.In(s.loc).Format(time.DateTime)
	}
	avg := 0.0
	if r.ordersCount > 0 {
		avg = math.Round(r.totalSpend/float64(r.ordersCount)*100) / 100
	}
	links := map[string]any{}
	if r.userID != 0 {
		links["customer"] = []map[string]string{{"href": baseURL + "/wp-json/wc-analytics/customers/" + strconv.FormatInt(r.id, 10)}}
	}
	return orderedJSON([]kv{
		{"id", r.id},
		{"user_id", userID},
		{"username", r.username},
		{"name", r.name},
		{"email", r.email},
		{"country", ""},
		{"city", ""},
		{"state", ""},
		{"postcode", ""},
		{"date_registered", local(r.registered)},
		{"date_registered_gmt", gmt(r.registered)},
		{"date_last_active", local(r.lastActive)},
		{"date_last_active_gmt", gmt(r.lastActive)},
		{"date_last_order", lastOrder},
		{"orders_count", r.ordersCount},
		{"total_spend", math.Round(r.totalSpend*100) / 100},
		{"avg_order_value", avg},
		{"_links", links},
	})
}

// atLeast applies orders_count_min as WooCommerce Admin's customers data
// store does: alone it is strict ("more than N"); together with
// orders_count_max both bounds include their value ("between").
func atLeast(count, min int, bothBounds bool) bool {
	if bothBounds {
		return count >= min
	}
	return count > min
}

// atMost is the orders_count_max half of the same rule.
func atMost(count, max int, bothBounds bool) bool {
	if bothBounds {
		return count <= max
	}
	return count < max
}
