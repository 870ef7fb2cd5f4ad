package campaign

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// issLogBuffer collects JSON log lines from several goroutines.
type issLogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *issLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the decoded log lines at level or above.
func (b *issLogBuffer) lines(t *testing.T, level slog.Level) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(m["level"].(string))); err != nil {
			t.Fatal(err)
		}
		if lv >= level {
			out = append(out, m)
		}
	}
	return out
}

func (b *issLogBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestWarnLinesNeverCarryACode(t *testing.T) {
	h := newIssHarness(t, nil)
	ctx := t.Context()
	c := issCampaign("masked")
	const n = 6
	opts := issOptions()
	opts.MailPasses = 1
	if _, err := h.issuer(opts, nil, issRefusingSender{}).Run(ctx, c, issSource(t, issCSV(n))); err != nil {
		t.Fatal(err)
	}
	// A killed run left two rows sending: the next run warns about them.
	rows, _ := h.ledger.nextIssues(ctx, c.Name, StateVerified, 0, 2)
	for _, row := range rows {
		if _, err := h.ledger.apply(ctx, toSending(row.ID)); err != nil {
			t.Fatal(err)
		}
	}
	var logs issLogBuffer
	opts = issOptions()
	opts.Logger = logs.logger()
	if _, err := h.issuer(opts, nil, issRefusingSender{}).Run(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	warns := logs.lines(t, slog.LevelWarn)
	if len(warns) == 0 {
		t.Fatal("no WARN line at all; want the unconfirmed rows warned about")
	}
	masked := 0
	for _, w := range warns {
		line, _ := json.Marshal(w)
		for _, row := range h.rows(c.Name) {
			if strings.Contains(strings.ToUpper(string(line)), strings.ToUpper(row.Code)) {
				t.Errorf("WARN line carries the live code %s: %s", row.Code, line)
			}
			if w["code"] == MaskCode(row.Code) {
				masked++
			}
		}
	}
	if masked != len(rows) {
		t.Errorf("%d WARN lines name a masked code; want one per unconfirmed row (%d)", masked, len(rows))
	}
}
