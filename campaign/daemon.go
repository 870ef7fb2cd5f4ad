package campaign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultListenAddress is where the daemon's HTTP server listens by
// default: loopback only, Prometheus' conventional exporter port range.
const DefaultListenAddress = "127.0.0.1:9464"

// DefaultShutdownTimeout bounds how long Run waits, after its context is
// cancelled, for job runs to finish their batch in flight and record.
const DefaultShutdownTimeout = 60 * time.Second

// JobSet is the part of the daemon's configuration that a reload replaces:
// the jobs and what running them needs.
type JobSet struct {
	// Jobs are the scheduled jobs; names are unique.
	Jobs []Job
	// Issue runs the issuing pipeline for a campaign (required when there
	// are jobs).
	Issue IssueFunc
	// Loc is the store's time zone (schedules, daily caps).
	Loc *time.Location
	// WebhookSecret verifies webhook deliveries; required when a job has a
	// webhook source.
	WebhookSecret string
	// WebhookTopics lists, per webhook job, the topics it consumes
	// (default: customer.created).
	WebhookTopics map[string][]string
	// Store is read by the store metrics (request counts, 429s, rate).
	Store StoreStats
	// Close, if set, releases what the set holds (a mail sender) once no
	// run uses it any more.
	Close func() error
	// Tracker, if set, runs at start (and after a reload) and then every
	// TrackEvery: it syncs every campaign with the store (redemptions,
	// orders, changes by hand) and sends the reminders that are due.
	Tracker    *Tracker
	TrackEvery time.Duration
}

var jobNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks a job set before the daemon takes it.
func (s *JobSet) Validate() error {
	var errs []error
	names := map[string]bool{}
	webhook := false
	for i, j := range s.Jobs {
		switch {
		case !jobNameRE.MatchString(j.Name):
			errs = append(errs, fmt.Errorf("job %d %q: names are 1-64 lower-case letters, digits, '-' and '_'", i+1, j.Name))
		case names[j.Name]:
			errs = append(errs, fmt.Errorf("job %q: defined twice", j.Name))
		}
		names[j.Name] = true
		if j.Schedule.IsZero() {
			errs = append(errs, fmt.Errorf("job %q: no schedule", j.Name))
		}
		if j.Source == nil {
			errs = append(errs, fmt.Errorf("job %q: no source", j.Name))
		} else if j.Source.Kind() == "webhook" {
			webhook = true
		}
		if err := j.Campaign.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("job %q: %w", j.Name, err))
		} else if j.Campaign.ExportOnly {
			errs = append(errs, fmt.Errorf("job %q: campaign %q is export-only; a job issues to people by email", j.Name, j.Campaign.Name))
		}
	}
	if s.Tracker != nil && s.TrackEvery <= 0 {
		errs = append(errs, errors.New("tracking: the interval must be positive"))
	}
	if len(s.Jobs) > 0 && s.Issue == nil {
		errs = append(errs, errors.New("jobs: no issuing pipeline"))
	}
	if webhook && s.WebhookSecret == "" {
		errs = append(errs, errors.New("a webhook job needs the webhook secret"))
	}
	for job := range s.WebhookTopics {
		if !names[job] {
			errs = append(errs, fmt.Errorf("webhook topics for unknown job %q", job))
		}
	}
	return errors.Join(errs...)
}

// routes is the webhook routing of the set.
func (s *JobSet) routes() WebhookRoutes {
	r := WebhookRoutes{Secret: s.WebhookSecret, Jobs: map[string][]string{}}
	for _, j := range s.Jobs {
		if j.Source == nil || j.Source.Kind() != "webhook" {
			continue
		}
		topics := s.WebhookTopics[j.Name]
		if len(topics) == 0 {
			topics = []string{TopicCustomerCreated}
		}
		for _, t := range topics {
			r.Jobs[t] = append(r.Jobs[t], j.Name)
		}
	}
	return r
}

// DaemonOptions configure a Daemon; fields that a reload cannot change.
type DaemonOptions struct {
	// Listen is the HTTP address; "" means DefaultListenAddress.
	Listen string
	// Listener, if set, is used instead of listening on Listen (tests).
	Listener net.Listener
	// Ledger is open for the daemon's lifetime (required).
	Ledger *Ledger
	// Registry receives the metrics and serves /metrics; nil means a new
	// registry with the Go and process collectors.
	Registry *prometheus.Registry
	// Logger receives the daemon's log lines.
	Logger *slog.Logger
	// ShutdownTimeout: see DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// WebhookMaxBody: see DefaultWebhookMaxBody.
	WebhookMaxBody int64
	// Unsubscribe, if set, serves UnsubscribePath: the one-click and page
	// unsubscribes of the links it signs, into the ledger's suppression list.
	Unsubscribe *UnsubscribeLinks
}

// Daemon runs the jobs on their schedules and serves /healthz, /readyz,
// /metrics and the webhook route. One job of a campaign runs at a time.
type Daemon struct {
	opts    DaemonOptions
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *Metrics
	runner  JobRunner
	handler http.Handler
	ready   atomic.Bool

	mu      sync.Mutex
	set     *JobSet
	gen     *generation
	running sync.WaitGroup // job loops of every generation
	work    context.Context
	locks   map[string]chan struct{} // per campaign
	wakes   map[string]chan struct{} // per job name, current generation
}

// generation is one set of job loops; a reload starts a new one.
type generation struct {
	set    *JobSet
	cancel context.CancelFunc
	loops  sync.WaitGroup
}

// NewDaemon returns a daemon that will run set. It validates set.
func NewDaemon(opts DaemonOptions, set *JobSet) (*Daemon, error) {
	if opts.Ledger == nil {
		return nil, errors.New("daemon: no ledger")
	}
	if set == nil {
		set = &JobSet{}
	}
	if err := set.Validate(); err != nil {
		return nil, err
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListenAddress
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(prometheusGoCollectors()...)
	}
	d := &Daemon{
		opts: opts, log: log, reg: reg, metrics: NewMetrics(reg), set: set,
		locks: map[string]chan struct{}{}, wakes: map[string]chan struct{}{},
	}
	d.runner = JobRunner{Ledger: opts.Ledger, Logger: log, Metrics: d.metrics}
	d.metrics.WatchStore(set.Store)
	d.handler = d.newHandler()
	return d, nil
}

// Metrics returns the daemon's metrics.
func (d *Daemon) Metrics() *Metrics { return d.metrics }

// Handler returns the daemon's HTTP handler (also served by Run).
func (d *Daemon) Handler() http.Handler { return d.handler }

// currentSet returns the job set in force.
func (d *Daemon) currentSet() *JobSet {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.set
}

func (d *Daemon) newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !d.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg}))
	mux.Handle(WebhookPath, &WebhookHandler{
		Queue:    d.opts.Ledger,
		Routes:   func() WebhookRoutes { return d.currentSet().routes() },
		OnQueued: d.wake,
		MaxBody:  d.opts.WebhookMaxBody,
		Logger:   d.log,
		Metrics:  d.metrics,
	})
	if d.opts.Unsubscribe != nil {
		mux.Handle(UnsubscribePath, NewUnsubscribeHandler(d.opts.Unsubscribe, d.opts.Ledger, d.log, NewUnsubscribeCounter(d.reg)))
	}
	return mux
}

// wake asks the named jobs to run soon (webhook jobs, when work arrived).
func (d *Daemon) wake(jobs []string) {
	for _, j := range jobs {
		if n, err := d.opts.Ledger.PendingDeliveries(context.Background(), j); err == nil {
			d.metrics.setQueued(j, n)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, j := range jobs {
		if ch := d.wakes[j]; ch != nil {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// Server timeouts: a slow or stuck client cannot hold a connection open.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	httpShutdown      = 5 * time.Second
)

// Run serves HTTP and runs the jobs until ctx is cancelled. Then it stops
// starting runs, lets the runs in progress finish their batch in flight and
// record (bounded by ShutdownTimeout), stops the server and returns nil; an
// error means it could not start, or the shutdown did not complete in time.
func (d *Daemon) Run(ctx context.Context) error {
	ln := d.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", d.opts.Listen); err != nil {
			return fmt.Errorf("daemon: listen: %w", err)
		}
	}
	srv := &http.Server{
		Handler:           d.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	d.log.Info("daemon listening", "addr", ln.Addr().String())

	err := d.runJobs(ctx)

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdown)
	defer cancel()
	if serr := srv.Shutdown(sctx); serr != nil {
		_ = srv.Close()
	}
	if serr := <-serveErr; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("daemon: http server: %w", serr))
	}
	return err
}

// runJobs runs the job loops until ctx is done, then waits for them
// (bounded). It is Run without the HTTP server.
func (d *Daemon) runJobs(ctx context.Context) error {
	work, stopWork := context.WithCancel(ctx)
	defer stopWork()
	if n, err := d.opts.Ledger.interruptStaleRuns(ctx); err != nil {
		return err
	} else if n > 0 {
		d.log.Warn("job runs of a stopped process marked interrupted; their jobs resume now", "runs", n)
	}
	d.mu.Lock()
	d.work = work
	d.startGenerationLocked(d.set)
	d.mu.Unlock()
	d.ready.Store(true)
	d.log.Info("daemon started", "jobs", len(d.currentSet().Jobs))

	<-ctx.Done()
	d.ready.Store(false)
	d.log.Info("daemon stopping: finishing runs in progress", "timeout", d.opts.ShutdownTimeout)
	done := make(chan struct{})
	go func() {
		d.running.Wait()
		close(done)
	}()
	timer := time.NewTimer(d.opts.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-done:
		d.closeSet(d.currentSet())
		d.log.Info("daemon stopped")
		return nil
	case <-timer.C:
		return fmt.Errorf("daemon: job runs still in progress after %s; they resume on the next start", d.opts.ShutdownTimeout)
	}
}

// Reload replaces the job set. An invalid set is rejected with its errors
// and the one in force stays. Runs in progress finish with the set they
// started with; the new schedules apply at once.
func (d *Daemon) Reload(set *JobSet) error {
	if set == nil {
		return errors.New("daemon: reload: no job set")
	}
	if err := set.Validate(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.set
	d.set = set
	d.metrics.WatchStore(set.Store)
	if d.work == nil {
		// Not running yet: Run starts the new set.
		d.closeSetLater(old, nil)
		d.log.Info("configuration reloaded", "jobs", len(set.Jobs))
		return nil
	}
	if d.work.Err() != nil {
		return errors.New("daemon: reload: shutting down")
	}
	prev := d.gen
	d.startGenerationLocked(set)
	if prev != nil {
		prev.cancel()
		d.closeSetLater(old, prev)
	}
	d.log.Info("configuration reloaded", "jobs", len(set.Jobs))
	return nil
}

// closeSetLater closes old once the loops of gen (nil: none) have ended.
func (d *Daemon) closeSetLater(old *JobSet, gen *generation) {
	if old == nil || old.Close == nil {
		return
	}
	go func() {
		if gen != nil {
			gen.loops.Wait()
		}
		d.closeSet(old)
	}()
}

func (d *Daemon) closeSet(s *JobSet) {
	if s == nil || s.Close == nil {
		return
	}
	if err := s.Close(); err != nil {
		d.log.Warn("closing replaced configuration", "err", err)
	}
}

// startGenerationLocked starts one loop per job of set. d.mu is held.
func (d *Daemon) startGenerationLocked(set *JobSet) {
	gctx, cancel := context.WithCancel(d.work)
	g := &generation{set: set, cancel: cancel}
	d.gen = g
	d.wakes = map[string]chan struct{}{}
	for _, j := range set.Jobs {
		wake := make(chan struct{}, 1)
		d.wakes[j.Name] = wake
		lock := d.locks[j.Campaign.Name]
		if lock == nil {
			lock = make(chan struct{}, 1)
			d.locks[j.Campaign.Name] = lock
		}
		g.loops.Add(1)
		d.running.Add(1)
		go func() {
			defer d.running.Done()
			defer g.loops.Done()
			d.loop(gctx, d.work, set, j, lock, wake)
		}()
	}
	if set.Tracker != nil {
		g.loops.Add(1)
		d.running.Add(1)
		go func() {
			defer d.running.Done()
			defer g.loops.Done()
			d.trackLoop(gctx, d.work, set)
		}()
	}
}

// trackLoop runs the set's tracker at once and then every TrackEvery until
// sched is done. Like job runs, a pass uses work, which only shutdown
// cancels. One summary line per pass.
func (d *Daemon) trackLoop(sched, work context.Context, set *JobSet) {
	log := d.log.With("task", "tracking")
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-sched.Done():
			return
		case <-timer.C:
		}
		started := time.Now()
		res, err := set.Tracker.Run(work)
		redeemed, sent := 0, 0
		for _, s := range res.Synced {
			redeemed += s.NewRedeemed
		}
		for _, r := range res.Reminders {
			sent += r.Sent
		}
		attrs := []any{"campaigns", len(res.Synced), "newly_redeemed", redeemed, "reminders_sent", sent,
			"duration", time.Since(started).Round(time.Millisecond)}
		if err != nil {
			log.Error("tracking pass finished with errors", append(attrs, "err", err)...)
		} else {
			log.Info("tracking pass", attrs...)
		}
		if work.Err() != nil {
			return
		}
		timer.Reset(set.TrackEvery)
	}
}

// loop runs job on its schedule until sched is done. Runs use work, which
// is cancelled only at shutdown, so a reload never interrupts a run.
func (d *Daemon) loop(sched, work context.Context, set *JobSet, job Job, lock chan struct{}, wake chan struct{}) {
	log := d.log.With("job", job.Name)
	last, err := d.lastRun(work, job.Name)
	if err != nil {
		log.Error("cannot read the job's last run; waiting for its next slot", "err", err)
	}
	// Runs left 'running' by a dead process were marked interrupted at
	// start-up; a 'running' run seen after a reload is in progress in the
	// previous generation, and the schedule counts from its start.
	resume := last.Outcome == RunInterrupted
	for {
		if sched.Err() != nil {
			return
		}
		var due bool
		var next time.Time
		if resume {
			due, next = true, time.Now()
		} else {
			due, next = job.Schedule.Due(last.Started, time.Now())
		}
		if !due {
			if next.IsZero() {
				log.Warn("schedule has no next run")
				<-sched.Done()
				return
			}
			log.Debug("next run", "at", next.In(scheduleLoc(job, set)))
			timer := time.NewTimer(time.Until(next))
			select {
			case <-sched.Done():
				timer.Stop()
				return
			case <-wake:
				timer.Stop()
			case <-timer.C:
			}
		} else if last.Started.IsZero() && !resume {
			log.Info("first run")
		} else if resume {
			log.Info("resuming a run that was interrupted")
		} else if !last.Started.IsZero() && job.Schedule.Next(last.Started).Before(time.Now().Add(-time.Second)) {
			log.Info("catching up a missed run", "last_run", last.Started)
		}
		// One run per campaign at a time, across jobs and reloads.
		select {
		case lock <- struct{}{}:
		case <-sched.Done():
			return
		}
		if sched.Err() != nil {
			<-lock
			return
		}
		runner := d.runner
		runner.Issue = set.Issue
		runner.Loc = set.Loc
		run, err := runner.Run(work, job)
		<-lock
		if errors.Is(err, ErrJobInterrupted) || work.Err() != nil {
			return
		}
		resume = false
		if run.Started.IsZero() {
			run.Started = time.Now()
		}
		last = run
	}
}

func scheduleLoc(job Job, set *JobSet) *time.Location {
	if job.Schedule.loc != nil {
		return job.Schedule.loc
	}
	if set.Loc != nil {
		return set.Loc
	}
	return time.UTC
}

// lastRun returns the last recorded run of job (zero if none).
func (d *Daemon) lastRun(ctx context.Context, job string) (JobRun, error) {
	r, ok, err := d.opts.Ledger.LastJobRun(ctx, job)
	if err != nil || !ok {
		return JobRun{}, err
	}
	return r, nil
}

// prometheusGoCollectors are the runtime and process metrics every
// Prometheus exporter serves.
func prometheusGoCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
}

// RunJob runs the named job of the set in force once, now, waiting for
// its campaign's other run to finish first. It is what `run-job` does
// without a daemon.
func RunJob(ctx context.Context, l *Ledger, set *JobSet, name string, logger *slog.Logger, m *Metrics) (JobRun, error) {
	i := slices.IndexFunc(set.Jobs, func(j Job) bool { return j.Name == name })
	if i < 0 {
		names := make([]string, len(set.Jobs))
		for k, j := range set.Jobs {
			names[k] = j.Name
		}
		return JobRun{}, fmt.Errorf("no job %q (jobs: %v)", name, names)
	}
	if _, err := l.interruptStaleRuns(ctx); err != nil {
		return JobRun{}, err
	}
	r := JobRunner{Ledger: l, Issue: set.Issue, Loc: set.Loc, Logger: logger, Metrics: m}
	return r.Run(ctx, set.Jobs[i])
}
