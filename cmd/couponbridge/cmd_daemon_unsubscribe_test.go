package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// TestDaemonServesTheOneClickLinkOfItsOwnEmails follows a link from the
// email a job sent to the daemon's route and into the suppression list.
func TestDaemonServesTheOneClickLinkOfItsOwnEmails(t *testing.T) {
	s := newJobsSandbox(t, "")
	text, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(text), "  webhook_secret: whsec_cli\n",
		"  webhook_secret: whsec_cli\n  public_url: https://shop.example.com/couponbridge\n  unsubscribe_secret: a-secret-of-more-than-16-bytes\n", 1)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s.store.AddCustomer(wootest.SeedCustomer{Email: "nina@example.com", Registered: time.Now().Add(-time.Hour)})
	logs := &syncBuffer{}
	env := &cliEnv{Stdout: io.Discard, Stderr: logs, Getenv: envMap(nil),
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		global: &globalOptions{ConfigFile: s.config, LogLevel: "info", LogFormat: "text"}}
	var mu sync.Mutex
	var d *campaign.Daemon
	o := &daemonOptions{started: func(dd *campaign.Daemon) { mu.Lock(); d = dd; mu.Unlock() }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, env, o, nil) }()

	outbox := filepath.Join(s.dir, "outbox")
	waitFor(t, "the welcome job's email", func() bool { return len(outboxMessages(t, outbox)) == 1 })
	msg := strings.ReplaceAll(strings.ReplaceAll(outboxMessages(t, outbox)[0], "\r\n", "\n"), "\n ", " ")
	m := regexp.MustCompile(`List-Unsubscribe: <(https://[^>]+)>`).FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("the email has no https List-Unsubscribe:\n%s", msg)
	}
	link, err := url.Parse(m[1])
	if err != nil || link.Path != "/couponbridge/unsubscribe" {
		t.Fatalf("link %q: %v", m[1], err)
	}
	mu.Lock()
	h := d.Handler()
	mu.Unlock()
	req := httptest.NewRequest(http.MethodPost, campaign.UnsubscribePath+"?"+link.RawQuery, strings.NewReader("List-Unsubscribe=One-Click"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req) // as the shop's web server passes it on
	if rec.Code != http.StatusOK {
		t.Fatalf("one-click POST = %d, want 200", rec.Code)
	}
	if !strings.Contains(logs.String(), "msg=unsubscribed") || !strings.Contains(logs.String(), "n***@example.com") {
		t.Errorf("want an INFO line with the masked address:\n%s", logs.String())
	}
	// list reads the ledger beside the running daemon.
	r := runCLI(t, t.Context(), nil, "--config", s.config, "suppress", "list")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "nina@example.com") || !strings.Contains(r.stdout, "unsubscribe") {
		t.Errorf("suppress list:\n%v", r)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("daemon = %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not stop")
	}
}
