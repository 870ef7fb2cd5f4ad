package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"net/url"
	"os"
	"strings"
	texttemplate "text/template"
	"time"
)

// Data is what a campaign's templates see for one recipient.
type Data struct {
	FirstName, LastName, Email string
	// Greeting opens the email in the templates' locale: "Hi Ann," with a
	// first name, "Hello," without. Render sets it; templates that want
	// their own words use {{.NameOr "there"}}.
	Greeting string
	// Code is the coupon code.
	Code string
	// Amount is the discount formatted for its type and locale ("10%",
	// "€5.00", "5,00 €"); see FormatAmountIn.
	Amount string
	// Expires is ExpiresAt formatted in the store's time zone and the
	// locale ("" when the coupon does not expire); see FormatExpiryIn.
	Expires   string
	ExpiresAt time.Time
	StoreName string
	StoreURL  string
	// ApplyURL applies the coupon in the shop ("" when not configured); see ApplyURL.
	ApplyURL string
	// Conditions are the coupon's terms; {{conditions .Conditions}} lists
	// those that apply as sentences in the locale.
	Conditions Conditions
	// UnsubscribeURL is the recipient's unsubscribe page ("" for none),
	// ShopAddress the shop's postal address: the footer a bulk sender needs.
	UnsubscribeURL string
	ShopAddress    string
	// BrandColor ("#rrggbb") colours the button and accents; Render sets
	// DefaultBrandColor when it is empty or not a hex colour. LogoURL, when
	// set, replaces the shop's name at the top.
	BrandColor string
	LogoURL    string
	// Fields holds the recipient's extra columns, used as {{.Fields.name}}.
	Fields map[string]string
}

// NameOr returns the recipient's first name, or fallback when there is
// none, so that a template reads right either way:
// `{{.NameOr "there"}}, your coupon` never starts with ", ".
func (d Data) NameOr(fallback string) string {
	if n := strings.TrimSpace(d.FirstName); n != "" {
		return n
	}
	return fallback
}

// DefaultBrandColor is the accent colour of the built-in templates.
const DefaultBrandColor = "#18181b"

// ValidBrandColor reports whether c is a CSS hex colour (#rgb or #rrggbb),
// the only form the templates accept.
func ValidBrandColor(c string) bool {
	if (len(c) != 4 && len(c) != 7) || c[0] != '#' {
		return false
	}
	for _, r := range c[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// DefaultSubject is the subject template used when TemplateSource.Subject
// is empty: the built-in subject of the purpose, in the locale.
const DefaultSubject = `{{if .StoreName}}{{t "subject.store" .Amount .StoreName}}{{else}}{{t "subject" .Amount}}{{end}}`

//go:embed templates/email.txt.tmpl templates/email.html.tmpl
var defaultTemplates embed.FS

const (
	defaultTextName = "templates/email.txt.tmpl"
	defaultHTMLName = "templates/email.html.tmpl"
)

// TemplateSource says where a campaign's templates come from. For each
// body, a file (TextFile, HTMLFile) wins over inline text (Text, HTML);
// when both are empty the built-in email of Purpose is used. An empty
// Subject means DefaultSubject.
//
// Every template, built-in or not, can use {{t "key" args...}} (a string
// of the built-in catalog in Locale, the purpose's own wording first),
// {{conditions .Conditions}}, {{locale}} and {{purpose}}.
type TemplateSource struct {
	Subject            string
	TextFile, HTMLFile string
	Text, HTML         string
	// Purpose is the built-in email: welcome, winback, generic or
	// reminder (see Purposes); empty means DefaultPurpose.
	Purpose string
	// Locale is the language of the built-in strings, dates and amounts:
	// en, de, fr, es, id or nl (see Locales); empty means DefaultLocale.
	Locale string
}

// Templates are a campaign's parsed and checked templates; safe for
// concurrent use.
type Templates struct {
	locale, purpose string
	subject         *texttemplate.Template
	text            *texttemplate.Template
	html            *htmltemplate.Template
	known           []string
}

// ErrTemplate is wrapped by every error LoadTemplates returns for a template
// that does not parse or does not execute against sample data.
var ErrTemplate = errors.New("mailer: bad template")

// LoadTemplates reads, parses and checks the templates of src. knownFields
// are the extra recipient fields the templates may use as {{.Fields.name}}.
//
// Each template is dry-executed twice (with every field set, and with every
// field empty, so both branches of {{if .X}} run) with missingkey=error: a
// syntax error, an unknown function, a field Data does not have, or a
// .Fields.name not in knownFields is an error naming the file (or "subject",
// "text", "html" for inline templates) and line, here rather than at send
// time. Lookups with {{index .Fields "name"}} are not checked.
func LoadTemplates(src TemplateSource, knownFields []string) (*Templates, error) {
	t := &Templates{known: append([]string(nil), knownFields...), locale: src.Locale, purpose: src.Purpose}
	if t.locale == "" {
		t.locale = DefaultLocale
	}
	if t.purpose == "" {
		t.purpose = DefaultPurpose
	}
	if !ValidLocale(t.locale) {
		return nil, fmt.Errorf("%w: locale %q: the built-in templates are written in %s", ErrTemplate, src.Locale, strings.Join(Locales, ", "))
	}
	if !ValidPurpose(t.purpose) {
		return nil, fmt.Errorf("%w: template %q: the built-in emails are %s", ErrTemplate, src.Purpose, strings.Join(Purposes, ", "))
	}
	funcs := t.funcs()

	subject := src.Subject
	if strings.TrimSpace(subject) == "" {
		subject = DefaultSubject
	}
	st, err := texttemplate.New("subject").Option("missingkey=error").Funcs(funcs).Parse(subject)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	t.subject = st

	textName, textBody, err := templateText(src.TextFile, src.Text, "text", defaultTextName)
	if err != nil {
		return nil, err
	}
	if t.text, err = texttemplate.New(textName).Option("missingkey=error").Funcs(funcs).Parse(textBody); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	htmlName, htmlBody, err := templateText(src.HTMLFile, src.HTML, "html", defaultHTMLName)
	if err != nil {
		return nil, err
	}
	if t.html, err = htmltemplate.New(htmlName).Option("missingkey=error").Funcs(funcs).Funcs(htmltemplate.FuncMap{"tlink": t.tlink}).Parse(htmlBody); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}

	full := SampleData(knownFields)
	empty := Data{Code: full.Code, Fields: map[string]string{}}
	for _, k := range knownFields {
		empty.Fields[k] = ""
	}
	for _, d := range []Data{full, empty} {
		subj, _, _, err := t.Render(d)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		if d.Amount != "" && subj == "" {
			return nil, fmt.Errorf("%w: subject %q renders empty", ErrTemplate, subject)
		}
	}
	return t, nil
}

// templateText returns the name and text of one body template.
func templateText(file, inline, inlineName, defaultName string) (name, text string, err error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", "", fmt.Errorf("mailer: reading %s template: %w", inlineName, err)
		}
		return file, string(b), nil
	case inline != "":
		return inlineName, inline, nil
	default:
		b, err := defaultTemplates.ReadFile(defaultName)
		if err != nil {
			return "", "", fmt.Errorf("mailer: built-in %s template: %w", inlineName, err)
		}
		return defaultName, string(b), nil
	}
}

// SampleData returns the sample recipient LoadTemplates checks templates
// against (and a preview can render): every field set, each known extra
// field set to "sample <name>".
func SampleData(knownFields []string) Data {
	d := Data{
		FirstName: "Ann",
		LastName:  "Example",
		Email:     "ann@example.com",
		Code:      "SAMPLE-CODE-2345",
		Amount:    "10%",
		ExpiresAt: time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC),
		StoreName: "Example Shop",
		StoreURL:  "https://shop.example.com",
		Fields:    map[string]string{},
	}
	d.Expires = FormatExpiry(d.ExpiresAt, time.UTC, "")
	d.ApplyURL = ApplyURL(d.StoreURL+"/?coupon={code}", d)
	d.Conditions = Conditions{
		MinSpend: "€20.00", MaxSpend: "€500.00", ExcludesSaleItems: true, FreeShipping: true, IndividualUse: true,
		Products: []string{"Sample product"}, Categories: []string{"Sample category"},
		ExcludedProducts: []string{"Gift card"}, ExcludedCategories: []string{"Sale"},
		OneUse: true, Email: d.Email, ValidUntil: d.Expires + ", 23:59 (UTC)",
	}
	d.UnsubscribeURL = d.StoreURL + "/unsubscribe?t=sample"
	d.ShopAddress = "1 Example Street, 12345 Example City"
	d.LogoURL = d.StoreURL + "/logo.png"
	d.BrandColor = "#2563eb"
	for _, k := range knownFields {
		d.Fields[k] = "sample " + k
	}
	return d
}

// Render executes the templates for one recipient. The subject has control
// characters replaced by spaces. Known extra fields missing from d.Fields
// render as "".
func (t *Templates) Render(d Data) (subject, text, html string, err error) {
	fields := maps.Clone(d.Fields)
	if fields == nil {
		fields = map[string]string{}
	}
	for _, k := range t.known {
		if _, ok := fields[k]; !ok {
			fields[k] = ""
		}
	}
	d.Fields = fields
	if d.Greeting == "" {
		d.Greeting = t.greeting(d.FirstName)
	}
	if !ValidBrandColor(d.BrandColor) {
		d.BrandColor = DefaultBrandColor
	}
	if d.Conditions.ValidUntil == "" {
		// A caller that set only the expiry still has it stated.
		d.Conditions.ValidUntil = d.Expires
	}

	var buf bytes.Buffer
	if err := t.subject.Execute(&buf, d); err != nil {
		return "", "", "", err
	}
	subject = cleanHeaderText(buf.String())
	buf.Reset()
	if err := t.text.Execute(&buf, d); err != nil {
		return "", "", "", err
	}
	text = buf.String()
	buf.Reset()
	if err := t.html.Execute(&buf, d); err != nil {
		return "", "", "", err
	}
	return subject, text, buf.String(), nil
}

// Locale is the language the templates were loaded for: what ComposeEmail
// formats dates and amounts in.
func (t *Templates) Locale() string { return t.locale }

// Purpose is the built-in email the templates were loaded for.
func (t *Templates) Purpose() string { return t.purpose }

// funcs are the functions every template of t can call.
func (t *Templates) funcs() map[string]any {
	return map[string]any{
		"t": func(key string, args ...any) string {
			return translate(t.locale, t.purpose, key, args...)
		},
		"conditions": func(c Conditions) []string { return c.Lines(t.locale) },
		"locale":     func() string { return t.locale },
		"purpose":    func() string { return t.purpose },
	}
}

// greeting is the opening line for a recipient with first name name.
func (t *Templates) greeting(name string) string {
	if name = strings.TrimSpace(name); name != "" {
		return translate(t.locale, t.purpose, "greeting.name", name)
	}
	return translate(t.locale, t.purpose, "greeting")
}

// tlink is {{t key url}} in HTML with the URL as a link; only http and
// https URLs are linked, anything else is shown as escaped text.
func (t *Templates) tlink(key, rawURL string) htmltemplate.HTML {
	link := htmltemplate.HTMLEscapeString(rawURL)
	if u, err := url.Parse(rawURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		link = `<a href="` + link + `" style="color:#2563eb;">` + link + `</a>`
	}
	format := htmltemplate.HTMLEscapeString(translate(t.locale, t.purpose, key, linkMark))
	return htmltemplate.HTML(strings.Replace(format, linkMark, link, 1))
}

// linkMark stands for the link in a translated sentence until the
// sentence is escaped; HTML escaping leaves it as it is.
const linkMark = "@@LINK@@"
