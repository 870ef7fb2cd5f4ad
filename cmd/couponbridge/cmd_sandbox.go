package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/text/currency"

	"github.com/couponbridge/couponbridge/woo/wootest"
)

// sandboxOptions are the flags of `couponbridge sandbox`.
type sandboxOptions struct {
	Listen      string
	DataFile    string
	BatchLimit  int
	Timezone    string
	Currency    string
	NoAnalytics bool

	RateLimit   float64
	RetryAfter  bool
	ErrorRatio  float64
	Latency     time.Duration
	ItemLatency time.Duration
	Seed        int64
	SeedDemo    bool
}

// AddFlags registers the sandbox flags.
func (o *sandboxOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", "127.0.0.1:8787", "`ADDRESS` to serve on (host:port; port 0 picks a free one)")
	fs.StringVar(&o.DataFile, "data", "", "keep the store's coupons, customers and orders in this JSON `FILE` across restarts")
	fs.IntVar(&o.BatchLimit, "batch-limit", wootest.DefaultBatchLimit, "most items per batch request; more answers 413 like WooCommerce")
	fs.StringVar(&o.Timezone, "timezone", "UTC", "the store's `TIMEZONE` (IANA name, e.g. Europe/Berlin) for site-local dates")
	fs.StringVar(&o.Currency, "currency", "USD", "the store's `CURRENCY` (ISO 4217), as its settings report it")
	fs.BoolVar(&o.NoAnalytics, "no-analytics", false, "behave like a store without WooCommerce Analytics (wc-analytics answers 404)")
	fs.Float64Var(&o.RateLimit, "rate-limit", 0, "answer 429 above this many requests per `RPS` (0: no limit)")
	fs.BoolVar(&o.RetryAfter, "retry-after", true, "send Retry-After with 429 and 503 answers")
	fs.Float64Var(&o.ErrorRatio, "error-ratio", 0, "share of requests (0..1) answered with a random 502, 503 or 504")
	fs.DurationVar(&o.Latency, "latency", 0, "delay every request by this `DURATION`")
	fs.DurationVar(&o.ItemLatency, "item-latency", 0, "delay every batch item by this `DURATION` (a real store takes ~12ms)")
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the random faults and of --seed-demo's people, for repeatable runs")
	fs.BoolVar(&o.SeedDemo, "seed-demo", false, "fill an empty store with demo customers and orders, so that welcome and win-back jobs find people")
}

func (o *sandboxOptions) validate() error {
	switch {
	case o.BatchLimit < 1:
		return usageErrorf("--batch-limit must be at least 1, got %d", o.BatchLimit)
	case o.RateLimit < 0:
		return usageErrorf("--rate-limit must not be negative, got %v", o.RateLimit)
	case o.ErrorRatio < 0 || o.ErrorRatio > 1:
		return usageErrorf("--error-ratio must be between 0 and 1, got %v", o.ErrorRatio)
	case o.Latency < 0 || o.ItemLatency < 0:
		return usageErrorf("--latency and --item-latency must not be negative")
	}
	return nil
}

// sandboxCommand serves a WooCommerce-compatible sandbox store.
func sandboxCommand() *command {
	o := &sandboxOptions{}
	return &command{
		Name:    "sandbox",
		Summary: "Serve a WooCommerce-compatible sandbox store for trying couponbridge",
		Usage: `couponbridge sandbox [--listen ADDRESS] [--data FILE] [--seed-demo] [fault flags]

Serves a sandbox store that answers the WooCommerce REST API the way a real
WooCommerce 11 store does (coupons, customers, orders, analytics), so that
couponbridge can be tried without a shop. It serves plain HTTP, where
WooCommerce only accepts OAuth 1.0a: point the configuration at it with
auth_mode oauth1 (or auto). It prints the URL, the API key and secret and a
configuration snippet, and runs until interrupted (Ctrl-C).

A new store has no customers and no orders. --seed-demo fills an empty
one (a --data file that already holds customers or orders is left as it
is) with demo people whose dates are counted back from now: 12 sign-ups of
the last 6 days without an order and 3 who already bought (a
cash-on-delivery order still processing, a bank transfer on hold, a guest
order placed before registering: a welcome job that skips paying
customers leaves them out), 20 customers whose last order is 2 to 12
months old (6 of them 61 to 89 days, inside the default win-back window),
10 who bought in the last 30 days and 8 guest buyers. The same --seed
gives the same people. A new_customers job with lookback: 168h and an
inactive_customers job then find people at once.

The fault flags make it misbehave like real hosts: --rate-limit answers 429
above a request rate, --error-ratio answers random 5xx, --latency and
--item-latency slow it down.

Examples:
  couponbridge sandbox
  couponbridge sandbox --seed-demo --data sandbox.json
  couponbridge sandbox --listen 127.0.0.1:9000 --data sandbox.json --rate-limit 5 --item-latency 12ms`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) > 0 {
				return usageErrorf("sandbox takes no arguments, got %q", args[0])
			}
			if err := o.validate(); err != nil {
				return err
			}
			return runSandbox(ctx, env, o)
		},
	}
}

func runSandbox(ctx context.Context, env *cliEnv, o *sandboxOptions) error {
	loc, err := time.LoadLocation(o.Timezone)
	if err != nil {
		return usageErrorf("--timezone: %v", err)
	}
	if _, err := currency.ParseISO(o.Currency); err != nil || len(o.Currency) != 3 {
		return usageErrorf("--currency: want an ISO 4217 code such as EUR or USD, got %q", o.Currency)
	}
	opts := []wootest.StoreOption{
		wootest.WithBatchLimit(o.BatchLimit),
		wootest.WithTimezone(loc),
		wootest.WithCurrency(o.Currency),
		wootest.WithAnalytics(!o.NoAnalytics),
		wootest.WithTrustedTLSProxy(false),
		wootest.WithLogger(env.Logger),
	}
	if o.DataFile != "" {
		opts = append(opts, wootest.WithDataFile(o.DataFile))
	}
	store := wootest.NewStore(opts...)
	if err := store.LoadError(); err != nil {
		return fmt.Errorf("sandbox: loading --data %s: %w", o.DataFile, err)
	}
	seeded := ""
	if o.SeedDemo {
		sum, ok, err := store.SeedDemo(time.Now(), o.Seed)
		switch {
		case err != nil:
			return fmt.Errorf("sandbox: --seed-demo: %w", err)
		case ok:
			seeded = "\n" + demoSeedText(sum)
			if err := store.Save(); err != nil {
				return fmt.Errorf("sandbox: saving %s: %w", o.DataFile, err)
			}
		default:
			seeded = "\n  demo data: not added, the store already has customers or orders\n"
		}
	}
	store.SetFaults(wootest.Faults{
		RateLimitRPS: o.RateLimit, RetryAfter: o.RetryAfter, ErrorRatio: o.ErrorRatio,
		Latency: o.Latency, ItemLatency: o.ItemLatency, Seed: o.Seed,
	})

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{
		Handler:           store,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	fmt.Fprintf(env.Stdout, `couponbridge sandbox store listening on %s
  REST API:  %s/wp-json/wc/v3/
  key:       %s
  secret:    %s
  auth:      OAuth 1.0a (plain HTTP; Basic and query keys need HTTPS, as on a real store)
  data:      %s
%s
Configuration snippet (couponbridge.yaml):
store:
  url: %s
  auth_mode: oauth1
  consumer_key: %s
  consumer_secret: %s

Press Ctrl-C to stop.
`, url, url, wootest.DefaultKey, wootest.DefaultSecret, dataDescription(o.DataFile), seeded, url, wootest.DefaultKey, wootest.DefaultSecret)
	env.Logger.Info("sandbox: serving", "url", url, "batch_limit", o.BatchLimit, "rate_limit", o.RateLimit,
		"error_ratio", o.ErrorRatio, "latency", o.Latency, "item_latency", o.ItemLatency, "data", o.DataFile)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("sandbox: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		env.Logger.Warn("sandbox: requests still running at shutdown were cut off", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sandbox: %w", err)
	}
	if err := store.Save(); err != nil {
		return fmt.Errorf("sandbox: saving %s: %w", o.DataFile, err)
	}
	st := store.Stats()
	env.Logger.Info("sandbox: stopped", "requests", st.Requests, "throttled", st.Throttled)
	return nil
}

func dataDescription(path string) string {
	if path == "" {
		return "in memory (use --data FILE to keep it)"
	}
	return path
}

// demoSeedText says what --seed-demo put into the store and which jobs
// find whom.
func demoSeedText(s wootest.DemoSeed) string {
	return fmt.Sprintf(`  demo data: %d customers and %d guest buyers, %d orders:
    %d new sign-ups without an order and %d who already bought (welcome: new_customers, lookback: 168h)
    %d whose last order is 2 to 12 months old (win-back: inactive_customers), %d recent buyers
`, s.NewSignups+s.NewBuyers+s.Lapsed+s.Recent, s.Guests, s.Orders, s.NewSignups, s.NewBuyers, s.Lapsed, s.Recent)
}
