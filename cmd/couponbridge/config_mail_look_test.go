package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/campaign"
)

// TestShippedConfigsEmailRecipientsWithoutAFirstNameCorrectly loads
// config.example.yaml and the demo's configuration and renders every
// campaign's subject and bodies for a recipient without a first name:
// nothing may start with ", " (the shipped "{{.FirstName}}, your …"), and
// no apply link is shipped as if WooCommerce core applied ?coupon= links.
func TestShippedConfigsEmailRecipientsWithoutAFirstNameCorrectly(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join(dir, "couponbridge.yaml")
	if err := os.WriteFile(demo, demoConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join("..", "..", "config.example.yaml"), demo} {
		cfg, err := loadConfig(path, loadOptions{getenv: envMap(nil)})
		if err != nil {
			t.Fatalf("%s does not load:\n%v", path, err)
		}
		for name, cc := range cfg.Campaigns {
			if cc.ExportOnly {
				continue
			}
			if cc.Email.ApplyURL != "" {
				t.Errorf("%s: campaigns.%s.email.apply_url = %q; ship it empty (core WooCommerce applies no ?coupon= link)", path, name, cc.Email.ApplyURL)
			}
			camp, err := cfg.campaign(name, 0)
			if err != nil {
				t.Fatal(err)
			}
			d := sampleRecipientData(t, camp)
			subject, text, html, err := camp.Mail.Templates.Render(d)
			if err != nil {
				t.Fatal(err)
			}
			for what, s := range map[string]string{"subject": subject, "text": text, "html": html} {
				if strings.Contains(s, ", your") || strings.HasPrefix(strings.TrimSpace(s), ",") {
					t.Errorf("%s: campaign %s: %s reads wrong without a first name: %q", path, name, what, firstLine(s))
				}
			}
		}
	}
}

// TestEmailTemplateFollowsTheJobThatFeedsTheCampaign: a campaign without
// email.template gets the welcome email from a new_customers job and the
// win-back email from an inactive_customers job.
func TestEmailTemplateFollowsTheJobThatFeedsTheCampaign(t *testing.T) {
	cfg := &Config{Jobs: map[string]*JobConfig{
		"signups": {Campaign: "hello", Source: SourceConfig{Type: "new_customers"}},
		"lapsed":  {Campaign: "back", Source: SourceConfig{Type: "inactive_customers"}},
	}}
	for name, want := range map[string]string{"hello": "welcome", "back": "winback", "other": "generic"} {
		if got := cfg.emailPurpose(name, &CampaignConfig{}); got != want {
			t.Errorf("campaign %s: built-in email %q, want %q", name, got, want)
		}
	}
	if got := cfg.emailPurpose("hello", &CampaignConfig{Email: EmailConfig{Template: "generic"}}); got != "generic" {
		t.Errorf("email.template generic is overridden by the job: got %q", got)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}

// fakeNamer knows product 12 and category 15 and counts its calls.
type fakeNamer struct{ calls int }

func (f *fakeNamer) ProductNames(_ context.Context, ids []int64) (map[int64]string, error) {
	f.calls++
	return map[int64]string{12: "Sourdough loaf"}, nil
}

func (f *fakeNamer) CategoryNames(_ context.Context, ids []int64) (map[int64]string, error) {
	f.calls++
	return nil, errors.New("404 rest_no_route")
}

// TestRestrictedProductsAreNamedFromTheStoreOnlyWhenThereAreSome: a
// coupon without restrictions costs the store no request; with them, the
// names the store tells reach the emails, and a store that cannot tell
// leaves the ids.
func TestRestrictedProductsAreNamedFromTheStoreOnlyWhenThereAreSome(t *testing.T) {
	f := &fakeNamer{}
	camp := campaign.Campaign{Name: "welcome"}
	nameRestrictions(context.Background(), f, &camp, slog.New(slog.DiscardHandler))
	if f.calls != 0 {
		t.Errorf("%d store requests for a coupon without restrictions", f.calls)
	}
	camp.Coupon.ProductIDs = []int64{12}
	camp.Coupon.ExcludedProductCategories = []int64{15}
	nameRestrictions(context.Background(), f, &camp, slog.New(slog.DiscardHandler))
	if f.calls != 2 || camp.Mail.ProductNames[12] != "Sourdough loaf" || len(camp.Mail.CategoryNames) != 0 {
		t.Errorf("calls %d, products %v, categories %v", f.calls, camp.Mail.ProductNames, camp.Mail.CategoryNames)
	}
}

// TestMailLookKeysAreCheckedWithTheirNames: a locale without built-in
// templates, a colour that is not hex, a logo not on https and a
// multi-line address are each refused under their own key.
func TestMailLookKeysAreCheckedWithTheirNames(t *testing.T) {
	m := &MailConfig{Locale: "pt", BrandColor: "red", LogoURL: "http://shop.example/logo.png", ShopAddress: "Street 1\nCity"}
	v := &validator{src: &sourceMap{file: "couponbridge.yaml", lines: map[string]int{}, over: map[string]string{}}}
	m.validateLook(v)
	var got []string
	for _, p := range v.problems {
		got = append(got, p.path)
	}
	want := []string{"mail.locale", "mail.brand_color", "mail.logo_url", "mail.shop_address"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("problems at %q, want %q: %s", got, want, problemsText(v))
	}
	v = &validator{src: v.src}
	(&MailConfig{Locale: "nl", BrandColor: "#1d4ed8", LogoURL: "https://shop.example/logo.png", ShopAddress: "Street 1, City"}).validateLook(v)
	if len(v.problems) != 0 {
		t.Errorf("valid keys refused: %s", problemsText(v))
	}
}

// TestMailLocaleReachesEveryCampaignAndReminder: mail.locale: de gives the
// German built-in emails to each campaign and to its reminder, and an
// email.template that is not a first email is refused with its key.
func TestMailLocaleReachesEveryCampaignAndReminder(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(example), "\n  locale: en\n", "\n  locale: de\n", 1)
	path := filepath.Join(t.TempDir(), "couponbridge.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(path, loadOptions{getenv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	welcome := cfg.Campaigns["welcome"]
	if got := welcome.templates.Locale(); got != "de" {
		t.Errorf("welcome email locale %q, want de", got)
	}
	if welcome.templates.Purpose() != "welcome" || cfg.Campaigns["winback"].templates.Purpose() != "winback" {
		t.Errorf("purposes %q, %q", welcome.templates.Purpose(), cfg.Campaigns["winback"].templates.Purpose())
	}
	if r := welcome.Reminder; r == nil || r.templates.Locale() != "de" || r.templates.Purpose() != "reminder" {
		t.Errorf("the welcome reminder is not the German reminder")
	}

	text = strings.Replace(text, "      template: welcome\n", "      template: reminder\n", 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(path, loadOptions{getenv: envMap(nil)}); err == nil || !strings.Contains(err.Error(), "campaigns.welcome.email.template") {
		t.Errorf("email.template reminder: %v", err)
	}
}
