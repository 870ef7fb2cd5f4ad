package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

func outboxFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestResendCommandDeliversTheSameCodeAndMessageID(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test", "bob@shop.test")
	for _, f := range outboxFiles(t, tc.outbox) {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	coupons := len(tc.store.Coupons())
	code, out, errOut := tc.run("resend", "--campaign", "welcome", "--email", "Ann@Shop.test")
	if code != exitOK {
		t.Fatalf("resend exit %d: %s %s", code, out, errOut)
	}
	files := outboxFiles(t, tc.outbox)
	if len(files) != 1 {
		t.Fatalf("outbox has %d messages, want 1", len(files))
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	msg := string(b)
	wantID := mailer.MessageID("welcome", "ann@shop.test", "shop.test")
	if !strings.Contains(msg, "Message-ID: "+wantID) || !strings.Contains(msg, tc.code("ann@shop.test")) || !strings.Contains(out, wantID) {
		t.Errorf("resent message lacks Message-ID %s or code %s:\n%s", wantID, tc.code("ann@shop.test"), msg)
	}
	if len(tc.store.Coupons()) != coupons {
		t.Error("resend created a coupon")
	}
	// Redeemed: refused (exit 2) unless --force.
	if _, err := tc.store.AddOrder(wootest.SeedOrder{Email: "bob@shop.test", Status: "completed", Coupons: []string{tc.code("bob@shop.test")}}); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := tc.run("resend", "--campaign", "welcome", "--email", "bob@shop.test"); code != exitUsage || !strings.Contains(errOut, "--force") {
		t.Errorf("resend of a redeemed code: exit %d (%s), want %d naming --force", code, errOut, exitUsage)
	}
	if code, out, errOut := tc.run("resend", "--campaign", "welcome", "--email", "bob@shop.test", "--force"); code != exitOK || !strings.Contains(out, "forced") {
		t.Errorf("forced resend: exit %d %s %s", code, out, errOut)
	}
	if code, _, _ := tc.run("resend", "--campaign", "welcome"); code != exitUsage {
		t.Errorf("resend without --email: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := tc.run("resend", "--campaign", "welcome", "--email", "nobody@shop.test"); code != exitUsage {
		t.Errorf("resend to an unknown recipient: exit %d, want %d", code, exitUsage)
	}
}
