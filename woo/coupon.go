package woo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Coupon is a coupon in the wire format of WooCommerce's wc/v3 API.
//
// Amounts are strings as in WooCommerce's schema ("10", "10.00"). Limits
// are *int because WooCommerce answers null for "no limit" (and for 0).
// DateExpires is what WooCommerce writes; it is sent as RFC 3339 with
// seconds and offset. Read back, date_expires is the site's wall clock
// without offset and DateExpiresGMT the same instant in UTC: compare
// instants with DateExpiresGMT. A null never clears a field on write:
// WooCommerce skips it.
type Coupon struct {
	ID                        int64     `json:"id,omitempty"`
	Code                      string    `json:"code"`
	Amount                    string    `json:"amount,omitempty"`
	DiscountType              string    `json:"discount_type,omitempty"` // percent, fixed_cart (WooCommerce's default) or fixed_product
	Description               string    `json:"description,omitempty"`
	DateCreatedGMT            *Time     `json:"date_created_gmt,omitempty"`  // read-only
	DateModifiedGMT           *Time     `json:"date_modified_gmt,omitempty"` // read-only
	DateExpires               *Time     `json:"date_expires,omitempty"`
	DateExpiresGMT            *Time     `json:"date_expires_gmt,omitempty"` // read-only: WooCommerce ignores it on write
	UsageCount                int       `json:"usage_count,omitempty"`      // read-only
	IndividualUse             bool      `json:"individual_use"`
	ProductIDs                []int64   `json:"product_ids,omitempty"`
	ExcludedProductIDs        []int64   `json:"excluded_product_ids,omitempty"`
	UsageLimit                *int      `json:"usage_limit"`
	UsageLimitPerUser         *int      `json:"usage_limit_per_user"`
	LimitUsageToXItems        *int      `json:"limit_usage_to_x_items"`
	FreeShipping              bool      `json:"free_shipping"`
	ProductCategories         []int64   `json:"product_categories,omitempty"`
	ExcludedProductCategories []int64   `json:"excluded_product_categories,omitempty"`
	ExcludeSaleItems          bool      `json:"exclude_sale_items"`
	MinimumAmount             string    `json:"minimum_amount,omitempty"`
	MaximumAmount             string    `json:"maximum_amount,omitempty"`
	EmailRestrictions         EmailList `json:"email_restrictions"`
	UsedBy                    []string  `json:"used_by,omitempty"` // read-only: user ids ("2") or guest billing emails
	Status                    string    `json:"status,omitempty"`  // read-only in practice: publish
	MetaData                  []Meta    `json:"meta_data,omitempty"`
}

// Meta is one meta_data entry.
type Meta struct {
	ID    int64  `json:"id,omitempty"`
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// MetaValue returns the value of the first meta entry with key, rendered as
// a string (strings as they are, other values as JSON).
func (c Coupon) MetaValue(key string) (string, bool) {
	for _, m := range c.MetaData {
		if m.Key != key {
			continue
		}
		switch v := m.Value.(type) {
		case string:
			return v, true
		case nil:
			return "", true
		case json.Number:
			return v.String(), true
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), true
		case bool:
			return strconv.FormatBool(v), true
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Sprint(v), true
			}
			return string(b), true
		}
	}
	return "", false
}

// UnmarshalJSON decodes a coupon leniently where WooCommerce and its plugins
// vary: amounts and limits as strings or numbers, used_by entries as
// strings or numbers, email_restrictions as an array or an object.
func (c *Coupon) UnmarshalJSON(b []byte) error {
	type plain Coupon
	var aux struct {
		*plain
		Amount             flexString  `json:"amount"`
		MinimumAmount      flexString  `json:"minimum_amount"`
		MaximumAmount      flexString  `json:"maximum_amount"`
		UsageCount         flexInt     `json:"usage_count"`
		UsageLimit         flexIntPtr  `json:"usage_limit"`
		UsageLimitPerUser  flexIntPtr  `json:"usage_limit_per_user"`
		LimitUsageToXItems flexIntPtr  `json:"limit_usage_to_x_items"`
		UsedBy             flexStrings `json:"used_by"`
		ID                 flexInt     `json:"id"`
	}
	aux.plain = (*plain)(c)
	if err := json.Unmarshal(b, &aux); err != nil {
		return fmt.Errorf("woo: decoding coupon: %w", err)
	}
	c.Amount, c.MinimumAmount, c.MaximumAmount = string(aux.Amount), string(aux.MinimumAmount), string(aux.MaximumAmount)
	c.UsageCount = int(aux.UsageCount)
	c.UsageLimit, c.UsageLimitPerUser, c.LimitUsageToXItems = aux.UsageLimit.p, aux.UsageLimitPerUser.p, aux.LimitUsageToXItems.p
	c.UsedBy = []string(aux.UsedBy)
	c.ID = int64(aux.ID)
	return nil
}

// EmailList is a coupon's email_restrictions. WooCommerce usually sends a
// JSON array, but after the email sanitizer dropped an entry that was not the
// last one it sends an object with numeric keys ({"0":"a@x.com","2":"c@z.com"});
// both decode, the object in key order.
type EmailList []string

// UnmarshalJSON accepts null, an array of strings, or an object whose values
// are strings (numeric keys in numeric order, then other keys in order).
func (l *EmailList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var arr []*string
		if err := json.Unmarshal(b, &arr); err != nil {
			return fmt.Errorf("woo: email_restrictions: %w", err)
		}
		out := make(EmailList, 0, len(arr))
		for _, s := range arr {
			if s != nil {
				out = append(out, *s)
			}
		}
		*l = out
		return nil
	case len(b) > 0 && b[0] == '{':
		var obj map[string]*string
		if err := json.Unmarshal(b, &obj); err != nil {
			return fmt.Errorf("woo: email_restrictions: %w", err)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, errA := strconv.ParseUint(keys[i], 10, 64)
			c, errC := strconv.ParseUint(keys[j], 10, 64)
			switch {
			case errA == nil && errC == nil:
				return a < c
			case errA == nil:
				return true
			case errC == nil:
				return false
			}
			return keys[i] < keys[j]
		})
		out := make(EmailList, 0, len(keys))
		for _, k := range keys {
			if v := obj[k]; v != nil {
				out = append(out, *v)
			}
		}
		*l = out
		return nil
	}
	return fmt.Errorf("woo: email_restrictions: want an array or an object, got %.40s", b)
}

// flexString decodes a JSON string or number as a string; null as "".
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %.40s", b)
	}
	*s = flexString(n.String())
	return nil
}

// flexStrings decodes an array of strings or numbers (or null).
type flexStrings []string

func (s *flexStrings) UnmarshalJSON(b []byte) error {
	var arr []flexString
	if err := json.Unmarshal(b, &arr); err != nil {
		return err
	}
	if arr == nil {
		*s = nil
		return nil
	}
	out := make(flexStrings, len(arr))
	for i, v := range arr {
		out[i] = string(v)
	}
	*s = out
	return nil
}

// flexInt decodes an integer sent as a number or a numeric string; null and
// "" as 0.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	v, err := parseFlexInt(string(s))
	if err != nil {
		return err
	}
	*n = flexInt(v)
	return nil
}

func parseFlexInt(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("want an integer, got %q", s)
	}
	return int64(f), nil
}

// flexIntPtr is a flexInt where null (and "") means nil.
type flexIntPtr struct{ p *int }

func (n *flexIntPtr) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if strings.TrimSpace(string(s)) == "" {
		n.p = nil
		return nil
	}
	v, err := parseFlexInt(string(s))
	if err != nil {
		return err
	}
	i := int(v)
	n.p = &i
	return nil
}

// flexFloat decodes a number sent as a number or numeric string.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if strings.TrimSpace(string(s)) == "" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64)
	if err != nil {
		return fmt.Errorf("want a number, got %q", string(s))
	}
	*f = flexFloat(v)
	return nil
}

// CouponPatch is a partial update: only fields that are set are sent. A nil
// slice is not sent, an empty non-nil slice clears the list. DateExpires set
// to a zero Time clears the expiry.
type CouponPatch struct {
	Code                      *string
	Amount                    *string
	DiscountType              *string
	Description               *string
	DateExpires               *Time
	IndividualUse             *bool
	ProductIDs                []int64
	ExcludedProductIDs        []int64
	UsageLimit                *int // 0 removes the limit
	UsageLimitPerUser         *int
	LimitUsageToXItems        *int
	FreeShipping              *bool
	ProductCategories         []int64
	ExcludedProductCategories []int64
	ExcludeSaleItems          *bool
	MinimumAmount             *string
	MaximumAmount             *string
	EmailRestrictions         []string
	Status                    *string
	MetaData                  []Meta
}

// MarshalJSON writes only the fields that are set.
func (p CouponPatch) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	setStr := func(k string, v *string) {
		if v != nil {
			m[k] = *v
		}
	}
	setInt := func(k string, v *int) {
		if v != nil {
			m[k] = *v
		}
	}
	setBool := func(k string, v *bool) {
		if v != nil {
			m[k] = *v
		}
	}
	setIDs := func(k string, v []int64) {
		if v != nil {
			m[k] = v
		}
	}
	setStr("code", p.Code)
	setStr("amount", p.Amount)
	setStr("discount_type", p.DiscountType)
	setStr("description", p.Description)
	if p.DateExpires != nil {
		if p.DateExpires.IsZero() {
			m["date_expires"] = ""
		} else {
			m["date_expires"] = *p.DateExpires
		}
	}
	setBool("individual_use", p.IndividualUse)
	setIDs("product_ids", p.ProductIDs)
	setIDs("excluded_product_ids", p.ExcludedProductIDs)
	setInt("usage_limit", p.UsageLimit)
	setInt("usage_limit_per_user", p.UsageLimitPerUser)
	setInt("limit_usage_to_x_items", p.LimitUsageToXItems)
	setBool("free_shipping", p.FreeShipping)
	setIDs("product_categories", p.ProductCategories)
	setIDs("excluded_product_categories", p.ExcludedProductCategories)
	setBool("exclude_sale_items", p.ExcludeSaleItems)
	setStr("minimum_amount", p.MinimumAmount)
	setStr("maximum_amount", p.MaximumAmount)
	if p.EmailRestrictions != nil {
		m["email_restrictions"] = p.EmailRestrictions
	}
	setStr("status", p.Status)
	if p.MetaData != nil {
		m["meta_data"] = p.MetaData
	}
	return json.Marshal(m)
}

// validateCoupon checks what WooCommerce would silently get wrong.
func validateCoupon(c *Coupon) error {
	if strings.TrimSpace(c.Code) == "" {
		return fmt.Errorf("woo: coupon has no code")
	}
	for _, f := range []struct{ name, v string }{{"amount", c.Amount}, {"minimum_amount", c.MinimumAmount}, {"maximum_amount", c.MaximumAmount}} {
		if f.v == "" {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(f.v), 64)
		if err != nil || n < 0 {
			return fmt.Errorf("woo: coupon %q: %s %q is not a non-negative number", c.Code, f.name, f.v)
		}
		if f.name == "amount" && c.DiscountType == "percent" && n > 100 {
			return fmt.Errorf("woo: coupon %q: percent amount %s is over 100", c.Code, f.v)
		}
	}
	switch c.DiscountType {
	case "", "percent", "fixed_cart", "fixed_product":
	default:
		return fmt.Errorf("woo: coupon %q: discount_type %q is not percent, fixed_cart or fixed_product", c.Code, c.DiscountType)
	}
	if c.DateExpires != nil && !c.DateExpires.IsZero() {
		if y := c.DateExpires.Year(); y < 1970 || y > 9999 {
			return fmt.Errorf("woo: coupon %q: date_expires %v is out of range", c.Code, c.DateExpires.Time)
		}
	}
	return nil
}
