package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/couponbridge/couponbridge/campaign"
)

// checkConfigOptions are the flags of check-config.
type checkConfigOptions struct {
	Print bool
}

// AddFlags registers the flags of check-config.
func (o *checkConfigOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.Print, "print", false, "print the effective configuration (defaults, environment and flags applied; secrets redacted)")
}

// checkConfigCommand validates a configuration file without touching the
// store, the mail server or the ledger.
func checkConfigCommand() *command {
	var o checkConfigOptions
	return &command{
		Name:    "check-config",
		Summary: "Check a configuration file and report every problem at once",
		Usage: `couponbridge check-config [--config FILE] [--print]

Reads the configuration like every other command does (strict YAML, ${ENV}
expansion, COUPONBRIDGE_* environment overrides, *_file secrets, email
templates) and reports every problem with its file and line, or prints a
short summary. Nothing is contacted and nothing is written.

Example:
  couponbridge check-config --config /etc/couponbridge/couponbridge.yaml --print`,
		Flags: o.AddFlags,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) > 0 {
				return usageErrorf("check-config takes no arguments, got %q (use --config FILE)", args[0])
			}
			cfg, err := env.loadConfig()
			if err != nil {
				return err
			}
			if o.Print {
				b, err := yaml.Marshal(cfg)
				if err != nil {
					return err
				}
				_, err = env.Stdout.Write(b)
				return err
			}
			fmt.Fprint(env.Stdout, describeConfig(cfg))
			return nil
		},
	}
}

// describeConfig is the summary check-config prints for a valid configuration.
func describeConfig(cfg *Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: OK\n", cfg.src.file)
	mode, _ := cfg.Store.authMode()
	fmt.Fprintf(&b, "  store:     %s (auth %s, at most %g requests/s, batches of %d, time zone %s, %s)\n",
		cfg.Store.URL, mode, cfg.Store.Rate, cfg.Store.BatchSize, cfg.Store.Timezone, cfg.Store.Currency)
	switch cfg.Mail.Transport {
	case "outbox":
		fmt.Fprintf(&b, "  mail:      outbox folder %s (nothing is sent)\n", cfg.Mail.OutboxDir)
	default:
		fmt.Fprintf(&b, "  mail:      smtp %s:%d (%s), from %s\n", cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port, cfg.Mail.SMTP.TLS, cfg.Mail.From.Address)
	}
	fmt.Fprintf(&b, "  ledger:    %s\n", cfg.Ledger.Path)
	names := make([]string, 0, len(cfg.Campaigns))
	for n := range cfg.Campaigns {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		b.WriteString("  campaigns: none\n")
	}
	for _, n := range names {
		cc := cfg.Campaigns[n]
		kind := "emailed"
		if cc.ExportOnly {
			kind = "export-only"
		}
		g, err := campaign.NewCodeGenerator(cc.codeSpec(), nil)
		shape := ""
		if err == nil {
			shape = fmt.Sprintf("codes %s, %.1f bits", g.Layout(), g.Bits())
		}
		fmt.Fprintf(&b, "  campaign:  %s (%s, %s %s %s, %s)\n", n, kind, cc.Coupon.Amount, cc.Coupon.DiscountType, expiryText(cc.Coupon.Expiry), shape)
	}
	return b.String()
}

func expiryText(e ExpiryConfig) string {
	if e.Date != "" {
		return "until " + e.Date
	}
	return fmt.Sprintf("for %d days", e.Days)
}
