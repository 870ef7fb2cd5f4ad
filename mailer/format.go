package mailer

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// currencyFormat says how an ISO 4217 currency is written in an email.
type currencyFormat struct {
	symbol   string
	decimals int
}

// currencies lists the currencies written with a symbol before the amount;
// any other code is written after the amount ("5.00 CHF"), which is never
// ambiguous.
var currencies = map[string]currencyFormat{
	"EUR": {"€", 2},
	"USD": {"$", 2},
	"GBP": {"£", 2},
	"JPY": {"¥", 0},
	"INR": {"₹", 2},
	"KRW": {"₩", 0},
	"ILS": {"₪", 2},
	"NGN": {"₦", 2},
	"UAH": {"₴", 2},
	"VND": {"₫", 0},
	"PHP": {"₱", 2},
	"IDR": {"Rp", 0},
	"TRY": {"₺", 2},
}

// FormatAmount formats a WooCommerce coupon amount for an email:
// FormatAmount("percent", "10", "EUR") is "10%"; fixed discounts
// ("fixed_cart", "fixed_product", or any other type) are money:
// "€5.00", "$5.00", "£5.00", and "5.00 CHF" for a currency without a
// well-known symbol. An amount that is not a number is returned as given
// (with "%" or the currency code), never dropped.
func FormatAmount(discountType, amount, currency string) string {
	amount = strings.TrimSpace(amount)
	currency = strings.ToUpper(strings.TrimSpace(currency))
	v, err := strconv.ParseFloat(amount, 64)
	valid := err == nil && v >= 0 && v < 1e15
	if discountType == "percent" {
		if !valid {
			return amount + "%"
		}
		return strconv.FormatFloat(v, 'f', -1, 64) + "%"
	}
	cf, known := currencies[currency]
	if !known {
		cf = currencyFormat{decimals: 2}
	}
	num := amount
	if valid {
		num = strconv.FormatFloat(v, 'f', cf.decimals, 64)
	}
	switch {
	case known:
		return cf.symbol + num
	case currency == "":
		return num
	default:
		return num + " " + currency
	}
}

// DefaultExpiryLayout is the layout FormatExpiry uses when given none:
// "31 December 2026".
const DefaultExpiryLayout = "2 January 2006"

// FormatExpiry formats t in the store's time zone loc (nil means UTC) with
// a time.Format layout (empty means DefaultExpiryLayout). A zero t means
// "no expiry" and gives "".
func FormatExpiry(t time.Time, loc *time.Location, layout string) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	if layout == "" {
		layout = DefaultExpiryLayout
	}
	return t.In(loc).Format(layout)
}

// ApplyURL builds the link that applies a coupon in the shop from pattern,
// replacing {code} and {email} by the URL-escaped code and email of d
// (spaces as %20, so the result is valid in a path and in a query).
// An empty pattern gives "".
func ApplyURL(pattern string, d Data) string {
	if pattern == "" {
		return ""
	}
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	return strings.NewReplacer("{code}", esc(d.Code), "{email}", esc(d.Email)).Replace(pattern)
}
