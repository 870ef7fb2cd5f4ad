package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// baseConfig is a small valid configuration; tests append to or edit it.
const baseConfig = `store:
  url: https://shop.example.com
  consumer_key: ck_test
  consumer_secret: cs_test_secret_value
mail:
  from:
    address: shop@example.com
campaigns:
  welcome:
    coupon:
      discount_type: percent
      amount: 10
      expiry:
        days: 30
`

// envMap turns a map into a Getenv.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// parseTest parses text as couponbridge.yaml in dir (a temp dir when "").
func parseTest(t *testing.T, dir, text string, env map[string]string, flags ...override) (*Config, error) {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	return parseConfig("couponbridge.yaml", dir, []byte(text), loadOptions{getenv: envMap(env), flags: flags})
}

// problemsOf returns the problem lines of a *configError, failing otherwise.
func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *configError, got %T: %v", err, err)
	}
	return ce.problems
}

func mustParse(t *testing.T, dir, text string, env map[string]string, flags ...override) *Config {
	t.Helper()
	cfg, err := parseTest(t, dir, text, env, flags...)
	if err != nil {
		t.Fatalf("parse: unexpected error:\n%v", err)
	}
	return cfg
}

func TestLoadConfigAppliesDefaultsForOmittedKeys(t *testing.T) {
	dir := t.TempDir()
	cfg := mustParse(t, dir, baseConfig, nil)
	def := DefaultConfig()
	if cfg.Store.Rate != def.Store.Rate || cfg.Store.BatchSize != 100 || cfg.Store.Timeout != time.Minute {
		t.Errorf("store defaults: got rate %v batch %d timeout %v", cfg.Store.Rate, cfg.Store.BatchSize, cfg.Store.Timeout)
	}
	if cfg.Store.AuthMode != "auto" || cfg.Store.Timezone != "UTC" || cfg.Store.Location() != time.UTC {
		t.Errorf("store defaults: got auth %q tz %q", cfg.Store.AuthMode, cfg.Store.Timezone)
	}
	if want := filepath.Join(dir, "couponbridge.db"); cfg.Ledger.Path != want {
		t.Errorf("ledger.path: want %s, got %s", want, cfg.Ledger.Path)
	}
	if want := filepath.Join(dir, "outbox"); cfg.Mail.Transport != "outbox" || cfg.Mail.OutboxDir != want {
		t.Errorf("mail: want outbox %s, got %s %s", want, cfg.Mail.Transport, cfg.Mail.OutboxDir)
	}
	w := cfg.Campaigns["welcome"]
	if w == nil {
		t.Fatal("campaign welcome missing")
	}
	dc := DefaultCampaignConfig()
	if w.Codes.Alphabet != dc.Codes.Alphabet || !w.Coupon.IndividualUse || w.Coupon.DiscountType != "percent" || dc.Coupon.DiscountType != "" || w.Email.ExpiryLayout == "" {
		t.Errorf("campaign defaults not applied: %+v", w)
	}
	if w.Coupon.Amount != "10" || w.Coupon.Expiry.Days != 30 {
		t.Errorf("campaign values: got amount %q days %d", w.Coupon.Amount, w.Coupon.Expiry.Days)
	}
	if w.templates == nil {
		t.Error("email templates of an emailed campaign were not loaded at config load")
	}
}

func TestLoadConfigReportsStructuralProblemsWithLines(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{
			name: "unknown key suggests the close one",
			text: baseConfig + "log:\n  levle: debug\n",
			want: []string{`couponbridge.yaml:16: log.levle: unknown key (did you mean "level"?)`},
		},
		{
			name: "unknown top-level section",
			text: baseConfig + "jobz:\n  a: 1\n",
			want: []string{`couponbridge.yaml:15: jobz: unknown key`},
		},
		{
			name: "unknown key inside a campaign",
			text: strings.Replace(baseConfig, "      amount: 10\n", "      amount: 10\n      amout: 12\n", 1),
			want: []string{`couponbridge.yaml:13: campaigns.welcome.coupon.amout: unknown key (did you mean "amount"?)`},
		},
		{
			name: "duplicate key",
			text: strings.Replace(baseConfig, "  consumer_key: ck_test\n", "  consumer_key: ck_test\n  consumer_key: ck_other\n", 1),
			want: []string{`couponbridge.yaml:4: store.consumer_key: duplicate key (first set at line 3)`},
		},
		{
			name: "duplicate campaign name",
			text: baseConfig + "  welcome:\n    coupon: {discount_type: percent, amount: 5, expiry: {days: 3}}\n",
			want: []string{`couponbridge.yaml:15: campaigns.welcome: duplicate name (first defined at line 9)`},
		},
		{
			name: "every section accepted",
			text: baseConfig + "ledger:\n  path: x.db\nlog:\n  level: info\n",
			want: nil,
		},
		{
			name: "number expected",
			text: strings.Replace(baseConfig, "  consumer_secret: cs_test_secret_value\n", "  consumer_secret: cs_test_secret_value\n  rate: fast\n", 1),
			want: []string{`couponbridge.yaml:5: store.rate: must be a number, got "fast"`},
		},
		{
			name: "duration expected",
			text: strings.Replace(baseConfig, "  consumer_secret: cs_test_secret_value\n", "  consumer_secret: cs_test_secret_value\n  timeout: 30\n", 1),
			want: []string{`couponbridge.yaml:5: store.timeout: must be a duration such as 30s, 5m or 1h30m, got "30"`},
		},
		{
			name: "list of ids expected",
			text: strings.Replace(baseConfig, "      amount: 10\n", "      amount: 10\n      product_ids: [1, two]\n", 1),
			want: []string{`couponbridge.yaml:13: campaigns.welcome.coupon.product_ids: must be a list of whole numbers, got a list`},
		},
		{
			name: "mapping expected",
			text: baseConfig + "ledger: somewhere.db\n",
			want: []string{`couponbridge.yaml:15: ledger: must be a mapping of keys, got "somewhere.db"`},
		},
		{
			name: "loosening the one-time lock is refused with a reason",
			text: strings.Replace(baseConfig, "      amount: 10\n", "      amount: 10\n      usage_limit: 5\n", 1),
			want: []string{`couponbridge.yaml:13: campaigns.welcome.coupon.usage_limit: couponbridge coupons are always usable once, by one person; this cannot be configured (usage_limit is always 1)`},
		},
		{
			name: "email restriction cannot be configured",
			text: strings.Replace(baseConfig, "      amount: 10\n", "      amount: 10\n      email_restrictions: []\n", 1),
			want: []string{`couponbridge.yaml:13: campaigns.welcome.coupon.email_restrictions: couponbridge coupons are always usable once`},
		},
		{
			name: "a merge of something else than a mapping",
			text: strings.Replace(baseConfig, "store:\n", "store:\n  <<: 5\n", 1),
			want: []string{`couponbridge.yaml:2: store.<<: a merge (<<) takes a mapping or a list of mappings, got "5"`},
		},
		{
			name: "an empty value is accepted, a mapping for a string is not",
			text: baseConfig + "log:\n  level:\n  format: {}\n",
			want: []string{`couponbridge.yaml:17: log.format: must be a string, got a mapping`},
		},
		{
			name: "a second document",
			text: baseConfig + "---\nstore: {}\n",
			want: []string{`couponbridge.yaml:15: only one YAML document is allowed`},
		},
		{
			name: "syntax error has a line",
			text: "store:\n  url: [unclosed\n",
			want: []string{`couponbridge.yaml:`, `YAML syntax error`},
		},
		{
			name: "top level must be a mapping",
			text: "- a\n- b\n",
			want: []string{`couponbridge.yaml:1: the configuration must be a mapping of sections`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTest(t, "", tt.text, nil)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("want no error, got:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error containing %q, got none", tt.want)
			}
			got := strings.Join(problemsOf(t, err), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("want a problem containing\n  %s\ngot:\n%s", w, got)
				}
			}
		})
	}
}

func TestLoadConfigReportsAllProblemsAtOnceInLineOrder(t *testing.T) {
	text := `store:
  url: ftp://shop.example.com
  consumer_key: ck
  consumer_secret: cs
  rate: -1
  batch_size: 500
  burst: many
  colour: blue
  rate: 3
mail:
  transport: pigeon
  from:
    address: shop@example.com
campaigns:
  Welcome!:
    coupon:
      discount_type: percent
      amount: 150
  vip:
    codes:
      pattern: "XX"
    coupon:
      discount_type: fixed_cart
      amount: 5
      expiry: {days: 10, date: 2027-01-01}
`
	_, err := parseTest(t, "", text, nil)
	got := problemsOf(t, err)
	want := []string{
		`couponbridge.yaml:2: store.url: must be an http:// or https:// URL, got "ftp://shop.example.com"`,
		`couponbridge.yaml:5: store.rate: must be > 0 (requests per second)`,
		`couponbridge.yaml:6: store.batch_size: must be between 1 and 100`,
		`couponbridge.yaml:7: store.burst: must be a whole number, got "many"`,
		`couponbridge.yaml:8: store.colour: unknown key`,
		`couponbridge.yaml:9: store.rate: duplicate key (first set at line 5)`,
		`couponbridge.yaml:11: mail.transport: must be smtp or outbox, got "pigeon"`,
		`couponbridge.yaml:15: campaigns.Welcome!: campaign names are`,
		`couponbridge.yaml:16: campaigns.Welcome!.coupon.expiry: required: days`,
		`couponbridge.yaml:18: campaigns.Welcome!.coupon.amount: 150% is more than 100%`,
		`couponbridge.yaml:20: campaigns.vip.codes: code space too small`,
		`couponbridge.yaml:25: campaigns.vip.coupon.expiry: set either days or date, not both`,
	}
	if len(got) != len(want) {
		t.Errorf("want %d problems, got %d:\n%s", len(want), len(got), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if i >= len(got) {
			t.Errorf("missing problem %d: %s", i, w)
			continue
		}
		if !strings.HasPrefix(got[i], w) {
			t.Errorf("problem %d:\n want prefix %s\n got        %s", i, w, got[i])
		}
	}
}

func TestLoadConfigExpandsEnvironmentVariablesInValues(t *testing.T) {
	text := `store:
  url: ${SHOP_URL}
  consumer_key: "${SHOP_KEY}"
  consumer_secret: ${SHOP_SECRET:-fallback-secret}
  name: "Cost: $$5 and $${LITERAL} and $HOME"
mail:
  transport: smtp
  from: {address: shop@example.com}
  smtp:
    host: ${SMTP_HOST:-localhost}
    port: ${SMTP_PORT}
    tls: none
    auth: none
campaigns:
  welcome:
    coupon: {discount_type: fixed_cart, amount: "${AMOUNT}", expiry: {days: 30}}
`
	env := map[string]string{"SHOP_URL": "https://env.example.com", "SHOP_KEY": "ck_env", "SMTP_PORT": "2525", "AMOUNT": "15"}
	cfg := mustParse(t, "", text, env)
	if cfg.Store.URL != "https://env.example.com" || cfg.Store.ConsumerKey != "ck_env" {
		t.Errorf("want url and key from the environment, got %q %q", cfg.Store.URL, cfg.Store.ConsumerKey)
	}
	if cfg.Store.ConsumerSecret.Reveal() != "fallback-secret" {
		t.Errorf("want the ${VAR:-default} default, got %q", cfg.Store.ConsumerSecret.Reveal())
	}
	if want := "Cost: $$5 and ${LITERAL} and $HOME"; cfg.Store.Name != want {
		t.Errorf("literal dollars: want %q, got %q", want, cfg.Store.Name)
	}
	if cfg.Mail.SMTP.Port != 2525 || cfg.Mail.SMTP.Host != "localhost" {
		t.Errorf("want port 2525 (a number from the environment) on localhost, got %d on %q", cfg.Mail.SMTP.Port, cfg.Mail.SMTP.Host)
	}
	if cfg.Campaigns["welcome"].Coupon.Amount != "15" {
		t.Errorf("amount: want 15, got %q", cfg.Campaigns["welcome"].Coupon.Amount)
	}
}

func TestLoadConfigNamesUndefinedEnvironmentVariables(t *testing.T) {
	text := strings.Replace(baseConfig, "ck_test", "${WOO_SHOP_KEY}", 1)
	text = strings.Replace(text, "address: shop@example.com", "address: ${FROM_ADDR", 1)
	_, err := parseTest(t, "", text, nil)
	got := strings.Join(problemsOf(t, err), "\n")
	for _, w := range []string{
		"couponbridge.yaml:3: store.consumer_key: environment variable WOO_SHOP_KEY is not set",
		"couponbridge.yaml:7: mail.from.address: unterminated ${",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("want %q in:\n%s", w, got)
		}
	}
}

func TestLoadConfigNeverEchoesEnvironmentValuesInTypeErrors(t *testing.T) {
	text := strings.Replace(baseConfig, "  consumer_secret: cs_test_secret_value\n", "  consumer_secret: cs\n  rate: ${RATE}\n", 1)
	_, err := parseTest(t, "", text, map[string]string{"RATE": "hunter2-not-a-number"})
	got := strings.Join(problemsOf(t, err), "\n")
	if strings.Contains(got, "hunter2") {
		t.Errorf("an environment value was echoed:\n%s", got)
	}
	if !strings.Contains(got, "store.rate: must be a number, got a value from the environment") {
		t.Errorf("want the type problem, got:\n%s", got)
	}
}

func TestLoadConfigPrecedenceDefaultsYAMLEnvironmentFlags(t *testing.T) {
	text := baseConfig + "log:\n  level: warn\n  format: json\n"
	flagDebug := override{"--log-level", "log.level", func(c *Config) { c.Log.Level = "debug" }}
	tests := []struct {
		name    string
		env     map[string]string
		flags   []override
		url     string
		key     string
		secret  string
		level   string
		timeout time.Duration
	}{
		{name: "yaml over defaults", url: "https://shop.example.com", key: "ck_test", secret: "cs_test_secret_value", level: "warn", timeout: time.Minute},
		{name: "WOO_ aliases over yaml",
			env: map[string]string{"WOO_URL": "https://woo.example.com", "WOO_KEY": "ck_woo", "WOO_SECRET": "cs_woo"},
			url: "https://woo.example.com", key: "ck_woo", secret: "cs_woo", level: "warn", timeout: time.Minute},
		{name: "COUPONBRIDGE_ variables over WOO_ aliases",
			env: map[string]string{"WOO_URL": "https://woo.example.com", "COUPONBRIDGE_STORE_URL": "https://cb.example.com",
				"COUPONBRIDGE_STORE_KEY": "ck_cb", "COUPONBRIDGE_STORE_SECRET": "cs_cb", "WOO_SECRET": "cs_woo"},
			url: "https://cb.example.com", key: "ck_cb", secret: "cs_cb", level: "warn", timeout: time.Minute},
		{name: "flags over yaml", flags: []override{flagDebug},
			url: "https://shop.example.com", key: "ck_test", secret: "cs_test_secret_value", level: "debug", timeout: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, "", text, tt.env, tt.flags...)
			if cfg.Store.URL != tt.url || cfg.Store.ConsumerKey != tt.key || cfg.Store.ConsumerSecret.Reveal() != tt.secret {
				t.Errorf("want %s %s %s, got %s %s %s", tt.url, tt.key, tt.secret, cfg.Store.URL, cfg.Store.ConsumerKey, cfg.Store.ConsumerSecret.Reveal())
			}
			if cfg.Log.Level != tt.level || cfg.Store.Timeout != tt.timeout {
				t.Errorf("want level %s timeout %v, got %s %v", tt.level, tt.timeout, cfg.Log.Level, cfg.Store.Timeout)
			}
		})
	}
}

func TestLoadConfigEnvironmentSecretWinsOverSecretFile(t *testing.T) {
	text := strings.Replace(baseConfig, "  consumer_secret: cs_test_secret_value\n", "  consumer_secret_file: missing-secret.txt\n", 1)
	cfg := mustParse(t, "", text, map[string]string{"COUPONBRIDGE_STORE_SECRET": "cs_from_env"})
	if cfg.Store.ConsumerSecret.Reveal() != "cs_from_env" {
		t.Errorf("want the environment's secret, got %q", cfg.Store.ConsumerSecret.Reveal())
	}
}

func TestLoadConfigReportsBadOverrideBySource(t *testing.T) {
	_, err := parseTest(t, "", baseConfig, map[string]string{"COUPONBRIDGE_STORE_URL": "not a url"})
	got := strings.Join(problemsOf(t, err), "\n")
	if want := `couponbridge.yaml: store.url (from $COUPONBRIDGE_STORE_URL): must be an http:// or https:// URL`; !strings.Contains(got, want) {
		t.Errorf("want %q, got:\n%s", want, got)
	}
}

func TestLoadConfigReadsSecretFilesRelativeToTheConfigFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "woo.secret"), []byte("  cs_from_file\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "smtp.secret"), []byte("smtp-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(baseConfig, "  consumer_secret: cs_test_secret_value\n", "  consumer_secret_file: woo.secret\n", 1)
	text = strings.Replace(text, "mail:\n", "mail:\n  transport: smtp\n  smtp:\n    host: smtp.example.com\n    username: shop\n    password_file: smtp.secret\n", 1)
	cfg := mustParse(t, dir, text, nil)
	if got := cfg.Store.ConsumerSecret.Reveal(); got != "cs_from_file" {
		t.Errorf("consumer secret: want the trimmed file content, got %q", got)
	}
	if got := cfg.Mail.SMTP.Password.Reveal(); got != "smtp-pass" {
		t.Errorf("smtp password: want smtp-pass, got %q", got)
	}

	both := strings.Replace(text, "  consumer_secret_file: woo.secret\n", "  consumer_secret_file: woo.secret\n  consumer_secret: inline\n", 1)
	_, err := parseTest(t, dir, both, nil)
	if got := strings.Join(problemsOf(t, err), "\n"); !strings.Contains(got, "couponbridge.yaml:4: store.consumer_secret_file: set either consumer_secret or consumer_secret_file, not both") {
		t.Errorf("both set: got:\n%s", got)
	}
	missing := strings.Replace(text, "woo.secret", "nope.secret", 1)
	_, err = parseTest(t, dir, missing, nil)
	if got := strings.Join(problemsOf(t, err), "\n"); !strings.Contains(got, "couponbridge.yaml:4: store.consumer_secret_file: cannot read "+filepath.Join(dir, "nope.secret")) {
		t.Errorf("missing file: got:\n%s", got)
	}
}

func TestLoadConfigResolvesRelativePathsAgainstTheConfigDirectory(t *testing.T) {
	dir := t.TempDir()
	text := baseConfig + "ledger:\n  path: data/ledger.db\n" + "mail2: {}\n"
	text = strings.Replace(text, "mail2: {}\n", "", 1)
	text = strings.Replace(text, "mail:\n", "mail:\n  outbox_dir: /var/spool/couponbridge\n", 1)
	cfg := mustParse(t, dir, text, nil)
	if want := filepath.Join(dir, "data", "ledger.db"); cfg.Ledger.Path != want {
		t.Errorf("ledger.path: want %s, got %s", want, cfg.Ledger.Path)
	}
	if cfg.Mail.OutboxDir != "/var/spool/couponbridge" {
		t.Errorf("an absolute path must stay, got %s", cfg.Mail.OutboxDir)
	}
	flag := override{"--ledger", "ledger.path", func(c *Config) { c.Ledger.Path = "relative-from-flag.db" }}
	cfg = mustParse(t, dir, text, nil, flag)
	if cfg.Ledger.Path != "relative-from-flag.db" {
		t.Errorf("a path from a flag is not the file's to resolve, got %s", cfg.Ledger.Path)
	}
}

func TestLoadConfigChecksEmailTemplatesAtLoad(t *testing.T) {
	dir := t.TempDir()
	tmpl := "<p>Hello {{.FirstName}}</p>\n<p>Your code: {{.Code}}</p>\n<p>{{.Nope}}</p>\n"
	if err := os.WriteFile(filepath.Join(dir, "welcome.html"), []byte(tmpl), 0o600); err != nil {
		t.Fatal(err)
	}
	text := baseConfig + "    email:\n      html_template: welcome.html\n"
	_, err := parseTest(t, dir, text, nil)
	got := strings.Join(problemsOf(t, err), "\n")
	if !strings.Contains(got, "couponbridge.yaml:16: campaigns.welcome.email.html_template:") ||
		!strings.Contains(got, "welcome.html:3") || !strings.Contains(got, "Nope") {
		t.Errorf("want the template's file and line at the html_template key, got:\n%s", got)
	}

	ok := "<p>Hello {{.FirstName}} from {{.Fields.city}}: {{.Code}}</p>\n"
	if err := os.WriteFile(filepath.Join(dir, "welcome.html"), []byte(ok), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = parseTest(t, dir, text, nil)
	if got := fmt.Sprint(err); !strings.Contains(got, "city") {
		t.Errorf("a field not declared in email.fields must be reported, got: %v", err)
	}
	mustParse(t, dir, text+"      fields: [city]\n", nil)
}

func TestLoadConfigSemanticRules(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"plain-text SMTP only on loopback", "mail:\n", "mail:\n  transport: smtp\n  smtp: {host: smtp.example.com, tls: none, auth: none}\n",
			"mail.smtp.tls: none is allowed only for a loopback host"},
		{"smtp auth needs a username", "mail:\n", "mail:\n  transport: smtp\n  smtp: {host: smtp.example.com, password: x}\n",
			"mail.smtp.username: is required with auth plain"},
		{"basic auth over http refused", "url: https://shop.example.com", "url: http://shop.example.com\n  auth_mode: basic",
			"store.auth_mode: basic sends the secret in clear over http://"},
		{"timezone must be IANA", "  consumer_key: ck_test\n", "  consumer_key: ck_test\n  timezone: Mars/Olympus\n",
			`store.timezone: must be an IANA time zone such as Europe/Berlin or UTC, got "Mars/Olympus"`},
		{"currency must be ISO 4217", "  consumer_key: ck_test\n", "  consumer_key: ck_test\n  currency: EURO\n",
			`store.currency: must be an ISO 4217 code`},
		{"export-only campaign has no email section", "      expiry:\n        days: 30\n",
			"      expiry:\n        days: 30\n    export_only: true\n    email:\n      subject: hi\n",
			"campaigns.welcome.email: an export_only campaign sends no email"},
		{"amount must be a number", "amount: 10", "amount: ten", `couponbridge.yaml:12: campaigns.welcome.coupon.amount: "ten": not a decimal number`},
		{"from address needed for email", "    address: shop@example.com\n", "    name: Shop\n", "mail.from.address: is required when a campaign sends email"},
		{"one-click unsubscribe needs https", "mail:\n", "mail:\n  unsubscribe: {mailto: unsub@example.com, one_click: true}\n",
			"mail.unsubscribe.one_click: needs an https:// unsubscribe url"},
		{"dkim all or nothing", "mail:\n", "mail:\n  dkim: {domain: example.com}\n", "mail.dkim: needs all of domain, selector and private_key_file"},
		{"pattern or length", "    coupon:\n", "    codes: {pattern: XXXX-XXXX-XXXX, length: 12}\n    coupon:\n", "couponbridge.yaml:10: campaigns.welcome.codes.pattern: set either pattern or length"},
		{"fields are normalized column names", "        days: 30\n", "        days: 30\n    email:\n      fields: [Postal Code]\n",
			`campaigns.welcome.email.fields: "Postal Code": fields are named as the recipients reader names columns`},
		{"expiry date format", "        days: 30\n", "        date: 31/12/2027\n", `couponbridge.yaml:14: campaigns.welcome.coupon.expiry.date: "31/12/2027" is not a date in the form YYYY-MM-DD`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(baseConfig, tt.from, tt.to, 1)
			if text == baseConfig {
				t.Fatalf("test edit %q did not apply", tt.from)
			}
			_, err := parseTest(t, "", text, nil)
			if err == nil {
				t.Fatalf("want a problem %q, got none", tt.want)
			}
			if got := err.Error(); !strings.Contains(got, tt.want) {
				t.Errorf("want %q, got:\n%s", tt.want, got)
			}
		})
	}
}

func TestLoadConfigEmptyFileReportsRequiredKeys(t *testing.T) {
	_, err := parseTest(t, "", "# nothing yet\n", nil)
	got := strings.Join(problemsOf(t, err), "\n")
	for _, w := range []string{"store.url: is required", "store.consumer_key: is required", "store.consumer_secret: is required"} {
		if !strings.Contains(got, w) {
			t.Errorf("want %q in:\n%s", w, got)
		}
	}
}

func TestLoadConfigAcceptsAnchorsAndMergeKeys(t *testing.T) {
	text := baseConfig + `  vip:
    coupon: &vip
      discount_type: fixed_cart
      amount: 20
      expiry: {days: 14}
  vip-eu:
    coupon:
      <<: *vip
      amount: 25
`
	cfg := mustParse(t, "", text, nil)
	eu := cfg.Campaigns["vip-eu"].Coupon
	if eu.DiscountType != "fixed_cart" || eu.Amount != "25" || eu.Expiry.Days != 14 {
		t.Errorf("merged coupon: got %+v", eu)
	}
	bad := strings.Replace(text, "      amount: 20\n", "      amount: 20\n      amuont: 1\n", 1)
	_, err := parseTest(t, "", bad, nil)
	if got := problemsOf(t, err); len(got) != 1 || !strings.HasPrefix(got[0], "couponbridge.yaml:19: campaigns.vip.coupon.amuont: unknown key") {
		t.Errorf("an unknown key in an anchored mapping is reported once, where it is: got %q", got)
	}
}

func TestSecretIsRedactedEverywhere(t *testing.T) {
	const value = "cs_super_secret_value"
	cfg := mustParse(t, "", strings.Replace(baseConfig, "cs_test_secret_value", value, 1), nil)
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("loaded", "config", cfg, "store", cfg.Store, "secret", cfg.Store.ConsumerSecret)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("loaded", "store", cfg.Store, "secret", cfg.Store.ConsumerSecret)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10s"} {
		fmt.Fprintf(&buf, verb+"\n", cfg.Store.ConsumerSecret)
		fmt.Fprintf(&buf, verb+"\n", cfg.Store)
	}
	fmt.Fprintf(&buf, "%+v\n", cfg)
	j, err := json.Marshal(cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(j)
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(y)
	out := buf.String()
	if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
		t.Fatalf("the secret leaked:\n%s", out)
	}
	if !strings.Contains(out, redacted) {
		t.Fatalf("want %q in the output, got:\n%s", redacted, out)
	}
	if cfg.Store.ConsumerSecret.Reveal() != value {
		t.Errorf("Reveal: want the value, got %q", cfg.Store.ConsumerSecret.Reveal())
	}
	if Secret("").String() != "" {
		t.Errorf("an empty secret prints empty, got %q", Secret("").String())
	}
}

func TestExpandEnv(t *testing.T) {
	env := envMap(map[string]string{"A": "1", "B": "two"})
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"${A}", "1", ""},
		{"x${A}y${B}z", "x1ytwoz", ""},
		{"${C:-dflt}", "dflt", ""},
		{"${A:-dflt}", "1", ""},
		{"${C:-}", "", ""},
		{"$${A}", "${A}", ""},
		{"$A and $", "$A and $", ""},
		{"${C}", "", "environment variable C is not set"},
		{"${1A}", "", "is not an environment variable name"},
		{"${A", "", "unterminated"},
	}
	for _, tt := range tests {
		got, err := expandEnv(tt.in, env)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expandEnv(%q): want error %q, got %q, %v", tt.in, tt.err, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestExampleConfigLoadsAndDocumentsEveryKey pins config.example.yaml to
// the Config struct: it must load, and every key must appear in it.
func TestExampleConfigLoadsAndDocumentsEveryKey(t *testing.T) {
	path := filepath.Join("..", "..", "config.example.yaml")
	cfg, err := loadConfig(path, loadOptions{getenv: envMap(nil)})
	if err != nil {
		t.Fatalf("config.example.yaml does not load:\n%v", err)
	}
	if len(cfg.Campaigns) == 0 {
		t.Error("the example defines no campaign")
	}
	var keys []string
	collectKeys(reflect.TypeFor[Config](), "", &keys)
	for _, k := range keys {
		p := k
		if section, rest, ok := strings.Cut(p, ".*."); ok {
			var names []string
			switch section {
			case "campaigns":
				for name := range cfg.Campaigns {
					names = append(names, name)
				}
			case "jobs":
				for name := range cfg.Jobs {
					names = append(names, name)
				}
			}
			found := false
			for _, name := range names {
				if _, ok := cfg.src.lines[section+"."+name+"."+rest]; ok {
					found = true
				}
			}
			if !found && !commentedKey(t, path, p) {
				t.Errorf("config.example.yaml: no entry of %s sets %s", section, p)
			}
			continue
		}
		if _, ok := cfg.src.lines[p]; !ok {
			if !commentedKey(t, path, p) {
				t.Errorf("config.example.yaml does not document %s", p)
			}
		}
	}
}

// commentedKey reports whether the last element of path appears as a
// commented-out key ("# key:") in the file: keys that must stay unset in a
// working example (a secret file next to the inline secret) are documented
// that way.
func commentedKey(t *testing.T, file, path string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), "# "+lastKey(path)+":")
}

func collectKeys(t reflect.Type, path string, out *[]string) {
	for name, ft := range yamlFields(t) {
		p := joinPath(path, name)
		*out = append(*out, p)
		switch {
		case isSection(ft):
			st := ft
			if st.Kind() == reflect.Pointer {
				st = st.Elem()
			}
			collectKeys(st, p, out)
		case ft.Kind() == reflect.Map && isSection(ft.Elem()):
			collectKeys(ft.Elem().Elem(), p+".*", out)
		}
	}
	slices.Sort(*out)
}

func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(baseConfig))
	f.Add([]byte("store: {url: ${X}}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("store:\n  <<: {rate: 1}\n  rate: 2\n"))
	f.Add([]byte("campaigns:\n  x: ~\n  y: [1]\n"))
	f.Add([]byte("---\n---\n"))
	if b, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml")); err == nil {
		f.Add(b)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig("fuzz.yaml", dir, data, loadOptions{getenv: envMap(map[string]string{"X": "https://x.example"})})
		if err != nil {
			var ce *configError
			if !errors.As(err, &ce) || len(ce.problems) == 0 {
				t.Fatalf("want a *configError with problems, got %T %v", err, err)
			}
			if strings.Contains(err.Error(), internalCheck) {
				t.Fatalf("the walk missed a problem the strict decoder found:\n%v", err)
			}
			return
		}
		if cfg.Store.Rate <= 0 || cfg.Store.URL == "" || cfg.Store.BatchSize < 1 || cfg.Store.BatchSize > 100 {
			t.Fatalf("a configuration passed validation with invalid store values: %+v", cfg.Store)
		}
	})
}
