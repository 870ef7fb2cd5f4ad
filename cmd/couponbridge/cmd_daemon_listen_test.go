package main

import (
	"strings"
	"testing"
)

// TestDaemonWarnsWhenWooCommerceCannotReachTheWebhookRoute: a webhook job
// with the daemon on a loopback port WordPress will not deliver to gets a
// warning that says what to do; the ports it delivers to, and
// configurations without a webhook job, get none.
func TestDaemonWarnsWhenWooCommerceCannotReachTheWebhookRoute(t *testing.T) {
	hook := map[string]*JobConfig{"hooked": {Source: SourceConfig{Type: sourceWebhook}}}
	csv := map[string]*JobConfig{"files": {Source: SourceConfig{Type: sourceCSV}}}
	for _, c := range []struct {
		listen string
		jobs   map[string]*JobConfig
		warn   bool
	}{
		{"127.0.0.1:9464", hook, true},
		{"localhost:9464", hook, true},
		{"[::1]:9464", hook, true},
		{"127.0.0.1:8080", hook, false},
		{"127.0.0.1:80", hook, false},
		{"192.0.2.10:443", hook, false},
		{"127.0.0.1:9464", csv, false},
	} {
		cfg := &Config{Jobs: c.jobs, Daemon: DaemonConfig{Listen: c.listen}}
		got := webhookListenProblem(cfg)
		if (got != "") != c.warn {
			t.Errorf("listen %s with %v: warning %q, want one: %v", c.listen, c.jobs, got, c.warn)
		}
		if c.warn && (!strings.Contains(got, "/couponbridge/webhooks") || !strings.Contains(got, "8080") || !strings.Contains(got, "hooked")) {
			t.Errorf("warning %q does not name the job, the ports and the way that works", got)
		}
	}
}
