package campaign

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/couponbridge/couponbridge/woo"
)

// Meta keys that tag every coupon couponbridge creates, so that it can be
// recognised later (adoption after an unclear outcome, tracking, pruning).
const (
	// MetaCampaign holds the campaign name.
	MetaCampaign = "_couponbridge_campaign"
	// MetaRecipient holds RecipientKey: the recipient's email, or
	// "export:" and the code's key for export-only coupons.
	MetaRecipient = "_couponbridge_recipient"
)

// Discount types WooCommerce knows.
const (
	DiscountPercent      = "percent"
	DiscountFixedCart    = "fixed_cart"
	DiscountFixedProduct = "fixed_product"
)

// Limits of a coupon template.
const (
	maxExpiryDays     = 3650
	maxDescriptionLen = 1000 // characters
	maxAmountDigits   = 12   // before the decimal point
)

// ExpirySpec says when an issued coupon stops working: at the end of a day
// (23:59:59) in the store's timezone. Exactly one field is set: an emailed
// one-time coupon always expires.
type ExpirySpec struct {
	// Days makes the coupon valid through the end of the Nth day after the
	// day it was issued: issued on the 1st with Days 30, it works until the
	// 31st at 23:59:59 store time.
	Days int `yaml:"days" json:"days,omitempty"`
	// Date (YYYY-MM-DD) makes the coupon valid through the end of that day.
	Date string `yaml:"date" json:"date,omitempty"`
}

// CouponTemplate is what every coupon of a campaign has in common. The
// one-time restrictions (usage limit 1, once per user, locked to the
// recipient's email) are not part of it: Build always sets them.
type CouponTemplate struct {
	// DiscountType is percent, fixed_cart or fixed_product.
	DiscountType string `yaml:"discount_type" json:"discount_type"`
	// Amount is a positive decimal with at most two decimals; at most 100 for percent.
	Amount string `yaml:"amount" json:"amount"`
	// Expiry is required.
	Expiry ExpirySpec `yaml:"expiry" json:"expiry"`
	// MinimumAmount and MaximumAmount are the order subtotal bounds; empty or
	// "0" means none.
	MinimumAmount string `yaml:"minimum_amount" json:"minimum_amount,omitempty"`
	MaximumAmount string `yaml:"maximum_amount" json:"maximum_amount,omitempty"`
	// IndividualUse forbids combining the coupon with others; nil means true.
	IndividualUse *bool `yaml:"individual_use" json:"individual_use,omitempty"`
	// ExcludeSaleItems keeps the discount off items on sale.
	ExcludeSaleItems bool `yaml:"exclude_sale_items" json:"exclude_sale_items,omitempty"`
	// FreeShipping lets the coupon unlock free-shipping methods.
	FreeShipping bool `yaml:"free_shipping" json:"free_shipping,omitempty"`
	// Product and category restrictions by store id.
	ProductIDs                []int64 `yaml:"product_ids" json:"product_ids,omitempty"`
	ExcludedProductIDs        []int64 `yaml:"excluded_product_ids" json:"excluded_product_ids,omitempty"`
	ProductCategories         []int64 `yaml:"product_categories" json:"product_categories,omitempty"`
	ExcludedProductCategories []int64 `yaml:"excluded_product_categories" json:"excluded_product_categories,omitempty"`
	// Description is shown to shop staff in the WooCommerce admin; empty
	// gives "couponbridge campaign <name>".
	Description string `yaml:"description" json:"description,omitempty"`
}

// CouponParams is what makes one coupon of a template personal.
type CouponParams struct {
	// Campaign is the campaign name, stored in MetaCampaign.
	Campaign string
	// Code is the generated code.
	Code string
	// Email is the recipient's normalized address; empty makes an
	// export-only coupon that anyone may use once.
	Email string
	// Issued is when the coupon is issued; Days expiries count from its day
	// in Loc.
	Issued time.Time
	// Loc is the store's timezone; nil means UTC.
	Loc *time.Location
}

// Validate checks the template. All problems are reported at once, each a
// *FieldError under "coupon." ("coupon.amount: ..."), joined with errors.Join.
func (t CouponTemplate) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fieldErr(field, format, args...))
	}

	switch t.DiscountType {
	case DiscountPercent, DiscountFixedCart, DiscountFixedProduct:
	case "":
		add("coupon.discount_type", "required: percent, fixed_cart or fixed_product")
	default:
		add("coupon.discount_type", "%q is not one of percent, fixed_cart, fixed_product", t.DiscountType)
	}

	if t.Amount == "" {
		add("coupon.amount", "required")
	} else if cents, err := parseAmount(t.Amount); err != nil {
		add("coupon.amount", "%q: %v", t.Amount, err)
	} else if cents == 0 {
		add("coupon.amount", "must be more than 0")
	} else if t.DiscountType == DiscountPercent && cents > 100*100 {
		add("coupon.amount", "%s%% is more than 100%%", t.Amount)
	}

	var minCents, maxCents int64
	var err error
	if t.MinimumAmount != "" {
		if minCents, err = parseAmount(t.MinimumAmount); err != nil {
			add("coupon.minimum_amount", "%q: %v", t.MinimumAmount, err)
		}
	}
	if t.MaximumAmount != "" {
		if maxCents, err = parseAmount(t.MaximumAmount); err != nil {
			add("coupon.maximum_amount", "%q: %v", t.MaximumAmount, err)
		}
	}
	if minCents > 0 && maxCents > 0 && minCents > maxCents {
		add("coupon.maximum_amount", "%s is less than minimum_amount %s", t.MaximumAmount, t.MinimumAmount)
	}

	if err := t.Expiry.validate(); err != nil {
		errs = append(errs, err)
	}

	checkIDs := func(field string, ids []int64) {
		for _, id := range ids {
			if id <= 0 {
				add(field, "%d is not a valid id (ids are positive)", id)
				return
			}
		}
	}
	checkIDs("coupon.product_ids", t.ProductIDs)
	checkIDs("coupon.excluded_product_ids", t.ExcludedProductIDs)
	checkIDs("coupon.product_categories", t.ProductCategories)
	checkIDs("coupon.excluded_product_categories", t.ExcludedProductCategories)
	for _, id := range t.ExcludedProductIDs {
		if slices.Contains(t.ProductIDs, id) {
			add("coupon.excluded_product_ids", "%d is also in product_ids", id)
			break
		}
	}
	for _, id := range t.ExcludedProductCategories {
		if slices.Contains(t.ProductCategories, id) {
			add("coupon.excluded_product_categories", "%d is also in product_categories", id)
			break
		}
	}

	if !utf8.ValidString(t.Description) {
		add("coupon.description", "not valid UTF-8")
	} else if n := utf8.RuneCountInString(t.Description); n > maxDescriptionLen {
		add("coupon.description", "%d characters, at most %d", n, maxDescriptionLen)
	}
	return errors.Join(errs...)
}

// ValidateAt is Validate plus a check that a coupon issued at now would not
// already be expired (a fixed Date in the past).
func (t CouponTemplate) ValidateAt(now time.Time, loc *time.Location) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if exp := t.ExpiresAt(now, loc); !exp.After(now) {
		return fieldErr("coupon.expiry.date", "%s has passed (coupons would expire at %s)", t.Expiry.Date, exp.Format(time.RFC3339))
	}
	return nil
}

func (e ExpirySpec) validate() error {
	switch {
	case e.Days != 0 && e.Date != "":
		return fieldErr("coupon.expiry", "set either days or date, not both")
	case e.Days == 0 && e.Date == "":
		return fieldErr("coupon.expiry", "required: days (valid through the end of the Nth day after issue) or date (YYYY-MM-DD); a one-time coupon must expire")
	case e.Days < 0 || e.Days > maxExpiryDays:
		return fieldErr("coupon.expiry.days", "%d is out of range 1..%d", e.Days, maxExpiryDays)
	case e.Date != "":
		if _, err := time.Parse(time.DateOnly, e.Date); err != nil {
			return fieldErr("coupon.expiry.date", "%q is not a date in the form YYYY-MM-DD", e.Date)
		}
	}
	return nil
}

// ExpiresAt returns the instant a coupon issued at issued stops working:
// 23:59:59 in the store's timezone loc (nil means UTC) on the day the
// ExpirySpec names. The issue day is taken in loc, so a coupon issued at
// 23:30 store time on the 1st with Days 1 expires at the end of the 2nd
// whatever the UTC date. The template must be valid.
func (t CouponTemplate) ExpiresAt(issued time.Time, loc *time.Location) time.Time {
	return t.Expiry.ExpiresAt(issued, loc)
}

// ExpiresAt is CouponTemplate.ExpiresAt for the spec alone.
func (e ExpirySpec) ExpiresAt(issued time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if e.Date != "" {
		d, err := time.Parse(time.DateOnly, e.Date)
		if err != nil {
			return time.Time{}
		}
		return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, loc)
	}
	y, m, d := issued.In(loc).Date()
	return time.Date(y, m, d+e.Days, 23, 59, 59, 0, loc)
}

// Build returns the coupon to create for one recipient: the template's terms
// plus usage_limit 1, usage_limit_per_user 1 and email_restrictions [Email]
// (none for an export-only coupon, which keeps both limits), date_expires in
// the store's timezone, and the meta tags MetaCampaign and MetaRecipient. The
// template must be valid.
func (t CouponTemplate) Build(p CouponParams) woo.Coupon {
	loc := p.Loc
	if loc == nil {
		loc = time.UTC
	}
	individual := true
	if t.IndividualUse != nil {
		individual = *t.IndividualUse
	}
	description := t.Description
	if description == "" {
		description = "couponbridge campaign " + p.Campaign
	}
	email := strings.ToLower(p.Email)
	restrictions := woo.EmailList{}
	if email != "" {
		restrictions = woo.EmailList{email}
	}
	one, onePerUser := 1, 1
	return woo.Coupon{
		Code:                      p.Code,
		Amount:                    canonicalAmount(t.Amount),
		DiscountType:              t.DiscountType,
		Description:               description,
		DateExpires:               &woo.Time{Time: t.ExpiresAt(p.Issued, loc)},
		IndividualUse:             individual,
		ProductIDs:                slices.Clone(t.ProductIDs),
		ExcludedProductIDs:        slices.Clone(t.ExcludedProductIDs),
		UsageLimit:                &one,
		UsageLimitPerUser:         &onePerUser,
		FreeShipping:              t.FreeShipping,
		ProductCategories:         slices.Clone(t.ProductCategories),
		ExcludedProductCategories: slices.Clone(t.ExcludedProductCategories),
		ExcludeSaleItems:          t.ExcludeSaleItems,
		MinimumAmount:             canonicalAmount(t.MinimumAmount),
		MaximumAmount:             canonicalAmount(t.MaximumAmount),
		EmailRestrictions:         restrictions,
		MetaData: []woo.Meta{
			{Key: MetaCampaign, Value: p.Campaign},
			{Key: MetaRecipient, Value: RecipientKey(email, p.Code)},
		},
	}
}

// RecipientKey is the value of MetaRecipient: the lowercased email, or for an
// export-only coupon (no email) "export:" and CodeKey(code). The ledger keys
// export-only rows the same way, so a coupon found in the store can be
// matched to its row.
func RecipientKey(email, code string) string {
	if email == "" {
		return "export:" + CodeKey(code)
	}
	return strings.ToLower(email)
}

// parseAmount parses a non-negative decimal with at most two decimals, as in
// "10", "10.5" or "10.50", into hundredths.
func parseAmount(s string) (int64, error) {
	if s != strings.TrimSpace(s) {
		return 0, errors.New("has spaces around it")
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	switch {
	case strings.HasPrefix(s, "-"):
		return 0, errors.New("must not be negative")
	case strings.Contains(s, ","):
		return 0, errors.New("use '.' as the decimal separator")
	case intPart == "":
		return 0, errors.New("not a decimal number")
	case hasDot && frac == "":
		return 0, errors.New("not a decimal number")
	case len(frac) > 2:
		return 0, errors.New("more than two decimals")
	case len(strings.TrimLeft(intPart, "0")) > maxAmountDigits:
		return 0, errors.New("too large")
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, errors.New("not a decimal number")
			}
		}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	whole, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil {
		return 0, errors.New("not a decimal number")
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	return whole*100 + f, nil
}

// canonicalAmount writes a valid amount without leading zeros and without
// trailing zero decimals: "010.50" → "10.5", "10.00" → "10". Empty stays
// empty; an invalid amount is returned as is.
func canonicalAmount(s string) string {
	if s == "" {
		return ""
	}
	cents, err := parseAmount(s)
	if err != nil {
		return s
	}
	out := strconv.FormatInt(cents/100, 10)
	if c := cents % 100; c != 0 {
		frac := fmt.Sprintf("%02d", c)
		out += "." + strings.TrimRight(frac, "0")
	}
	return out
}

// CouponMismatchError says how a coupon read back from the store differs from
// the coupon asked for. Such a coupon must not be emailed.
type CouponMismatchError struct {
	// Code is the code asked for.
	Code string
	// Mismatches has one entry per differing field, such as
	// "email_restrictions: asked [a@x.com], store has [ax.com]".
	Mismatches []string
}

// Error lists every mismatch.
func (e *CouponMismatchError) Error() string {
	return "coupon " + e.Code + " in the store differs from what was asked: " + strings.Join(e.Mismatches, "; ")
}

// VerifyCoupon checks a coupon read back from the store (got) against the
// coupon sent (asked, as made by Build): the code (ignoring case), exactly
// the asked email restriction (ignoring case), usage_limit 1 and
// usage_limit_per_user 1, the expiry instant (asked date_expires against the
// store's date_expires_gmt, to the second), the amount as a number, the
// discount type, the other terms of the template (spend bounds as numbers,
// individual use, free shipping, sale items, product and category ids in any
// order), the campaign and recipient meta, and status publish when the store
// reports one. The error is a *CouponMismatchError listing every difference.
func VerifyCoupon(asked, got woo.Coupon) error {
	var diffs []string
	add := func(format string, args ...any) { diffs = append(diffs, fmt.Sprintf(format, args...)) }

	if CodeKey(asked.Code) != CodeKey(got.Code) {
		add("code: asked %q, store has %q", asked.Code, got.Code)
	}

	wantEmails := lowerAll(asked.EmailRestrictions)
	gotEmails := lowerAll(got.EmailRestrictions)
	if len(wantEmails) > 1 {
		add("email_restrictions: asked %d addresses, a personal coupon has exactly one", len(wantEmails))
	} else if !slices.Equal(wantEmails, gotEmails) {
		add("email_restrictions: asked %s, store has %s", bracketList(wantEmails), bracketList(gotEmails))
	}

	checkLimit := func(name string, v *int) {
		switch {
		case v == nil:
			add("%s: want 1, store has none", name)
		case *v != 1:
			add("%s: want 1, store has %d", name, *v)
		}
	}
	checkLimit("usage_limit", got.UsageLimit)
	checkLimit("usage_limit_per_user", got.UsageLimitPerUser)

	switch {
	case asked.DateExpires == nil || asked.DateExpires.IsZero():
		add("expiry: asked coupon has no expiry")
	case got.DateExpiresGMT == nil || got.DateExpiresGMT.IsZero():
		if got.DateExpires == nil || got.DateExpires.IsZero() {
			add("expiry: store dropped the expiry (asked %s)", asked.DateExpires.Format(time.RFC3339))
		} else {
			add("expiry: store sent no date_expires_gmt to check the instant against (asked %s)", asked.DateExpires.Format(time.RFC3339))
		}
	default:
		want := asked.DateExpires.Truncate(time.Second)
		have := got.DateExpiresGMT.Truncate(time.Second)
		if !want.Equal(have) {
			add("expiry: asked %s (%s), store has %s", want.Format(time.RFC3339), want.UTC().Format(time.RFC3339), have.UTC().Format(time.RFC3339))
		}
	}

	if !amountsEqual(asked.Amount, got.Amount) {
		add("amount: asked %q, store has %q", asked.Amount, got.Amount)
	}
	if asked.DiscountType != got.DiscountType {
		add("discount_type: asked %q, store has %q", asked.DiscountType, got.DiscountType)
	}
	if !amountsEqual(asked.MinimumAmount, got.MinimumAmount) {
		add("minimum_amount: asked %q, store has %q", asked.MinimumAmount, got.MinimumAmount)
	}
	if !amountsEqual(asked.MaximumAmount, got.MaximumAmount) {
		add("maximum_amount: asked %q, store has %q", asked.MaximumAmount, got.MaximumAmount)
	}
	for _, f := range []struct {
		name       string
		asked, got bool
	}{
		{"individual_use", asked.IndividualUse, got.IndividualUse},
		{"free_shipping", asked.FreeShipping, got.FreeShipping},
		{"exclude_sale_items", asked.ExcludeSaleItems, got.ExcludeSaleItems},
	} {
		if f.asked != f.got {
			add("%s: asked %t, store has %t", f.name, f.asked, f.got)
		}
	}
	for _, f := range []struct {
		name       string
		asked, got []int64
	}{
		{"product_ids", asked.ProductIDs, got.ProductIDs},
		{"excluded_product_ids", asked.ExcludedProductIDs, got.ExcludedProductIDs},
		{"product_categories", asked.ProductCategories, got.ProductCategories},
		{"excluded_product_categories", asked.ExcludedProductCategories, got.ExcludedProductCategories},
	} {
		if !sameIDs(f.asked, f.got) {
			add("%s: asked %v, store has %v", f.name, f.asked, f.got)
		}
	}
	for _, key := range []string{MetaCampaign, MetaRecipient} {
		want, asks := asked.MetaValue(key)
		if !asks {
			continue
		}
		if have, ok := got.MetaValue(key); !ok {
			add("meta %s: asked %q, store has none", key, want)
		} else if have != want {
			add("meta %s: asked %q, store has %q", key, want, have)
		}
	}
	if got.Status != "" && got.Status != "publish" {
		add("status: store has %q, want publish", got.Status)
	}
	if diffs == nil {
		return nil
	}
	return &CouponMismatchError{Code: asked.Code, Mismatches: diffs}
}

// sameIDs reports whether two id lists hold the same ids, in any order.
func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(strings.TrimSpace(s))
	}
	return out
}

func bracketList(list []string) string { return "[" + strings.Join(list, ", ") + "]" }

// amountsEqual compares two decimal strings as numbers ("10" equals "10.00").
// Empty equals "0": WooCommerce writes an unset amount as "0" or "".
func amountsEqual(a, b string) bool {
	ra, okA := parseDecimal(a)
	rb, okB := parseDecimal(b)
	if !okA || !okB {
		return a == b
	}
	return ra.Cmp(rb) == 0
}

func parseDecimal(s string) (*big.Rat, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return new(big.Rat), true
	}
	// big.Rat also takes fractions and exponents; a store sends neither.
	if strings.ContainsAny(s, "/eE") {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}
