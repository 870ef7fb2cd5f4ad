package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/couponbridge/couponbridge/campaign"
)

// progressLogEvery is how often progress is logged when stderr is not a terminal.
const progressLogEvery = 5 * time.Second

// progressReporter shows how far an issuing run is, on stderr: a progress
// bar with rate and ETA when stderr is a terminal, otherwise a structured
// log line every progressLogEvery while something moves; nothing at all
// with --quiet. Update matches campaign.IssueOptions.Progress.
type progressReporter struct {
	mode   progressMode
	w      io.Writer
	logger *slog.Logger

	mu         sync.Mutex
	stage      campaign.Stage
	done       int
	total      int
	stageStart time.Time
	logged     int // done at the last log line (-1: none yet for this stage)
	bar        *progressbar.ProgressBar

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
	if stage != p.stage {
		p.finishStageLocked()
		p.stage, p.stageStart, p.logged = stage, time.Now(), -1
		if p.mode == progressBar {
			p.bar = p.newBar(stage, total)
		}
	}
	p.done, p.total = done, total
	if p.bar != nil {
		if total > 0 {
			p.bar.ChangeMax(total)
		}
		_ = p.bar.Set(done)
	}
}

func (p *progressReporter) newBar(stage campaign.Stage, total int) *progressbar.ProgressBar {
	max := total
	if max <= 0 {
		max = -1 // unknown: a spinner with a count
	}
	return progressbar.NewOptions(max,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(fmt.Sprintf("%-6s", stage)),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetRenderBlankState(true),
		// No background spinner goroutine: the bar draws only on updates,
		// and nothing of it outlives Close.
		progressbar.OptionSetSpinnerChangeInterval(0),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(p.w) }),
	)
}

// finishStageLocked closes the current stage's bar or logs its last line.
func (p *progressReporter) finishStageLocked() {
	if p.stage == "" {
		return
	}
	switch p.mode {
	case progressBar:
		// A bar that reached its total has ended its line; one that did not
		// (an interrupted run, an unknown total) stays as it is.
		if p.bar != nil && p.total <= 0 && p.done > 0 {
			// The total is known now: what was done.
			p.bar.ChangeMax(p.done)
			_ = p.bar.Set(p.done)
		}
		if p.bar != nil && !p.bar.IsFinished() {
			_ = p.bar.Exit()
		}
		p.bar = nil
	case progressLog:
		if p.done != p.logged {
			p.logLocked()
		}
	}
}

// logLocked writes one progress line: stage, rows done, total, rate, ETA.
func (p *progressReporter) logLocked() {
	attrs := []any{"stage", string(p.stage), "done", p.done}
	if p.total > 0 {
		attrs = append(attrs, "total", p.total)
	}
	if el := time.Since(p.stageStart); el > 0 && p.done > 0 {
		rate := float64(p.done) / el.Seconds()
		attrs = append(attrs, "per_second", fmt.Sprintf("%.1f", rate))
		if p.total > p.done {
			eta := time.Duration(float64(p.total-p.done) / rate * float64(time.Second))
			attrs = append(attrs, "eta", eta.Round(time.Second).String())
		}
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

// Close ends the display: the last stage's bar is finished or its last
// line logged. Safe to call more than once.
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
