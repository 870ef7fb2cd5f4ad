package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

const jobsSandboxConfig = sandboxConfigHead + `daemon:
  listen: 127.0.0.1:0
  webhook_secret: whsec_cli
campaigns:
  welcome:
    codes: {prefix: "WELCOME-"}
    coupon: {discount_type: percent, amount: 10, expiry: {days: 30}}
jobs:
  welcome:
    campaign: welcome
    every: 1h
    source: {type: new_customers}
%s`

type jobsSandbox struct {
	store  *wootest.Store
	dir    string
	config string
	url    string
}

func newJobsSandbox(t *testing.T, extra string) *jobsSandbox {
	t.Helper()
	store := wootest.NewStore()
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	s := &jobsSandbox{store: store, dir: t.TempDir(), url: srv.URL}
	s.config = filepath.Join(s.dir, "couponbridge.yaml")
	s.write(t, extra)
	return s
}

func (s *jobsSandbox) write(t *testing.T, extra string) {
	t.Helper()
	text := fmt.Sprintf(jobsSandboxConfig, s.url, wootest.DefaultKey, wootest.DefaultSecret, extra)
	if err := os.WriteFile(s.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestRunJobIssuesNewCustomersOnceAndRecordsTheRun(t *testing.T) {
	s := newJobsSandbox(t, "")
	s.store.AddCustomer(wootest.SeedCustomer{Email: "nina@example.com", FirstName: "Nina", Registered: time.Now().Add(-time.Hour)})
	s.store.AddCustomer(wootest.SeedCustomer{Email: "old@example.com", Registered: time.Now().Add(-72 * time.Hour)})

	r := runCLI(t, t.Context(), nil, "--config", s.config, "run-job", "welcome")
	wantCode(t, r, exitOK)
	for _, want := range []string{"welcome (campaign welcome, source new_customers)", "outcome     success", "found       1", "planned     1", "issued      1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%v", want, r)
		}
	}
	if !strings.Contains(r.stderr, "job run") {
		t.Errorf("stderr lacks the run's summary log line:\n%v", r)
	}
	msgs := outboxMessages(t, filepath.Join(s.dir, "outbox"))
	if len(msgs) != 1 || !strings.Contains(msgs[0], "nina@example.com") {
		t.Fatalf("outbox = %d messages, want one to nina", len(msgs))
	}
	if n := len(s.store.Coupons()); n != 1 {
		t.Errorf("store coupons = %d, want 1", n)
	}

	r = runCLI(t, t.Context(), nil, "--config", s.config, "run-job", "welcome")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "planned     0") || len(outboxMessages(t, filepath.Join(s.dir, "outbox"))) != 1 {
		t.Errorf("second run issued again:\n%v", r)
	}
}

func TestRunJobUnknownJobIsAUsageError(t *testing.T) {
	s := newJobsSandbox(t, "")
	r := runCLI(t, t.Context(), nil, "--config", s.config, "run-job", "welcom")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, `unknown job "welcom": the configuration defines welcome`) {
		t.Errorf("stderr:\n%v", r)
	}
	wantCode(t, runCLI(t, t.Context(), nil, "--config", s.config, "run-job"), exitUsage)
}

// syncBuffer is a log sink safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDaemonCommandRunsJobsReloadsOnHUPAndStopsCleanly(t *testing.T) {
	s := newJobsSandbox(t, "")
	s.store.AddCustomer(wootest.SeedCustomer{Email: "nina@example.com", Registered: time.Now().Add(-time.Hour)})
	logs := &syncBuffer{}
	env := &cliEnv{Stdout: io.Discard, Stderr: logs, Getenv: envMap(nil),
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		global: &globalOptions{ConfigFile: s.config, LogLevel: "info", LogFormat: "text"}}
	reload := make(chan struct{})
	var mu sync.Mutex
	var d *campaign.Daemon
	o := &daemonOptions{reload: reload, started: func(dd *campaign.Daemon) { mu.Lock(); d = dd; mu.Unlock() }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, env, o, nil) }()

	outbox := filepath.Join(s.dir, "outbox")
	waitFor(t, "the welcome job's first run", func() bool { return len(outboxMessages(t, outbox)) == 1 })
	mu.Lock()
	h := d.Handler()
	mu.Unlock()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("/readyz = %d, want 200", rec.Code)
	}

	// An invalid configuration is rejected and the running one stays.
	if err := os.WriteFile(s.config, []byte("store: [not, a, mapping]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	waitFor(t, "the rejection in the log", func() bool { return strings.Contains(logs.String(), "configuration rejected; keeping the running one") })

	// A valid one with a webhook job takes effect: the route accepts deliveries.
	s.write(t, `  hook:
    campaign: welcome
    every: 1h
    source: {type: webhook}
`)
	reload <- struct{}{}
	waitFor(t, "the reload", func() bool { return strings.Contains(logs.String(), "configuration reloaded") })
	body := `{"id":7,"email":"hook@example.com","first_name":"Hoo"}`
	req := httptest.NewRequest(http.MethodPost, campaign.WebhookPath, strings.NewReader(body))
	req.Header.Set("X-WC-Webhook-Topic", "customer.created")
	req.Header.Set("X-WC-Webhook-Delivery-ID", "d-1")
	req.Header.Set("X-WC-Webhook-Signature", hmacBase64(body, "whsec_cli"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("webhook after reload = %d, want 200", rec.Code)
	}
	waitFor(t, "the webhook job's email", func() bool { return len(outboxMessages(t, outbox)) == 2 })

	cancel() // SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon = %v, want nil (exit 0)", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop")
	}
	if code := exitCode(ctx, nil); code != exitOK {
		t.Errorf("exit code after a signal stop = %d, want 0", code)
	}
	if !strings.Contains(logs.String(), "daemon stopped") {
		t.Errorf("log lacks the stop:\n%s", logs.String())
	}
}

func hmacBase64(body, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
