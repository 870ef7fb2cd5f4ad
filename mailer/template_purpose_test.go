package mailer

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// renderBuiltin renders the built-in email of purpose in locale for d.
func renderBuiltin(t *testing.T, purpose, locale string, d Data) (subject, text, html string) {
	t.Helper()
	tmpl, err := LoadTemplates(TemplateSource{Purpose: purpose, Locale: locale}, []string{"tier"})
	if err != nil {
		t.Fatal(err)
	}
	subject, text, html, err = tmpl.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	return subject, text, html
}

// TestBuiltinEmailsReadRightWithoutAFirstName: no built-in subject or
// greeting depends on a first name, so a recipient without one never gets
// ", your coupon" or "Hi ,".
func TestBuiltinEmailsReadRightWithoutAFirstName(t *testing.T) {
	d := goldenData()
	d.FirstName = ""
	bad := regexp.MustCompile(`(^|\n)\s*[,:]|\s,|Hi ,|Hallo ,`)
	for _, purpose := range Purposes {
		for _, locale := range Locales {
			subject, text, _ := renderBuiltin(t, purpose, locale, d)
			if bad.MatchString(subject) || bad.MatchString(firstLineOf(text)) {
				t.Errorf("%s/%s without a first name: subject %q, greeting %q", purpose, locale, subject, firstLineOf(text))
			}
		}
	}
	if got := (Data{}).NameOr("there"); got != "there" {
		t.Errorf("NameOr without a first name = %q, want the fallback", got)
	}
	if got := (Data{FirstName: " Ann "}).NameOr("there"); got != "Ann" {
		t.Errorf("NameOr with a first name = %q, want Ann", got)
	}
	tmpl, err := LoadTemplates(TemplateSource{Subject: `{{.NameOr "Hello"}}, your {{.Amount}} coupon`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if subject, _, _, _ := tmpl.Render(Data{Code: "X", Amount: "10%"}); subject != "Hello, your 10% coupon" {
		t.Errorf("subject with NameOr and no name = %q", subject)
	}
}

// TestNoSentenceStartsWithOrWithoutAnApplyLink: without an apply link the
// email asks to enter the code at checkout; it never offers an "Or" to a
// choice it does not give.
func TestNoSentenceStartsWithOrWithoutAnApplyLink(t *testing.T) {
	dangling := regexp.MustCompile(`(?m)(^|[.>]\s*)(Or|Oder|Ou|O|Atau|Of)\s`)
	for _, purpose := range Purposes {
		for _, locale := range Locales {
			for _, storeURL := range []string{"https://shop.example", ""} {
				d := goldenDataIn(locale)
				d.ApplyURL, d.StoreURL = "", storeURL
				_, text, html := renderBuiltin(t, purpose, locale, d)
				for what, body := range map[string]string{"text": text, "html": html} {
					if m := dangling.FindString(body); m != "" {
						t.Errorf("%s/%s %s (store URL %q) has a dangling %q", purpose, locale, what, storeURL, m)
					}
				}
			}
		}
	}
}

// TestBuiltinEmailsStateTheCouponConditions: what the store checks at
// checkout (minimum spend, excluded sale items, categories, one use, the
// address, the expiry in the store's time zone) is in both bodies, and a
// condition that does not apply is not mentioned.
func TestBuiltinEmailsStateTheCouponConditions(t *testing.T) {
	d := goldenData()
	d.Conditions = Conditions{
		MinSpend: "€20.00", ExcludesSaleItems: true, Categories: []string{"Bread"},
		OneUse: true, Email: d.Email, ValidUntil: "31 December 2026, 23:59 (Europe/Berlin)",
	}
	_, text, html := renderBuiltin(t, "welcome", "en", d)
	for _, want := range []string{
		"Valid on orders of €20.00 or more.", "Items on sale are not discounted.", "Valid only in: Bread.",
		"Can be used once, with the email address zoe@example.net.", "Valid until 31 December 2026, 23:59 (Europe/Berlin).",
	} {
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("welcome email lacks %q", want)
		}
	}
	for _, absent := range []string{"free shipping", "up to", "combined"} {
		if strings.Contains(text, absent) {
			t.Errorf("welcome email mentions %q, a condition that does not apply", absent)
		}
	}
	if got := (Conditions{}).Lines("en"); len(got) != 0 {
		t.Errorf("no conditions give lines %q", got)
	}
}

// TestEachPurposeHasItsOwnWords: the win-back email is not the welcome
// email, nor the generic one; the reminder says when the code expires.
func TestEachPurposeHasItsOwnWords(t *testing.T) {
	for _, locale := range Locales {
		bodies := map[string]string{}
		subjects := map[string]string{}
		for _, purpose := range Purposes {
			subjects[purpose], bodies[purpose], _ = renderBuiltin(t, purpose, locale, goldenDataIn(locale))
		}
		for i, a := range Purposes {
			for _, b := range Purposes[i+1:] {
				if bodies[a] == bodies[b] || subjects[a] == subjects[b] {
					t.Errorf("%s: the %s and %s emails are the same", locale, a, b)
				}
			}
		}
		if !strings.Contains(bodies["reminder"], goldenDataIn(locale).Expires) {
			t.Errorf("%s: the reminder does not say when the code expires", locale)
		}
	}
}

// TestCatalogsAreComplete: every locale has every string English has, with
// the same arguments, so no email mixes languages.
func TestCatalogsAreComplete(t *testing.T) {
	verbs := regexp.MustCompile(`%(\[\d\])?s`)
	for _, locale := range Locales {
		cat := catalogs[locale]
		for key, en := range catalogs["en"] {
			s, ok := cat[key]
			if !ok {
				t.Errorf("%s lacks %q", locale, key)
				continue
			}
			if len(verbs.FindAllString(s, -1)) != len(verbs.FindAllString(en, -1)) {
				t.Errorf("%s %q = %q takes other arguments than en %q", locale, key, s, en)
			}
		}
		if len(cat) != len(catalogs["en"]) {
			t.Errorf("%s has %d strings, en %d", locale, len(cat), len(catalogs["en"]))
		}
	}
}

// TestLoadTemplatesRefusesAnUnknownLocaleOrPurpose names the setting and
// what is available.
func TestLoadTemplatesRefusesAnUnknownLocaleOrPurpose(t *testing.T) {
	if _, err := LoadTemplates(TemplateSource{Locale: "pt"}, nil); err == nil || !strings.Contains(err.Error(), `locale "pt"`) {
		t.Errorf("locale pt: %v", err)
	}
	if _, err := LoadTemplates(TemplateSource{Purpose: "birthday"}, nil); err == nil || !strings.Contains(err.Error(), "welcome, winback, generic, reminder") {
		t.Errorf("purpose birthday: %v", err)
	}
}

// TestBrandColourLogoAndFooterAppearOnlyWhenSet: the footer carries the
// shop's address and the unsubscribe link, and a colour that is not a hex
// colour never reaches the style attribute.
func TestBrandColourLogoAndFooterAppearOnlyWhenSet(t *testing.T) {
	d := goldenDataIn("en")
	d.LogoURL = "https://shop.example/logo.png"
	_, text, html := renderBuiltin(t, "generic", "en", d)
	for _, want := range []string{`src="https://shop.example/logo.png"`, "#b45309", d.ShopAddress[:10], `href="https://shop.example/couponbridge/unsubscribe?t=abc123"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if !strings.Contains(text, "Unsubscribe: https://shop.example/couponbridge/unsubscribe?t=abc123") {
		t.Errorf("text lacks the unsubscribe link:\n%s", text)
	}
	d = goldenData()
	d.BrandColor = "red;background:url(x)"
	_, text, html = renderBuiltin(t, "generic", "en", d)
	if strings.Contains(html, "url(x)") || !strings.Contains(html, DefaultBrandColor) {
		t.Error("a brand colour that is not a hex colour reached the HTML")
	}
	if strings.Contains(text, "Unsubscribe") || strings.Contains(html, "<img") {
		t.Error("footer link or logo shown without being set")
	}
}

func TestFormatAmountInWritesTheLocalesNumbers(t *testing.T) {
	for _, tc := range []struct{ locale, typ, amount, currency, want string }{
		{"en", "fixed_cart", "1234.5", "EUR", "€1234.50"},
		{"de", "fixed_cart", "1234.5", "EUR", "1.234,50\u00a0€"},
		{"fr", "fixed_cart", "20", "EUR", "20,00\u00a0€"},
		{"es", "percent", "15", "EUR", "15\u00a0%"},
		{"nl", "fixed_cart", "5", "EUR", "€\u00a05,00"},
		{"id", "fixed_cart", "50000", "IDR", "Rp50.000"},
		{"de", "fixed_cart", "5", "CHF", "5,00\u00a0CHF"},
		{"de", "percent", "12.5", "", "12,5\u00a0%"},
		{"nl", "percent", "10", "EUR", "10%"},
	} {
		if got := FormatAmountIn(tc.locale, tc.typ, tc.amount, tc.currency); got != tc.want {
			t.Errorf("FormatAmountIn(%s, %s, %s, %s) = %q, want %q", tc.locale, tc.typ, tc.amount, tc.currency, got, tc.want)
		}
	}
}

func TestFormatExpiryInNamesTheMonthInTheLocale(t *testing.T) {
	at := time.Date(2026, 3, 31, 21, 0, 0, 0, time.UTC)
	for locale, want := range map[string]string{
		"en": "31 March 2026", "de": "31. März 2026", "fr": "31 mars 2026",
		"es": "31 de marzo de 2026", "id": "31 Maret 2026", "nl": "31 maart 2026",
	} {
		if got := FormatExpiryIn(locale, at, time.UTC, ""); got != want {
			t.Errorf("%s: %q, want %q", locale, got, want)
		}
		if got := FormatExpiryIn(locale, at, time.UTC, DefaultExpiryLayout); got != want {
			t.Errorf("%s with the configuration's default layout: %q, want %q", locale, got, want)
		}
	}
	if got := FormatExpiryIn("de", at, time.UTC, "January 2, 2006"); got != "März 31, 2026" {
		t.Errorf("custom layout in de = %q", got)
	}
	if !slices.Contains(Locales, DefaultLocale) {
		t.Error("the default locale has no catalog")
	}
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
