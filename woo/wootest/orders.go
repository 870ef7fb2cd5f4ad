package wootest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type orderLine struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Quantity int     `json:"quantity"`
	Total    float64 `json:"total"`
}

type couponLine struct {
	ID       int64   `json:"id"`
	CouponID int64   `json:"coupon_id"`
	Code     string  `json:"code"`
	Discount float64 `json:"discount"`
}

type order struct {
	ID            int64        `json:"id"`
	Status        string       `json:"status"`
	Currency      string       `json:"currency"`
	CustomerID    int64        `json:"customer_id"`
	Billing       Address      `json:"billing"`
	DateCreated   time.Time    `json:"date_created"`
	DateModified  time.Time    `json:"date_modified"`
	DatePaid      *time.Time   `json:"date_paid,omitempty"`
	DateCompleted *time.Time   `json:"date_completed,omitempty"`
	Subtotal      float64      `json:"subtotal"`
	LineItems     []orderLine  `json:"line_items"`
	CouponLines   []couponLine `json:"coupon_lines"`
	// UsageRecorded mirrors WooCommerce's _recorded_coupon_usage_counts.
	UsageRecorded bool `json:"recorded_coupon_usage_counts"`
}

func (o *order) discount() float64 {
	var d float64
	for _, l := range o.CouponLines {
		d += l.Discount
	}
	return d
}

var orderStatuses = []string{"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash", "checkout-draft"}

// countsUsage is true for the statuses whose transition hooks call
// wc_update_coupon_usage_counts (increase).
func countsUsage(status string) bool {
	switch status {
	case "pending", "on-hold", "processing", "completed":
		return true
	}
	return false
}

// SeedOrder is an order to add with AddOrder.
type SeedOrder struct {
	CustomerID int64  // 0 for a guest
	Email      string // billing email; defaults to the customer's email
	FirstName  string
	LastName   string
	Status     string    // default "processing"
	Subtotal   string    // items total before coupons, e.g. "50.00"; default "50.00"
	Coupons    []string  // coupon codes applied to the order
	Created    time.Time // default: the store clock's now
	Currency   string    // default "EUR"
}

// errorOf turns a REST error into a Go error for the seeding API.
func errorOf(e *wpError) error {
	if e == nil {
		return nil
	}
	return fmt.Errorf("wootest: %d %s: %s", e.Status, e.Code, e.Message)
}

// AddOrder adds an order the way POST /orders does: coupon lines must name
// valid coupons, and an order in a counting status (pending, on-hold,
// processing, completed) records the coupons' use.
func (s *Store) AddOrder(o SeedOrder) (int64, error) {
	if o.Status == "" {
		o.Status = "processing"
	}
	if o.Subtotal == "" {
		o.Subtotal = "50.00"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ord, err := s.createOrderLocked(o, nil)
	if err != nil {
		return 0, errorOf(err)
	}
	s.persistLocked()
	return ord.ID, nil
}

// SetOrderStatus changes an order's status with WooCommerce's side effects:
// cancelling gives the coupon uses back; refunded and failed keep them.
func (s *Store) SetOrderStatus(id int64, status string) error {
	if !slices.Contains(orderStatuses, status) {
		return fmt.Errorf("wootest: unknown order status %q", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.db.Orders[id]
	if o == nil {
		return errors.New("wootest: no order " + strconv.FormatInt(id, 10))
	}
	s.setOrderStatusLocked(o, status)
	s.persistLocked()
	return nil
}

func (s *Store) createOrderLocked(so SeedOrder, lines []orderLine) (*order, *wpError) {
	if !slices.Contains(orderStatuses, so.Status) {
		return nil, errInvalidParam("status", "status is not one of "+strings.Join(orderStatuses, ", ")+".")
	}
	now := so.Created
	if now.IsZero() {
		now = s.now()
	}
	now = now.UTC().Truncate(time.Second)
	o := &order{
		Status: "pending", Currency: so.Currency, CustomerID: so.CustomerID, DateCreated: now, DateModified: now,
		Billing: Address{FirstName: so.FirstName, LastName: so.LastName, Email: strings.ToLower(strings.TrimSpace(so.Email))},
	}
	if o.Currency == "" {
		o.Currency = "EUR"
	}
	if so.CustomerID != 0 {
		c := s.db.Customers[so.CustomerID]
		if c == nil {
			return nil, newErr(http.StatusBadRequest, "woocommerce_rest_invalid_customer_id", "Customer ID is invalid.")
		}
		if o.Billing.Email == "" {
			o.Billing.Email = c.Email
		}
		if o.Billing.FirstName == "" {
			o.Billing.FirstName, o.Billing.LastName = c.FirstName, c.LastName
		}
	}
	if lines == nil {
		sub := parseDecimal(so.Subtotal)
		lines = []orderLine{{Name: "Sandbox product", Quantity: 1, Total: sub}}
	}
	for _, l := range lines {
		l.ID = s.db.nextItemID()
		o.LineItems = append(o.LineItems, l)
		o.Subtotal += l.Total
	}
	for _, code := range so.Coupons {
		c, err := s.checkCouponForOrder(o, code)
		if err != nil {
			return nil, err
		}
		d := c.Amount
		switch c.DiscountType {
		case "percent":
			d = o.Subtotal * c.Amount / 100
		case "fixed_product":
			qty := 0
			for _, l := range o.LineItems {
				qty += l.Quantity
			}
			d = c.Amount * float64(qty)
		}
		d = math.Min(math.Round(d*100)/100, o.Subtotal-o.discount())
		o.CouponLines = append(o.CouponLines, couponLine{ID: s.db.nextItemID(), CouponID: c.ID, Code: c.Code, Discount: d})
	}
	o.ID = s.db.nextPostID()
	s.db.Orders[o.ID] = o
	s.db.orderIDs = append(s.db.orderIDs, o.ID)
	s.setOrderStatusLocked(o, so.Status)
	return o, nil
}

// usedByKey is what WooCommerce records in used_by: the user id, or the
// billing email for a guest.
func usedByKey(o *order) string {
	if o.CustomerID != 0 {
		return strconv.FormatInt(o.CustomerID, 10)
	}
	return o.Billing.Email
}

// checkCouponForOrder is WC_Order::apply_coupon's validation: every failure
// is woocommerce_rest_invalid_coupon with the reason in the message.
func (s *Store) checkCouponForOrder(o *order, code string) (*coupon, *wpError) {
	invalid := func(msg string) *wpError {
		return newErr(http.StatusBadRequest, "woocommerce_rest_invalid_coupon", msg)
	}
	id := s.couponIDByCode(code, 0)
	if id == 0 {
		return nil, invalid(fmt.Sprintf("Coupon %q does not exist!", formatCode(code)))
	}
	c := s.db.Coupons[id]
	if c.DateExpires != nil && !s.now().Before(*c.DateExpires) {
		return nil, invalid("This coupon has expired.")
	}
	if c.UsageLimit > 0 && c.UsageCount >= c.UsageLimit {
		return nil, invalid("Coupon usage limit has been reached.")
	}
	if c.UsageLimitPerUser > 0 {
		who, n := usedByKey(o), 0
		for _, u := range c.UsedBy {
			if strings.EqualFold(u, who) {
				n++
			}
		}
		if n >= c.UsageLimitPerUser {
			return nil, invalid("Coupon usage limit has been reached.")
		}
	}
	if len(c.EmailRestrictions) > 0 {
		candidates := []string{o.Billing.Email}
		if cu := s.db.Customers[o.CustomerID]; cu != nil {
			candidates = append(candidates, cu.Email)
		}
		if !emailAllowed(candidates, c.emails()) {
			return nil, invalid(fmt.Sprintf("Sorry, it seems the coupon %q is not yours - it has now been removed from your order.", c.Code))
		}
	}
	return c, nil
}

// emailAllowed is WC_Coupon::is_email_restricted inverted: any candidate
// matching any restriction, with '*' as a wildcard.
func emailAllowed(candidates, restrictions []string) bool {
	for _, cand := range candidates {
		cand = strings.ToLower(strings.TrimSpace(cand))
		if cand == "" {
			continue
		}
		for _, r := range restrictions {
			if wildcardMatch(r, cand) {
				return true
			}
		}
	}
	return false
}

func wildcardMatch(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return true
}

// setOrderStatusLocked applies a status transition and its coupon usage
// side effects. Caller holds s.mu.
func (s *Store) setOrderStatusLocked(o *order, status string) {
	now := s.now().UTC().Truncate(time.Second)
	o.Status = status
	o.DateModified = now
	if (status == "processing" || status == "completed") && o.DatePaid == nil {
		o.DatePaid = &now
	}
	if status == "completed" && o.DateCompleted == nil {
		o.DateCompleted = &now
	}
	switch {
	case countsUsage(status) && !o.UsageRecorded:
		who := usedByKey(o)
		for _, l := range o.CouponLines {
			if c := s.db.Coupons[l.CouponID]; c != nil {
				c.UsageCount++
				c.UsedBy = append(c.UsedBy, who)
			}
		}
		o.UsageRecorded = true
	case status == "cancelled" && o.UsageRecorded:
		who := usedByKey(o)
		for _, l := range o.CouponLines {
			if c := s.db.Coupons[l.CouponID]; c != nil {
				if c.UsageCount > 0 {
					c.UsageCount--
				}
				if i := slices.Index(c.UsedBy, who); i >= 0 {
					c.UsedBy = slices.Delete(c.UsedBy, i, i+1)
				}
			}
		}
		o.UsageRecorded = false
	}
}

func (s *Store) orderJSON(o *order, baseURL string) json.RawMessage {
	dateOrNull := func(t *time.Time, gmt bool) any {
		if t == nil {
			return nil
		}
		if gmt {
			return gmtDate(*t)
		}
		return s.localDate(*t)
	}
	lines := make([]map[string]any, 0, len(o.LineItems))
	for _, l := range o.LineItems {
		lines = append(lines, map[string]any{"id": l.ID, "name": l.Name, "quantity": l.Quantity,
			"subtotal": formatAmount(l.Total), "total": formatAmount(l.Total), "meta_data": []any{}})
	}
	cl := make([]map[string]any, 0, len(o.CouponLines))
	for _, l := range o.CouponLines {
		cl = append(cl, map[string]any{"id": l.ID, "code": l.Code, "discount": formatAmount(l.Discount),
			"discount_tax": "0.00", "meta_data": []any{}})
	}
	return orderedJSON([]kv{
		{"id", o.ID},
		{"parent_id", 0},
		{"status", o.Status},
		{"currency", o.Currency},
		{"version", "11.0.1"},
		{"prices_include_tax", false},
		{"date_created", s.localDate(o.DateCreated)},
		{"date_modified", s.localDate(o.DateModified)},
		{"discount_total", formatAmount(o.discount())},
		{"discount_tax", "0.00"},
		{"shipping_total", "0.00"},
		{"shipping_tax", "0.00"},
		{"cart_tax", "0.00"},
		{"total", formatAmount(o.Subtotal - o.discount())},
		{"total_tax", "0.00"},
		{"customer_id", o.CustomerID},
		{"order_key", "wc_order_" + strconv.FormatInt(o.ID, 36)},
		{"billing", o.Billing},
		{"shipping", Address{}},
		{"payment_method", ""},
		{"payment_method_title", ""},
		{"date_paid", dateOrNull(o.DatePaid, false)},
		{"date_completed", dateOrNull(o.DateCompleted, false)},
		{"date_created_gmt", gmtDate(o.DateCreated)},
		{"date_modified_gmt", gmtDate(o.DateModified)},
		{"date_paid_gmt", dateOrNull(o.DatePaid, true)},
		{"date_completed_gmt", dateOrNull(o.DateCompleted, true)},
		{"meta_data", []any{}},
		{"line_items", lines},
		{"coupon_lines", cl},
		{"_links", map[string]any{
			"self":       []map[string]string{{"href": baseURL + "/wp-json/wc/v3/orders/" + strconv.FormatInt(o.ID, 10)}},
			"collection": []map[string]string{{"href": baseURL + "/wp-json/wc/v3/orders"}},
		}},
	})
}

// listOrders is GET /orders.
func (s *Store) listOrders(q *request) response {
	page, perPage, err := pageParams(q)
	if err != nil {
		return fail(err)
	}
	desc, err := orderParam(q, "desc")
	if err != nil {
		return fail(err)
	}
	orderBy, err := enumParam(q, "orderby", "date", "date", "id", "include", "title", "slug", "modified")
	if err != nil {
		return fail(err)
	}
	var statuses []string
	for _, v := range append(q.query["status"], q.query["status[]"]...) {
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimPrefix(strings.TrimSpace(st), "wc-")
			if st == "" {
				continue
			}
			if st != "any" && !slices.Contains(orderStatuses, st) {
				return fail(errInvalidParam("status", "status[0] is not one of any, "+strings.Join(orderStatuses, ", ")+"."))
			}
			statuses = append(statuses, st)
		}
	}
	if slices.Contains(statuses, "any") {
		statuses = nil
	}
	var customerID int64 = -1
	if v := q.str("customer"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fail(errInvalidParam("customer", "customer is not of type integer."))
		}
		customerID = n
	}
	include, werr := idListParam(q, "include")
	if werr != nil {
		return fail(werr)
	}
	window, err := s.dateWindowParams(q)
	if err != nil {
		return fail(err)
	}
	search := strings.ToLower(strings.TrimSpace(q.str("search")))
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*order
	for _, id := range s.db.orderIDs {
		o := s.db.Orders[id]
		switch {
		case statuses == nil && (o.Status == "trash" || o.Status == "checkout-draft"):
			continue
		case statuses != nil && !slices.Contains(statuses, o.Status):
			continue
		case customerID >= 0 && o.CustomerID != customerID:
			continue
		case len(include) > 0 && !slices.Contains(include, o.ID):
			continue
		case !window.contains(o.DateCreated, o.DateModified):
			continue
		case search != "" && !orderMatchesSearch(o, search):
			continue
		}
		list = append(list, o)
	}
	slices.SortStableFunc(list, func(a, b *order) int {
		var r int
		switch orderBy {
		case "id":
			r = cmp.Compare(a.ID, b.ID)
		case "include":
			r = cmp.Compare(int64(slices.Index(include, a.ID)), int64(slices.Index(include, b.ID)))
		case "modified":
			r = a.DateModified.Compare(b.DateModified)
		default:
			r = a.DateCreated.Compare(b.DateCreated)
		}
		return byID(r, a.ID, b.ID, desc && orderBy != "include")
	})
	return pageResponse(q, list, page, perPage, func(o *order) json.RawMessage { return s.orderJSON(o, q.baseURL) })
}

func (s *Store) getOrder(q *request, id int64) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.db.Orders[id]
	if o == nil {
		return fail(newErr(http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID."))
	}
	return ok(http.StatusOK, s.orderJSON(o, q.baseURL))
}

// createOrderRoute is POST /orders: status, customer_id, billing,
// line_items (name, quantity, total) and coupon_lines (code).
func (s *Store) createOrderRoute(q *request) response {
	so := SeedOrder{Status: "pending", Currency: q.str("currency")}
	if v := q.str("status"); v != "" {
		so.Status = v
	}
	if raw, ok := q.param("customer_id"); ok && !isNull(raw) {
		n, ok := decodeInt(raw)
		if !ok || n < 0 {
			return fail(errInvalidParam("customer_id", "customer_id is not of type integer."))
		}
		so.CustomerID = int64(n)
	}
	if raw, ok := q.param("billing"); ok && !isNull(raw) {
		var b Address
		if json.Unmarshal(raw, &b) != nil {
			return fail(errInvalidParam("billing", "billing is not of type object."))
		}
		so.Email, so.FirstName, so.LastName = b.Email, b.FirstName, b.LastName
	}
	lines := []orderLine{}
	if raw, ok := q.param("line_items"); ok && !isNull(raw) {
		var items []struct {
			Name     string          `json:"name"`
			Quantity json.RawMessage `json:"quantity"`
			Total    json.RawMessage `json:"total"`
			Subtotal json.RawMessage `json:"subtotal"`
		}
		if json.Unmarshal(raw, &items) != nil {
			return fail(errInvalidParam("line_items", "line_items is not of type array."))
		}
		for _, it := range items {
			qty, _ := decodeInt(it.Quantity)
			if qty <= 0 {
				qty = 1
			}
			total, _ := decodeAmount(it.Total)
			if isNull(it.Total) {
				total, _ = decodeAmount(it.Subtotal)
			}
			name := it.Name
			if name == "" {
				name = "Product"
			}
			lines = append(lines, orderLine{Name: name, Quantity: qty, Total: total})
		}
	}
	if raw, ok := q.param("coupon_lines"); ok && !isNull(raw) {
		var cls []struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(raw, &cls) != nil {
			return fail(errInvalidParam("coupon_lines", "coupon_lines is not of type array."))
		}
		for _, cl := range cls {
			if strings.TrimSpace(cl.Code) == "" {
				return fail(newErr(http.StatusBadRequest, "woocommerce_rest_invalid_coupon_line", "Coupon code is required."))
			}
			so.Coupons = append(so.Coupons, cl.Code)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.createOrderLocked(so, lines)
	if err != nil {
		return fail(err)
	}
	s.persistLocked()
	r := ok(http.StatusCreated, s.orderJSON(o, q.baseURL))
	r.header.Set("Location", q.baseURL+"/wp-json/wc/v3/orders/"+strconv.FormatInt(o.ID, 10))
	return r
}

// updateOrderRoute is PUT /orders/<id>: status (with usage side effects)
// and billing.
func (s *Store) updateOrderRoute(q *request, id int64) response {
	status := q.str("status")
	if status != "" && !slices.Contains(orderStatuses, status) {
		return fail(errInvalidParam("status", "status is not one of "+strings.Join(orderStatuses, ", ")+"."))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.db.Orders[id]
	if o == nil {
		return fail(newErr(http.StatusBadRequest, "woocommerce_rest_shop_order_invalid_id", "Invalid ID."))
	}
	if raw, ok := q.param("billing"); ok && !isNull(raw) {
		var b map[string]string
		if json.Unmarshal(raw, &b) == nil {
			if v, ok := b["email"]; ok {
				o.Billing.Email = strings.ToLower(strings.TrimSpace(v))
			}
			if v, ok := b["first_name"]; ok {
				o.Billing.FirstName = v
			}
			if v, ok := b["last_name"]; ok {
				o.Billing.LastName = v
			}
		}
	}
	if status != "" && status != o.Status {
		s.setOrderStatusLocked(o, status)
	} else {
		o.DateModified = s.now().UTC().Truncate(time.Second)
	}
	s.persistLocked()
	return ok(http.StatusOK, s.orderJSON(o, q.baseURL))
}

// orderMatchesSearch is wc_order_search: the whole term (not split into
// words, unlike a post search), as a case-insensitive substring of the
// billing address (email and names) or an item's name, or the order id.
func orderMatchesSearch(o *order, term string) bool {
	if strconv.FormatInt(o.ID, 10) == term {
		return true
	}
	fields := []string{o.Billing.Email, o.Billing.FirstName, o.Billing.LastName,
		o.Billing.FirstName + " " + o.Billing.LastName}
	for _, l := range o.LineItems {
		fields = append(fields, l.Name)
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), term) {
			return true
		}
	}
	return false
}
