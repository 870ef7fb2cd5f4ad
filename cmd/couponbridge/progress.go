package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
)

// progressLogEvery is how often progress is logged when stderr is not a terminal.
const progressLogEvery = 5 * time.Second

// progressDrawEvery is how often the bar is redrawn at most; the last
// state of a stage is always drawn.
const progressDrawEvery = 100 * time.Millisecond

// progressReporter shows how far an issuing run is, on stderr: a progress
// bar with rate and ETA when stderr is a terminal, otherwise a structured
// log line every progressLogEvery while something moves; nothing at all
// with --quiet. Update matches campaign.IssueOptions.Progress.
//
// Every figure of a line comes from the same done and total, so the
// percentage and the count agree. The rate is counted from the first batch
// the stage finished, not from the stage's start: the first report of a
// stage already carries a batch's rows (or a whole chunk of the plan), and
// counting them against the time since that report said 631 rows/s five
// seconds in when the store did 86.
type progressReporter struct {
	mode   progressMode
	w      io.Writer
	logger *slog.Logger

	mu        sync.Mutex
	stage     campaign.Stage
	done      int
	total     int
	first     time.Time // when the stage first reported rows done; zero before
	firstDone int       // rows done at first
	logged    int       // done at the last log line (-1: none yet for this stage)
	drawn     time.Time // when the bar was last drawn
	width     int       // length of the bar line on screen, to blank a longer one

	stop chan struct{}
	wg   sync.WaitGroup
}

type progressMode int

const (
	progressOff progressMode = iota
	progressBar
	progressLog
)

// newProgress returns the reporter that fits env: a bar on a terminal, log
// lines otherwise, none when quiet. Close it when the run ends.
func newProgress(env *cliEnv) *progressReporter {
	p := &progressReporter{w: env.Stderr, logger: env.Logger, logged: -1, stop: make(chan struct{})}
	switch {
	case env.quiet():
		p.mode = progressOff
	case env.IsTerminal:
		p.mode = progressBar
	default:
		p.mode = progressLog
		p.wg.Add(1)
		go p.logLoop()
	}
	return p
}

// Update records that stage has done of total rows (total 0: not known yet).
func (p *progressReporter) Update(stage campaign.Stage, done, total int) {
	if p.mode == progressOff {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if stage != p.stage {
		p.finishStageLocked()
		p.stage, p.first, p.firstDone, p.logged, p.drawn, p.width = stage, time.Time{}, 0, -1, time.Time{}, 0
	}
	p.done, p.total = done, total
	if done > 0 && p.first.IsZero() {
		p.first, p.firstDone = now, done
	}
	if p.mode == progressBar && (now.Sub(p.drawn) >= progressDrawEvery || total > 0 && done >= total) {
		p.drawLocked(now)
	}
}

// progressFigures is one consistent reading of a stage: the percentage,
// rate and ETA all follow from done and total.
type progressFigures struct {
	stage       campaign.Stage
	done, total int           // total 0: not known
	rate        float64       // rows per second since the first batch; 0: not known yet
	eta         time.Duration // 0: not known or nothing left
}

// figuresLocked reads the stage's state at now.
func (p *progressReporter) figuresLocked(now time.Time) progressFigures {
	f := progressFigures{stage: p.stage, done: p.done, total: p.total}
	if f.total > 0 && f.done > f.total {
		f.total = f.done
	}
	if el := now.Sub(p.first); !p.first.IsZero() && el > 0 && f.done > p.firstDone {
		f.rate = float64(f.done-p.firstDone) / el.Seconds()
		if f.total > f.done {
			f.eta = time.Duration(float64(f.total-f.done) / f.rate * float64(time.Second)).Round(time.Second)
		}
	}
	return f
}

// barWidth is the number of cells of the bar itself.
const barWidth = 20

// String renders the bar line: "create  45% [========>           ] 1350/3000 rows  86.0/s  ETA 19s",
// or, with the total not known, "plan    1350 rows  86.0/s".
func (f progressFigures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s ", f.stage)
	if f.total > 0 {
		pct := f.done * 100 / f.total
		cells := f.done * barWidth / f.total
		bar := strings.Repeat("=", cells)
		if cells < barWidth {
			bar += ">" + strings.Repeat(" ", barWidth-cells-1)
		}
		fmt.Fprintf(&b, "%3d%% [%s] %d/%d rows", pct, bar, f.done, f.total)
	} else {
		fmt.Fprintf(&b, "%d rows", f.done)
	}
	if f.rate > 0 {
		fmt.Fprintf(&b, "  %.1f/s", f.rate)
	}
	if f.eta > 0 {
		fmt.Fprintf(&b, "  ETA %s", f.eta)
	}
	return b.String()
}

// drawLocked redraws the bar line in place.
func (p *progressReporter) drawLocked(now time.Time) {
	line := p.figuresLocked(now).String()
	pad := max(p.width-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.width = len(line)
	p.drawn = now
}

// finishStageLocked draws the stage's last state and ends its line, or
// logs its last line.
func (p *progressReporter) finishStageLocked() {
	if p.stage == "" {
		return
	}
	switch p.mode {
	case progressBar:
		p.drawLocked(time.Now())
		fmt.Fprintln(p.w)
	case progressLog:
		if p.done != p.logged {
			p.logLocked()
		}
	}
}

// logLocked writes one progress line: stage, rows done, total, rate, ETA.
func (p *progressReporter) logLocked() {
	f := p.figuresLocked(time.Now())
	attrs := []any{"stage", string(f.stage), "done", f.done}
	if f.total > 0 {
		attrs = append(attrs, "total", f.total)
	}
	if f.rate > 0 {
		attrs = append(attrs, "per_second", fmt.Sprintf("%.1f", f.rate))
	}
	if f.eta > 0 {
		attrs = append(attrs, "eta", f.eta.String())
	}
	p.logger.Info("progress", attrs...)
	p.logged = p.done
}

func (p *progressReporter) logLoop() {
	defer p.wg.Done()
	t := time.NewTicker(progressLogEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.stage != "" && p.done != p.logged {
				p.logLocked()
			}
			p.mu.Unlock()
		}
	}
}

// Close ends the display: the last stage's bar is drawn and its line
// ended, or its last line logged. Safe to call more than once.
func (p *progressReporter) Close() {
	p.mu.Lock()
	select {
	case <-p.stop:
		p.mu.Unlock()
		return
	default:
		close(p.stop)
	}
	p.finishStageLocked()
	p.stage = ""
	p.mu.Unlock()
	p.wg.Wait()
}
