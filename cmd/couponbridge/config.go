package main

import (
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/currency"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
)

// Config is the couponbridge configuration file (couponbridge.yaml).
//
// It is read by loadConfig: strict YAML (unknown keys, duplicate keys and
// wrong types are errors with their line, all reported at once), ${ENV}
// expansion in values, defaults from DefaultConfig, relative paths resolved
// against the file's directory, *_file secrets read, and then validated.
// Precedence: defaults < YAML < environment < command-line flags actually set.
//
// Every section is a typed sub-struct; the functions in config_wire.go turn
// them into woo options, mailer configurations and campaign values, so that
// commands only wire. A later section (jobs, server) is a new field here, its
// own struct with a validate method, and a call in Config.validate.
type Config struct {
	Store     StoreConfig                `yaml:"store"`
	Mail      MailConfig                 `yaml:"mail"`
	Ledger    LedgerConfig               `yaml:"ledger"`
	Log       LogConfig                  `yaml:"log"`
	Campaigns map[string]*CampaignConfig `yaml:"campaigns"`
	Jobs      map[string]*JobConfig      `yaml:"jobs"`
	Daemon    DaemonConfig               `yaml:"daemon"`

	// src says where each key came from, for error messages.
	src *sourceMap
}

// StoreConfig is the WooCommerce store couponbridge talks to.
type StoreConfig struct {
	// URL is the shop's address, such as https://shop.example.com.
	URL string `yaml:"url"`
	// AuthMode is auto (basic over https, oauth1 over http), basic, query or oauth1.
	AuthMode       string `yaml:"auth_mode"`
	ConsumerKey    string `yaml:"consumer_key"`
	ConsumerSecret Secret `yaml:"consumer_secret"`
	// ConsumerSecretFile is read (and trimmed) into ConsumerSecret.
	ConsumerSecretFile string `yaml:"consumer_secret_file"`
	// Timezone is the store's IANA time zone; expiry dates end at 23:59:59 there.
	Timezone string `yaml:"timezone"`
	// Currency is the store's ISO 4217 currency, used to format amounts in emails.
	Currency string `yaml:"currency"`
	// Name is the shop's name as shown in emails.
	Name string `yaml:"name"`
	// Rate is the ceiling of requests per second; the client slows down on 429s.
	Rate        float64       `yaml:"rate"`
	Burst       int           `yaml:"burst"`
	Concurrency int           `yaml:"concurrency"`
	BatchSize   int           `yaml:"batch_size"`
	Timeout     time.Duration `yaml:"timeout"`
	// UnclearHold is how long a coupon whose creation had no clear answer
	// is held back before it is sent again; 0 means twice Timeout.
	UnclearHold time.Duration `yaml:"unclear_hold"`

	location *time.Location
}

// MailConfig says how emails are composed and delivered.
type MailConfig struct {
	// Transport is smtp or outbox (.eml files in OutboxDir, nothing sent).
	Transport       string            `yaml:"transport"`
	OutboxDir       string            `yaml:"outbox_dir"`
	From            AddressConfig     `yaml:"from"`
	ReplyTo         string            `yaml:"reply_to"`
	MessageIDDomain string            `yaml:"message_id_domain"`
	SMTP            SMTPConfig        `yaml:"smtp"`
	DKIM            DKIMConfig        `yaml:"dkim"`
	Unsubscribe     UnsubscribeConfig `yaml:"unsubscribe"`
	// ReverifyAfter is how old a coupon's read-back may be when its code is
	// emailed; an older one is read back again first (campaign.IssueOptions.VerifyMaxAge).
	ReverifyAfter time.Duration `yaml:"reverify_after"`
	// Locale is the language of the built-in emails, their dates and
	// amounts: en, de, fr, es, id or nl.
	Locale string `yaml:"locale"`
	// ShopAddress is the shop's postal address, in every email's footer.
	ShopAddress string `yaml:"shop_address"`
	// BrandColor (#rrggbb) and LogoURL (https) dress the built-in emails.
	BrandColor string `yaml:"brand_color"`
	LogoURL    string `yaml:"logo_url"`

	replyTo *mailer.Address
}

// AddressConfig is a mailbox: display name and address.
type AddressConfig struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
}

// SMTPConfig is the mail submission server.
type SMTPConfig struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS is starttls, tls (implicit, port 465) or none (loopback only).
	TLS string `yaml:"tls"`
	// Auth is plain, login, cram-md5 or none.
	Auth         string  `yaml:"auth"`
	Username     string  `yaml:"username"`
	Password     Secret  `yaml:"password"`
	PasswordFile string  `yaml:"password_file"`
	Connections  int     `yaml:"connections"`
	Rate         float64 `yaml:"rate"`
	PerHour      int     `yaml:"per_hour"`
	PerDay       int     `yaml:"per_day"`
	// Timeout bounds each SMTP command.
	Timeout time.Duration `yaml:"timeout"`
}

// DKIMConfig is the optional DKIM signing key.
type DKIMConfig struct {
	Domain         string `yaml:"domain"`
	Selector       string `yaml:"selector"`
	PrivateKeyFile string `yaml:"private_key_file"`

	privateKeyPEM []byte
}

// UnsubscribeConfig fills the List-Unsubscribe headers.
type UnsubscribeConfig struct {
	Mailto   string `yaml:"mailto"`
	URL      string `yaml:"url"`
	OneClick bool   `yaml:"one_click"`
}

// LedgerConfig is where the ledger (SQLite) lives.
type LedgerConfig struct {
	Path string `yaml:"path"`
}

// LogConfig is the diagnostic log on stderr.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// CampaignConfig is one named campaign.
type CampaignConfig struct {
	Codes  CodesConfig  `yaml:"codes"`
	Coupon CouponConfig `yaml:"coupon"`
	// ExportOnly campaigns create codes without an email restriction and email nothing.
	ExportOnly bool        `yaml:"export_only"`
	Email      EmailConfig `yaml:"email"`
	// Reminder, when set, emails holders of an unused code once before it
	// expires (sent by the daemon after a sync; see config_tracking.go).
	Reminder *ReminderConfig `yaml:"reminder"`

	templates *mailer.Templates
	// locale and purpose are the built-in email's, set by Config.validate
	// from mail.locale and the campaign's jobs.
	locale, purpose string
}

// CodesConfig is the shape of a campaign's codes: Prefix, then Pattern (X =
// random symbol) or Length symbols in groups of GroupSize.
type CodesConfig struct {
	Prefix    string `yaml:"prefix"`
	Pattern   string `yaml:"pattern"`
	Length    int    `yaml:"length"`
	GroupSize int    `yaml:"group_size"`
	Alphabet  string `yaml:"alphabet"`
}

// CouponConfig is the coupon template of a campaign. The one-time locks
// (usage limit 1, per-user limit 1, email restriction) are not configurable.
type CouponConfig struct {
	DiscountType              string       `yaml:"discount_type"`
	Amount                    string       `yaml:"amount"`
	Expiry                    ExpiryConfig `yaml:"expiry"`
	MinimumAmount             string       `yaml:"minimum_amount"`
	MaximumAmount             string       `yaml:"maximum_amount"`
	IndividualUse             bool         `yaml:"individual_use"`
	ExcludeSaleItems          bool         `yaml:"exclude_sale_items"`
	FreeShipping              bool         `yaml:"free_shipping"`
	ProductIDs                []int64      `yaml:"product_ids"`
	ExcludedProductIDs        []int64      `yaml:"excluded_product_ids"`
	ProductCategories         []int64      `yaml:"product_categories"`
	ExcludedProductCategories []int64      `yaml:"excluded_product_categories"`
	Description               string       `yaml:"description"`
}

// ExpiryConfig is days after issue (end of that day in the store's time
// zone) or a fixed date (end of that day).
type ExpiryConfig struct {
	Days int    `yaml:"days"`
	Date string `yaml:"date"`
}

// EmailConfig is the email of an emailed campaign.
type EmailConfig struct {
	// Subject is a text/template; empty means the built-in subject.
	Subject string `yaml:"subject"`
	// TextTemplate and HTMLTemplate are template files; empty means built-in.
	TextTemplate string `yaml:"text_template"`
	HTMLTemplate string `yaml:"html_template"`
	// Fields are the extra recipient CSV columns the templates use as
	// {{.Fields.name}}; the recipients file must have them.
	Fields []string `yaml:"fields"`
	// ApplyURL is a link pattern with {code} and {email}, such as
	// https://shop.example.com/cart/?coupon={code}; empty means no link.
	ApplyURL string `yaml:"apply_url"`
	// ExpiryLayout is a Go time layout for the expiry date in the email.
	ExpiryLayout string `yaml:"expiry_layout"`
	// Template is the built-in email: welcome, winback or generic (empty:
	// from the kind of the campaign's job, else generic).
	Template string `yaml:"template"`
}

// refusedKeys names keys that look like coupon settings but would loosen the
// one-time locks; the loader rejects them with these explanations rather
// than as merely unknown.
func (CouponConfig) refusedKeys() map[string]string {
	const once = "couponbridge coupons are always usable once, by one person; this cannot be configured"
	return map[string]string{
		"usage_limit":            once + " (usage_limit is always 1)",
		"usage_limit_per_user":   once + " (usage_limit_per_user is always 1)",
		"limit_usage_to_x_items": "not supported by couponbridge",
		"email_restrictions":     once + " (each coupon is restricted to its recipient's email; use export_only for codes without one)",
		"code":                   "codes are generated from the campaign's codes section",
	}
}

// Defaults, in one place.
const (
	defaultConfigFile   = "couponbridge.yaml"
	defaultAuthMode     = "auto"
	defaultExpiryLayout = mailer.DefaultExpiryLayout
)

// DefaultConfig returns the configuration used for every key a file leaves out.
func DefaultConfig() Config {
	return Config{
		Store: StoreConfig{
			AuthMode:    defaultAuthMode,
			Timezone:    "UTC",
			Currency:    "USD",
			Rate:        5,
			Burst:       5,
			Concurrency: 4,
			BatchSize:   100,
			Timeout:     60 * time.Second,
		},
		Mail: MailConfig{
			Transport: "outbox",
			OutboxDir: "outbox",
			SMTP: SMTPConfig{
				Port:        587,
				TLS:         "starttls",
				Auth:        "plain",
				Connections: 2,
				Rate:        5,
				Timeout:     30 * time.Second,
			},
			ReverifyAfter: time.Hour,
		},
		Ledger: LedgerConfig{Path: "couponbridge.db"},
		Log:    LogConfig{Level: "info", Format: "text"},
		Daemon: DefaultDaemonConfig(),
	}
}

// DefaultCampaignConfig returns the defaults of one campaign entry. Codes
// with neither pattern nor length use campaign.DefaultCodePattern. The
// discount type has no default: "amount: 10" must not silently mean 10%
// or 10 of the currency.
func DefaultCampaignConfig() CampaignConfig {
	return CampaignConfig{
		Codes:  CodesConfig{Alphabet: campaign.DefaultAlphabet},
		Coupon: CouponConfig{IndividualUse: true},
		Email:  EmailConfig{ExpiryLayout: defaultExpiryLayout},
	}
}

// UnmarshalYAML applies DefaultConfig before the file's values. It uses the
// callback form so that the decoder's strictness carries into the sections.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig()
	type plain Config
	return unmarshal((*plain)(c))
}

// UnmarshalYAML applies DefaultCampaignConfig before the entry's values.
func (c *CampaignConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultCampaignConfig()
	type plain CampaignConfig
	return unmarshal((*plain)(c))
}

// Location is the store's time zone (UTC before validation).
func (s *StoreConfig) Location() *time.Location {
	if s.location == nil {
		return time.UTC
	}
	return s.location
}

// resolvePaths makes the file paths given in the configuration file absolute,
// relative to dir (the file's directory). Paths set by flags are already
// resolved against the working directory by the command line.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string, path string) {
		if *p == "" || filepath.IsAbs(*p) || c.src.overridden(path) {
			return
		}
		*p = filepath.Join(dir, *p)
	}
	abs(&c.Store.ConsumerSecretFile, "store.consumer_secret_file")
	abs(&c.Mail.OutboxDir, "mail.outbox_dir")
	abs(&c.Mail.SMTP.PasswordFile, "mail.smtp.password_file")
	abs(&c.Mail.DKIM.PrivateKeyFile, "mail.dkim.private_key_file")
	abs(&c.Ledger.Path, "ledger.path")
	for name, cc := range c.Campaigns {
		if cc == nil {
			continue
		}
		p := "campaigns." + name + ".email."
		abs(&cc.Email.TextTemplate, p+"text_template")
		abs(&cc.Email.HTMLTemplate, p+"html_template")
		cc.Reminder.resolvePaths(dir, "campaigns."+name+".reminder", c.src)
	}
	c.resolveJobPaths(dir)
}

// readSecretFiles reads the *_file siblings into their secrets and the DKIM
// key into memory. A secret given both inline and as a file is an error.
func (c *Config) readSecretFiles(v *validator) {
	readSecret := func(secret *Secret, file, secretPath, filePath string) {
		if file == "" {
			return
		}
		if *secret != "" {
			v.errorf(filePath, "set either %s or %s, not both", lastKey(secretPath), lastKey(filePath))
			return
		}
		b, err := readSmallFile(file)
		if err != nil {
			v.errorf(filePath, "%v", pathError(err))
			return
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			v.errorf(filePath, "%s is empty", file)
			return
		}
		*secret = Secret(s)
	}
	readSecret(&c.Store.ConsumerSecret, c.Store.ConsumerSecretFile, "store.consumer_secret", "store.consumer_secret_file")
	readSecret(&c.Mail.SMTP.Password, c.Mail.SMTP.PasswordFile, "mail.smtp.password", "mail.smtp.password_file")
	if f := c.Mail.DKIM.PrivateKeyFile; f != "" {
		b, err := readSmallFile(f)
		if err != nil {
			v.errorf("mail.dkim.private_key_file", "%v", pathError(err))
		} else {
			c.Mail.DKIM.privateKeyPEM = b
		}
	}
}

// maxSecretFile bounds the files read at load: secrets and keys are small,
// and a path such as /dev/zero must not hang the load.
const maxSecretFile = 64 << 10

// readSmallFile reads a secret or key file of at most maxSecretFile bytes.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSecretFile {
		return nil, fmt.Errorf("%s is larger than %d KiB: not a secret or key file", path, maxSecretFile>>10)
	}
	return b, nil
}

// pathError shortens an *os.PathError to "cannot read FILE: reason".
func pathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("cannot read %s: %v", pe.Path, pe.Err)
	}
	return err.Error()
}

func lastKey(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }

// fieldNameRE matches a recipient field as campaign.RecipientReader names
// columns (lower case; runs of spaces and punctuation become one '_').
var fieldNameRE = regexp.MustCompile(`^[\p{Ll}\p{Lo}0-9]+(_[\p{Ll}\p{Lo}0-9]+)*$`)

var campaignNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// validate checks every value and fills the derived fields (time zone,
// templates). Every problem is collected; none stops the others.
func (c *Config) validate(v *validator) {
	c.Store.validate(v)
	c.Mail.validate(v, c.emailsAnything())
	c.Ledger.validate(v)
	c.Log.validate(v)
	names := make([]string, 0, len(c.Campaigns))
	for name := range c.Campaigns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		cc := c.Campaigns[name]
		path := "campaigns." + name
		if !campaignNameRE.MatchString(name) {
			v.errorf(path, "campaign names are 1-64 lower-case letters, digits, '-' and '_', starting with a letter or digit")
		}
		if cc == nil {
			v.errorf(path, "empty campaign: it needs at least a coupon section")
			continue
		}
		cc.locale, cc.purpose = c.Mail.Locale, c.emailPurpose(name, cc)
		cc.validate(v, path)
	}
	c.validateJobs(v)
}

// emailsAnything reports whether some campaign sends email.
func (c *Config) emailsAnything() bool {
	for _, cc := range c.Campaigns {
		if cc != nil && !cc.ExportOnly {
			return true
		}
	}
	return false
}

func (s *StoreConfig) validate(v *validator) {
	u, err := url.Parse(s.URL)
	switch {
	case s.URL == "":
		v.errorf("store.url", "is required (the shop's address, such as https://shop.example.com)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		v.errorf("store.url", "must be an http:// or https:// URL, got %q", s.URL)
	case u.User != nil:
		v.errorf("store.url", "must not contain credentials: use consumer_key and consumer_secret")
	}
	switch s.AuthMode {
	case "auto", "basic", "query", "oauth1":
		if u != nil && u.Scheme == "http" && (s.AuthMode == "basic" || s.AuthMode == "query") {
			v.errorf("store.auth_mode", "%s sends the secret in clear over http://: use an https:// url, or auth_mode oauth1 (or auto)", s.AuthMode)
		}
	default:
		v.errorf("store.auth_mode", "must be auto, basic, query or oauth1, got %q", s.AuthMode)
	}
	if s.ConsumerKey == "" {
		v.errorf("store.consumer_key", "is required (WooCommerce > Settings > Advanced > REST API; read/write)")
	}
	if s.ConsumerSecret == "" && !v.has("store.consumer_secret_file") {
		v.errorf("store.consumer_secret", "is required (or consumer_secret_file, or $COUPONBRIDGE_STORE_SECRET)")
	}
	if loc, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "" || s.Timezone == "Local" {
		v.errorf("store.timezone", "must be an IANA time zone such as Europe/Berlin or UTC, got %q", s.Timezone)
	} else {
		s.location = loc
	}
	if _, err := currency.ParseISO(s.Currency); err != nil || len(s.Currency) != 3 || strings.ToUpper(s.Currency) != s.Currency {
		v.errorf("store.currency", "must be an ISO 4217 code such as EUR or USD, got %q", s.Currency)
	}
	if !(s.Rate > 0) {
		v.errorf("store.rate", "must be > 0 (requests per second)")
	}
	if s.Burst < 1 {
		v.errorf("store.burst", "must be >= 1")
	}
	if s.Concurrency < 1 {
		v.errorf("store.concurrency", "must be >= 1")
	}
	if s.BatchSize < 1 || s.BatchSize > 100 {
		v.errorf("store.batch_size", "must be between 1 and 100 (WooCommerce's batch limit)")
	}
	if s.Timeout <= 0 {
		v.errorf("store.timeout", "must be > 0")
	}
	if s.UnclearHold < 0 {
		v.errorf("store.unclear_hold", "must be > 0, or 0 for twice store.timeout")
	}
}

// unclearHold is UnclearHold with its default: twice the request timeout,
// longer than the store can still be working on a request that timed out.
func (s *StoreConfig) unclearHold() time.Duration {
	if s.UnclearHold > 0 {
		return s.UnclearHold
	}
	return 2 * s.Timeout
}

func (m *MailConfig) validate(v *validator, emails bool) {
	switch m.Transport {
	case "outbox":
		if m.OutboxDir == "" {
			v.errorf("mail.outbox_dir", "is required with transport outbox")
		}
	case "smtp":
		m.SMTP.validate(v)
	default:
		v.errorf("mail.transport", "must be smtp or outbox, got %q", m.Transport)
	}
	m.validateLook(v)
	if m.From.Address != "" {
		if err := checkAddress(m.From.Address); err != nil {
			v.errorf("mail.from.address", "%v", err)
		}
	} else if emails {
		v.errorf("mail.from.address", "is required when a campaign sends email")
	}
	if m.ReplyTo != "" {
		a, err := mail.ParseAddress(m.ReplyTo)
		if err != nil {
			v.errorf("mail.reply_to", "must be an address such as \"Shop <help@shop.example>\": %v", err)
		} else {
			m.replyTo = &mailer.Address{Name: a.Name, Email: a.Address}
		}
	}
	if m.MessageIDDomain != "" && !strings.Contains(m.MessageIDDomain, ".") {
		v.errorf("mail.message_id_domain", "must be a domain name such as shop.example.com")
	}
	if m.ReverifyAfter <= 0 {
		v.errorf("mail.reverify_after", "must be > 0, such as 1h")
	}
	m.DKIM.validate(v)
	u := m.Unsubscribe
	if u.Mailto != "" {
		if err := checkAddress(strings.TrimPrefix(u.Mailto, "mailto:")); err != nil {
			v.errorf("mail.unsubscribe.mailto", "%v", err)
		}
	}
	if u.URL != "" {
		if pu, err := url.Parse(u.URL); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			v.errorf("mail.unsubscribe.url", "must be an http:// or https:// URL, got %q", u.URL)
		}
	}
	if u.OneClick && !strings.HasPrefix(u.URL, "https://") {
		v.errorf("mail.unsubscribe.one_click", "needs an https:// unsubscribe url (RFC 8058)")
	}
}

func (s *SMTPConfig) validate(v *validator) {
	if s.Host == "" {
		v.errorf("mail.smtp.host", "is required with transport smtp")
	}
	if s.Port < 1 || s.Port > 65535 {
		v.errorf("mail.smtp.port", "must be between 1 and 65535")
	}
	switch s.TLS {
	case "starttls", "tls":
	case "none":
		if s.Host != "" && !isLoopback(s.Host) {
			v.errorf("mail.smtp.tls", "none is allowed only for a loopback host (127.0.0.1, ::1, localhost): the password and every code would cross the network in clear")
		}
	default:
		v.errorf("mail.smtp.tls", "must be starttls, tls or none, got %q", s.TLS)
	}
	switch s.Auth {
	case "plain", "login", "cram-md5":
		if s.Username == "" {
			v.errorf("mail.smtp.username", "is required with auth %s (or set auth: none)", s.Auth)
		}
		if s.Password == "" && !v.has("mail.smtp.password_file") {
			v.errorf("mail.smtp.password", "is required with auth %s (or password_file, or $COUPONBRIDGE_SMTP_PASSWORD)", s.Auth)
		}
	case "none":
	default:
		v.errorf("mail.smtp.auth", "must be plain, login, cram-md5 or none, got %q", s.Auth)
	}
	if s.Connections < 1 {
		v.errorf("mail.smtp.connections", "must be >= 1")
	}
	if s.Rate < 0 {
		v.errorf("mail.smtp.rate", "must be >= 0 (0 means no limit)")
	}
	if s.PerHour < 0 {
		v.errorf("mail.smtp.per_hour", "must be >= 0 (0 means no limit)")
	}
	if s.PerDay < 0 {
		v.errorf("mail.smtp.per_day", "must be >= 0 (0 means no limit)")
	}
	if s.Timeout <= 0 {
		v.errorf("mail.smtp.timeout", "must be > 0")
	}
}

func (d *DKIMConfig) validate(v *validator) {
	set := 0
	for _, s := range []string{d.Domain, d.Selector, d.PrivateKeyFile} {
		if s != "" {
			set++
		}
	}
	if set != 0 && set != 3 {
		v.errorf("mail.dkim", "needs all of domain, selector and private_key_file, or none")
		return
	}
	if set == 3 && d.privateKeyPEM != nil {
		if err := checkPrivateKey(d.privateKeyPEM); err != nil {
			v.errorf("mail.dkim.private_key_file", "%s: %v", d.PrivateKeyFile, err)
		}
	}
}

// checkPrivateKey accepts what the mailer's DKIM signer takes: an RSA
// (PKCS #1 or #8) or Ed25519 (PKCS #8) private key in PEM.
func checkPrivateKey(b []byte) error {
	block, _ := pem.Decode(b)
	if block == nil {
		return errors.New("no PEM block found")
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return errors.New("not an RSA or Ed25519 private key (PKCS #1 or PKCS #8)")
	}
	switch k.(type) {
	case *rsa.PrivateKey, ed25519.PrivateKey:
		return nil
	}
	return fmt.Errorf("unsupported key type %T: DKIM needs RSA or Ed25519", k)
}

func (l *LedgerConfig) validate(v *validator) {
	if l.Path == "" {
		v.errorf("ledger.path", "is required")
	}
}

func (l *LogConfig) validate(v *validator) {
	if _, err := parseLevel(l.Level); err != nil {
		v.errorf("log.level", "%v", err)
	}
	if l.Format != "text" && l.Format != "json" {
		v.errorf("log.format", "must be text or json, got %q", l.Format)
	}
}

func (cc *CampaignConfig) validate(v *validator, path string) {
	if g, err := campaign.NewCodeGenerator(cc.codeSpec(), nil); err != nil {
		v.fieldError(path, err)
	} else if err := g.CheckCapacity(1, campaign.DefaultCapacityBits); err != nil {
		// The run checks again against the real count; a spec that cannot
		// hold even one code is wrong whatever the list.
		v.errorf(path+".codes", "%v", err)
	}

	// The campaign package owns the coupon rules; its errors name the key
	// ("coupon.amount"), which the validator turns into a line.
	if err := cc.couponTemplate().Validate(); err != nil {
		v.fieldError(path, err)
	}

	if cc.Reminder != nil {
		cc.Reminder.locale = cc.locale
	}
	cc.Reminder.validate(v, path+".reminder", cc.ExportOnly, cc.Email.Fields)
	if cc.ExportOnly {
		if v.has(path + ".email") {
			v.errorf(path+".email", "an export_only campaign sends no email; remove this section")
		}
		return
	}
	e := &cc.Email
	epath := path + ".email"
	if e.ApplyURL != "" {
		if u, err := url.Parse(e.ApplyURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.errorf(epath+".apply_url", "must be an http:// or https:// URL pattern with {code}, got %q", e.ApplyURL)
		} else if !strings.Contains(e.ApplyURL, "{code}") {
			v.errorf(epath+".apply_url", "must contain {code}")
		}
	}
	if e.ExpiryLayout == "" {
		v.errorf(epath+".expiry_layout", "must not be empty (such as \"2 January 2006\")")
	}
	if e.Template != "" && (e.Template == "reminder" || !mailer.ValidPurpose(e.Template)) {
		v.errorf(epath+".template", "must be welcome, winback or generic (empty: from the campaign's job), got %q", e.Template)
	}
	for _, f := range e.Fields {
		if !fieldNameRE.MatchString(f) {
			v.errorf(epath+".fields", "%q: fields are named as the recipients reader names columns: lower case, '_' for spaces and punctuation, such as city or postal_code", f)
		}
	}
	if v.failedUnder(epath) {
		return
	}
	t, err := mailer.LoadTemplates(cc.templateSource(), e.Fields)
	if err != nil {
		key := epath
		switch {
		case e.HTMLTemplate != "" && strings.Contains(err.Error(), e.HTMLTemplate):
			key = epath + ".html_template"
		case e.TextTemplate != "" && strings.Contains(err.Error(), e.TextTemplate):
			key = epath + ".text_template"
		case strings.Contains(err.Error(), "subject"):
			key = epath + ".subject"
		}
		v.errorf(key, "%s", strings.TrimPrefix(strings.TrimPrefix(err.Error(), mailer.ErrTemplate.Error()+": "), "mailer: "))
		return
	}
	cc.templates = t
}

// checkAddress accepts a bare address with a dot in its domain.
func checkAddress(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("must be a bare email address such as shop@example.com, got %q", s)
	}
	if at := strings.LastIndexByte(s, '@'); !strings.Contains(s[at+1:], ".") {
		return fmt.Errorf("the domain of %q has no dot", s)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
