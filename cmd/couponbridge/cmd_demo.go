package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/couponbridge/couponbridge/woo/wootest"
)

// The demo's configuration and recipient list, written into the demo folder
// on the first run so that the user can read and reuse them.
var (
	//go:embed demo/couponbridge.yaml
	demoConfig []byte
	//go:embed demo/recipients.csv
	demoRecipients []byte
)

// demoOptions are the flags of demo.
type demoOptions struct {
	Dir    string
	Faults bool
	Reset  bool
}

// AddFlags registers the flags of demo.
func (o *demoOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Dir, "dir", "couponbridge-demo", "`FOLDER` for the demo's configuration, ledger, sandbox data and outbox")
	fs.BoolVar(&o.Faults, "faults", false, "make the sandbox misbehave like a real host: 429s, random 5xx, a batch that is applied but answered with 504")
	fs.BoolVar(&o.Reset, "reset", false, "start over: remove the ledger, the sandbox data and the outbox of an earlier demo first")
}

// demoCommand runs a sample campaign end to end on a sandbox store.
func demoCommand() *command {
	o := &demoOptions{}
	return &command{
		Name:    "demo",
		Summary: "Run a sample welcome campaign on a built-in sandbox store, emails to an outbox folder",
		Usage: `couponbridge demo [--dir FOLDER] [--faults] [--reset]

Shows the whole job without a shop and without sending email: it serves a
WooCommerce-compatible sandbox store on a free loopback port, and issues the
sample "welcome" campaign to a bundled list of 500 recipients (three of its
rows are broken on purpose, to show how rejects are reported). Each
recipient gets a one-time coupon locked to their email; the emails are
written as .eml files into FOLDER/outbox.

The sandbox store is seeded on the first run (and after --reset) with demo
customers and orders of varied ages, the same each time: new sign-ups,
customers whose last order is months old, recent buyers and guests (see
'couponbridge help sandbox', --seed-demo). Served again with 'couponbridge
sandbox --data FOLDER/store.json', it lets welcome (new_customers) and
win-back (inactive_customers) jobs find people.

Everything lands in FOLDER: the configuration used (couponbridge.yaml), the
list, the ledger, the sandbox's data and the outbox. Running the demo again
creates nothing new, which is the point: the ledger remembers every code.
--faults makes the store answer 429 and 5xx and lose one answer after
applying a batch, and the result is the same.

Examples:
  couponbridge demo
  couponbridge demo --reset --faults
  couponbridge status --config couponbridge-demo/couponbridge.yaml`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) > 0 {
				return usageErrorf("demo takes no arguments, got %q", args[0])
			}
			return runDemo(ctx, env, o)
		},
	}
}

func runDemo(ctx context.Context, env *cliEnv, o *demoOptions) error {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("demo folder: %w", err)
	}
	cfgPath := filepath.Join(dir, "couponbridge.yaml")
	listPath := filepath.Join(dir, "recipients.csv")
	storePath := filepath.Join(dir, "store.json")
	if o.Reset {
		for _, p := range []string{"couponbridge.db", "couponbridge.db-wal", "couponbridge.db-shm", "couponbridge.db.lock",
			"store.json", "recipients.rejects.csv", "outbox"} {
			if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
				return fmt.Errorf("demo --reset: %w", err)
			}
		}
	}
	for path, data := range map[string][]byte{cfgPath: demoConfig, listPath: demoRecipients} {
		if err := writeIfMissing(path, data); err != nil {
			return err
		}
	}

	// The sandbox listens on a free port; the configuration's store.url is
	// overridden with it, as a flag would.
	cfgForZone, err := loadConfig(cfgPath, loadOptions{getenv: env.Getenv})
	if err != nil {
		return err
	}
	store := wootest.NewStore(wootest.WithDataFile(storePath), wootest.WithTimezone(cfgForZone.Store.Location()),
		wootest.WithCurrency(cfgForZone.Store.Currency))
	if err := store.LoadError(); err != nil {
		return fmt.Errorf("sandbox data %s: %w (run the demo with --reset to start over)", storePath, err)
	}
	// Customers and orders for the welcome and win-back jobs, on the first
	// run (and after --reset) only: the seed keeps them the same each time.
	seed, seeded, err := store.SeedDemo(time.Now(), 1)
	if err != nil {
		return fmt.Errorf("sandbox data %s: %w", storePath, err)
	}
	if o.Faults {
		store.SetFaults(wootest.Faults{
			RateLimitRPS:   8,
			RetryAfter:     true,
			ErrorRatio:     0.1,
			CommitThenFail: 1,
			Seed:           time.Now().UnixNano(),
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sandbox store: %w", err)
	}
	srv := &http.Server{Handler: store, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutCtx)
		_ = store.Save()
	}()
	storeURL := "http://" + ln.Addr().String()

	overrides := append(env.global.configOverrides(),
		override{"couponbridge demo", "store.url", func(c *Config) { c.Store.URL = storeURL }},
		// The demo's own sandbox never goes on creating after it answered
		// (a real store's PHP may: there the hold stays twice the timeout),
		// so codes it did not take are sent again after a short pause.
		override{"couponbridge demo", "store.unclear_hold", func(c *Config) {
			if c.Store.UnclearHold == 0 {
				c.Store.UnclearHold = 2 * time.Second
			}
		}})
	cfg, err := loadConfig(cfgPath, loadOptions{getenv: env.Getenv, flags: overrides})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "Sandbox store serving at %s (data in %s)\n", storeURL, rel(storePath))
	if seeded {
		fmt.Fprintf(env.Stderr, "Sandbox store seeded with %d customers, %d guest buyers and %d orders (new sign-ups, lapsed and recent buyers)\n",
			seed.NewSignups+seed.NewBuyers+seed.Lapsed+seed.Recent, seed.Guests, seed.Orders)
	}
	if o.Faults {
		fmt.Fprintln(env.Stderr, "Faults on: the store answers 429 above 8 requests/s, 10% random 5xx, and one batch is applied but answered with 504.")
	}

	issueErr := issueWithConfig(ctx, env, cfg, &issueOptions{Campaign: "welcome", Recipients: listPath})
	var failures *failuresError
	if issueErr != nil && !errors.As(issueErr, &failures) {
		return issueErr
	}

	emls, _ := filepath.Glob(filepath.Join(cfg.Mail.OutboxDir, "*.eml"))
	coupons := 0
	for _, c := range store.Coupons() {
		if c.Status == "publish" {
			coupons++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nThe sandbox store now holds %d coupons; %d emails are in %s", coupons, len(emls), rel(cfg.Mail.OutboxDir))
	if len(emls) > 0 {
		fmt.Fprintf(&b, " (open one in a mail client: %s)", rel(emls[0]))
	}
	cb := env.commandName()
	fmt.Fprintf(&b, ".\n\nRun the demo again: nothing is created twice. Look around:\n")
	fmt.Fprintf(&b, "  %s status --config %s\n", cb, rel(cfgPath))
	fmt.Fprintf(&b, "  %s export welcome --config %s --out -\n", cb, rel(cfgPath))
	fmt.Fprintf(&b, "  %s demo --reset --faults      (the same with a misbehaving store)\n", cb)
	fmt.Fprintf(&b, "\nTry the welcome and win-back jobs on the same store, with its demo customers and orders:\n")
	fmt.Fprintf(&b, "  %s sandbox --data %s --timezone %s --currency %s &\n", cb, rel(storePath), cfg.Store.Timezone, cfg.Store.Currency)
	fmt.Fprintf(&b, "  %s run-job welcome --config %s\n", cb, rel(cfgPath))
	fmt.Fprintf(&b, "  %s run-job winback --config %s\n", cb, rel(cfgPath))
	fmt.Fprintf(&b, "\nFor a real store: copy %s, set store.url and your REST API key\n", rel(cfgPath))
	fmt.Fprintf(&b, "(COUPONBRIDGE_STORE_KEY, COUPONBRIDGE_STORE_SECRET), switch mail.transport to smtp,\n")
	fmt.Fprintf(&b, "and begin with: %s issue --config FILE --campaign welcome --recipients LIST.csv --dry-run\n", cb)
	fmt.Fprint(env.Stdout, b.String())
	return issueErr
}

// writeIfMissing writes data to path unless the file exists, so that a
// user's edits to the demo's files survive the next run.
func writeIfMissing(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// rel shows path relative to the working directory when it is below it.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
