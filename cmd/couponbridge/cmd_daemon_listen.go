package main

import (
	"net"
	"net/netip"
	"sort"
	"strings"
)

// webhookPorts are the ports WordPress's safe HTTP client delivers to on a
// loopback address (besides the site's own): WooCommerce refuses any other
// with "A valid URL was not provided." and disables the webhook after five
// failures.
var webhookPorts = []string{"80", "443", "8080"}

// webhookListenProblem says why WooCommerce cannot deliver the webhooks of
// cfg's webhook jobs to the daemon directly, or "" when it can (or no job
// takes webhooks).
func webhookListenProblem(cfg *Config) string {
	var jobs []string
	for name, j := range cfg.Jobs {
		if j != nil && j.Source.Type == sourceWebhook {
			jobs = append(jobs, name)
		}
	}
	if len(jobs) == 0 {
		return ""
	}
	host, port, err := net.SplitHostPort(cfg.Daemon.Listen)
	if err != nil || !isLoopbackHost(host) {
		return ""
	}
	for _, p := range webhookPorts {
		if port == p {
			return ""
		}
	}
	sort.Strings(jobs)
	return "webhook job " + strings.Join(jobs, ", ") + ": daemon.listen " + cfg.Daemon.Listen +
		" cannot receive WooCommerce's deliveries: WordPress delivers to a loopback address only on port 80, 443 or 8080" +
		` ("A valid URL was not provided.", and the webhook is disabled after 5 failures).` +
		" Let the shop's web server pass a path such as /couponbridge/webhooks to http://" + cfg.Daemon.Listen +
		"/webhooks/woocommerce and give WooCommerce https://YOUR-SHOP/couponbridge/webhooks (README: Running as a service)"
}

// isLoopbackHost reports whether host names this machine's loopback interface.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
