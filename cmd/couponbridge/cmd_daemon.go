package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/campaign"
)

// daemonOptions are the flags of daemon.
type daemonOptions struct {
	Listen string

	// reload, when set (tests), replaces SIGHUP: a value asks for a reload.
	reload <-chan struct{}
	// started, when set (tests), receives the daemon once it runs.
	started func(*campaign.Daemon)
	// storeTransport, when set (tests), is the transport under the store
	// client.
	storeTransport http.RoundTripper
}

// AddFlags registers the flags of daemon.
func (o *daemonOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", "", "serve HTTP on `ADDR` (overrides daemon.listen; default "+campaign.DefaultListenAddress+")")
}

// daemonCommand runs the scheduled jobs as a service.
func daemonCommand() *command {
	var o daemonOptions
	return &command{
		Name:    "daemon",
		Summary: "Run the scheduled jobs (welcome, win-back, sign-ups, webhooks) as a service",
		Usage: `couponbridge daemon [--config FILE] [--listen ADDR]

Runs the jobs of the configuration's jobs section on their schedules, in the
store's time zone, and serves on the daemon.listen address:
  /healthz                liveness
  /readyz                 ready once the ledger is open and the jobs loaded
  /metrics                Prometheus metrics
  /webhooks/woocommerce   WooCommerce webhook deliveries (webhook jobs)

A run missed while the daemon was down runs once at start-up; a run that was
interrupted is finished at start-up. One job of a campaign runs at a time.

Signals: SIGTERM or SIGINT stop taking work, let the batch in flight finish
and be recorded, and exit 0 (bounded by daemon.shutdown_timeout). SIGHUP
reloads the configuration: an invalid one is rejected with its problems in
the log and the running one stays.

The daemon holds the ledger as long as it runs: 'couponbridge issue',
'run-job' and 'sync' cannot run beside it (run-job and sync wait 10 minutes
for it, then give up). Prefer system cron? Use 'couponbridge run-job NAME'
instead. The daemon itself never waits for the ledger (--wait is refused):
when another process holds it, it exits 1 at once, so that a second daemon
never starts behind the first.

Example:
  couponbridge daemon --config /etc/couponbridge/couponbridge.yaml`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			return runDaemon(ctx, env, &o, args)
		},
	}
}

func runDaemon(ctx context.Context, env *cliEnv, o *daemonOptions, args []string) error {
	if len(args) > 0 {
		return usageErrorf("daemon takes no arguments, got %q", args[0])
	}
	if env.global != nil && env.global.changed("wait") && env.global.Wait != 0 {
		return usageErrorf("--wait: the daemon does not wait for the ledger (a second daemon must not start behind the first)")
	}
	cfg, err := env.loadConfig()
	if err != nil {
		return err
	}
	if o.Listen != "" {
		cfg.Daemon.Listen = o.Listen
	}
	log := env.Logger
	if err := os.MkdirAll(filepath.Dir(cfg.Ledger.Path), 0o700); err != nil {
		return fmt.Errorf("ledger folder: %w", err)
	}
	ledger, err := campaign.OpenLedger(ctx, cfg.Ledger.Path, log)
	if err != nil {
		return err
	}
	defer ledger.Close()
	// One store client and one mail sender for the process: a reload
	// adjusts their limits rather than adding a second of each.
	clients := newProcessClients(ledger, log, o.storeTransport)
	defer clients.Close()
	set, err := cfg.jobSet(ctx, ledger, clients, log)
	if err != nil {
		return err
	}
	if problem := webhookListenProblem(cfg); problem != "" {
		log.Warn(problem)
	}
	if len(set.Jobs) == 0 {
		log.Warn("no jobs configured: serving health and metrics only (add a jobs section)")
	}
	if cfg.Daemon.PublicURL != "" {
		log.Info("serving one-click unsubscribe", "path", campaign.UnsubscribePath, "public_url", cfg.Daemon.PublicURL)
	} else if len(set.Jobs) > 0 && !cfg.Mail.Unsubscribe.OneClick {
		log.Warn("the emails carry no one-click unsubscribe, which Gmail and Yahoo ask of bulk senders: set daemon.public_url and daemon.unsubscribe_secret")
	}
	d, err := campaign.NewDaemon(campaign.DaemonOptions{
		Listen:          cfg.Daemon.Listen,
		Ledger:          ledger,
		Logger:          log,
		ShutdownTimeout: cfg.Daemon.ShutdownTimeout,
		Unsubscribe:     cfg.unsubscribeLinks(),
	}, set)
	if err != nil {
		if set.Close != nil {
			_ = set.Close()
		}
		return err
	}

	// SIGHUP is caught here rather than in main: main turns only SIGINT and
	// SIGTERM into the context every command gets, and SIGHUP's default
	// action kills the process. Only the daemon can reload, so only it
	// listens for SIGHUP, and only while it runs.
	reload := o.reload
	if reload == nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		ch := make(chan struct{})
		stopHup := make(chan struct{})
		defer close(stopHup)
		go func() {
			for {
				select {
				case <-hup:
					select {
					case ch <- struct{}{}:
					case <-stopHup:
						return
					}
				case <-stopHup:
					return
				}
			}
		}()
		reload = ch
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-reload:
				reloadDaemon(runCtx, env, cfg, ledger, clients, d)
			}
		}
	}()
	if o.started != nil {
		o.started(d)
	}
	log.Info("daemon starting", "config", configFileOf(env), "listen", cfg.Daemon.Listen, "jobs", len(set.Jobs))
	if err := d.Run(runCtx); err != nil {
		return err
	}
	// A stop by signal is the normal end of a service: exit 0.
	return nil
}

// reloadDaemon loads the configuration again and hands the new jobs to d.
// Anything wrong is logged and the running configuration stays.
func reloadDaemon(ctx context.Context, env *cliEnv, old *Config, ledger *campaign.Ledger, clients *processClients, d *campaign.Daemon) {
	log := env.Logger
	log.Info("SIGHUP: reloading the configuration", "config", configFileOf(env))
	cfg, err := env.loadConfig()
	if err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			log.Error("configuration rejected; keeping the running one", "problems", len(ce.problems))
			for _, p := range ce.problems {
				log.Error("configuration problem", "problem", p)
			}
			return
		}
		log.Error("configuration rejected; keeping the running one", "err", err)
		return
	}
	if cfg.Ledger.Path != old.Ledger.Path {
		log.Warn("ledger.path changed: takes effect at the next restart", "running", old.Ledger.Path, "new", cfg.Ledger.Path)
	}
	if cfg.Daemon.Listen != old.Daemon.Listen {
		log.Warn("daemon.listen changed: takes effect at the next restart", "running", old.Daemon.Listen, "new", cfg.Daemon.Listen)
	}
	set, err := cfg.jobSet(ctx, ledger, clients, log)
	if err != nil {
		clients.restore(ctx, old)
		log.Error("configuration rejected; keeping the running one", "err", err)
		return
	}
	if err := d.Reload(set); err != nil {
		if set.Close != nil {
			_ = set.Close()
		}
		clients.restore(ctx, old)
		log.Error("configuration rejected; keeping the running one", "err", err)
		return
	}
	*old = *cfg
}

// configFileOf is the configuration file of this invocation, for logs.
func configFileOf(env *cliEnv) string {
	if env.global == nil {
		return ""
	}
	return env.global.ConfigFile
}
