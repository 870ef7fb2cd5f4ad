package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

// TestProgressRateCountsFromTheFirstFinishedBatch: the first report of a
// stage already carries a batch's rows; a rate counted from that moment
// with those rows in said 631/s five seconds in against a real 86/s.
func TestProgressRateCountsFromTheFirstFinishedBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger, _ := newLogger(&buf, "info", "text")
		p := newProgress(&cliEnv{Stderr: &buf, Logger: logger})
		p.Update(campaign.StageCreate, 500, 3000) // five batches of 100 finished together
		time.Sleep(progressLogEvery / 2)
		p.Update(campaign.StageCreate, 715, 3000)
		time.Sleep(progressLogEvery / 2) // the tick: 215 rows in 5 s since the first batch
		time.Sleep(time.Millisecond)     // past the tick, whichever goroutine runs first
		p.Update(campaign.StageCreate, 930, 3000)
		p.Close()
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("want 2 lines, got:\n%s", buf.String())
		}
		if want := "stage=create done=715 total=3000 per_second=43.0 eta=53s"; !strings.Contains(lines[0], want) {
			t.Errorf("tick line: want %q, got %q", want, lines[0])
		}
		if want := "stage=create done=930 total=3000 per_second=86.0 eta=24s"; !strings.Contains(lines[1], want) {
			t.Errorf("last line: want %q (430 rows in the 5 s since the first batch), got %q", want, lines[1])
		}
	})
}

func TestProgressLineFiguresAgree(t *testing.T) {
	tests := []struct {
		f    progressFigures
		want string
	}{
		{progressFigures{stage: "create", done: 1350, total: 3000, rate: 86, eta: 19 * time.Second},
			"create  45% [=========>          ] 1350/3000 rows  86.0/s  ETA 19s"},
		{progressFigures{stage: "create", done: 0, total: 3000}, "create   0% [>                   ] 0/3000 rows"},
		{progressFigures{stage: "verify", done: 59, total: 59, rate: 12.5}, "verify 100% [====================] 59/59 rows  12.5/s"},
		{progressFigures{stage: "plan", done: 3000, rate: 1200}, "plan   3000 rows  1200.0/s"},
		{progressFigures{stage: "email", done: 1, total: 3}, "email   33% [======>             ] 1/3 rows"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

// TestProgressBarPercentAgreesWithItsCount replays the runs of issue 11
// that showed "plan 0% (3000/3000)" and "plan 32% (59/59)": a stage whose
// total was not known at first. Every line drawn must give the percentage
// of its own count.
func TestProgressBarPercentAgreesWithItsCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		p := newProgress(&cliEnv{Stderr: &buf, IsTerminal: true, Logger: discardLogger()})
		for _, done := range []int{1000, 2000, 3000} {
			p.Update(campaign.StagePlan, done, 0) // the plan's total is not known
			time.Sleep(time.Second)
		}
		p.Update(campaign.StageVerify, 19, 0)
		time.Sleep(time.Second)
		p.Update(campaign.StageVerify, 59, 59)
		time.Sleep(time.Second)
		p.Update(campaign.StageEmail, 10, 59)
		time.Sleep(time.Second)
		p.Update(campaign.StageEmail, 35, 59)
		p.Close()
		out := buf.String()
		var lines []string
		for _, seg := range strings.FieldsFunc(out, func(r rune) bool { return r == '\r' || r == '\n' }) {
			if s := strings.TrimSpace(seg); s != "" {
				lines = append(lines, s)
			}
		}
		withTotal := regexp.MustCompile(`^(\w+) +(\d+)%.*?(\d+)/(\d+)`)
		checked := 0
		for _, l := range lines {
			m := withTotal.FindStringSubmatch(l)
			if m == nil {
				if strings.Contains(l, "%") {
					t.Errorf("a percentage without its count: %q", l)
				}
				continue
			}
			pct, _ := strconv.Atoi(m[2])
			done, _ := strconv.Atoi(m[3])
			total, _ := strconv.Atoi(m[4])
			if pct != done*100/total {
				t.Errorf("%q: %d%% of %d/%d", l, pct, done, total)
			}
			checked++
		}
		if checked == 0 {
			t.Fatalf("no bar with a total drawn:\n%q", out)
		}
		for _, w := range []string{"plan   3000 rows  1000.0/s", "verify 100% [====================] 59/59 rows  40.0/s", "email   59% [===========>        ] 35/59 rows  25.0/s  ETA 1s"} {
			if !strings.Contains(out, w) {
				t.Errorf("want %q drawn, got:\n%q", w, out)
			}
		}
	})
}
