package campaign

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func openIssLedger(t *testing.T) *Ledger {
	t.Helper()
	l, err := OpenLedger(t.Context(), filepath.Join(t.TempDir(), "ledger.db"), nil)
	if err != nil {
		t.Fatalf("OpenLedger: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestOpenLedgerSetsPragmasOnEveryConnectionOfBothPools(t *testing.T) {
	l := openIssLedger(t)
	ctx := t.Context()
	// Hold several connections at once so that pooled ones are checked too.
	var conns []interface{ Close() error }
	for i := 0; i < 6; i++ {
		db, wantSync := l.db, 2 // FULL: writes before an effect outside
		if i >= 3 {
			db, wantSync = l.relaxed, 1 // NORMAL: writes recording an outcome
		}
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var mode string
		var fk, sync, busy int
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || sync != wantSync || busy != int(busyTimeout.Milliseconds()) {
			t.Errorf("conn %d: journal_mode=%s foreign_keys=%d synchronous=%d busy_timeout=%d; want wal 1 %d %d",
				i, mode, fk, sync, busy, wantSync, busyTimeout.Milliseconds())
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenLedgerCreatesOwnerOnlyFileAndFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "ledger.db")
	l, err := OpenLedger(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, name := range []string{path, path + "-wal"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want 0600", filepath.Base(name), fi.Mode().Perm())
		}
	}
}

func TestOpenLedgerTwiceAppliesMigrationsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ctx := t.Context()
	for i := 0; i < 3; i++ {
		l, err := OpenLedger(ctx, path, nil)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n, v int
		if err := l.db.QueryRowContext(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &v); err != nil {
			t.Fatal(err)
		}
		ms, _ := loadMigrations(migrationFiles)
		if n != len(ms) || v != ms[len(ms)-1].version {
			t.Fatalf("open %d: schema_migrations has %d rows up to version %d; want %d up to %d", i, n, v, len(ms), ms[len(ms)-1].version)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// ledgerTestMigrations is the embedded set plus a later migration of the kind
// issue 6 will add (a new state and a column), to pin that the mechanism
// applies new files once, in order, on an existing ledger with data.
func ledgerTestMigrations(t *testing.T, extra map[string]string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	names, _ := fs.Glob(migrationFiles, "migrations/*.sql")
	for _, n := range names {
		b, _ := fs.ReadFile(migrationFiles, n)
		m[n] = &fstest.MapFile{Data: b}
	}
	for n, body := range extra {
		m["migrations/"+n] = &fstest.MapFile{Data: []byte(body)}
	}
	return m
}

func TestLaterMigrationAppliesOnceOnExistingLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ctx := t.Context()
	l, err := OpenLedger(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	issEnsure(t, l, "c1")
	issPlan(t, l, "c1", 3)
	l.Close()

	fsys := ledgerTestMigrations(t, map[string]string{
		"9999_later.sql": `INSERT INTO issue_states (name, description) VALUES ('later', 'a state added later');
			ALTER TABLE issues ADD COLUMN later_at TEXT;`,
	})
	for i := 0; i < 2; i++ {
		lock, err := acquireProcessLock(path + ".lock")
		if err != nil {
			t.Fatal(err)
		}
		l, err := openLedgerDB(ctx, path, lock, slog.New(slog.DiscardHandler), fsys)
		if err != nil {
			t.Fatalf("open %d with migration 9999: %v", i, err)
		}
		v, _ := l.SchemaVersion(ctx)
		if v != 9999 {
			t.Fatalf("schema version = %d; want 9999", v)
		}
		// The new state is usable by a row planned before the migration.
		if _, err := l.db.ExecContext(ctx, `UPDATE issues SET state = 'later', later_at = 'x' WHERE id = 1`); err != nil {
			t.Fatalf("new state after migration: %v", err)
		}
		l.Close()
		lock.release()
	}
	l, err = OpenLedger(ctx, path, nil) // embedded set only: ledger at 9999
	if !errors.Is(err, ErrLedgerTooNew) {
		t.Fatalf("older build opening a newer ledger: err = %v; want ErrLedgerTooNew", err)
	}
	if l != nil {
		l.Close()
	}
}

func TestIssueStateIsCheckedByForeignKey(t *testing.T) {
	l := openIssLedger(t)
	issEnsure(t, l, "c1")
	issPlan(t, l, "c1", 1)
	_, err := l.db.ExecContext(t.Context(), `UPDATE issues SET state = 'bogus'`)
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("setting an unknown state: err = %v; want a FOREIGN KEY constraint failure", err)
	}
}

func TestSecondOpenLedgerFailsWithErrLedgerLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ctx := t.Context()
	l, err := OpenLedger(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenLedger(ctx, path, nil)
	if !errors.Is(err, ErrLedgerLocked) {
		t.Fatalf("second OpenLedger: err = %v; want ErrLedgerLocked", err)
	}
	for _, want := range []string{"another couponbridge process", "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l2, err := OpenLedger(ctx, path, nil)
	if err != nil {
		t.Fatalf("OpenLedger after Close: %v", err)
	}
	l2.Close()
}

func issEnsure(t *testing.T, l *Ledger, name string) {
	t.Helper()
	if err := l.ensureCampaign(t.Context(), name, "fp", false); err != nil {
		t.Fatal(err)
	}
}

func issPlan(t *testing.T, l *Ledger, campaign string, n int) []Issue {
	t.Helper()
	rows := make([]plannedIssue, n)
	for i := range rows {
		rows[i] = plannedIssue{Email: fmt.Sprintf("r%d@example.com", i), FirstName: "R", Code: fmt.Sprintf("%s-CODE-%d", campaign, i),
			SourceLine: i + 2, Fields: map[string]string{"tier": "gold"}}
	}
	if _, err := l.planIssues(t.Context(), campaign, rows, func() (string, error) { return "", errors.New("no") }); err != nil {
		t.Fatal(err)
	}
	got, err := l.nextIssues(t.Context(), campaign, StatePlanned, 0, n+10)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestPlanIssuesSkipsKnownRecipientsAndReplacesTakenCodes(t *testing.T) {
	l := openIssLedger(t)
	ctx := t.Context()
	issEnsure(t, l, "c1")
	first := issPlan(t, l, "c1", 3)
	if len(first) != 3 {
		t.Fatalf("planned %d rows; want 3", len(first))
	}
	if first[0].Fields["tier"] != "gold" || first[0].SourceLine != 2 || first[0].PlannedAt.IsZero() {
		t.Errorf("row read back = %+v; want fields, line and planned_at kept", first[0])
	}
	fresh := 0
	newCode := func() (string, error) { fresh++; return fmt.Sprintf("FRESH-%d", fresh), nil }
	n, err := l.planIssues(ctx, "c1", []plannedIssue{
		{Email: "r0@example.com", Code: "OTHER-1"},    // known recipient: skipped, keeps its code
		{Email: "new@example.com", Code: "c1-code-1"}, // code of r1 in another letter case: replaced
	}, newCode)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || fresh != 1 {
		t.Fatalf("inserted %d with %d fresh codes; want 1 and 1", n, fresh)
	}
	r0, _, _ := l.Issue(ctx, "c1", "r0@example.com")
	if r0.Code != "c1-CODE-0" {
		t.Errorf("known recipient's code = %q; want it unchanged c1-CODE-0", r0.Code)
	}
	nw, ok, _ := l.Issue(ctx, "c1", "new@example.com")
	if !ok || nw.Code != "FRESH-1" {
		t.Errorf("new recipient's code = %q (found %v); want FRESH-1", nw.Code, ok)
	}
}

func TestUniqueConstraintsOnRecipientAndCodeKey(t *testing.T) {
	l := openIssLedger(t)
	ctx := t.Context()
	issEnsure(t, l, "c1")
	issEnsure(t, l, "c2")
	issPlan(t, l, "c1", 1)
	ins := `INSERT INTO issues (campaign, email, code, code_key, planned_at, updated_at) VALUES (?, ?, ?, ?, 'x', 'x')`
	if _, err := l.db.ExecContext(ctx, ins, "c1", "r0@example.com", "Z1", "z1"); !isUniqueViolation(err, "issues.campaign, issues.email") {
		t.Errorf("same recipient twice in a campaign: err = %v; want a UNIQUE violation on (campaign, email)", err)
	}
	if _, err := l.db.ExecContext(ctx, ins, "c2", "x@example.com", "C1-CODE-0", "c1-code-0"); !isUniqueViolation(err, "issues.code_key") {
		t.Errorf("same code key in another campaign: err = %v; want a UNIQUE violation on code_key", err)
	}
	if _, err := l.db.ExecContext(ctx, ins, "c2", "r0@example.com", "Z2", "z2"); err != nil {
		t.Errorf("same recipient in another campaign: %v; want allowed", err)
	}
}

func TestEnsureCampaignRefusesChangedSettings(t *testing.T) {
	l := openIssLedger(t)
	ctx := t.Context()
	if err := l.ensureCampaign(ctx, "c1", "fp1", false); err != nil {
		t.Fatal(err)
	}
	if err := l.ensureCampaign(ctx, "c1", "fp1", false); err != nil {
		t.Fatalf("same settings again: %v", err)
	}
	if err := l.ensureCampaign(ctx, "c1", "fp2", false); !errors.Is(err, ErrCampaignChanged) {
		t.Errorf("other fingerprint: err = %v; want ErrCampaignChanged", err)
	}
	if err := l.ensureCampaign(ctx, "c1", "fp1", true); !errors.Is(err, ErrCampaignChanged) {
		t.Errorf("export-only flipped: err = %v; want ErrCampaignChanged", err)
	}
}

func TestTransitionsApplyOnlyFromTheirState(t *testing.T) {
	l := openIssLedger(t)
	ctx := t.Context()
	issEnsure(t, l, "c1")
	rows := issPlan(t, l, "c1", 1)
	id := rows[0].ID
	issued := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

	steps := []struct {
		name string
		t    transition
		want bool
	}{
		{"created before creating", toCreated(id, 7), false},
		{"verified before created", toVerified(id), false},
		{"sending before verified", toSending(id), false},
		{"planned→creating", toCreating(rows[0], issued, issued.Add(48*time.Hour)), true},
		{"creating again", toCreating(rows[0], issued, issued), false},
		{"creating→created", toCreated(id, 7), true},
		{"requeue a created row", toRequeued(id, "NEW", "x"), false},
		{"created→verified", toVerified(id), true},
		{"emailed before sending", toEmailed(id, time.Time{}), false},
		{"verified→sending", toSending(id), true},
		{"sending→verified (deferred)", toMailDeferred(id, "451 try later"), true},
		{"verified→sending again", toSending(id), true},
		{"sending→emailed", toEmailed(id, issued), true},
		{"stale worker: sending→emailed twice", toEmailed(id, issued), false},
		{"stale worker: sending→unconfirmed", toUnconfirmed(id, "x"), false},
		{"stale worker: fail from sending", toFailed(id, StateSending, StageEmail, "550"), false},
	}
	for _, s := range steps {
		got, err := l.apply(ctx, s.t)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got[0] != s.want {
			t.Fatalf("%s: applied = %v; want %v", s.name, got[0], s.want)
		}
	}
	is, _, _ := l.Issue(ctx, "c1", rows[0].Email)
	if is.State != StateEmailed || is.CouponID != 7 || is.CreateAttempts != 1 || is.MailAttempts != 2 ||
		!is.IssuedAt.Equal(issued) || !is.ExpiresAt.Equal(issued.Add(48*time.Hour)) || !is.EmailedAt.Equal(issued) || is.LastError != "" {
		t.Errorf("row after the walk = %+v; want emailed, coupon 7, 1 create and 2 mail attempts, times kept, no error", is)
	}
}

func TestTransitionWithoutRuleIsAnError(t *testing.T) {
	l := openIssLedger(t)
	issEnsure(t, l, "c1")
	rows := issPlan(t, l, "c1", 1)
	bad := transition{id: rows[0].ID, from: StatePlanned, to: StateEmailed}
	if _, err := l.apply(t.Context(), bad); err == nil {
		t.Fatal("planned→emailed applied; want an error: no such transition")
	}
	if _, err := l.apply(t.Context(), transition{id: rows[0].ID, from: StatePlanned, to: StateFailed}); err == nil {
		t.Fatal("failing without stage and reason applied; want an error")
	}
}

func TestRequeueWithTakenCodeFailsWholeTransaction(t *testing.T) {
	l := openIssLedger(t)
	ctx := t.Context()
	issEnsure(t, l, "c1")
	rows := issPlan(t, l, "c1", 2)
	for _, r := range rows {
		if _, err := l.apply(ctx, toCreating(r, time.Now(), time.Time{})); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.apply(ctx, toCreated(rows[0].ID, 1), toRequeued(rows[1].ID, strings.ToUpper(rows[0].Code), "taken"))
	if !errors.Is(err, errCodeTaken) {
		t.Fatalf("requeue with a code of another row: err = %v; want errCodeTaken", err)
	}
	is, _, _ := l.Issue(ctx, "c1", rows[0].Email)
	if is.State != StateCreating {
		t.Errorf("first transition of the failed call left state %s; want creating (rolled back)", is.State)
	}
}

func TestSummaryRowsAndFailures(t *testing.T) {
	l := openIssLedger(t)
	ctx := t.Context()
	issEnsure(t, l, "c1")
	issEnsure(t, l, "c2")
	rows := issPlan(t, l, "c1", rowsPage+3) // more than one page for the iterators
	issPlan(t, l, "c2", 2)
	for i, r := range rows[:4] {
		if _, err := l.apply(ctx, toCreating(r, time.Now(), time.Time{})); err != nil {
			t.Fatal(err)
		}
		reason := "read back: amount 5.00, asked 10"
		if i == 3 {
			reason = "store refused: invalid email"
		}
		if _, err := l.apply(ctx, toFailed(r.ID, StateCreating, StageVerify, reason)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := l.Summary(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Total != rowsPage+3 || s.Count(StateFailed) != 4 || s.Count(StatePlanned) != rowsPage-1 || !s.NeedsReview() || s.Pending() != rowsPage-1 {
		t.Errorf("summary = %+v; want %d rows, 4 failed, %d planned, needs review", s, rowsPage+3, rowsPage-1)
	}
	if len(s.Reasons) != 2 || s.Reasons[0].Count != 3 || s.Reasons[0].Stage != StageVerify {
		t.Errorf("reasons = %+v; want 2 groups, the first of 3 at verify", s.Reasons)
	}
	if _, err := l.Summary(ctx, "nope"); !errors.Is(err, ErrNoCampaign) {
		t.Errorf("summary of unknown campaign: err = %v; want ErrNoCampaign", err)
	}
	n := 0
	var last int64
	for is, err := range l.Rows(ctx, "c1") {
		if err != nil {
			t.Fatal(err)
		}
		if is.Campaign != "c1" || is.ID <= last {
			t.Fatalf("row %d: campaign %s id %d after %d; want c1 rows in id order", n, is.Campaign, is.ID, last)
		}
		last = is.ID
		n++
	}
	if n != rowsPage+3 {
		t.Errorf("Rows yielded %d; want %d", n, rowsPage+3)
	}
	nf := 0
	for f, err := range l.Failures(ctx, "c1") {
		if err != nil {
			t.Fatal(err)
		}
		if f.Stage != StageVerify || f.Reason == "" || f.Code == "" {
			t.Errorf("failure %+v; want stage, reason and code", f)
		}
		nf++
	}
	if nf != 4 {
		t.Errorf("Failures yielded %d; want 4", nf)
	}
	cs, err := l.Campaigns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "c1" || cs[0].Total != rowsPage+3 || cs[1].Total != 2 {
		t.Errorf("campaigns = %+v; want c1 (%d rows) and c2 (2 rows)", cs, rowsPage+3)
	}
	// Stopping early does not hang or leak: a later query still runs.
	for range l.Rows(ctx, "c1") {
		break
	}
	if _, err := l.Summary(ctx, "c2"); err != nil {
		t.Fatal(err)
	}
}

// ledgerLockHelperEnv makes TestLedgerLockHelperProcess try to open the
// ledger named by its value.
const ledgerLockHelperEnv = "COUPONBRIDGE_LEDGER_LOCK_HELPER"

// TestLedgerLockHelperProcess is not a test: it is the second process of
// TestOpenLedgerIsLockedAgainstAnotherProcess.
func TestLedgerLockHelperProcess(t *testing.T) {
	path := os.Getenv(ledgerLockHelperEnv)
	if path == "" {
		t.Skip("helper process for TestOpenLedgerIsLockedAgainstAnotherProcess")
	}
	l, err := OpenLedger(context.Background(), path, nil)
	if err == nil {
		l.Close()
		fmt.Println("RESULT opened")
		return
	}
	fmt.Printf("RESULT locked=%v %s\n", errors.Is(err, ErrLedgerLocked), err)
}

func TestOpenLedgerIsLockedAgainstAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	second := func() string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLedgerLockHelperProcess$", "-test.v")
		cmd.Env = append(os.Environ(), ledgerLockHelperEnv+"="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helper process: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if r, ok := strings.CutPrefix(line, "RESULT "); ok {
				return r
			}
		}
		t.Fatalf("helper process said nothing:\n%s", out)
		return ""
	}
	l, err := OpenLedger(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := second()
	want := "locked=true ledger " + path + ": ledger is in use by another couponbridge process (pid " + strconv.Itoa(os.Getpid()) + ")"
	if !strings.HasPrefix(got, want) {
		t.Errorf("second process while the first holds the ledger: %q; want it to start with %q", got, want)
	}
	l.Close()
	if got := second(); got != "opened" {
		t.Errorf("second process after the first closed: %q; want opened", got)
	}
}

// TestMigrationNumberedBelowAnAppliedOneIsStillApplied: parts of the schema
// are versioned in ranges (0001 core, 0100 jobs, 0200 tracking); a ledger
// that already has 9000 must still get a 5000 that arrives later.
func TestMigrationNumberedBelowAnAppliedOneIsStillApplied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ctx := t.Context()
	open := func(extra map[string]string) *Ledger {
		t.Helper()
		lock, err := acquireProcessLock(path + ".lock")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(lock.release)
		l, err := openLedgerDB(ctx, path, lock, slog.New(slog.DiscardHandler), ledgerTestMigrations(t, extra))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open(map[string]string{"9000_high.sql": `CREATE TABLE high (id INTEGER PRIMARY KEY);`})
	l.Close()
	l = open(map[string]string{
		"9000_high.sql": `CREATE TABLE high (id INTEGER PRIMARY KEY);`,
		"5000_mid.sql":  `CREATE TABLE mid (id INTEGER PRIMARY KEY);`,
	})
	defer l.Close()
	if _, err := l.db.ExecContext(ctx, `INSERT INTO mid (id) VALUES (1)`); err != nil {
		t.Fatalf("migration 5000 was skipped because 9000 was applied first: %v", err)
	}
}
