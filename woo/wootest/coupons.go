package wootest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// emailEntry is one stored email restriction with its PHP array key:
// WooCommerce filters the sanitized list with array_filter, which keeps
// keys, so a dropped entry leaves a gap.
type emailEntry struct {
	Key   int    `json:"key"`
	Email string `json:"email"`
}

type metaEntry struct {
	ID    int64           `json:"id"`
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// coupon is a stored shop_coupon post with its meta.
type coupon struct {
	ID                        int64        `json:"id"`
	Code                      string       `json:"code"`
	Amount                    float64      `json:"amount"`
	Status                    string       `json:"status"`
	DateCreated               time.Time    `json:"date_created"`
	DateModified              time.Time    `json:"date_modified"`
	DiscountType              string       `json:"discount_type"`
	Description               string       `json:"description"`
	DateExpires               *time.Time   `json:"date_expires,omitempty"`
	UsageCount                int          `json:"usage_count"`
	IndividualUse             bool         `json:"individual_use"`
	ProductIDs                []int64      `json:"product_ids"`
	ExcludedProductIDs        []int64      `json:"excluded_product_ids"`
	UsageLimit                int          `json:"usage_limit"`
	UsageLimitPerUser         int          `json:"usage_limit_per_user"`
	LimitUsageToXItems        int          `json:"limit_usage_to_x_items"`
	FreeShipping              bool         `json:"free_shipping"`
	ProductCategories         []int64      `json:"product_categories"`
	ExcludedProductCategories []int64      `json:"excluded_product_categories"`
	ExcludeSaleItems          bool         `json:"exclude_sale_items"`
	MinimumAmount             float64      `json:"minimum_amount"`
	MaximumAmount             float64      `json:"maximum_amount"`
	EmailRestrictions         []emailEntry `json:"email_restrictions"`
	UsedBy                    []string     `json:"used_by"`
	Meta                      []metaEntry  `json:"meta_data"`
}

func (c *coupon) clone() *coupon {
	d := *c
	d.ProductIDs = slices.Clone(c.ProductIDs)
	d.ExcludedProductIDs = slices.Clone(c.ExcludedProductIDs)
	d.ProductCategories = slices.Clone(c.ProductCategories)
	d.ExcludedProductCategories = slices.Clone(c.ExcludedProductCategories)
	d.EmailRestrictions = slices.Clone(c.EmailRestrictions)
	d.UsedBy = slices.Clone(c.UsedBy)
	d.Meta = slices.Clone(c.Meta)
	if c.DateExpires != nil {
		t := *c.DateExpires
		d.DateExpires = &t
	}
	return &d
}

func (c *coupon) emails() []string {
	out := make([]string, 0, len(c.EmailRestrictions))
	for _, e := range c.EmailRestrictions {
		out = append(out, e.Email)
	}
	return out
}

func intOrNull(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func ids(v []int64) []int64 {
	if v == nil {
		return []int64{}
	}
	return v
}

func (s *Store) localDate(t time.Time) string { return t.In(s.loc).Format(wpDate) }
func gmtDate(t time.Time) string              { return t.UTC().Format(wpDate) }

// couponJSON renders a coupon like WooCommerce's v3 controller. Field order
// follows the real response.
func (s *Store) couponJSON(c *coupon, baseURL string) json.RawMessage {
	var emails any
	dense := true
	for i, e := range c.EmailRestrictions {
		if e.Key != i {
			dense = false
		}
	}
	if dense {
		emails = c.emails()
	} else {
		m := map[string]string{}
		for _, e := range c.EmailRestrictions {
			m[strconv.Itoa(e.Key)] = e.Email
		}
		emails = m
	}
	var exp, expGMT any
	if c.DateExpires != nil {
		exp, expGMT = s.localDate(*c.DateExpires), gmtDate(*c.DateExpires)
	}
	meta := make([]map[string]any, 0, len(c.Meta))
	for _, m := range c.Meta {
		meta = append(meta, map[string]any{"id": m.ID, "key": m.Key, "value": m.Value})
	}
	usedBy := c.UsedBy
	if usedBy == nil {
		usedBy = []string{}
	}
	fields := []kv{
		{"id", c.ID},
		{"code", c.Code},
		{"amount", formatAmount(c.Amount)},
		{"status", c.Status},
		{"date_created", s.localDate(c.DateCreated)},
		{"date_created_gmt", gmtDate(c.DateCreated)},
		{"date_modified", s.localDate(c.DateModified)},
		{"date_modified_gmt", gmtDate(c.DateModified)},
		{"discount_type", c.DiscountType},
		{"description", c.Description},
		{"date_expires", exp},
		{"date_expires_gmt", expGMT},
		{"usage_count", c.UsageCount},
		{"individual_use", c.IndividualUse},
		{"product_ids", ids(c.ProductIDs)},
		{"excluded_product_ids", ids(c.ExcludedProductIDs)},
		{"usage_limit", intOrNull(c.UsageLimit)},
		{"usage_limit_per_user", intOrNull(c.UsageLimitPerUser)},
		{"limit_usage_to_x_items", intOrNull(c.LimitUsageToXItems)},
		{"free_shipping", c.FreeShipping},
		{"product_categories", ids(c.ProductCategories)},
		{"excluded_product_categories", ids(c.ExcludedProductCategories)},
		{"exclude_sale_items", c.ExcludeSaleItems},
		{"minimum_amount", formatAmount(c.MinimumAmount)},
		{"maximum_amount", formatAmount(c.MaximumAmount)},
		{"email_restrictions", emails},
		{"used_by", usedBy},
		{"meta_data", meta},
		{"_links", map[string]any{
			"self":       []map[string]string{{"href": baseURL + "/wp-json/wc/v3/coupons/" + strconv.FormatInt(c.ID, 10)}},
			"collection": []map[string]string{{"href": baseURL + "/wp-json/wc/v3/coupons"}},
		}},
	}
	return orderedJSON(fields)
}

type kv struct {
	k string
	v any
}

// orderedJSON encodes fields as a JSON object in the given order.
func orderedJSON(fields []kv) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.v)
		if err != nil {
			v = []byte("null")
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// strict is how a coupon write is validated: the single routes validate
// against the schema (rest_invalid_param), batch items skip that and hit the
// model's own checks.
type writeMode int

const (
	modeSingle writeMode = iota
	modeBatch
)

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || string(raw) == "null" }

// decodeBool reads a boolean field. Single routes accept what
// rest_is_boolean accepts; batch items go through wc_string_to_bool
// ("yes" is true).
func decodeBool(raw json.RawMessage, mode writeMode) (bool, bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var n float64
	if json.Unmarshal(raw, &n) == nil {
		if mode == modeBatch || n == 0 || n == 1 {
			return n == 1, true
		}
		return false, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		ls := strings.ToLower(s)
		if mode == modeBatch {
			return ls == "yes" || ls == "true" || ls == "1", true
		}
		switch ls {
		case "true", "1":
			return true, true
		case "false", "0", "":
			return false, true
		}
	}
	return false, false
}

func decodeInt(raw json.RawMessage) (int, bool) {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return int(f), f == float64(int(f))
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return 0, true
		}
		n, err := strconv.Atoi(strings.TrimSpace(s))
		return n, err == nil
	}
	return 0, false
}

func decodeIDs(raw json.RawMessage) ([]int64, bool) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, false
		}
		for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
			list = append(list, json.RawMessage(strconv.Quote(f)))
		}
	}
	out := []int64{}
	for _, item := range list {
		n, ok := decodeInt(item)
		if !ok {
			return nil, false
		}
		if n < 0 {
			n = -n
		}
		if n != 0 {
			out = append(out, int64(n))
		}
	}
	return out, true
}

func decodeAmount(raw json.RawMessage) (float64, bool) {
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return parseDecimal(s), true
	}
	return 0, false
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

var discountTypes = []string{"percent", "fixed_cart", "fixed_product"}

// applyCouponWrite applies the fields of a create or update body to c, in
// the order WooCommerce does: schema validation first (single routes), then
// the model's setters. It does not check the code for duplicates.
func (s *Store) applyCouponWrite(c *coupon, body map[string]json.RawMessage, mode writeMode) *wpError {
	// Schema validation of the single routes.
	if mode == modeSingle {
		for _, f := range []string{"individual_use", "free_shipping", "exclude_sale_items"} {
			if raw, ok := body[f]; ok && !isNull(raw) {
				if _, ok := decodeBool(raw, modeSingle); !ok {
					return errInvalidParam(f, f+" is not of type boolean.")
				}
			}
		}
		for _, f := range []string{"usage_limit", "usage_limit_per_user", "limit_usage_to_x_items"} {
			if raw, ok := body[f]; ok && !isNull(raw) {
				if _, ok := decodeInt(raw); !ok {
					return errInvalidParam(f, f+" is not of type integer.")
				}
			}
		}
		for _, f := range []string{"product_ids", "excluded_product_ids", "product_categories", "excluded_product_categories"} {
			if raw, ok := body[f]; ok && !isNull(raw) {
				if _, ok := decodeIDs(raw); !ok {
					return errInvalidParam(f, f+"[0] is not of type integer.")
				}
			}
		}
		for _, f := range []string{"amount", "minimum_amount", "maximum_amount"} {
			if raw, ok := body[f]; ok && !isNull(raw) {
				if _, ok := decodeAmount(raw); !ok {
					return errInvalidParam(f, f+" is not of type string.")
				}
			}
		}
		if raw, ok := body["discount_type"]; ok && !isNull(raw) {
			var dt string
			if json.Unmarshal(raw, &dt) != nil || !slices.Contains(discountTypes, dt) {
				return errInvalidParam("discount_type", "discount_type is not one of percent, fixed_cart, and fixed_product.")
			}
		}
		if raw, ok := body["meta_data"]; ok && !isNull(raw) {
			var list []json.RawMessage
			if json.Unmarshal(raw, &list) != nil {
				return errInvalidParam("meta_data", "meta_data is not of type array.")
			}
		}
	}
	for _, field := range couponWriteOrder {
		raw, ok := body[field]
		if !ok || isNull(raw) {
			continue
		}
		if err := s.setCouponField(c, field, raw, mode); err != nil {
			return err
		}
	}
	return nil
}

var couponWriteOrder = []string{
	"amount", "discount_type", "description", "date_expires", "individual_use", "product_ids",
	"excluded_product_ids", "usage_limit", "usage_limit_per_user", "limit_usage_to_x_items", "free_shipping",
	"product_categories", "excluded_product_categories", "exclude_sale_items", "minimum_amount",
	"maximum_amount", "email_restrictions", "meta_data",
}

func (s *Store) setCouponField(c *coupon, field string, raw json.RawMessage, mode writeMode) *wpError {
	itemErr := func(code, msg string) *wpError { return newErr(http.StatusBadRequest, code, msg) }
	switch field {
	case "amount", "minimum_amount", "maximum_amount":
		f, ok := decodeAmount(raw)
		if !ok {
			f = 0
		}
		switch field {
		case "amount":
			c.Amount = f
		case "minimum_amount":
			c.MinimumAmount = f
		default:
			c.MaximumAmount = f
		}
	case "discount_type":
		var dt string
		_ = json.Unmarshal(raw, &dt)
		if !slices.Contains(discountTypes, dt) {
			return itemErr("coupon_invalid_discount_type", "Invalid discount type")
		}
		c.DiscountType = dt
	case "description":
		var d string
		if json.Unmarshal(raw, &d) == nil {
			c.Description = d
		}
	case "date_expires":
		var v string
		if json.Unmarshal(raw, &v) != nil {
			var n float64
			if json.Unmarshal(raw, &n) == nil {
				v = strconv.FormatInt(int64(n), 10)
			} else if string(raw) == "false" {
				v = ""
			}
		}
		if v == "" || v == "0" || v == "0000-00-00 00:00:00" {
			c.DateExpires = nil
			break
		}
		if t, ok := parseExpiry(v, s.loc); ok {
			c.DateExpires = &t
		} else {
			// WooCommerce swallows the exception: the coupon ends up
			// without an expiry (an update clears the old one).
			c.DateExpires = nil
		}
	case "individual_use", "free_shipping", "exclude_sale_items":
		b, _ := decodeBool(raw, modeBatch)
		switch field {
		case "individual_use":
			c.IndividualUse = b
		case "free_shipping":
			c.FreeShipping = b
		default:
			c.ExcludeSaleItems = b
		}
	case "product_ids", "excluded_product_ids", "product_categories", "excluded_product_categories":
		v, ok := decodeIDs(raw)
		if !ok {
			v = []int64{}
		}
		switch field {
		case "product_ids":
			c.ProductIDs = v
		case "excluded_product_ids":
			c.ExcludedProductIDs = v
		case "product_categories":
			c.ProductCategories = v
		default:
			c.ExcludedProductCategories = v
		}
	case "usage_limit", "usage_limit_per_user", "limit_usage_to_x_items":
		n, _ := decodeInt(raw)
		n = absInt(n)
		switch field {
		case "usage_limit":
			c.UsageLimit = n
		case "usage_limit_per_user":
			c.UsageLimitPerUser = n
		default:
			c.LimitUsageToXItems = n
		}
	case "email_restrictions":
		var list []string
		if json.Unmarshal(raw, &list) != nil {
			var one string
			if json.Unmarshal(raw, &one) == nil {
				list = strings.FieldsFunc(one, func(r rune) bool { return r == ',' || r == ' ' })
			} else {
				var obj map[string]string
				_ = json.Unmarshal(raw, &obj)
				keys := make([]int, 0, len(obj))
				for k := range obj {
					if n, err := strconv.Atoi(k); err == nil {
						keys = append(keys, n)
					}
				}
				slices.Sort(keys)
				for _, k := range keys {
					list = append(list, obj[strconv.Itoa(k)])
				}
			}
		}
		entries := []emailEntry{}
		for i, e := range list {
			// array_filter( array_map( 'sanitize_email', array_map( 'strtolower', $emails ) ) )
			if v := SanitizeEmail(asciiLower(e)); v != "" {
				entries = append(entries, emailEntry{Key: i, Email: v})
			}
		}
		for _, e := range entries {
			if !isEmail(e.Email) {
				return itemErr("coupon_invalid_email_address", "Invalid email address restriction")
			}
		}
		c.EmailRestrictions = entries
	case "meta_data":
		var list []struct {
			ID    json.RawMessage `json:"id"`
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(raw, &list) != nil {
			return nil
		}
		for _, m := range list {
			id, _ := decodeInt(m.ID)
			value := m.Value
			if len(value) == 0 {
				value = json.RawMessage("null")
			}
			s.updateMeta(c, int64(id), m.Key, value)
		}
	}
	return nil
}

// updateMeta is WC_Data::update_meta_data: by id when given, else replace
// the first entry with that key (dropping further ones), else add.
func (s *Store) updateMeta(c *coupon, id int64, key string, value json.RawMessage) {
	if id > 0 {
		for i := range c.Meta {
			if c.Meta[i].ID == id {
				c.Meta[i].Key, c.Meta[i].Value = key, value
				return
			}
		}
	}
	for i := range c.Meta {
		if c.Meta[i].Key == key {
			c.Meta[i].Value = value
			keep := c.Meta[i].ID
			c.Meta = slices.DeleteFunc(c.Meta, func(m metaEntry) bool { return m.Key == key && m.ID != keep })
			return
		}
	}
	if key == "" {
		return
	}
	s.db.NextMetaID++
	c.Meta = append(c.Meta, metaEntry{ID: s.db.NextMetaID, Key: key, Value: value})
}

// asciiLower is PHP 8's strtolower: ASCII letters only.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// couponIDByCode is wc_get_coupon_id_by_code: published coupons only,
// case-insensitive, excluding one id. When several coupons share the code
// (see Faults.ItemLatency) it returns the newest, as the real query orders
// by post_date DESC. Caller holds s.mu.
func (s *Store) couponIDByCode(code string, exclude int64) int64 {
	code = formatCode(code)
	if code == "" {
		return 0
	}
	var best *coupon
	for _, id := range s.db.byCode[code] {
		c := s.db.Coupons[id]
		if id == exclude || c == nil {
			continue
		}
		if best == nil || c.DateCreated.After(best.DateCreated) || (c.DateCreated.Equal(best.DateCreated) && c.ID > best.ID) {
			best = c
		}
	}
	if best == nil {
		return 0
	}
	return best.ID
}

func errEmptyCode() *wpError {
	return newErr(http.StatusBadRequest, "woocommerce_rest_empty_coupon_code", "The coupon code cannot be empty.")
}

func errCodeExists() *wpError {
	return newErr(http.StatusBadRequest, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
}

// errCriticalError is what WordPress's fatal error handler answers on a
// REST route when PHP dies.
func errCriticalError() *wpError {
	return newErr(http.StatusInternalServerError, "internal_server_error",
		"<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>")
}

func errCouponID(status int) *wpError {
	return newErr(status, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
}

// createItem creates one coupon (a single create or one batch item) the way
// WooCommerce does, taking delay: the duplicate check is a SELECT
// (wc_get_coupon_id_by_code) and the INSERT comes later, with no unique
// index in between. With a delay the two are not atomic, so two concurrent
// creates of one new code can both succeed. With noMeta the coupon is saved
// without its meta_data, as a PHP fatal error between the coupon's fields
// and its meta leaves it. The waits honour ctx only for the client's
// sake: callers pass a context that outlives a client that gave up, as PHP
// goes on.
func (s *Store) createItem(ctx context.Context, body map[string]json.RawMessage, mode writeMode, delay time.Duration, noMeta bool) (*coupon, *wpError) {
	if delay <= 0 {
		s.mu.Lock()
		defer s.mu.Unlock()
		c, err := s.prepareCoupon(body, mode)
		if err != nil {
			return nil, err
		}
		if noMeta {
			c.Meta = nil
		}
		s.insertCoupon(c)
		return c, nil
	}
	_ = sleep(ctx, delay/2)
	s.mu.Lock()
	c, err := s.prepareCoupon(body, mode)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	_ = sleep(ctx, delay-delay/2)
	s.mu.Lock()
	defer s.mu.Unlock()
	if noMeta {
		c.Meta = nil
	}
	s.insertCoupon(c)
	return c, nil
}

// insertCoupon stores a prepared coupon under a new id. Caller holds s.mu.
func (s *Store) insertCoupon(c *coupon) {
	c.ID = s.db.nextPostID()
	s.db.Coupons[c.ID] = c
	s.db.couponOrder = append(s.db.couponOrder, c.ID)
	s.db.index(c)
}

// prepareCoupon builds a new coupon from a create body and runs the
// duplicate check; it stores nothing. Caller holds s.mu.
func (s *Store) prepareCoupon(body map[string]json.RawMessage, mode writeMode) (*coupon, *wpError) {
	s.createCalls++
	var code string
	if raw, ok := body["code"]; ok && !isNull(raw) {
		if json.Unmarshal(raw, &code) != nil {
			if mode == modeSingle {
				return nil, errInvalidParam("code", "code is not of type string.")
			}
			code = strings.Trim(string(raw), `"`)
		}
	} else if mode == modeSingle {
		e := newErr(http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): code")
		e.Extra = map[string]any{"params": []string{"code"}}
		return nil, e
	}
	code = formatCode(code)
	if code == "" {
		return nil, errEmptyCode()
	}
	now := s.now().UTC().Truncate(time.Second)
	c := &coupon{Code: code, Status: "publish", DiscountType: "fixed_cart", DateCreated: now, DateModified: now}
	if err := s.applyCouponWrite(c, body, mode); err != nil {
		return nil, err
	}
	if s.couponIDByCode(code, 0) != 0 {
		return nil, errCodeExists()
	}
	return c, nil
}

// updateCoupon is the controller's update_item. Caller holds s.mu.
func (s *Store) updateCoupon(id int64, body map[string]json.RawMessage, mode writeMode) (*coupon, *wpError) {
	cur := s.db.Coupons[id]
	if cur == nil {
		return nil, errCouponID(http.StatusBadRequest)
	}
	c := cur.clone()
	if raw, ok := body["code"]; ok && !isNull(raw) {
		var code string
		if json.Unmarshal(raw, &code) != nil {
			if mode == modeSingle {
				return nil, errInvalidParam("code", "code is not of type string.")
			}
			code = strings.Trim(string(raw), `"`)
		}
		code = formatCode(code)
		if code == "" {
			return nil, errEmptyCode()
		}
		if s.couponIDByCode(code, id) != 0 {
			return nil, errCodeExists()
		}
		c.Code = code
	}
	if err := s.applyCouponWrite(c, body, mode); err != nil {
		return nil, err
	}
	c.DateModified = s.now().UTC().Truncate(time.Second)
	s.db.unindex(cur)
	s.db.Coupons[id] = c
	s.db.index(c)
	return c, nil
}

// deleteCoupon is the controller's delete_item. The response shows the
// coupon as it was before deletion. Caller holds s.mu.
func (s *Store) deleteCoupon(id int64, force bool) (*coupon, *wpError) {
	c := s.db.Coupons[id]
	if c == nil {
		return nil, errCouponID(http.StatusNotFound)
	}
	before := c.clone()
	if force {
		s.db.unindex(c)
		delete(s.db.Coupons, id)
		s.db.couponOrder = slices.DeleteFunc(s.db.couponOrder, func(x int64) bool { return x == id })
		return before, nil
	}
	if c.Status == "trash" {
		return nil, newErr(http.StatusGone, "woocommerce_rest_already_trashed", "The shop_coupon has already been deleted.")
	}
	s.db.unindex(c)
	c.Status = "trash"
	c.DateModified = s.now().UTC().Truncate(time.Second)
	return before, nil
}

func (s *Store) createCouponRoute(q *request) response {
	c, err := s.createItem(context.WithoutCancel(q.ctx), q.body, modeSingle, q.itemDelay, q.partialAt >= 0)
	var out json.RawMessage
	s.mu.Lock()
	if err == nil {
		out = s.couponJSON(c, q.baseURL)
		s.persistLocked()
	}
	s.mu.Unlock()
	if err != nil {
		return fail(err)
	}
	if q.partialAt >= 0 {
		return fail(errCriticalError())
	}
	r := ok(http.StatusCreated, out)
	r.header.Set("Location", q.baseURL+"/wp-json/wc/v3/coupons/"+strconv.FormatInt(c.ID, 10))
	return r
}

func (s *Store) getCoupon(q *request, id int64) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.db.Coupons[id]
	if c == nil {
		return fail(errCouponID(http.StatusNotFound))
	}
	return ok(http.StatusOK, s.couponJSON(c, q.baseURL))
}

func (s *Store) updateCouponRoute(q *request, id int64) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.updateCoupon(id, q.body, modeSingle)
	if err != nil {
		return fail(err)
	}
	s.persistLocked()
	return ok(http.StatusOK, s.couponJSON(c, q.baseURL))
}

func boolParam(q *request, name string) bool {
	raw, ok := q.param(name)
	if !ok {
		return false
	}
	b, _ := decodeBool(raw, modeBatch)
	return b
}

func (s *Store) deleteCouponRoute(q *request, id int64) response {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.deleteCoupon(id, boolParam(q, "force"))
	if err != nil {
		return fail(err)
	}
	s.persistLocked()
	return ok(http.StatusOK, s.couponJSON(c, q.baseURL))
}

// listCoupons is GET /coupons with WooCommerce's collection parameters.
func (s *Store) listCoupons(q *request) response {
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
	status, err := enumParam(q, "status", "any", "any", "future", "trash", "draft", "pending", "private", "publish")
	if err != nil {
		return fail(err)
	}
	include, err := idListParam(q, "include")
	if err != nil {
		return fail(err)
	}
	exclude, err := idListParam(q, "exclude")
	if err != nil {
		return fail(err)
	}
	window, err := s.dateWindowParams(q)
	if err != nil {
		return fail(err)
	}
	search := parseSearch(q.str("search"))
	code, hasCode := q.query["code"]

	s.mu.Lock()
	defer s.mu.Unlock()
	var codeID int64
	if hasCode && code[0] != "" {
		codeID = s.couponIDByCode(code[0], 0)
		if codeID == 0 {
			codeID = -1 // post__in = [0]: nothing matches
		}
	}
	// When the request names its coupons (include=, code=), look only at
	// those: a read-back of 100 ids must not scan a store of 100,000. The
	// list is sorted below, ties by id, so the order of candidates does
	// not matter.
	candidates := s.db.couponOrder
	switch {
	case codeID != 0:
		candidates = []int64{codeID}
	case len(include) > 0:
		candidates = slices.Compact(slices.Sorted(slices.Values(include)))
	}
	var list []*coupon
	for _, id := range candidates {
		c := s.db.Coupons[id]
		if c == nil {
			continue
		}
		switch {
		case status == "any" && c.Status == "trash":
			continue
		case status != "any" && c.Status != status:
			continue
		case len(include) > 0 && !slices.Contains(include, c.ID):
			continue
		case slices.Contains(exclude, c.ID):
			continue
		case codeID != 0 && c.ID != codeID:
			continue
		case !matchSearch(search, c.Code, c.Description):
			continue
		case !window.contains(c.DateCreated, c.DateModified):
			continue
		}
		list = append(list, c)
	}
	slices.SortStableFunc(list, func(a, b *coupon) int {
		var r int
		switch orderBy {
		case "id":
			r = cmp.Compare(a.ID, b.ID)
		case "include":
			r = cmp.Compare(int64(slices.Index(include, a.ID)), int64(slices.Index(include, b.ID)))
		case "title", "slug":
			r = strings.Compare(a.Code, b.Code)
		case "modified":
			r = a.DateModified.Compare(b.DateModified)
		default:
			r = a.DateCreated.Compare(b.DateCreated)
		}
		return byID(r, a.ID, b.ID, desc && orderBy != "include")
	})
	return pageResponse(q, list, page, perPage, func(c *coupon) json.RawMessage { return s.couponJSON(c, q.baseURL) })
}

// batchCoupons is POST /coupons/batch: WC_REST_Controller::batch_items.
func (s *Store) batchCoupons(q *request) response {
	var create []map[string]json.RawMessage
	var update []map[string]json.RawMessage
	var del []json.RawMessage
	decode := func(name string, into any) *wpError {
		raw, ok := q.body[name]
		if !ok || isNull(raw) {
			return nil
		}
		if json.Unmarshal(raw, into) != nil {
			return errInvalidParam(name, name+" is not of type array.")
		}
		return nil
	}
	if err := decode("create", &create); err != nil {
		return fail(err)
	}
	if err := decode("update", &update); err != nil {
		return fail(err)
	}
	if err := decode("delete", &del); err != nil {
		return fail(err)
	}
	if n := len(create) + len(update) + len(del); n > s.batchLimit {
		return fail(newErr(http.StatusRequestEntityTooLarge, "woocommerce_rest_request_entity_too_large",
			"Unable to accept more than "+strconv.Itoa(s.batchLimit)+" items for this request."))
	}
	itemError := func(id int64, e *wpError) json.RawMessage {
		return orderedJSON([]kv{{"id", id}, {"error", map[string]any{"code": e.Code, "message": e.Message, "data": map[string]any{"status": e.Status}}}})
	}
	// Items run one after another, as in one PHP request; the item delay is
	// spent outside the lock so that concurrent requests interleave. A
	// client that gives up neither stops nor hurries the batch.
	ctx := context.WithoutCancel(q.ctx)
	wait := func() { _ = sleep(ctx, q.itemDelay) }
	var result []kv
	changed := false
	defer func() {
		if changed {
			s.mu.Lock()
			s.persistLocked()
			s.mu.Unlock()
		}
	}()
	if len(create) > 0 {
		out := make([]json.RawMessage, 0, len(create))
		for i, item := range create {
			partial := q.partialAt >= 0 && i == min(q.partialAt, len(create)-1)
			c, err := s.createItem(ctx, item, modeBatch, q.itemDelay, partial)
			s.mu.Lock()
			if err != nil {
				out = append(out, itemError(0, err))
			} else {
				out = append(out, s.couponJSON(c, q.baseURL))
				changed = true
			}
			s.mu.Unlock()
			if partial {
				// The fatal error ends the request: later items are
				// never reached.
				return fail(errCriticalError())
			}
		}
		result = append(result, kv{"create", out})
	}
	if len(update) > 0 {
		out := make([]json.RawMessage, 0, len(update))
		for _, item := range update {
			wait()
			id, _ := decodeInt(item["id"])
			s.mu.Lock()
			c, err := s.updateCoupon(int64(id), item, modeBatch)
			if err != nil {
				out = append(out, itemError(int64(id), err))
			} else {
				out = append(out, s.couponJSON(c, q.baseURL))
				changed = true
			}
			s.mu.Unlock()
		}
		result = append(result, kv{"update", out})
	}
	if len(del) > 0 {
		out := make([]json.RawMessage, 0, len(del))
		for _, raw := range del {
			id, _ := decodeInt(raw)
			if id == 0 {
				continue
			}
			wait()
			s.mu.Lock()
			c, err := s.deleteCoupon(int64(id), true)
			if err != nil {
				out = append(out, itemError(int64(id), err))
			} else {
				out = append(out, s.couponJSON(c, q.baseURL))
				changed = true
			}
			s.mu.Unlock()
		}
		result = append(result, kv{"delete", out})
	}
	if len(result) == 0 {
		return ok(http.StatusOK, []any{})
	}
	return ok(http.StatusOK, orderedJSON(result))
}

// CouponSnapshot is a coupon as stored, for test assertions.
type CouponSnapshot struct {
	ID                int64
	Code              string
	Amount            string // "10.00"
	DiscountType      string
	DateExpiresGMT    time.Time // zero when the coupon never expires
	UsageLimit        int
	UsageLimitPerUser int
	IndividualUse     bool
	EmailRestrictions []string
	Meta              map[string]string // values of string meta; others as JSON
	UsageCount        int
	UsedBy            []string
	Status            string // publish or trash
}

// Coupons returns a snapshot of every coupon, trashed ones included, in
// creation order.
func (s *Store) Coupons() []CouponSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CouponSnapshot, 0, len(s.db.couponOrder))
	for _, id := range s.db.couponOrder {
		c := s.db.Coupons[id]
		snap := CouponSnapshot{
			ID: c.ID, Code: c.Code, Amount: formatAmount(c.Amount), DiscountType: c.DiscountType,
			UsageLimit: c.UsageLimit, UsageLimitPerUser: c.UsageLimitPerUser, IndividualUse: c.IndividualUse,
			EmailRestrictions: c.emails(), Meta: map[string]string{}, UsageCount: c.UsageCount,
			UsedBy: slices.Clone(c.UsedBy), Status: c.Status,
		}
		if c.DateExpires != nil {
			snap.DateExpiresGMT = c.DateExpires.UTC()
		}
		for _, m := range c.Meta {
			var v string
			if json.Unmarshal(m.Value, &v) != nil {
				v = string(m.Value)
			}
			if _, dup := snap.Meta[m.Key]; !dup {
				snap.Meta[m.Key] = v
			}
		}
		out = append(out, snap)
	}
	return out
}
