package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cliResult is what one in-process run of couponbridge produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs couponbridge with args in-process, with env as the environment.
func runCLI(t *testing.T, ctx context.Context, env map[string]string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(ctx, args, &cliEnv{Stdout: &out, Stderr: &errb, Getenv: envMap(env)})
	return cliResult{code, out.String(), errb.String()}
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

func wantCode(t *testing.T, r cliResult, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit code %d, got:\n%v", code, r)
	}
}

// writeConfig writes text as couponbridge.yaml in a new temp dir and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "couponbridge.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunWithoutCommandPrintsUsageAndExits2(t *testing.T) {
	r := runCLI(t, t.Context(), nil)
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "Usage:") || !strings.Contains(r.stderr, "Exit codes:") {
		t.Errorf("want the usage with exit codes on stderr, got:\n%v", r)
	}
}

func TestRunUnknownCommandSuggestsAndExits2(t *testing.T) {
	r := runCLI(t, t.Context(), nil, "isue", "--campaign", "x")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, `unknown command "isue" (did you mean "issue"?)`) {
		t.Errorf("want a suggestion, got:\n%v", r)
	}
}

func TestRunHelpFormsExit0WithHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"help", "issue"}, {"issue", "--help"}, {"status", "-h"}, {"--config", "x.yaml", "export", "--help"}} {
		r := runCLI(t, t.Context(), nil, args...)
		if r.code != exitOK || !strings.Contains(r.stdout, "Usage:") || r.stderr != "" {
			t.Errorf("%q: want exit 0 and usage on stdout, got:\n%v", args, r)
		}
	}
	r := runCLI(t, t.Context(), nil, "help", "--config", "x.yaml", "issue")
	if r.code != exitOK || !strings.Contains(r.stdout, "couponbridge issue --campaign") {
		t.Errorf("help with a global flag: got:\n%v", r)
	}
	wantCode(t, runCLI(t, t.Context(), nil, "help", "nope"), exitUsage)
	wantCode(t, runCLI(t, t.Context(), nil, "help", "issue", "status"), exitUsage)
}

// TestHelpGolden pins the help of couponbridge and of every command. Run
// `go test ./cmd/couponbridge -run TestHelpGolden -update` after a change.
func TestHelpGolden(t *testing.T) {
	cases := map[string][]string{"help.golden": {"help"}}
	for _, c := range commands() {
		cases["help-"+c.Name+".golden"] = []string{"help", c.Name}
	}
	for file, args := range cases {
		t.Run(file, func(t *testing.T) {
			r := runCLI(t, t.Context(), map[string]string{"COUPONBRIDGE_CONFIG": "/not/in/the/golden.yaml"}, args...)
			wantCode(t, r, exitOK)
			path := filepath.Join("testdata", file)
			if *update {
				if err := os.WriteFile(path, []byte(r.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if r.stdout != string(want) {
				t.Errorf("help differs from %s (run with -update if intended):\n--- got:\n%s\n--- want:\n%s", path, r.stdout, want)
			}
		})
	}
}

func TestEveryCommandHasSummaryUsageAndExample(t *testing.T) {
	for _, c := range commands() {
		if c.Summary == "" || !strings.HasPrefix(strings.TrimSpace(c.Usage), "couponbridge "+c.Name) {
			t.Errorf("%s: want a summary and a usage starting with the synopsis, got %q / %q", c.Name, c.Summary, c.Usage)
		}
		if !strings.Contains(c.Usage, "Example") {
			t.Errorf("%s: the help has no example", c.Name)
		}
	}
}

func TestRunUsageErrorsExit2(t *testing.T) {
	cfg := writeConfig(t, baseConfig)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"issue", "--nope"}, "unknown flag: --nope"},
		{[]string{"issue", "--config", cfg}, "--campaign NAME is required"},
		{[]string{"issue", "--config", cfg, "--campaign", "nosuch", "--recipients", "x.csv"}, `unknown campaign "nosuch": ` + cfg + ` defines welcome`},
		{[]string{"issue", "--config", cfg, "--campaign", "welcome"}, "--recipients FILE.csv is required"},
		{[]string{"issue", "--config", cfg, "--campaign", "welcome", "--recipients", "x.csv", "--count", "3"}, "--count is only for export-only campaigns"},
		{[]string{"issue", "--config", cfg, "--campaign", "welcome", "--recipients", filepath.Join(t.TempDir(), "none.csv")}, "does not exist"},
		{[]string{"status", "a", "b"}, "at most one campaign"},
		{[]string{"status", "--format", "xml"}, "--format must be table or json"},
		{[]string{"export", "welcome"}, "--out FILE is required"},
		{[]string{"version", "extra"}, "takes no arguments"},
		{[]string{"check-config", "--log-level", "loud"}, `--log-level: must be debug, info, warn or error, got "loud"`},
	}
	for _, tt := range tests {
		r := runCLI(t, t.Context(), nil, tt.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q: want exit 2 and %q on stderr, got:\n%v", tt.args, tt.want, r)
		}
	}
}

func TestRunCheckConfigReportsEveryProblemAndExits2(t *testing.T) {
	cfg := writeConfig(t, "store:\n  url: ftp://x\n  rat: 1\n  rate: fast\n")
	r := runCLI(t, t.Context(), nil, "check-config", "--config", cfg)
	wantCode(t, r, exitUsage)
	for _, w := range []string{"the configuration has 5 problems", cfg + ":2: store.url", cfg + ":3: store.rat: unknown key", cfg + ":4: store.rate: must be a number", "store.consumer_key: is required"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("want %q on stderr, got:\n%v", w, r)
		}
	}
	r = runCLI(t, t.Context(), nil, "check-config", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "cannot read the configuration: no such file or directory") {
		t.Errorf("missing file: got:\n%v", r)
	}
}

func TestRunCheckConfigAcceptsGlobalFlagsBeforeOrAfterTheCommand(t *testing.T) {
	cfg := writeConfig(t, baseConfig)
	for _, args := range [][]string{
		{"check-config", "--config", cfg},
		{"--config", cfg, "check-config"},
		{"-c", cfg, "check-config"},
		{"--config=" + cfg, "--quiet", "check-config"},
	} {
		r := runCLI(t, t.Context(), nil, args...)
		if r.code != exitOK || !strings.HasPrefix(r.stdout, cfg+": OK") {
			t.Errorf("%q: got:\n%v", args, r)
		}
	}
	r := runCLI(t, t.Context(), map[string]string{"COUPONBRIDGE_CONFIG": cfg}, "check-config")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, cfg+": OK") {
		t.Errorf("$COUPONBRIDGE_CONFIG: got:\n%v", r)
	}
}

func TestRunFlagsOverrideConfigOnlyWhenSet(t *testing.T) {
	cfg := writeConfig(t, baseConfig+"log:\n  level: warn\n")
	r := runCLI(t, t.Context(), nil, "check-config", "--config", cfg, "--print")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "level: warn") {
		t.Errorf("an unset --log-level (default info) must not override the file's warn:\n%s", r.stdout)
	}
	r = runCLI(t, t.Context(), nil, "check-config", "--config", cfg, "--print", "--log-level", "debug")
	if !strings.Contains(r.stdout, "level: debug") {
		t.Errorf("a set --log-level must override the file:\n%s", r.stdout)
	}
	r = runCLI(t, t.Context(), map[string]string{"COUPONBRIDGE_STORE_URL": "https://env.example.com"}, "check-config", "--config", cfg, "--print")
	if !strings.Contains(r.stdout, "url: https://env.example.com") {
		t.Errorf("the environment must override the file:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "cs_test_secret_value") || !strings.Contains(r.stdout, "consumer_secret: <redacted>") {
		t.Errorf("--print must redact secrets:\n%s", r.stdout)
	}
}

func TestRunVersionPrintsVersion(t *testing.T) {
	r := runCLI(t, t.Context(), nil, "version")
	wantCode(t, r, exitOK)
	if !strings.HasPrefix(r.stdout, "couponbridge "+version+" (") {
		t.Errorf("got:\n%v", r)
	}
}

func TestExitCodeMapsErrorsInOnePlace(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want int
	}{
		{"success", context.Background(), nil, exitOK},
		{"plain error", context.Background(), errors.New("store unreachable"), exitError},
		{"ledger locked", context.Background(), fmt.Errorf("ledger x: %w", campaign.ErrLedgerLocked), exitError},
		{"usage", context.Background(), fmt.Errorf("wrapped: %w", usageErrorf("bad flag")), exitUsage},
		{"config", context.Background(), &configError{problems: []string{"x"}}, exitUsage},
		{"failures to review", context.Background(), &failuresError{count: 2}, exitFailures},
		{"context canceled", context.Background(), fmt.Errorf("run: %w", context.Canceled), exitInterrupted},
		{"interrupted run with another error", canceled, errors.New("batch aborted"), exitInterrupted},
		{"interrupted but finished with failures", canceled, &failuresError{count: 1}, exitFailures},
	}
	for _, tt := range tests {
		if got := exitCode(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: want %d, got %d", tt.name, tt.want, got)
		}
	}
}

func TestProgressLogsEveryIntervalWhenNotATerminal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger, _ := newLogger(&buf, "info", "text")
		p := newProgress(&cliEnv{Stderr: &buf, Logger: logger})
		p.Update(campaign.StageCreate, 0, 100)
		time.Sleep(progressLogEvery / 2)
		p.Update(campaign.StageCreate, 40, 100)
		time.Sleep(progressLogEvery) // one tick: a line
		time.Sleep(progressLogEvery) // nothing moved: no line
		p.Update(campaign.StageCreate, 100, 100)
		p.Update(campaign.StageVerify, 10, 100) // stage change: the last create line
		p.Close()                               // the verify line
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		want := []string{"stage=create done=40 total=100", // one batch done: no rate yet (TestProgressRateCountsFromTheFirstFinishedBatch)
			"stage=create done=100 total=100", "stage=verify done=10 total=100"}
		if len(lines) != len(want) {
			t.Fatalf("want %d lines, got %d:\n%s", len(want), len(lines), buf.String())
		}
		for i, w := range want {
			if !strings.Contains(lines[i], "msg=progress") || !strings.Contains(lines[i], w) {
				t.Errorf("line %d: want %q, got %q", i, w, lines[i])
			}
		}
	})
}

func TestProgressDrawsABarOnATerminalAndNothingWhenQuiet(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&cliEnv{Stderr: &buf, IsTerminal: true, Logger: discardLogger()})
	p.Update(campaign.StageCreate, 5, 10)
	p.Update(campaign.StageCreate, 10, 10)
	p.Close()
	if !strings.Contains(buf.String(), "10/10") || !strings.Contains(buf.String(), "create") {
		t.Errorf("want a bar with the count, got %q", buf.String())
	}
	buf.Reset()
	q := newProgress(&cliEnv{Stderr: &buf, IsTerminal: true, Logger: discardLogger(), global: &globalOptions{Quiet: true}})
	q.Update(campaign.StageCreate, 5, 10)
	q.Close()
	if buf.Len() != 0 {
		t.Errorf("--quiet: want no output, got %q", buf.String())
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
