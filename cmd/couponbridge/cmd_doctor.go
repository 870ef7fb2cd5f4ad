package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/couponbridge/couponbridge/campaign"
	"github.com/couponbridge/couponbridge/mailer"
	"github.com/couponbridge/couponbridge/woo"
)

// doctorCommand checks, online, what check-config cannot: that the store
// and the mail server answer and accept the credentials, and that the
// store's time zone and currency are those of the configuration.
func doctorCommand() *command {
	return &command{
		Name:    "doctor",
		Summary: "Check the store, the API key, the mail server and the campaigns online, before a first run",
		Usage: `couponbridge doctor [--config FILE]

Contacts the store and the mail server as a real run would, and prints one
line per check with OK or FAIL and, for a failure, how to fix it (SKIP:
the store does not tell, compare by hand):

  store reachable      the WordPress REST index (/wp-json/) answers
  key valid            the consumer key and secret are accepted (a coupon list of one)
  key can write        the key may create coupons: an empty coupon batch, which
                       creates, changes and deletes nothing
  store time zone      the store's time zone (Settings > General) is store.timezone
  store currency       WooCommerce's currency is store.currency
  mail server          SMTP: connect, TLS, EHLO and login, then QUIT; nothing is sent
                       (outbox: the folder is named)
  campaign NAME        the coupon settings are valid today (a fixed expiry date
                       already past fails)

Nothing is written to the store, the mail server or the ledger. Exit code 0
when no check failed, 1 when one failed, 2 when the configuration itself
is invalid (see check-config).

Example:
  couponbridge doctor --config /etc/couponbridge/couponbridge.yaml`,
		Run: func(ctx context.Context, env *cliEnv, args []string) error {
			if len(args) > 0 {
				return usageErrorf("doctor takes no arguments, got %q (use --config FILE)", args[0])
			}
			cfg, err := env.loadConfigFor(useStore | useSMTPPassword)
			if err != nil {
				return err
			}
			return runOnlineChecks(ctx, env, cfg)
		},
	}
}

// runOnlineChecks runs the doctor's checks, prints them, and fails when
// one failed (doctor, check-config --online).
func runOnlineChecks(ctx context.Context, env *cliEnv, cfg *Config) error {
	checks := runDoctor(ctx, cfg, doctorDeps{logger: env.Logger, now: time.Now})
	failed := writeDoctorChecks(env.Stdout, checks)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	return nil
}

// doctorCheck is the outcome of one check.
type doctorCheck struct {
	Name string
	OK   bool
	// Skipped is a check the store gave no means to make: neither passed
	// nor failed, shown as SKIP with what to compare by hand.
	Skipped bool
	Detail  string // what was found
	Fix     string // for a failure: what to do
}

// doctorDeps are what the checks use besides the configuration.
type doctorDeps struct {
	logger *slog.Logger
	now    func() time.Time
	// hc is the HTTP client for the store (nil: the default), for tests.
	hc *http.Client
}

// mailChecker is what a sender that can test its login offers
// (*mailer.SMTPSender).
type mailChecker interface {
	Check(ctx context.Context) error
}

// runDoctor runs every check, in the order of the help, and returns them
// all: a failure does not hide the checks after it, except that the key is
// not tried against a store that cannot be reached.
func runDoctor(ctx context.Context, cfg *Config, d doctorDeps) []doctorCheck {
	var out []doctorCheck
	add := func(c doctorCheck) { out = append(out, c) }
	out = append(out, storeChecks(ctx, cfg, d)...)
	add(mailCheck(ctx, cfg, d.logger))
	now := d.now()
	names := make([]string, 0, len(cfg.Campaigns))
	for name := range cfg.Campaigns {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		cc := cfg.Campaigns[name]
		c := doctorCheck{Name: "campaign " + name, OK: true}
		if err := cc.couponTemplate().ValidateAt(now, cfg.Store.Location()); err != nil {
			c.OK, c.Detail = false, err.Error()
			c.Fix = "set campaigns." + name + ".coupon.expiry to a date after today, or use days"
		} else {
			exp := cc.couponTemplate().ExpiresAt(now, cfg.Store.Location())
			c.Detail = "a coupon issued now expires " + exp.Format(campaign.HumanTimeLayout)
		}
		add(c)
	}
	return out
}

// storeChecks are the checks of the store and its key.
func storeChecks(ctx context.Context, cfg *Config, d doctorDeps) []doctorCheck {
	client, err := cfg.Store.newClient(d.logger, d.hc)
	if err != nil {
		return []doctorCheck{{Name: "store reachable", Detail: err.Error(), Fix: "check store.url and store.auth_mode"}}
	}
	var out []doctorCheck

	reach := doctorCheck{Name: "store reachable"}
	site, _, err := client.Settings.Site(ctx)
	switch {
	case err == nil:
		reach.OK = true
		reach.Detail = fmt.Sprintf("%s answers (WordPress site %q)", cfg.Store.URL, site.Name)
	case woo.IsUnreachable(err):
		reach.Detail = err.Error()
		reach.Fix = "check store.url, that the shop is up, and that this machine can reach it (DNS, firewall, proxy)"
	case woo.IsAuth(err):
		// Security plugins close the index to visitors; the store answered.
		reach.OK = true
		reach.Detail = fmt.Sprintf("%s answers, but its REST index (/wp-json/) is closed to visitors (%s)", cfg.Store.URL, storeDetail(err))
	case woo.IsNotFound(err):
		reach.Detail = err.Error()
		reach.Fix = "store.url must be the WordPress site's address (the REST API lives at /wp-json/); check that pretty permalinks are on"
	default:
		reach.Detail = storeDetail(err)
		reach.Fix = "check store.url: it must be the address of the WordPress site running WooCommerce"
	}
	out = append(out, reach)
	if !reach.OK && woo.IsUnreachable(err) {
		return out // every other store check would say the same
	}

	key := doctorCheck{Name: "key valid"}
	_, _, keyErr := client.Coupons.List(ctx, &woo.CouponListOptions{ListOptions: woo.ListOptions{PerPage: 1}})
	if keyErr != nil {
		key.Detail, key.Fix = storeDetail(keyErr), storeFix(keyErr, "check store.consumer_key and the consumer secret")
	} else {
		key.OK, key.Detail = true, "the store accepts the consumer key "+maskKey(cfg.Store.ConsumerKey)
	}
	out = append(out, key)
	// A refused key is refused everywhere: say it once.
	refused := woo.IsAuth(keyErr)
	const notTried = "not tried: the store refused the key (see key valid)"

	write := doctorCheck{Name: "key can write"}
	if refused {
		write.Detail = notTried
	} else if err := client.Settings.CheckWrite(ctx); err != nil {
		write.Detail, write.Fix = storeDetail(err), storeFix(err, "give the API key Read/Write permission in WooCommerce > Settings > Advanced > REST API")
	} else {
		write.OK, write.Detail = true, "the key may create coupons (checked with an empty batch: nothing was written)"
	}
	out = append(out, write)

	tz := doctorCheck{Name: "store time zone"}
	switch {
	case site == nil && reach.OK:
		tz.Skipped, tz.Detail = true, "not read: the REST index is closed to visitors"
		tz.Fix = "compare WordPress > Settings > General > Timezone with store.timezone (" + cfg.Store.Timezone + ") by hand"
	case site == nil:
		tz.Detail, tz.Fix = "not read: the store did not answer", "see store reachable"
	case site.TimezoneString == cfg.Store.Timezone:
		tz.OK, tz.Detail = true, site.TimezoneString
	case site.TimezoneString == "" && fixedOffsetOf(cfg.Store.Location(), d.now()) == site.GMTOffset.Duration():
		tz.OK = true
		tz.Detail = fmt.Sprintf("the store uses a fixed offset (UTC%+g), as %s does all year", float64(site.GMTOffset), cfg.Store.Timezone)
	case site.TimezoneString == "":
		_, cfgOff := d.now().In(cfg.Store.Location()).Zone()
		tz.Detail = fmt.Sprintf("the store uses a fixed offset (UTC%+g), store.timezone is %s (UTC%+g today)",
			float64(site.GMTOffset), cfg.Store.Timezone, float64(cfgOff)/3600)
		tz.Fix = "choose a city as the time zone in WordPress > Settings > General (a fixed offset ignores summer time), and set store.timezone to it"
	default:
		tz.Detail = fmt.Sprintf("the store says %s, store.timezone is %s", site.TimezoneString, cfg.Store.Timezone)
		tz.Fix = "set store.timezone: " + site.TimezoneString + " (expiry dates end at 23:59:59 in the store's time zone)"
	}
	out = append(out, tz)

	cur := doctorCheck{Name: "store currency"}
	if refused {
		cur.Detail = notTried
	} else if code, err := client.Settings.Currency(ctx); err != nil {
		cur.Detail = storeDetail(err)
		cur.Fix = storeFix(err, "compare WooCommerce > Settings > General > Currency with store.currency by hand")
		if woo.IsAuth(err) && key.OK {
			// The key works for coupons; only the settings are closed to it.
			cur.Skipped = true
			cur.Detail = "not read: the key's user may not read WooCommerce's settings (" + cur.Detail + ")"
			cur.Fix = "compare WooCommerce > Settings > General > Currency with store.currency (" + cfg.Store.Currency + ") by hand"
		}
	} else if !strings.EqualFold(code, cfg.Store.Currency) {
		cur.Detail = fmt.Sprintf("the store sells in %s, store.currency is %s", code, cfg.Store.Currency)
		cur.Fix = "set store.currency: " + code + " (amounts in emails would show the wrong currency)"
	} else {
		cur.OK, cur.Detail = true, code
	}
	out = append(out, cur)
	return out
}

// fixedOffsetOf returns loc's offset from UTC when it is the same all year
// around now (no summer time), else an impossible offset.
func fixedOffsetOf(loc *time.Location, now time.Time) time.Duration {
	y := now.In(loc).Year()
	_, jan := time.Date(y, time.January, 1, 12, 0, 0, 0, loc).Zone()
	_, jul := time.Date(y, time.July, 1, 12, 0, 0, 0, loc).Zone()
	if jan != jul {
		return 48 * time.Hour
	}
	return time.Duration(jan) * time.Second
}

// storeDetail is what the store answered, without the request's URL
// (the fix says what to do).
func storeDetail(err error) string {
	var ae *woo.APIError
	if errors.As(err, &ae) {
		s := fmt.Sprintf("the store answered %d", ae.StatusCode)
		if ae.Code != "" {
			s += " " + ae.Code
		}
		if ae.Message != "" {
			s += ": " + ae.Message
		}
		return s
	}
	return err.Error()
}

// storeFix is the fix for a store error: the client's explanation of an
// authentication failure, else fallback.
func storeFix(err error, fallback string) string {
	if h := woo.AuthHint(err); h != "" {
		return h
	}
	if woo.IsUnreachable(err) {
		return "the store stopped answering; try again"
	}
	return fallback
}

// mailCheck tries the mail server's login, sending nothing.
func mailCheck(ctx context.Context, cfg *Config, logger *slog.Logger) doctorCheck {
	c := doctorCheck{Name: "mail server"}
	if cfg.Mail.Transport == "outbox" {
		c.OK = true
		c.Detail = "transport outbox: emails are written to " + cfg.Mail.OutboxDir + ", nothing is sent"
		return c
	}
	sender, err := cfg.Mail.newSender(logger)
	if err != nil {
		c.Detail, c.Fix = err.Error(), "check the mail.smtp section"
		return c
	}
	defer sender.Close()
	checker, ok := sender.(mailChecker)
	if !ok {
		c.OK, c.Detail = true, "not checked: the transport cannot be tested"
		return c
	}
	addr := fmt.Sprintf("%s:%d", cfg.Mail.SMTP.Host, cfg.Mail.SMTP.Port)
	if err := checker.Check(ctx); err != nil {
		c.Detail = err.Error()
		switch {
		case errors.Is(err, mailer.ErrLoginRefused):
			c.Fix = "check mail.smtp.username and the password ($COUPONBRIDGE_SMTP_PASSWORD or mail.smtp.password_file), and mail.smtp.auth"
		default:
			c.Fix = "check mail.smtp.host, port and tls (587: starttls, 465: tls), and that this machine may connect to it"
		}
		return c
	}
	c.OK = true
	c.Detail = addr + " accepts the connection"
	if cfg.Mail.SMTP.Auth != "none" {
		c.Detail += " and the login of " + cfg.Mail.SMTP.Username
	}
	c.Detail += " (nothing was sent)"
	return c
}

// writeDoctorChecks prints one line per check and returns how many failed.
func writeDoctorChecks(w io.Writer, checks []doctorCheck) int {
	failed := 0
	for _, c := range checks {
		status := "OK  "
		switch {
		case c.Skipped:
			status = "SKIP"
		case !c.OK:
			status = "FAIL"
			failed++
		}
		line := fmt.Sprintf("%s  %-18s %s", status, c.Name, c.Detail)
		if !c.OK && c.Fix != "" {
			line += " (fix: " + c.Fix + ")"
		}
		fmt.Fprintln(w, line)
	}
	return failed
}

// maskKey shows enough of a consumer key to tell which one it is.
func maskKey(k string) string {
	if len(k) <= 7 {
		return k
	}
	return k[:7] + "…"
}
