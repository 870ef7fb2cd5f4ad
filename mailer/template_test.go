package mailer

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenData is the fixed recipient the golden files are rendered for.
func goldenData() Data {
	d := Data{
		FirstName: "Zoë",
		LastName:  "O'Brien",
		Email:     "zoe@example.net",
		Code:      "SPRING-7KQ4-M9XT",
		Amount:    FormatAmount("percent", "15", "EUR"),
		ExpiresAt: time.Date(2026, 12, 31, 22, 59, 59, 0, time.UTC),
		StoreName: "Bäckerei & Co",
		StoreURL:  "https://shop.example",
		Fields:    map[string]string{"tier": "gold"},
	}
	berlin := time.FixedZone("CET", 3600)
	d.Expires = FormatExpiry(d.ExpiresAt, berlin, "")
	d.ApplyURL = ApplyURL("https://shop.example/?coupon={code}", d)
	return d
}

// goldenDataIn is the golden recipient in locale, with every condition,
// the footer and a brand colour: what a configured shop sends.
func goldenDataIn(locale string) Data {
	d := goldenData()
	berlin := time.FixedZone("CET", 3600)
	d.Amount = FormatAmountIn(locale, "percent", "15", "EUR")
	d.Expires = FormatExpiryIn(locale, d.ExpiresAt, berlin, "")
	d.Conditions = Conditions{
		MinSpend:          FormatMoneyIn(locale, "20", "EUR"),
		ExcludesSaleItems: true,
		IndividualUse:     true,
		Categories:        []string{"Brot", "Kuchen"},
		OneUse:            true,
		Email:             d.Email,
		ValidUntil:        d.Expires + ", 23:59 (Europe/Berlin)",
	}
	d.UnsubscribeURL = "https://shop.example/couponbridge/unsubscribe?t=abc123"
	d.ShopAddress = "Bäckerei & Co, Hauptstraße 1, 10115 Berlin"
	d.BrandColor = "#b45309"
	return d
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after review):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// TestBuiltinTemplatesGolden renders every built-in email in every locale
// (text, HTML and subject) for a full recipient, and the generic one for a
// minimal recipient (no name, no links), against the golden files; run
// with -update to rewrite them after review.
func TestBuiltinTemplatesGolden(t *testing.T) {
	for _, purpose := range Purposes {
		for _, locale := range Locales {
			t.Run(purpose+"-"+locale, func(t *testing.T) {
				tmpl, err := LoadTemplates(TemplateSource{Purpose: purpose, Locale: locale}, []string{"tier"})
				if err != nil {
					t.Fatal(err)
				}
				d := goldenDataIn(locale)
				subject, text, html, err := tmpl.Render(d)
				if err != nil {
					t.Fatal(err)
				}
				name := filepath.Join("builtin", purpose+"-"+locale)
				checkGolden(t, name+".subject.golden", subject+"\n")
				checkGolden(t, name+".txt.golden", text)
				checkGolden(t, name+".html.golden", html)
				if !strings.Contains(text, d.Code) || !strings.Contains(html, d.Code) {
					t.Errorf("code %s missing from text or HTML", d.Code)
				}
				// The subject's header cleaning turns no-break spaces into spaces.
				if !strings.Contains(subject, strings.ReplaceAll(d.Amount, "\u00a0", " ")) {
					t.Errorf("subject %q does not name the amount %s", subject, d.Amount)
				}
			})
		}
	}
}

func TestDefaultTemplatesGolden(t *testing.T) {
	tmpl, err := LoadTemplates(TemplateSource{}, []string{"tier"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data Data
	}{
		{"default", goldenData()},
		{"default-minimal", Data{Email: "bob@example.net", Code: "WELCOME-2345", Amount: FormatAmount("fixed_cart", "5", "GBP")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject, text, html, err := tmpl.Render(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name+".subject.golden", subject+"\n")
			checkGolden(t, tc.name+".txt.golden", text)
			checkGolden(t, tc.name+".html.golden", html)
			if !strings.Contains(text, tc.data.Code) || !strings.Contains(html, tc.data.Code) {
				t.Errorf("code %s missing from text or HTML", tc.data.Code)
			}
			if !strings.Contains(subject, tc.data.Amount) {
				t.Errorf("subject %q does not name the amount %s", subject, tc.data.Amount)
			}
			msg := Message{
				From: Address{Name: tc.data.StoreName, Email: "shop@shop.example"}, To: Address{Name: tc.data.FirstName, Email: tc.data.Email},
				Subject: subject, Text: text, HTML: html,
				MessageID: MessageID("golden", tc.data.Email, "shop.example"), Date: fixedDate,
			}
			raw, err := Build(msg)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name+".eml.golden", string(raw))
			p := parseMail(t, raw)
			crlf := strings.NewReplacer("\r\n", "\n")
			if crlf.Replace(p.Text) != text || crlf.Replace(p.HTML) != html {
				t.Errorf("parts do not decode back to the rendered bodies:\n%q\n%q", p.Text, text)
			}
		})
	}
}

func TestDefaultHTMLIsMadeForMailClients(t *testing.T) {
	tmpl, err := LoadTemplates(TemplateSource{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, text, html, err := tmpl.Render(goldenData())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`width="600"`, "max-width:600px", // fixed 600px layout
		"monospace", "font-size:20px", "white-space:nowrap", "user-select:all", // code on one line and easy to copy
		`<a href="https://shop.example/?coupon=SPRING-7KQ4-M9XT"`, // apply button
		"Valid until 31 December 2026",
		"Bäckerei &amp; Co", // escaped
	} {
		if !strings.Contains(html, want) {
			t.Errorf("default HTML lacks %q", want)
		}
	}
	if strings.Contains(html, "<style") || strings.Contains(html, "class=") {
		t.Error("default HTML uses a style sheet or classes; mail clients need inline styles")
	}
	for _, want := range []string{"Hi Zoë,", "SPRING-7KQ4-M9XT", "15% off", "Valid until 31 December 2026", "https://shop.example/?coupon=SPRING-7KQ4-M9XT", "Bäckerei & Co"} {
		if !strings.Contains(text, want) {
			t.Errorf("default text lacks %q:\n%s", want, text)
		}
	}
}

func TestTemplatesEscapeHTMLButNotText(t *testing.T) {
	tmpl, err := LoadTemplates(TemplateSource{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := goldenData()
	d.FirstName = `<script>alert("x")</script>`
	d.ApplyURL = "javascript:alert(1)"
	subject, text, html, err := tmpl.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;") {
		t.Errorf("HTML does not escape the first name")
	}
	if strings.Contains(html, `href="javascript:`) {
		t.Errorf("HTML keeps a javascript: link")
	}
	if !strings.Contains(text, `<script>alert("x")</script>`) {
		t.Errorf("text part escaped the first name; it must stay literal")
	}
	_ = subject
}

func TestRenderCleansSubjectLineBreaks(t *testing.T) {
	tmpl, err := LoadTemplates(TemplateSource{Subject: "Hi {{.FirstName}}, your code"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := goldenData()
	d.FirstName = "Ann\r\nBcc: victim@example.org"
	subject, _, _, err := tmpl.Render(d)
	if err != nil {
		t.Fatal(err)
	}
	if subject != "Hi Ann Bcc: victim@example.org, your code" {
		t.Errorf("subject = %q, want the line break replaced by a space", subject)
	}
}

func writeTemplate(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadTemplatesReportsFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		src     func(t *testing.T) TemplateSource
		want    []string
		known   []string
		wantErr bool
	}{
		{
			name: "unknown field in text file",
			src: func(t *testing.T) TemplateSource {
				return TemplateSource{TextFile: writeTemplate(t, "mail.txt", "Hello {{.FirstName}},\n\nyour code:\n{{.Coupon}}\n")}
			},
			want: []string{"mail.txt:4", "Coupon"}, wantErr: true,
		},
		{
			name: "unknown field only in the else branch of an HTML file",
			src: func(t *testing.T) TemplateSource {
				return TemplateSource{HTMLFile: writeTemplate(t, "mail.html", "<p>\n{{if .FirstName}}Hi {{.FirstName}}{{else}}Hi {{.Nickname}}{{end}}</p>")}
			},
			want: []string{"mail.html:2", "Nickname"}, wantErr: true,
		},
		{
			name: "syntax error",
			src: func(t *testing.T) TemplateSource {
				return TemplateSource{HTMLFile: writeTemplate(t, "broken.html", "<p>\n\n{{.Code}</p>\n")}
			},
			want: []string{"broken.html:3"}, wantErr: true,
		},
		{
			name: "unknown function",
			src: func(t *testing.T) TemplateSource {
				return TemplateSource{TextFile: writeTemplate(t, "fn.txt", "{{upper .Code}}")}
			},
			want: []string{"fn.txt:1", "upper"}, wantErr: true,
		},
		{
			name: "extra field not among the recipient columns",
			src: func(t *testing.T) TemplateSource {
				return TemplateSource{Text: "line one\n{{.Fields.tier}}"}
			},
			known: []string{"city"},
			want:  []string{"text:2", "tier"}, wantErr: true,
		},
		{
			name:  "bad subject",
			src:   func(t *testing.T) TemplateSource { return TemplateSource{Subject: "{{.Discount}} off"} },
			want:  []string{"subject:1", "Discount"},
			known: nil, wantErr: true,
		},
		{
			name: "known extra field",
			src: func(t *testing.T) TemplateSource {
				return TemplateSource{Text: "{{.Fields.tier}} {{.Code}}", HTML: "<b>{{.Fields.tier}}</b>"}
			},
			known: []string{"tier"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadTemplates(tc.src(t), tc.known)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("LoadTemplates: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrTemplate) {
				t.Fatalf("error = %v, want ErrTemplate", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadTemplatesMissingFile(t *testing.T) {
	_, err := LoadTemplates(TemplateSource{HTMLFile: filepath.Join(t.TempDir(), "nope.html")}, nil)
	if err == nil || !strings.Contains(err.Error(), "nope.html") {
		t.Fatalf("error = %v, want one naming nope.html", err)
	}
}

func TestRenderFillsMissingKnownFields(t *testing.T) {
	tmpl, err := LoadTemplates(TemplateSource{Text: "[{{.Fields.tier}}] {{.Code}}", HTML: "<b>{{.Fields.tier}}</b>"}, []string{"tier"})
	if err != nil {
		t.Fatal(err)
	}
	_, text, _, err := tmpl.Render(Data{Code: "X"}) // recipient without the column
	if err != nil {
		t.Fatalf("Render with the known field absent: %v", err)
	}
	if text != "[] X" {
		t.Errorf("text = %q, want %q", text, "[] X")
	}
	_, text, _, _ = tmpl.Render(Data{Code: "X", Fields: map[string]string{"tier": "gold"}})
	if text != "[gold] X" {
		t.Errorf("text = %q, want %q", text, "[gold] X")
	}
}
