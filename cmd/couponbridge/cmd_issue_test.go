package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo/wootest"
)

// sandboxSetup is a wootest store on a loopback listener and a folder with
// a configuration pointing at it (outbox transport, ledger in the folder).
type sandboxSetup struct {
	store  *wootest.Store
	url    string
	dir    string
	config string
}

// sandboxConfigHead is the store, mail and ledger part of the test
// configurations (fmt arguments: store URL, key, secret).
const sandboxConfigHead = `store:
  url: %s
  consumer_key: %s
  consumer_secret: %s
  name: Test Shop
  currency: EUR
  rate: 500
  burst: 50
  timezone: Europe/Berlin
mail:
  transport: outbox
  outbox_dir: outbox
  from: {name: Test Shop, address: shop@example.com}
ledger:
  path: ledger.db
`

const sandboxConfigTemplate = sandboxConfigHead + `campaigns:
  welcome:
    codes: {prefix: "WELCOME-"}
    coupon:
      discount_type: percent
      amount: 10
      expiry: {days: 30}
    email:
      subject: "{{.FirstName}}, your code from {{.Fields.city}}"
      fields: [city]
  influencers:
    export_only: true
    codes: {prefix: "FRIEND-", length: 12, group_size: 4}
    coupon:
      discount_type: fixed_cart
      amount: 15
      expiry: {days: 60}
`

func newSandboxSetup(t *testing.T) *sandboxSetup {
	t.Helper()
	store := wootest.NewStore()
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "couponbridge.yaml")
	text := fmt.Sprintf(sandboxConfigTemplate, srv.URL, wootest.DefaultKey, wootest.DefaultSecret)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &sandboxSetup{store: store, url: srv.URL, dir: dir, config: cfg}
}

func (s *sandboxSetup) path(name string) string { return filepath.Join(s.dir, name) }

func (s *sandboxSetup) writeList(t *testing.T, name, text string) string {
	t.Helper()
	p := s.path(name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *sandboxSetup) run(t *testing.T, ctx context.Context, args ...string) cliResult {
	t.Helper()
	return runCLI(t, ctx, nil, append([]string{"--config", s.config}, args...)...)
}

const testList = `email,first_name,city
ann@example.com,Ann,Berlin
bob@example.com,Bob,Paris
not-an-email,Carl,Rome
cid@example.com,Cid,Oslo
ANN@example.com,Ann again,Berlin
`

// outboxMessages returns the .eml files of the outbox.
func outboxMessages(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func TestIssueEndToEndAgainstSandboxStoreAndOutbox(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)

	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "Campaign welcome: 3 emailed, 0 pending, 0 unconfirmed, 0 failed, 3 recipients in all.") {
		t.Errorf("summary:\n%v", r)
	}
	if !strings.Contains(r.stdout, "Rejected rows: 2, written to "+s.path("list.rejects.csv")) {
		t.Errorf("want the rejects reported, got:\n%v", r)
	}

	coupons := s.store.Coupons()
	if len(coupons) != 3 {
		t.Fatalf("want 3 coupons in the store, got %d", len(coupons))
	}
	codeOf := map[string]string{}
	for _, c := range coupons {
		if len(c.EmailRestrictions) != 1 || c.UsageLimit != 1 || c.UsageLimitPerUser != 1 || c.Meta[campaign.MetaCampaign] != "welcome" {
			t.Errorf("coupon %s is not a personalized one-time coupon: %+v", c.Code, c)
		}
		if !strings.HasPrefix(c.Code, "welcome-") {
			t.Errorf("code %q lacks the prefix", c.Code)
		}
		codeOf[c.EmailRestrictions[0]] = c.Code
	}
	msgs := outboxMessages(t, s.path("outbox"))
	if len(msgs) != 3 {
		t.Fatalf("want 3 emails in the outbox, got %d", len(msgs))
	}
	cities := map[string]string{"ann@example.com": "Berlin", "bob@example.com": "Paris", "cid@example.com": "Oslo"}
	for _, m := range msgs {
		found := 0
		for email, code := range codeOf {
			if strings.Contains(m, "To: "+email) || strings.Contains(m, "<"+email+">") {
				found++
				if !strings.Contains(strings.ToLower(m), code) {
					t.Errorf("the email to %s does not carry its code %s", email, code)
				}
				if !strings.Contains(m, cities[email]) {
					t.Errorf("the email to %s does not use its city field", email)
				}
			}
		}
		if found != 1 {
			t.Errorf("an email is addressed to %d known recipients:\n%s", found, m)
		}
	}
	rej, err := os.ReadFile(s.path("list.rejects.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := csv.NewReader(strings.NewReader(string(rej))).ReadAll(); len(rows) != 3 || rows[1][0] != "4" || rows[2][0] != "6" {
		t.Errorf("rejects file: want lines 4 and 6, got %q", rows)
	}

	// Running again issues nothing new and emails nobody twice.
	calls := s.store.CouponCreateCalls()
	r = s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "This run: 0 planned, 0 created") {
		t.Errorf("second run: want nothing planned, got:\n%v", r)
	}
	if s.store.CouponCreateCalls() != calls || len(s.store.Coupons()) != 3 || len(outboxMessages(t, s.path("outbox"))) != 3 {
		t.Errorf("second run created or emailed again: %d create calls (was %d), %d coupons", s.store.CouponCreateCalls(), calls, len(s.store.Coupons()))
	}

	// status reads the ledger.
	r = s.run(t, t.Context(), "status")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "welcome") || !strings.Contains(r.stdout, "emailed") {
		t.Errorf("status table:\n%v", r)
	}
	r = s.run(t, t.Context(), "status", "welcome", "--format", "json")
	wantCode(t, r, exitOK)
	var st []statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status json: %v\n%s", err, r.stdout)
	}
	if len(st) != 1 || st[0].Counts["emailed"] != 3 || st[0].Total != 3 || st[0].NeedsReview {
		t.Errorf("status json: got %+v", st)
	}

	// export writes a private CSV and refuses to overwrite it.
	out := s.path("codes.csv")
	r = s.run(t, t.Context(), "export", "welcome", "--out", out)
	wantCode(t, r, exitOK)
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("export file mode: want 0600, got %v", fi.Mode().Perm())
	}
	rows := readCSV(t, out)
	if len(rows) != 4 || strings.Join(rows[0], ",") != "email,first_name,code,coupon_id,expires_at,state" {
		t.Fatalf("export: got %q", rows)
	}
	for _, row := range rows[1:] {
		if codeOf[row[0]] != strings.ToLower(row[2]) && codeOf[row[0]] != row[2] {
			t.Errorf("export row %q: code does not match the store's %s", row, codeOf[row[0]])
		}
		if row[3] == "" || row[5] != "emailed" || !strings.HasSuffix(row[4], "T23:59:59+01:00") && !strings.HasSuffix(row[4], "T23:59:59+02:00") {
			t.Errorf("export row %q: want coupon id, end-of-day expiry in Europe/Berlin, state emailed", row)
		}
	}
	r = s.run(t, t.Context(), "export", "welcome", "--out", out)
	wantCode(t, r, exitError)
	if !strings.Contains(r.stderr, "exists: use --force") {
		t.Errorf("want a refusal to overwrite, got:\n%v", r)
	}
	r = s.run(t, t.Context(), "export", "welcome", "--out", out, "--force")
	wantCode(t, r, exitOK)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestIssueDryRunWritesNothingAnywhere(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list, "--dry-run")
	wantCode(t, r, exitOK)
	for _, w := range []string{"Dry run of campaign welcome", "5 rows read, 3 valid, 2 rejected", "3 to create",
		"Sample codes:", "WELCOME-", "line 4:", `"usage_limit": 1`, `"email_restrictions": [`, `"ann@example.com"`, "Estimated time:"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("want %q in the plan, got:\n%s", w, r.stdout)
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "couponbridge.yaml" && e.Name() != "list.csv" {
			t.Errorf("the dry run wrote %s", e.Name())
		}
	}
	if st := s.store.Stats(); st.Requests != 0 {
		t.Errorf("the dry run sent %d requests to the store", st.Requests)
	}
}

// TestIssueDryRunOnAnExistingLedgerWritesNothing: with a ledger from an
// earlier run, the dry run reads it (who already has a code) but adds no
// file (no lock file either) and changes no byte of it.
func TestIssueDryRunOnAnExistingLedgerWritesNothing(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)
	wantCode(t, s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list), exitOK)
	snapshot := func() map[string]string {
		out := map[string]string{}
		_ = filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				out[path] = string(b)
			}
			return nil
		})
		return out
	}
	before := snapshot()
	more := s.writeList(t, "more.csv", testList+"dan@example.com,Dan,Example\n")
	before[more] = testList + "dan@example.com,Dan,Example\n"
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", more, "--dry-run")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "1 to create (3 recipients already in the campaign)") {
		t.Errorf("want the plan to know the 3 issued recipients, got:\n%s", r.stdout)
	}
	after := snapshot()
	for path, content := range after {
		if old, ok := before[path]; !ok {
			t.Errorf("the dry run created %s", path)
		} else if old != content {
			t.Errorf("the dry run changed %s", path)
		}
	}
}

func TestIssueExportOnlyWarnsAndExportsCodesWithoutEmails(t *testing.T) {
	s := newSandboxSetup(t)
	r := s.run(t, t.Context(), "issue", "--campaign", "influencers", "--count", "3")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, `Warning: campaign "influencers" is export-only`) || !strings.Contains(r.stderr, "anyone who holds one can use it, once") {
		t.Errorf("want the plain warning, got:\n%v", r)
	}
	for _, c := range s.store.Coupons() {
		if len(c.EmailRestrictions) != 0 || c.UsageLimit != 1 {
			t.Errorf("export-only coupon %s: want no email restriction and usage limit 1, got %+v", c.Code, c)
		}
	}
	out := s.path("friends.csv")
	wantCode(t, s.run(t, t.Context(), "export", "influencers", "--out", out), exitOK)
	rows := readCSV(t, out)
	if len(rows) != 4 {
		t.Fatalf("want 3 codes, got %q", rows)
	}
	for _, row := range rows[1:] {
		if row[0] != "" || !strings.HasPrefix(strings.ToUpper(row[2]), "FRIEND-") || row[5] != "exported" {
			t.Errorf("export-only row: got %q", row)
		}
	}
	if _, err := os.Stat(s.path("outbox")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an export-only campaign must not touch the outbox: %v", err)
	}
}

func TestIssueStrictRefusesAListWithRejectsBeforeDoingAnything(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list, "--strict")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, list+":4: ") || !strings.Contains(r.stderr, "--strict: 2 rows of "+list+" rejected; nothing was done") {
		t.Errorf("got:\n%v", r)
	}
	if st := s.store.Stats(); st.Requests != 0 {
		t.Errorf("--strict sent %d requests", st.Requests)
	}
	if _, err := os.Stat(s.path("ledger.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--strict created the ledger: %v", err)
	}
}

func TestIssueListMissingATemplateColumnIsRefused(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", "email,first_name\nann@example.com,Ann\n")
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "the campaign's templates use the column(s) city") {
		t.Errorf("got:\n%v", r)
	}
}

func TestIssueInterruptedExits130AndTheNextRunFinishes(t *testing.T) {
	s := newSandboxSetup(t)
	var b strings.Builder
	b.WriteString("email,first_name,city\n")
	for i := range 40 {
		fmt.Fprintf(&b, "p%02d@example.com,P%d,Town\n", i, i)
	}
	list := s.writeList(t, "list.csv", b.String())
	s.store.SetFaults(wootest.Faults{Latency: 100 * time.Millisecond})
	// Batches of 5: the run is cancelled while batches are in flight.
	text, _ := os.ReadFile(s.config)
	os.WriteFile(s.config, []byte(strings.Replace(string(text), "  burst: 50\n", "  burst: 50\n  batch_size: 5\n  concurrency: 1\n", 1)), 0o600)

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for len(s.store.Coupons()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	r := s.run(t, ctx, "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitInterrupted)
	if !strings.Contains(r.stderr, "interrupted") {
		t.Errorf("want the interruption explained, got:\n%v", r)
	}
	if n := len(s.store.Coupons()); n == 0 || n == 40 {
		t.Logf("note: %d coupons existed when the run stopped", n)
	}

	s.store.SetFaults(wootest.Faults{})
	r = s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "40 emailed") {
		t.Errorf("the second run must finish:\n%v", r)
	}
	if n := len(s.store.Coupons()); n != 40 {
		t.Errorf("want 40 coupons, one per recipient, got %d", n)
	}
	if n := len(outboxMessages(t, s.path("outbox"))); n != 40 {
		t.Errorf("want 40 emails, got %d", n)
	}
}

// bouncingMail is a MailSender that refuses one address for good and
// accepts the others.
type bouncingMail struct{ bounce string }

func (m bouncingMail) Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	for _, msg := range msgs {
		if msg.To.Email == m.bounce {
			report(mailer.Result{Key: msg.Key, Status: mailer.PermFailure, Reply: "550 5.1.1 no such user"})
			continue
		}
		report(mailer.Result{Key: msg.Key, Status: mailer.Delivered, Reply: "250 ok"})
	}
	return nil
}

// TestStatusAndExportShowFailuresFromALedgerPreparedThroughTheCampaignAPI
// issues through campaign.Issuer with a mail server that bounces one
// recipient, then reads the ledger with the CLI alone (--ledger).
func TestStatusAndExportShowFailuresFromALedgerPreparedThroughTheCampaignAPI(t *testing.T) {
	s := newSandboxSetup(t)
	cfg, err := loadConfig(s.config, loadOptions{getenv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ledgerPath := s.path("prepared.db")
	ledger, err := campaign.OpenLedger(t.Context(), ledgerPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cfg.Store.newClient(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	camp, err := cfg.campaign("welcome", 0)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := campaign.NewIssuer(ledger, client.Coupons, bouncingMail{bounce: "bob@example.com"}, cfg.issueOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	rr, err := campaign.NewRecipientReader(strings.NewReader(testList), "list.csv")
	if err != nil {
		t.Fatal(err)
	}
	res, err := issuer.Run(t.Context(), camp, rr)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 {
		t.Fatalf("want 1 failed row, got %+v", res.Summary)
	}

	// Another process (here the campaign API) holds the ledger: status
	// reads a snapshot beside it rather than refusing.
	r := runCLI(t, t.Context(), nil, "status", "--ledger", ledgerPath)
	wantCode(t, r, exitFailures)
	if !strings.Contains(r.stdout, "bob@example.com") {
		t.Errorf("status beside a running process: want the failed row listed, got:\n%v", r)
	}
	ledger.Close()

	r = runCLI(t, t.Context(), nil, "status", "--ledger", ledgerPath)
	wantCode(t, r, exitFailures)
	for _, w := range []string{"welcome: failures by reason", "550 5.1.1 no such user", "bob@example.com", "welcome: failed rows", "1 recipient needs attention"} {
		if !strings.Contains(r.stdout+r.stderr, w) {
			t.Errorf("want %q in the status, got:\n%v", w, r)
		}
	}
	r = runCLI(t, t.Context(), nil, "status", "--ledger", ledgerPath, "--format", "json")
	wantCode(t, r, exitFailures)
	var st []statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || len(st[0].Failures) != 1 || st[0].Failures[0].Email != "bob@example.com" || st[0].Failures[0].Stage != "email" || !st[0].NeedsReview {
		t.Errorf("status json: got %+v", st)
	}

	out := s.path("out.csv")
	wantCode(t, runCLI(t, t.Context(), nil, "export", "welcome", "--ledger", ledgerPath, "--out", out), exitOK)
	states := map[string]string{}
	for _, row := range readCSV(t, out)[1:] {
		states[row[0]] = row[5]
	}
	if states["bob@example.com"] != "failed" || states["ann@example.com"] != "emailed" || len(states) != 3 {
		t.Errorf("export states: got %v", states)
	}
	r = runCLI(t, t.Context(), nil, "status", "nosuch", "--ledger", ledgerPath)
	wantCode(t, r, exitUsage)
}

func TestStatusWithoutLedgerSaysNothingWasIssued(t *testing.T) {
	s := newSandboxSetup(t)
	r := s.run(t, t.Context(), "status")
	wantCode(t, r, exitError)
	if !strings.Contains(r.stderr, "no ledger at "+s.path("ledger.db")) {
		t.Errorf("got:\n%v", r)
	}
	if _, err := os.Stat(s.path("ledger.db")); !errors.Is(err, os.ErrNotExist) {
		t.Error("status created a ledger")
	}
}

func TestExampleConfigRunsAgainstTheSandbox(t *testing.T) {
	s := newSandboxSetup(t)
	example, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.path("example.yaml")
	if err := os.WriteFile(cfg, example, 0o600); err != nil {
		t.Fatal(err)
	}
	list := s.writeList(t, "list.csv", "email,first_name\nann@example.com,Ann\n")
	r := runCLI(t, t.Context(), map[string]string{"COUPONBRIDGE_STORE_URL": s.url}, "--config", cfg, "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitOK)
	if len(outboxMessages(t, s.path("outbox"))) != 1 || len(s.store.Coupons()) != 1 {
		t.Errorf("the example did not issue and email one coupon:\n%v", r)
	}
}

func TestIssueOnATerminalDrawsBarsInsteadOfInfoLines(t *testing.T) {
	s := newSandboxSetup(t)
	list := s.writeList(t, "list.csv", testList)
	var out, errb strings.Builder
	env := &cliEnv{Stdout: &out, Stderr: &errb, Getenv: envMap(nil), IsTerminal: true}
	code := run(t.Context(), []string{"--config", s.config, "issue", "--campaign", "welcome", "--recipients", list}, env)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s\n%s", code, out.String(), errb.String())
	}
	stderr := errb.String()
	if strings.Contains(stderr, "level=INFO") {
		t.Errorf("info lines tear the bar on a terminal:\n%s", stderr)
	}
	for _, stage := range []string{"plan", "create", "verify", "email"} {
		if !strings.Contains(stderr, stage) {
			t.Errorf("no bar for stage %s:\n%s", stage, stderr)
		}
	}
	if !strings.Contains(stderr, "3/3") {
		t.Errorf("want the bars' counts, got:\n%s", stderr)
	}
}

func TestPipelineLoggerKeepsInfoLinesWhenAskedOrNotATerminal(t *testing.T) {
	cfg := &Config{Log: LogConfig{Level: "info", Format: "text"}}
	base, _ := newLogger(io.Discard, "info", "text")
	set := func(args ...string) *globalOptions {
		g := &globalOptions{}
		fs := newFlagSet("x")
		g.AddFlags(fs, envMap(nil))
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		g.flags = fs
		return g
	}
	tests := []struct {
		name     string
		terminal bool
		global   *globalOptions
		info     bool
	}{
		{"terminal", true, set(), false},
		{"terminal with --log-level info", true, set("--log-level", "info"), true},
		{"not a terminal", false, set(), true},
	}
	for _, tt := range tests {
		env := &cliEnv{Stderr: io.Discard, Logger: base, IsTerminal: tt.terminal, global: tt.global}
		if got := pipelineLogger(env, cfg).Enabled(t.Context(), slog.LevelInfo); got != tt.info {
			t.Errorf("%s: info enabled = %v, want %v", tt.name, got, tt.info)
		}
	}
}

// crashingMail hands every message over (Prepare) and then stops its
// caller's goroutine in the middle of Send, the way a killed process stops:
// nothing after it runs, no outcome is recorded.
type crashingMail struct{}

func (crashingMail) Send(ctx context.Context, msgs []mailer.Message, report func(mailer.Result)) error {
	for _, m := range msgs {
		if m.Prepare != nil {
			if err := m.Prepare(); err != nil {
				return err
			}
		}
	}
	runtime.Goexit()
	return nil
}

// TestStatusListsUnconfirmedRowsAfterACrashDuringSending: rows that were
// being handed to the mail server when the process died become
// unconfirmed on the next run, and status lists every one of them.
func TestStatusListsUnconfirmedRowsAfterACrashDuringSending(t *testing.T) {
	s := newSandboxSetup(t)
	cfg, err := loadConfig(s.config, loadOptions{getenv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := campaign.OpenLedger(t.Context(), cfg.Ledger.Path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cfg.Store.newClient(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	camp, err := cfg.campaign("welcome", 0)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := campaign.NewIssuer(ledger, client.Coupons, crashingMail{}, cfg.issueOptions(nil))
	if err != nil {
		t.Fatal(err)
	}
	rr, err := campaign.NewRecipientReader(strings.NewReader(testList), "list.csv")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		issuer.Run(t.Context(), camp, rr)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not stop in Send")
	}
	ledger.Close()

	// The next run finds the rows left in sending and marks them unconfirmed.
	list := s.writeList(t, "list.csv", testList)
	r := s.run(t, t.Context(), "issue", "--campaign", "welcome", "--recipients", list)
	wantCode(t, r, exitFailures)
	if !strings.Contains(r.stdout, "3 unconfirmed") || !strings.Contains(r.stderr, "3 recipients need attention") {
		t.Errorf("want the unconfirmed rows reported, got:\n%v", r)
	}
	if n := len(outboxMessages(t, s.path("outbox"))); n != 0 {
		t.Errorf("unconfirmed rows must not be resent automatically, got %d emails", n)
	}
	r = s.run(t, t.Context(), "status", "welcome")
	wantCode(t, r, exitFailures)
	if !strings.Contains(r.stdout, "welcome: unconfirmed") {
		t.Fatalf("want the unconfirmed section, got:\n%v", r)
	}
	for _, email := range []string{"ann@example.com", "bob@example.com", "cid@example.com"} {
		if !strings.Contains(r.stdout, email) {
			t.Errorf("unconfirmed row of %s is hidden:\n%s", email, r.stdout)
		}
	}
	r = s.run(t, t.Context(), "status", "welcome", "--format", "json")
	var st []statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || len(st[0].Unconfirmed) != 3 || st[0].Counts["unconfirmed"] != 3 {
		t.Errorf("status json: got %+v", st)
	}
}
