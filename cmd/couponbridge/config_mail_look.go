package main

import (
	"net/url"
	"strings"

	"github.com/couponbridge/couponbridge/mailer"
)

// validateLook checks the keys that shape the emails' language and look.
func (m *MailConfig) validateLook(v *validator) {
	if m.Locale != "" && !mailer.ValidLocale(m.Locale) {
		v.errorf("mail.locale", "must be one of %s, got %q", strings.Join(mailer.Locales, ", "), m.Locale)
	}
	if m.BrandColor != "" && !mailer.ValidBrandColor(m.BrandColor) {
		v.errorf("mail.brand_color", "must be a hex colour such as #1d4ed8, got %q", m.BrandColor)
	}
	if m.LogoURL != "" {
		if u, err := url.Parse(m.LogoURL); err != nil || u.Scheme != "https" || u.Host == "" {
			v.errorf("mail.logo_url", "must be an https:// URL of an image (mail clients block others), got %q", m.LogoURL)
		}
	}
	if strings.ContainsAny(m.ShopAddress, "\r\n") {
		// One line in the footer: several lines read as a broken layout.
		v.errorf("mail.shop_address", "must be one line (separate its parts with commas)")
	}
}

// emailPurpose is the built-in email of campaign name: its email.template,
// else welcome when a new_customers job feeds it, winback when an
// inactive_customers job does, else generic.
func (c *Config) emailPurpose(name string, cc *CampaignConfig) string {
	if cc.Email.Template != "" {
		return cc.Email.Template
	}
	purpose := mailer.DefaultPurpose
	for _, j := range c.Jobs {
		if j == nil || j.Campaign != name {
			continue
		}
		switch j.Source.Type {
		case "new_customers":
			return "welcome"
		case "inactive_customers":
			purpose = "winback"
		}
	}
	return purpose
}
