package main

import (
	"path/filepath"
	"strings"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
)

// ReminderConfig is a campaign's optional expiry reminder
// (campaigns.NAME.reminder): holders of an unredeemed code are emailed once
// when it expires within DaysBeforeExpiry days. The daemon sends them; the
// templates see the same fields as the campaign's email. Empty templates
// mean the built-in reminder (campaign.ReminderTemplateSource).
type ReminderConfig struct {
	DaysBeforeExpiry int    `yaml:"days_before_expiry"`
	Subject          string `yaml:"subject"`
	TextTemplate     string `yaml:"text_template"`
	HTMLTemplate     string `yaml:"html_template"`

	templates *mailer.Templates
	// locale is mail.locale, set by the campaign's validate.
	locale string
}

// resolvePaths makes the template paths absolute against dir, the
// configuration file's folder; path is the section's key
// ("campaigns.NAME.reminder"), for keys set by flags or the environment.
func (r *ReminderConfig) resolvePaths(dir, path string, src *sourceMap) {
	if r == nil {
		return
	}
	for _, f := range []struct {
		p   *string
		key string
	}{{&r.TextTemplate, path + ".text_template"}, {&r.HTMLTemplate, path + ".html_template"}} {
		if *f.p == "" || filepath.IsAbs(*f.p) || (src != nil && src.overridden(f.key)) {
			continue
		}
		*f.p = filepath.Join(dir, *f.p)
	}
}

// templateSource is the mailer's view of the section, with the built-in
// reminder for what it leaves empty.
func (r *ReminderConfig) templateSource() mailer.TemplateSource {
	return campaign.ReminderTemplateSource(mailer.TemplateSource{
		Subject:  r.Subject,
		TextFile: r.TextTemplate,
		HTMLFile: r.HTMLTemplate,
		Locale:   r.locale,
	})
}

// validate checks the section (path is "campaigns.NAME.reminder") and loads
// its templates; fields are the campaign's email.fields. A reminder on an
// export-only campaign is an error: its holders are unknown.
func (r *ReminderConfig) validate(v *validator, path string, exportOnly bool, fields []string) {
	if r == nil {
		return
	}
	if exportOnly {
		v.errorf(path, "an export_only campaign has no known holders to remind; remove this section")
		return
	}
	if r.DaysBeforeExpiry < 1 || r.DaysBeforeExpiry > 365 {
		v.errorf(path+".days_before_expiry", "must be 1..365 (days before the expiry to remind), got %d", r.DaysBeforeExpiry)
	}
	t, err := mailer.LoadTemplates(r.templateSource(), fields)
	if err != nil {
		key := path
		switch {
		case r.HTMLTemplate != "" && strings.Contains(err.Error(), r.HTMLTemplate):
			key = path + ".html_template"
		case r.TextTemplate != "" && strings.Contains(err.Error(), r.TextTemplate):
			key = path + ".text_template"
		case strings.Contains(err.Error(), "subject"):
			key = path + ".subject"
		}
		v.errorf(key, "%s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), mailer.ErrTemplate.Error()+": "), "mailer: "))
		return
	}
	r.templates = t
}

// spec is the campaign package's view of a validated section.
func (r *ReminderConfig) spec() campaign.ReminderSpec {
	return campaign.ReminderSpec{DaysBeforeExpiry: r.DaysBeforeExpiry, Templates: r.templates}
}
