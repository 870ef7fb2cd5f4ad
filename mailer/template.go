package mailer

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"os"
	"strings"
	texttemplate "text/template"
	"time"
)

// Data is what a campaign's templates see for one recipient.
type Data struct {
	FirstName, LastName, Email string
	// Code is the coupon code.
	Code string
	// Amount is the discount formatted for its type ("10%", "€5.00"); see FormatAmount.
	Amount string
	// Expires is ExpiresAt formatted in the store's time zone ("" when the
	// coupon does not expire); see FormatExpiry.
	Expires   string
	ExpiresAt time.Time
	StoreName string
	StoreURL  string
	// ApplyURL applies the coupon in the shop ("" when not configured); see ApplyURL.
	ApplyURL string
	// Fields holds the recipient's extra columns, used as {{.Fields.name}}.
	Fields map[string]string
}

// DefaultSubject is the subject template used when TemplateSource.Subject is empty.
const DefaultSubject = `Your {{.Amount}} coupon{{with .StoreName}} from {{.}}{{end}}`

//go:embed templates/default.txt.tmpl templates/default.html.tmpl
var defaultTemplates embed.FS

const (
	defaultTextName = "templates/default.txt.tmpl"
	defaultHTMLName = "templates/default.html.tmpl"
)

// TemplateSource says where a campaign's templates come from. For each
// body, a file (TextFile, HTMLFile) wins over inline text (Text, HTML);
// when both are empty the embedded default is used. An empty Subject means
// DefaultSubject.
type TemplateSource struct {
	Subject            string
	TextFile, HTMLFile string
	Text, HTML         string
}

// Templates are a campaign's parsed and checked templates; safe for
// concurrent use.
type Templates struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
	known   []string
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
	t := &Templates{known: append([]string(nil), knownFields...)}

	subject := src.Subject
	if strings.TrimSpace(subject) == "" {
		subject = DefaultSubject
	}
	st, err := texttemplate.New("subject").Option("missingkey=error").Parse(subject)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	t.subject = st

	textName, textBody, err := templateText(src.TextFile, src.Text, "text", defaultTextName)
	if err != nil {
		return nil, err
	}
	if t.text, err = texttemplate.New(textName).Option("missingkey=error").Parse(textBody); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	htmlName, htmlBody, err := templateText(src.HTMLFile, src.HTML, "html", defaultHTMLName)
	if err != nil {
		return nil, err
	}
	if t.html, err = htmltemplate.New(htmlName).Option("missingkey=error").Parse(htmlBody); err != nil {
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
