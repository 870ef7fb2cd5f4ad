package main

import (
	"strings"
	"testing"
	"time"
)

func TestUnclearHoldDefaultsToTwiceTheStoreTimeout(t *testing.T) {
	withTimeout := strings.Replace(baseConfig, "  consumer_secret: cs_test_secret_value\n",
		"  consumer_secret: cs_test_secret_value\n  timeout: 45s\n", 1)
	cfg := mustParse(t, t.TempDir(), withTimeout, nil)
	if got := cfg.issueOptions(nil).UnclearHold; got != 90*time.Second {
		t.Errorf("default unclear hold with a 45s timeout = %v; want 1m30s", got)
	}
	set := strings.Replace(withTimeout, "  timeout: 45s\n", "  timeout: 45s\n  unclear_hold: 5m\n", 1)
	cfg = mustParse(t, t.TempDir(), set, nil)
	if got := cfg.issueOptions(nil).UnclearHold; got != 5*time.Minute {
		t.Errorf("unclear_hold 5m gave %v", got)
	}
	bad := strings.Replace(withTimeout, "  timeout: 45s\n", "  timeout: 45s\n  unclear_hold: -1s\n", 1)
	if _, err := parseTest(t, t.TempDir(), bad, nil); err == nil || !strings.Contains(err.Error(), "couponbridge.yaml:6: store.unclear_hold: must be > 0") {
		t.Errorf("negative unclear_hold: err = %v; want it refused naming file, line and field", err)
	}
}
