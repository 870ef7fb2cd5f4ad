package mailer

import "strings"

// Conditions are a coupon's terms, already formatted for the email, so
// that a customer knows before checkout why a code could be refused. A
// zero field does not apply and is not mentioned.
type Conditions struct {
	// MinSpend and MaxSpend bound the order subtotal ("€20.00").
	MinSpend, MaxSpend string
	// ExcludesSaleItems: items on sale are not discounted.
	ExcludesSaleItems bool
	// FreeShipping: the coupon unlocks free-shipping methods.
	FreeShipping bool
	// IndividualUse: it cannot be combined with other coupons.
	IndividualUse bool
	// Products and Categories limit the discount to these (names when the
	// store told them, else "#ID"); the Excluded ones are left out of it.
	Products, Categories                 []string
	ExcludedProducts, ExcludedCategories []string
	// OneUse: the code works once.
	OneUse bool
	// Email is the only address that may use the code ("" for anyone).
	Email string
	// ValidUntil is the last moment it works, in the store's time zone
	// ("31 December 2026, 23:59 (Europe/Berlin)").
	ValidUntil string
}

// Lines are the conditions that apply, one sentence each in locale, in the
// order a customer checks them: how much to spend, what is covered, how
// often, by whom, until when.
func (c Conditions) Lines(locale string) []string {
	var lines []string
	add := func(key string, args ...any) { lines = append(lines, translate(locale, "", key, args...)) }
	list := func(names []string) string { return strings.Join(names, ", ") }
	if c.MinSpend != "" {
		add("cond.min", c.MinSpend)
	}
	if c.MaxSpend != "" {
		add("cond.max", c.MaxSpend)
	}
	if len(c.Products) > 0 {
		add("cond.products", list(c.Products))
	}
	if len(c.Categories) > 0 {
		add("cond.categories", list(c.Categories))
	}
	if len(c.ExcludedProducts) > 0 {
		add("cond.xproducts", list(c.ExcludedProducts))
	}
	if len(c.ExcludedCategories) > 0 {
		add("cond.xcategories", list(c.ExcludedCategories))
	}
	if c.ExcludesSaleItems {
		add("cond.sale")
	}
	if c.FreeShipping {
		add("cond.freeship")
	}
	if c.IndividualUse {
		add("cond.individual")
	}
	switch {
	case c.OneUse && c.Email != "":
		add("cond.once.email", c.Email)
	case c.OneUse:
		add("cond.once")
	}
	if c.ValidUntil != "" {
		add("cond.until", c.ValidUntil)
	}
	return lines
}
