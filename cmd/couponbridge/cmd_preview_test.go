package main

import (
	"bytes"
	"context"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const previewConfig = `store:
  url: https://shop.example.com
  consumer_key: ck_test
  consumer_secret: cs_test_secret_value
  name: Example Shop
  currency: EUR
  timezone: Europe/Berlin
mail:
  from:
    name: Example Shop
    address: shop@example.com
campaigns:
  spring:
    codes:
      prefix: SPRING-
      pattern: XXXXX-XXXXX
    coupon:
      discount_type: fixed_cart
      amount: 5
      expiry:
        date: 2027-03-31
    email:
      fields: [tier]
      apply_url: https://shop.example.com/?coupon={code}
      subject: "{{.FirstName}}, your {{.Amount}} ({{.Fields.tier}})"
`

// runPreviewCmd runs the preview command in-process with args and returns
// stdout, stderr and the error.
func runPreviewCmd(t *testing.T, config string, args ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "couponbridge.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := previewCommand()
	fs := newFlagSet("preview")
	cmd.Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	env := &cliEnv{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" },
		global: &globalOptions{ConfigFile: path}}
	err := cmd.Run(context.Background(), env, fs.Args())
	return stdout.String(), stderr.String(), err
}

func TestPreviewPrintsTextAndWritesHTMLAndEML(t *testing.T) {
	dir := t.TempDir()
	htmlPath, emlPath := filepath.Join(dir, "p.html"), filepath.Join(dir, "p.eml")
	stdout, stderr, err := runPreviewCmd(t, previewConfig, "--campaign", "spring", "--first-name", "Zoë",
		"--field", "tier=gold", "--html", htmlPath, "--eml", emlPath)
	if err != nil {
		t.Fatalf("preview: %v\n%s", err, stderr)
	}
	code := regexp.MustCompile(`SPRING-[2-9A-Z]{5}-[2-9A-Z]{5}`).FindString(stdout)
	if code == "" {
		t.Fatalf("stdout has no code of the campaign's shape:\n%s", stdout)
	}
	for _, want := range []string{"Subject: Zoë, your €5.00 (gold)", "To: Zoë Example <ann@example.com>",
		"From: Example Shop <shop@example.com>", "Valid until 31 March 2027", "https://shop.example.com/?coupon=" + code} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	html, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), code) || !strings.Contains(string(html), "<html") {
		t.Errorf("HTML file lacks the code %s or is not HTML", code)
	}
	raw, err := os.ReadFile(emlPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf(".eml does not parse: %v", err)
	}
	if to, _ := m.Header.AddressList("To"); len(to) != 1 || to[0].Address != "ann@example.com" || to[0].Name != "Zoë Example" {
		t.Errorf(".eml To = %v, want Zoë Example <ann@example.com>", to)
	}
	if !strings.Contains(stderr, "not created in the store") || !strings.Contains(stderr, htmlPath) {
		t.Errorf("stderr does not say the code is a sample and where the HTML is:\n%s", stderr)
	}
}

func TestPreviewRejectsUnknownCampaignAndField(t *testing.T) {
	if _, _, err := runPreviewCmd(t, previewConfig, "--campaign", "autumn"); err == nil || !strings.Contains(err.Error(), "spring") {
		t.Errorf("unknown campaign: error %v, want one listing spring", err)
	}
	if _, _, err := runPreviewCmd(t, previewConfig, "--campaign", "spring", "--field", "city=Berlin"); err == nil || !strings.Contains(err.Error(), "email.fields") {
		t.Errorf("unknown field: error %v, want one naming email.fields", err)
	}
	if _, _, err := runPreviewCmd(t, previewConfig); err == nil || !strings.Contains(err.Error(), "--campaign") {
		t.Errorf("no campaign: error %v, want --campaign is required", err)
	}
}
