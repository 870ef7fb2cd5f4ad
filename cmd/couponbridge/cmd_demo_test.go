package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/couponbridge/couponbridge/woo/wootest"
)

// demoStoreCoupons loads the sandbox data the demo leaves behind and
// returns, per email restriction, how many published coupons it holds.
func demoStoreCoupons(t *testing.T, dir string) map[string]int {
	t.Helper()
	store := wootest.NewStore(wootest.WithDataFile(filepath.Join(dir, "store.json")))
	if err := store.LoadError(); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, c := range store.Coupons() {
		if c.Status == "publish" && len(c.EmailRestrictions) == 1 {
			out[c.EmailRestrictions[0]]++
		}
	}
	return out
}

// TestDemoIssuesTheBundledListOnceEvenWithFaults: the newcomer's command
// issues one coupon and one email per valid row of the bundled list
// (497 of 500: three rows are broken on purpose), a rerun creates nothing,
// and a run against a misbehaving store (--faults) ends the same way.
func TestDemoIssuesTheBundledListOnceEvenWithFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo three times")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	check := func(r cliResult) {
		t.Helper()
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stdout, "497 emailed, 0 pending, 0 unconfirmed, 0 failed, 497 recipients in all") ||
			!strings.Contains(r.stdout, "Rejected rows: 3") {
			t.Fatalf("want 497 emailed and 3 rejected rows, got:\n%v", r)
		}
		byEmail := demoStoreCoupons(t, dir)
		if len(byEmail) != 497 {
			t.Errorf("the sandbox holds coupons for %d emails, want 497", len(byEmail))
		}
		for email, n := range byEmail {
			if n != 1 {
				t.Errorf("%s has %d coupons, want 1", email, n)
			}
		}
		emls, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
		if len(emls) != 497 {
			t.Errorf("outbox holds %d emails, want 497", len(emls))
		}
	}

	check(runCLI(t, t.Context(), nil, "demo", "--dir", dir))
	r := runCLI(t, t.Context(), nil, "demo", "--dir", dir)
	check(r)
	if !strings.Contains(r.stdout, "This run: 0 planned, 0 created") {
		t.Errorf("the rerun created something:\n%v", r)
	}
	check(runCLI(t, t.Context(), nil, "demo", "--dir", dir, "--reset", "--faults"))
}
