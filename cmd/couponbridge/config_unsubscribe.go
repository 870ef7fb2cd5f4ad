package main

import (
	"net/url"
	"strings"

	"github.com/couponbridge/couponbridge/campaign"
)

// minUnsubscribeSecret is the shortest daemon.unsubscribe_secret accepted:
// 16 bytes, as `openssl rand -hex 16` gives 32.
const minUnsubscribeSecret = 16

// validateUnsubscribe checks daemon.public_url and the secret that signs
// the unsubscribe links on it.
func (d *DaemonConfig) validateUnsubscribe(v *validator) {
	if d.PublicURL == "" {
		return
	}
	u, err := url.Parse(d.PublicURL)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		v.errorf("daemon.public_url", "must be the https:// address the shop's web server forwards to the daemon, such as https://shop.example.com/couponbridge, got %q", d.PublicURL)
	case u.RawQuery != "" || u.Fragment != "":
		v.errorf("daemon.public_url", "must have no query or fragment, got %q", d.PublicURL)
	}
	switch s := d.UnsubscribeSecret.Reveal(); {
	case s == "":
		v.errorf("daemon.unsubscribe_secret", "is required with daemon.public_url: it signs the unsubscribe links (set COUPONBRIDGE_UNSUBSCRIBE_SECRET, e.g. from `openssl rand -hex 32`; changing it breaks the links already sent)")
	case len(s) < minUnsubscribeSecret:
		v.errorf("daemon.unsubscribe_secret", "must be at least %d characters long (e.g. `openssl rand -hex 32`)", minUnsubscribeSecret)
	}
}

// unsubscribeLinks returns the signer of the unsubscribe links, or nil
// when daemon.public_url is not set (emails then carry only the configured
// mail.unsubscribe URLs).
func (c *Config) unsubscribeLinks() *campaign.UnsubscribeLinks {
	d := c.Daemon
	if d.PublicURL == "" || len(d.UnsubscribeSecret) < minUnsubscribeSecret {
		return nil
	}
	links, err := campaign.NewUnsubscribeLinks(strings.TrimSuffix(d.PublicURL, "/"), []byte(d.UnsubscribeSecret.Reveal()))
	if err != nil {
		return nil // validateUnsubscribe reported it
	}
	return links
}
