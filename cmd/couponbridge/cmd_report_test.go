package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReportTableFitsOneHundredColumnsWithTheStoreCurrencyBeforeAnyOrder(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test", "bob@shop.test")
	code, out, errOut := tc.run("report")
	if code != exitOK {
		t.Fatalf("report exit %d: %s", code, errOut)
	}
	for _, line := range strings.Split(out, "\n") {
		if utf8.RuneCountInString(line) > 100 {
			t.Errorf("line wider than 100 columns: %q", line)
		}
	}
	if !strings.Contains(out, "0.00 USD") || !strings.Contains(out, "welcome: never synced.") {
		t.Errorf("report does not show the store's currency (USD) before the first order, or the sync line:\n%s", out)
	}
	code, out, errOut = tc.run("report", "--wide")
	if code != exitOK || !strings.Contains(out, "LAST SYNC") || !strings.Contains(out, "USD") {
		t.Errorf("report --wide: exit %d, want every column:\n%s%s", code, out, errOut)
	}
	if code, _, _ := tc.run("report", "--wide", "--format", "csv"); code != exitUsage {
		t.Errorf("report --wide --format csv: exit %d, want %d", code, exitUsage)
	}
}
