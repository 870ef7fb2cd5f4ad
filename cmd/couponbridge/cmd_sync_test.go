package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/woo"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// trackingCLI is a sandbox store over plain HTTP (OAuth 1.0a, as a real
// store without TLS), a configuration file pointing at it, and a ledger
// with one campaign issued by the real pipeline.
type trackingCLI struct {
	t      *testing.T
	store  *wootest.Store
	client *woo.Client
	config string
	ledger string
	outbox string
}

func newTrackingCLI(t *testing.T) *trackingCLI {
	t.Helper()
	store := wootest.NewStore()
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	tc := &trackingCLI{t: t, store: store, config: filepath.Join(dir, "couponbridge.yaml"),
		ledger: filepath.Join(dir, "ledger.db"), outbox: filepath.Join(dir, "outbox")}
	cfg := fmt.Sprintf(`store:
  url: %s
  consumer_key: %s
  consumer_secret: %s
  rate: 1000
  burst: 100
mail:
  transport: outbox
  outbox_dir: %s
  from:
    name: Test Shop
    address: shop@shop.test
ledger:
  path: %s
campaigns:
  welcome:
    coupon:
      discount_type: fixed_cart
      amount: "5"
      expiry:
        days: 10
`, srv.URL, wootest.DefaultKey, wootest.DefaultSecret, tc.outbox, tc.ledger)
	if err := os.WriteFile(tc.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := woo.NewClient(srv.URL, woo.WithCredentials(wootest.DefaultKey, wootest.DefaultSecret),
		woo.WithAuthMode(woo.AuthOAuth1), woo.WithRateLimit(1000, 100))
	if err != nil {
		t.Fatal(err)
	}
	tc.client = client
	return tc
}

// issue runs `couponbridge issue` for the emails (campaign welcome, 5.00
// off, valid 10 days), writing to the configured ledger and outbox.
func (tc *trackingCLI) issue(emails ...string) {
	tc.t.Helper()
	list := filepath.Join(filepath.Dir(tc.config), "list.csv")
	if err := os.WriteFile(list, []byte("email\n"+strings.Join(emails, "\n")+"\n"), 0o600); err != nil {
		tc.t.Fatal(err)
	}
	if code, out, errOut := tc.run("issue", "--campaign", "welcome", "--recipients", list); code != exitOK {
		tc.t.Fatalf("issue exit %d:\n%s\n%s", code, out, errOut)
	}
}

// code returns the code issued to email.
func (tc *trackingCLI) code(email string) string {
	tc.t.Helper()
	l, err := campaign.OpenLedger(context.Background(), tc.ledger, nil)
	if err != nil {
		tc.t.Fatal(err)
	}
	defer l.Close()
	is, ok, err := l.Issue(context.Background(), "welcome", email)
	if err != nil || !ok {
		tc.t.Fatalf("no row for %s: %v", email, err)
	}
	return is.Code
}

// run runs one couponbridge command in-process with --config and returns
// its exit code, stdout and stderr.
func (tc *trackingCLI) run(args ...string) (int, string, string) {
	tc.t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cliEnv{Stdout: &stdout, Stderr: &stderr, Logger: slog.New(slog.DiscardHandler)}
	args = append(args, "--config", tc.config, "--log-level", "warn")
	if findCommand(commands(), args[0]) != nil {
		return run(context.Background(), args, env), stdout.String(), stderr.String()
	}
	return runTrackingCommand(env, args), stdout.String(), stderr.String()
}

// runTrackingCommand runs a tracking command the way run does, for as long
// as main.go does not list it yet.
func runTrackingCommand(env *cliEnv, args []string) int {
	ctx := context.Background()
	var cmd *command
	for _, c := range []*command{syncCommand(), reportCommand(), pruneCommand(), lookupCommand(), resendCommand()} {
		if c.Name == args[0] {
			cmd = c
		}
	}
	g := &globalOptions{}
	fs := newFlagSet("couponbridge " + cmd.Name)
	g.AddFlags(fs, func(string) string { return "" })
	cmd.Flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return reportError(ctx, env, cmd.Name, usageErrorf("%v", err))
	}
	g.flags, env.global = fs, g
	return reportError(ctx, env, cmd.Name, cmd.Run(ctx, env, fs.Args()))
}

func TestSyncAndReportCommandsGiveExactFigures(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test", "bob@shop.test", "cat@shop.test", "dan@shop.test")
	for _, o := range []struct {
		email, subtotal, status string
	}{{"ann@shop.test", "50.00", "processing"}, {"bob@shop.test", "30.00", "completed"}, {"cat@shop.test", "40.00", "processing"}} {
		id, err := tc.store.AddOrder(wootest.SeedOrder{Email: o.email, Subtotal: o.subtotal, Status: o.status, Coupons: []string{tc.code(o.email)}})
		if err != nil {
			t.Fatal(err)
		}
		if o.email == "cat@shop.test" {
			if err := tc.store.SetOrderStatus(id, "cancelled"); err != nil {
				t.Fatal(err)
			}
		}
	}
	code, out, errOut := tc.run("sync")
	if code != exitOK || !strings.Contains(out, "welcome") {
		t.Fatalf("sync exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, errOut = tc.run("report", "--format", "json")
	if code != exitOK {
		t.Fatalf("report exit %d: %s", code, errOut)
	}
	var rep campaign.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, out)
	}
	if len(rep.Campaigns) != 1 {
		t.Fatalf("campaigns %d, want 1", len(rep.Campaigns))
	}
	c := rep.Campaigns[0]
	// ann 50-5, bob 30-5; cat's order was cancelled.
	if c.Issued != 4 || c.Emailed != 4 || c.Redeemed != 2 || c.RedemptionRate != 0.5 || c.Orders != 2 ||
		c.Revenue.String() != "70.00" || c.DiscountCost.String() != "10.00" {
		t.Errorf("report: issued %d emailed %d redeemed %d rate %v orders %d revenue %s discount %s; want 4 4 2 0.5 2 70.00 10.00",
			c.Issued, c.Emailed, c.Redeemed, c.RedemptionRate, c.Orders, c.Revenue, c.DiscountCost)
	}

	page := filepath.Join(t.TempDir(), "report.html")
	if code, _, errOut = tc.run("report", "welcome", "--format", "html", "--out", page); code != exitOK {
		t.Fatalf("html report exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("70.00")) {
		t.Errorf("html report lacks the doctype, the chart or the revenue")
	}
	if fi, err := os.Stat(page); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("report file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if code, _, _ := tc.run("report", "nope"); code != exitUsage {
		t.Errorf("report of an unknown campaign: exit %d, want %d", code, exitUsage)
	}
	if code, _, _ := tc.run("report", "--format", "xml"); code != exitUsage {
		t.Errorf("report --format xml: exit %d, want %d", code, exitUsage)
	}
}

func TestLookupCommandShowsOwnerAndLiveState(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test")
	codeAnn := tc.code("ann@shop.test")
	code, out, errOut := tc.run("lookup", strings.ToLower(codeAnn), "--format", "json")
	if code != exitOK {
		t.Fatalf("lookup exit %d: %s", code, errOut)
	}
	var got lookupJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !got.InLedger || got.Ledger.Campaign != "welcome" || got.Ledger.Recipient != "ann@shop.test" ||
		!got.InStore || got.Store.State != "active" || !got.CreatedBy {
		t.Errorf("lookup: %s", out)
	}
	code, out, _ = tc.run("lookup", codeAnn)
	if code != exitOK || !strings.Contains(out, "ann@shop.test") || !strings.Contains(out, "active") {
		t.Errorf("lookup table (exit %d):\n%s", code, out)
	}
	if code, _, _ := tc.run("lookup", "NOT-A-CODE"); code != exitError {
		t.Errorf("lookup of an unknown code: exit %d, want %d", code, exitError)
	}
	if code, _, _ := tc.run("lookup"); code != exitUsage {
		t.Errorf("lookup without a code: exit %d, want %d", code, exitUsage)
	}
}

func TestPruneCommandListsThenDeletes(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test", "bob@shop.test")
	// Expire both coupons in the store long ago; ann's was used before.
	if _, err := tc.store.AddOrder(wootest.SeedOrder{Email: "ann@shop.test", Status: "completed", Coupons: []string{tc.code("ann@shop.test")}}); err != nil {
		t.Fatal(err)
	}
	past := woo.NewTime(time.Now().AddDate(0, 0, -40))
	for _, c := range tc.store.Coupons() {
		if _, err := tc.client.Coupons.Update(context.Background(), c.ID, &woo.CouponPatch{DateExpires: past}); err != nil {
			t.Fatal(err)
		}
	}
	// The ledger learns the moved expiry from sync.
	if code, _, errOut := tc.run("sync"); code != exitOK {
		t.Fatalf("sync exit %d: %s", code, errOut)
	}
	code, out, errOut := tc.run("prune")
	// ann's coupon was seen used by sync: not even a candidate.
	if code != exitOK || !strings.Contains(out, "Would delete 1 coupons") || !strings.Contains(out, "bob@shop.test") || strings.Contains(out, "ann@shop.test") {
		t.Fatalf("prune dry run exit %d:\n%s\n%s", code, out, errOut)
	}
	if n := len(tc.store.Coupons()); n != 2 {
		t.Fatalf("dry run left %d coupons, want 2", n)
	}
	code, out, errOut = tc.run("prune", "welcome", "--apply", "--grace-days", "7")
	if code != exitOK || !strings.Contains(out, "Deleted 1 coupons") {
		t.Fatalf("prune --apply exit %d:\n%s\n%s", code, out, errOut)
	}
	left := tc.store.Coupons()
	if len(left) != 1 || !strings.EqualFold(left[0].Code, tc.code("ann@shop.test")) {
		t.Errorf("left in the store: %+v; want only ann's used coupon", left)
	}
	if code, _, _ := tc.run("prune", "--grace-days", "-1"); code != exitUsage {
		t.Errorf("negative grace: exit %d, want %d", code, exitUsage)
	}
}

func TestSyncCommandFlagsCouponsChangedByHand(t *testing.T) {
	tc := newTrackingCLI(t)
	tc.issue("ann@shop.test", "bob@shop.test")
	var annID int64
	for _, c := range tc.store.Coupons() {
		if strings.EqualFold(c.Code, tc.code("ann@shop.test")) {
			annID = c.ID
		}
	}
	fifty, zero := "50", 0
	if _, err := tc.client.Coupons.Update(context.Background(), annID, &woo.CouponPatch{Amount: &fifty, UsageLimit: &zero}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := tc.run("sync", "welcome", "--format", "json")
	if code != exitOK {
		t.Fatalf("sync exit %d: %s", code, errOut)
	}
	var got []syncJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Changed != 1 || len(got[0].Flagged) != 1 || got[0].Flagged[0].Email != "ann@shop.test" ||
		got[0].Flagged[0].Changes != "amount 5.00 → 50.00; usage_limit 1 → unlimited" {
		t.Errorf("sync: %s", out)
	}
	code, out, _ = tc.run("sync")
	if code != exitOK || !strings.Contains(out, "amount 5.00 → 50.00") {
		t.Errorf("sync table (exit %d) does not list the change:\n%s", code, out)
	}
}
