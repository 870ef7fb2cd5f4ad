package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/campaign"
)

// daemonEnvConfig takes every secret from the daemon's environment, and its
// webhook job requires the webhook secret.
const daemonEnvConfig = `store:
  url: https://shop.example.com
  consumer_key: ck_test
  consumer_secret: ${COUPONBRIDGE_STORE_SECRET}
  currency: EUR
  timezone: Europe/Berlin
mail:
  transport: smtp
  smtp:
    host: smtp.example.com
    username: shop
    password: ${COUPONBRIDGE_SMTP_PASSWORD}
  from: {address: shop@example.com}
ledger:
  path: ledger.db
daemon:
  webhook_secret: ${COUPONBRIDGE_WEBHOOK_SECRET}
campaigns:
  welcome:
    coupon:
      discount_type: percent
      amount: 10
      expiry: {days: 30}
jobs:
  hook:
    campaign: welcome
    every: 1h
    source: {type: webhook}
`

func TestReadOnlyCommandsRunWithoutTheDaemonsSecrets(t *testing.T) {
	cfg := writeConfig(t, daemonEnvConfig)
	l, err := campaign.OpenLedger(t.Context(), filepath.Join(filepath.Dir(cfg), "ledger.db"), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	for _, cmd := range []string{"status", "report"} {
		r := runCLI(t, t.Context(), nil, cmd, "--config", cfg)
		if r.code != exitOK {
			t.Errorf("%s with no secret in the environment: want exit 0, got:\n%v", cmd, r)
		}
	}
	// The ledger has no campaign yet: export gets as far as saying so.
	r := runCLI(t, t.Context(), nil, "export", "welcome", "--out", filepath.Join(t.TempDir(), "w.csv"), "--config", cfg)
	if !strings.Contains(r.stderr, `campaign "welcome" is not in the ledger`) {
		t.Errorf("export with no secret in the environment: want it to read the ledger, got:\n%v", r)
	}
}

func TestCommandsStillRefuseASecretTheyUse(t *testing.T) {
	cfg := writeConfig(t, daemonEnvConfig)
	r := runCLI(t, t.Context(), nil, "check-config", "--config", cfg)
	wantCode(t, r, exitUsage)
	for _, want := range []string{"COUPONBRIDGE_WEBHOOK_SECRET", "COUPONBRIDGE_SMTP_PASSWORD", "COUPONBRIDGE_STORE_SECRET"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("check-config checks every secret: want %s named, got:\n%v", want, r)
		}
	}
	// sync talks to the store only: the store secret is named, the others not.
	r = runCLI(t, t.Context(), nil, "sync", "--config", cfg)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "COUPONBRIDGE_STORE_SECRET") || strings.Contains(r.stderr, "WEBHOOK") || strings.Contains(r.stderr, "SMTP_PASSWORD") {
		t.Errorf("sync: want only the store secret refused, got:\n%v", r)
	}
}

// readmeEnvConfig is the README's way: the store's address, key and secret
// and the SMTP password come from COUPONBRIDGE_* variables, not the file.
const readmeEnvConfig = `store:
  currency: EUR
  timezone: Europe/Berlin
mail:
  transport: smtp
  smtp: {host: smtp.example.com, username: shop}
  from: {address: shop@example.com}
ledger:
  path: ledger.db
campaigns:
  welcome:
    coupon:
      discount_type: percent
      amount: 10
      expiry: {days: 30}
`

func TestStatusNeedsNoStoreAddressOrKeyFromTheEnvironment(t *testing.T) {
	cfg := writeConfig(t, readmeEnvConfig)
	l, err := campaign.OpenLedger(t.Context(), filepath.Join(filepath.Dir(cfg), "ledger.db"), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	r := runCLI(t, t.Context(), nil, "status", "--config", cfg)
	wantCode(t, r, exitOK)
	// preview links to the shop: it needs the address, not the key.
	r = runCLI(t, t.Context(), nil, "preview", "--campaign", "welcome", "--config", cfg)
	if !strings.Contains(r.stderr, "store.url") || strings.Contains(r.stderr, "consumer_key") || strings.Contains(r.stderr, "password") {
		t.Errorf("preview: want only store.url required, got:\n%v", r)
	}
	r = runCLI(t, t.Context(), map[string]string{"COUPONBRIDGE_STORE_URL": "https://shop.example.com"}, "preview", "--campaign", "welcome", "--config", cfg)
	wantCode(t, r, exitOK)
	// sync talks to the store: all three are required.
	r = runCLI(t, t.Context(), nil, "sync", "--config", cfg)
	for _, want := range []string{"store.url", "store.consumer_key", "store.consumer_secret"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("sync: want %s required, got:\n%v", want, r)
		}
	}
}
