package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/couponbridge/couponbridge/mailer"
)

func reminderValidator() *validator {
	return &validator{src: &sourceMap{file: "couponbridge.yaml", lines: map[string]int{"campaigns.welcome.reminder": 40}, over: map[string]string{}}}
}

func problemsText(v *validator) string {
	var b strings.Builder
	for _, p := range v.problems {
		b.WriteString(p.path + ": " + p.msg + "\n")
	}
	return b.String()
}

func TestReminderConfigDecodesStrictly(t *testing.T) {
	var r ReminderConfig
	dec := yaml.NewDecoder(strings.NewReader("days_before_expiry: 3\nsubject: Last days for {{.Code}}\ntext_template: r.txt\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.DaysBeforeExpiry != 3 || r.Subject != "Last days for {{.Code}}" || r.TextTemplate != "r.txt" {
		t.Errorf("decoded %+v", r)
	}
	dec = yaml.NewDecoder(strings.NewReader("days_before: 3\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&ReminderConfig{}); err == nil {
		t.Error("unknown key days_before accepted")
	}
}

func TestReminderConfigValidDefaultsBuildASpec(t *testing.T) {
	r := &ReminderConfig{DaysBeforeExpiry: 5}
	v := reminderValidator()
	r.validate(v, "campaigns.welcome.reminder", false, nil)
	if len(v.problems) != 0 {
		t.Fatalf("problems: %s", problemsText(v))
	}
	spec := r.spec()
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	subject, text, _, err := spec.Templates.Render(mailer.Data{Code: "W-1", Amount: "10%", Expires: "1 May 2026"})
	if err != nil || !strings.Contains(subject, "expires soon") || !strings.Contains(text, "W-1") {
		t.Errorf("default reminder: %q %q %v", subject, text, err)
	}
}

func TestReminderConfigProblemsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	tpl := filepath.Join(dir, "reminder.txt")
	if err := os.WriteFile(tpl, []byte("Hi {{.FirstName}}, {{.Fields.tier}} {{.Code}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		r          ReminderConfig
		exportOnly bool
		fields     []string
		wantKey    string
	}{
		{"days zero", ReminderConfig{}, false, nil, "campaigns.welcome.reminder.days_before_expiry"},
		{"days too many", ReminderConfig{DaysBeforeExpiry: 400}, false, nil, "campaigns.welcome.reminder.days_before_expiry"},
		{"export only", ReminderConfig{DaysBeforeExpiry: 3}, true, nil, "campaigns.welcome.reminder"},
		{"missing file", ReminderConfig{DaysBeforeExpiry: 3, TextTemplate: filepath.Join(dir, "nope.txt")}, false, nil, "campaigns.welcome.reminder.text_template"},
		{"unknown field", ReminderConfig{DaysBeforeExpiry: 3, TextTemplate: tpl}, false, nil, "campaigns.welcome.reminder.text_template"},
		{"bad subject", ReminderConfig{DaysBeforeExpiry: 3, Subject: "{{.Nope}}"}, false, nil, "campaigns.welcome.reminder.subject"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := reminderValidator()
			tc.r.validate(v, "campaigns.welcome.reminder", tc.exportOnly, tc.fields)
			if len(v.problems) == 0 || v.problems[0].path != tc.wantKey {
				t.Errorf("problems %s; want one at %s", problemsText(v), tc.wantKey)
			}
		})
	}
	v := reminderValidator()
	r := &ReminderConfig{DaysBeforeExpiry: 3, TextTemplate: tpl}
	r.validate(v, "campaigns.welcome.reminder", false, []string{"tier"})
	if len(v.problems) != 0 {
		t.Errorf("known field refused: %s", problemsText(v))
	}
}

func TestReminderConfigResolvesPathsAgainstTheConfigFolder(t *testing.T) {
	r := &ReminderConfig{TextTemplate: "mail/reminder.txt", HTMLTemplate: "/abs/reminder.html"}
	r.resolvePaths("/etc/couponbridge", "campaigns.w.reminder", &sourceMap{})
	if r.TextTemplate != filepath.Join("/etc/couponbridge", "mail/reminder.txt") || r.HTMLTemplate != "/abs/reminder.html" {
		t.Errorf("paths %q %q", r.TextTemplate, r.HTMLTemplate)
	}
	var nilCfg *ReminderConfig
	nilCfg.resolvePaths("/x", "p", nil) // an absent section is fine
	nilCfg.validate(reminderValidator(), "p", false, nil)
}
