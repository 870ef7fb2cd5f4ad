package campaign

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/mailer"
)

// composeCampaign is a German welcome campaign whose coupon has a minimum
// spend, a category restriction and excluded sale items.
func composeCampaign(t *testing.T) Campaign {
	t.Helper()
	tpl, err := mailer.LoadTemplates(mailer.TemplateSource{Purpose: "welcome", Locale: "de"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	no := false
	return Campaign{
		Name: "welcome",
		Coupon: CouponTemplate{DiscountType: "fixed_cart", Amount: "5", Expiry: ExpirySpec{Days: 10},
			MinimumAmount: "20", ExcludeSaleItems: true, IndividualUse: &no,
			ProductCategories: []int64{15, 16}},
		Mail: MailSpec{From: mailer.Address{Name: "Shop", Email: "hello@shop.test"}, Templates: tpl,
			StoreName: "Test Shop", StoreURL: "https://shop.test", Currency: "EUR",
			Unsubscribe:   []string{"mailto:unsubscribe@shop.test"},
			CategoryNames: map[int64]string{15: "Brot"}, ShopAddress: "Hauptstraße 1, 10115 Berlin"},
	}
}

// TestComposedEmailStatesTheCouponsConditionsInTheStoresZone: the email
// says what the store will check (minimum spend in the locale's money
// format, sale items, categories by name or id, one use by the recipient's
// address, the expiry in the store's time zone), and not what the coupon
// does not ask.
func TestComposedEmailStatesTheCouponsConditionsInTheStoresZone(t *testing.T) {
	berlin := time.FixedZone("Europe/Berlin", 3600)
	row := Issue{ID: 7, Email: "ann@shop.test", Code: "WELCOME-2345",
		ExpiresAt: time.Date(2026, 3, 11, 22, 59, 59, 0, time.UTC)}
	msg, err := ComposeEmail(composeCampaign(t), row, berlin, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Gültig ab einem Bestellwert von 20,00\u00a0€.", "Reduzierte Artikel sind ausgenommen.",
		"Nur gültig in: Brot, #16.", "Einmal einlösbar, mit der E-Mail-Adresse ann@shop.test.",
		"Gültig bis 11. März 2026, 23:59 (Europe/Berlin).", "5,00\u00a0€ Rabatt", "Hauptstraße 1, 10115 Berlin",
	} {
		if !strings.Contains(msg.Text, want) || !strings.Contains(msg.HTML, want) {
			t.Errorf("email lacks %q:\n%s", want, msg.Text)
		}
	}
	if strings.Contains(msg.Text, "kombinierbar") {
		t.Error("the email says the coupon cannot be combined, but individual_use is off")
	}
	if !strings.HasPrefix(msg.Text, "Hallo,") {
		t.Errorf("greeting without a first name: %q", strings.SplitN(msg.Text, "\n", 2)[0])
	}
}

// TestComposedEmailPutsTheRecipientsUnsubscribeLinkFirst: the link of
// MailSpec.UnsubscribeLink is in the footer and first in List-Unsubscribe,
// with one-click when it is https; without it, the configured headers stay.
func TestComposedEmailPutsTheRecipientsUnsubscribeLinkFirst(t *testing.T) {
	c := composeCampaign(t)
	row := Issue{ID: 7, Email: "ann@shop.test", Code: "WELCOME-2345", ExpiresAt: time.Date(2026, 3, 11, 22, 59, 59, 0, time.UTC)}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

	msg, err := ComposeEmail(c, row, time.UTC, now)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(msg.ListUnsubscribe, []string{"mailto:unsubscribe@shop.test"}) || msg.OneClickUnsubscribe || strings.Contains(msg.Text, "Abmelden") {
		t.Errorf("without a link: List-Unsubscribe %q, one-click %v", msg.ListUnsubscribe, msg.OneClickUnsubscribe)
	}

	var asked []string
	c.Mail.UnsubscribeLink = func(campaign, email string) string {
		asked = append(asked, campaign+" "+email)
		return "https://shop.test/couponbridge/unsubscribe?t=tok"
	}
	msg, err = ComposeEmail(c, row, time.UTC, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://shop.test/couponbridge/unsubscribe?t=tok", "mailto:unsubscribe@shop.test"}
	if !slices.Equal(msg.ListUnsubscribe, want) || !msg.OneClickUnsubscribe {
		t.Errorf("List-Unsubscribe %q one-click %v; want %q, one-click", msg.ListUnsubscribe, msg.OneClickUnsubscribe, want)
	}
	if !slices.Equal(asked, []string{"welcome ann@shop.test"}) {
		t.Errorf("UnsubscribeLink called with %q", asked)
	}
	if !strings.Contains(msg.Text, "Abmelden: https://shop.test/couponbridge/unsubscribe?t=tok") ||
		!strings.Contains(msg.HTML, `href="https://shop.test/couponbridge/unsubscribe?t=tok"`) {
		t.Error("the footer lacks the recipient's unsubscribe link")
	}

	c.Mail.UnsubscribeLink = func(string, string) string { return "http://127.0.0.1:8080/unsubscribe?t=tok" }
	if msg, err = ComposeEmail(c, row, time.UTC, now); err != nil || msg.OneClickUnsubscribe {
		t.Errorf("one-click with a plain http link: %v, %v", msg.OneClickUnsubscribe, err)
	}
}
