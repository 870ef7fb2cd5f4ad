package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
)

// previewOptions are the flags of preview.
type previewOptions struct {
	Campaign  string
	Email     string
	FirstName string
	LastName  string
	Fields    []string
	HTMLFile  string
	EMLFile   string
}

// AddFlags registers the flags of preview.
func (o *previewOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Campaign, "campaign", "", "campaign `NAME` whose email to render (required)")
	fs.StringVar(&o.Email, "email", "ann@example.com", "sample recipient's email `ADDRESS`")
	fs.StringVar(&o.FirstName, "first-name", "Ann", "sample recipient's first `NAME`")
	fs.StringVar(&o.LastName, "last-name", "Example", "sample recipient's last `NAME`")
	fs.StringArrayVar(&o.Fields, "field", nil, "extra recipient column as `NAME=VALUE` (repeatable; unset fields show \"sample NAME\")")
	fs.StringVar(&o.HTMLFile, "html", "", "write the HTML part to `FILE` (default: couponbridge-preview-CAMPAIGN.html in the temporary folder)")
	fs.StringVar(&o.EMLFile, "eml", "", "also write the whole message, headers included, as an .eml `FILE` a mail client opens")
}

// previewCommand renders a campaign's email for one sample recipient.
func previewCommand() *command {
	var o previewOptions
	return &command{
		Name:    "preview",
		Summary: "Render a campaign's email for a sample recipient",
		Usage: `couponbridge preview --campaign NAME [--email ADDRESS] [--first-name NAME] [--field NAME=VALUE]... [--html FILE] [--eml FILE]

Renders the campaign's email exactly as issue would compose it, for one
sample recipient and a sample code of the campaign's shape (the code is not
created in the store). The subject and the plain-text part go to stdout; the
HTML part is written to a file to open in a browser. Nothing is contacted,
sent or recorded.

Example:
  couponbridge preview --campaign spring --first-name Zoë --field tier=gold --html spring.html`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			return runPreview(env, &o, args)
		},
	}
}

func runPreview(env *cliEnv, o *previewOptions, args []string) error {
	if len(args) > 0 {
		return usageErrorf("preview takes no arguments, got %q", args[0])
	}
	if o.Campaign == "" {
		return usageErrorf("--campaign is required")
	}
	fields := map[string]string{}
	for _, f := range o.Fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return usageErrorf("--field %q: want NAME=VALUE", f)
		}
		fields[k] = v
	}
	cfg, err := env.loadConfigFor(useStoreURL) // emails link to the shop
	if err != nil {
		return err
	}
	camp, err := cfg.campaign(o.Campaign, 0)
	if err != nil {
		return err
	}
	if camp.ExportOnly {
		return usageErrorf("campaign %q is export_only: it sends no email", o.Campaign)
	}
	cc, err := cfg.lookupCampaign(o.Campaign)
	if err != nil {
		return err
	}
	for k := range fields {
		if !slices.Contains(cc.Email.Fields, k) {
			return usageErrorf("--field %s: campaign %q does not list %q in email.fields (%s)", k, o.Campaign, k, strings.Join(cc.Email.Fields, ", "))
		}
	}
	for _, k := range cc.Email.Fields {
		if _, ok := fields[k]; !ok {
			fields[k] = "sample " + k
		}
	}
	gen, err := campaign.NewCodeGenerator(camp.Codes, nil)
	if err != nil {
		return err
	}
	code, err := gen.Next()
	if err != nil {
		return err
	}

	loc := cfg.Store.Location()
	now := time.Now()
	sample := campaign.Issue{
		Campaign:  camp.Name,
		Email:     o.Email,
		FirstName: o.FirstName,
		LastName:  o.LastName,
		Fields:    fields,
		Code:      code,
		IssuedAt:  now,
		ExpiresAt: camp.Coupon.ExpiresAt(now, loc),
	}
	msg, err := campaign.ComposeEmail(camp, sample, loc, now)
	if err != nil {
		return fmt.Errorf("rendering campaign %q: %w", o.Campaign, err)
	}
	msg.Key = "preview"
	subject, text, html := msg.Subject, msg.Text, msg.HTML
	raw, err := mailer.Build(msg) // the headers a real send would carry, checked the same way
	if err != nil {
		return fmt.Errorf("campaign %q: %w", o.Campaign, err)
	}

	htmlPath := o.HTMLFile
	if htmlPath == "" {
		htmlPath = filepath.Join(os.TempDir(), "couponbridge-preview-"+previewFileName(o.Campaign)+".html")
	}
	if err := os.WriteFile(htmlPath, []byte(html), 0o600); err != nil {
		return fmt.Errorf("writing the HTML part: %w", err)
	}
	if o.EMLFile != "" {
		if err := os.WriteFile(o.EMLFile, raw, 0o600); err != nil {
			return fmt.Errorf("writing the message: %w", err)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\n", previewAddress(msg.From))
	if msg.ReplyTo != nil {
		fmt.Fprintf(&b, "Reply-To: %s\n", previewAddress(*msg.ReplyTo))
	}
	fmt.Fprintf(&b, "To: %s\n", previewAddress(msg.To))
	fmt.Fprintf(&b, "Subject: %s\n", subject)
	fmt.Fprintf(&b, "Message-ID: %s\n\n", msg.MessageID)
	b.WriteString(text)
	if !strings.HasSuffix(text, "\n") {
		b.WriteString("\n")
	}
	if _, err := fmt.Fprint(env.Stdout, b.String()); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "sample code %s is not created in the store\nHTML part written to %s (open it in a browser)\n", code, htmlPath)
	if o.EMLFile != "" {
		fmt.Fprintf(env.Stderr, "whole message written to %s\n", o.EMLFile)
	}
	return nil
}

func previewAddress(a mailer.Address) string {
	if a.Name == "" {
		return a.Email
	}
	return fmt.Sprintf("%s <%s>", a.Name, a.Email)
}

// previewFileName keeps letters, digits, '-' and '_' of a campaign name.
func previewFileName(s string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
	if out == "" {
		return "campaign"
	}
	return out
}
