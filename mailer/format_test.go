package mailer

import (
	"testing"
	"time"
)

func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct{ typ, amount, currency, want string }{
		{"percent", "10", "EUR", "10%"},
		{"percent", "10.00", "EUR", "10%"},
		{"percent", "12.5", "USD", "12.5%"},
		{"fixed_cart", "5", "EUR", "€5.00"},
		{"fixed_cart", "5", "USD", "$5.00"},
		{"fixed_product", "5.5", "GBP", "£5.50"},
		{"fixed_cart", "5", "CHF", "5.00 CHF"},
		{"fixed_cart", "5", "chf", "5.00 CHF"},
		{"fixed_cart", "500", "JPY", "¥500"},
		{"fixed_cart", "1234.5", "EUR", "€1234.50"},
		{"fixed_cart", "5", "", "5.00"},
		{"fixed_cart", "five", "EUR", "€five"},
		{"percent", "ten", "EUR", "ten%"},
	} {
		if got := FormatAmount(tc.typ, tc.amount, tc.currency); got != tc.want {
			t.Errorf("FormatAmount(%q, %q, %q) = %q, want %q", tc.typ, tc.amount, tc.currency, got, tc.want)
		}
	}
}

func TestFormatExpiryUsesTheStoreTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	// 23:30 UTC on 31 Dec is already 1 Jan in Berlin.
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	if got := FormatExpiry(at, berlin, ""); got != "1 January 2027" {
		t.Errorf("default layout in Berlin = %q, want 1 January 2027", got)
	}
	if got := FormatExpiry(at, nil, "2006-01-02 15:04 MST"); got != "2026-12-31 23:30 UTC" {
		t.Errorf("nil location = %q, want UTC", got)
	}
	if got := FormatExpiry(time.Time{}, berlin, ""); got != "" {
		t.Errorf("zero time = %q, want empty (no expiry)", got)
	}
}

func TestApplyURLEscapesCodeAndEmail(t *testing.T) {
	d := Data{Code: "AB CD&x=1", Email: "ann+shop@example.com"}
	got := ApplyURL("https://shop.example/?coupon={code}&email={email}", d)
	want := "https://shop.example/?coupon=AB%20CD%26x%3D1&email=ann%2Bshop%40example.com"
	if got != want {
		t.Errorf("ApplyURL = %q, want %q", got, want)
	}
	if got := ApplyURL("https://shop.example/apply/{code}", Data{Code: "SPRING-2345"}); got != "https://shop.example/apply/SPRING-2345" {
		t.Errorf("path pattern = %q", got)
	}
	if got := ApplyURL("", d); got != "" {
		t.Errorf("empty pattern = %q, want empty", got)
	}
}
